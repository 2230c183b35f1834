"""Defensive reading of the invocation event."""

from __future__ import annotations

from typing import Any

import pytest
from sma_recording.events import ErrorInfo, EventError, SmaEvent, peek_context

from .conftest import LEG_A, LEG_B, TRANSACTION_ID, load_event


def test_reads_participants_with_start_time_string_as_int() -> None:
    event = SmaEvent.parse(load_event("action_successful_call_and_bridge"))

    leg_a = event.participant("LEG-A")
    assert leg_a is not None
    assert (leg_a.call_id, leg_a.start_time_ms, leg_a.direction) == (
        LEG_A,
        1764067200123,
        "Inbound",
    )
    assert event.by_call_id(LEG_B) == event.participant("LEG-B")
    assert event.transaction_id == TRANSACTION_ID


def test_a_participant_without_status_counts_as_connected() -> None:
    leg_a = SmaEvent.parse(load_event("new_inbound_call")).participant("LEG-A")

    assert leg_a is not None
    assert leg_a.status is None
    assert leg_a.connected


def test_a_disconnected_participant_is_not_connected() -> None:
    leg_a = SmaEvent.parse(load_event("hangup_leg_a_bridged")).participant("LEG-A")

    assert leg_a is not None
    assert not leg_a.connected


def test_a_start_time_that_is_not_digits_is_ignored() -> None:
    raw = load_event("new_inbound_call")
    raw["CallDetails"]["Participants"][0]["StartTimeInMilliseconds"] = "yesterday"

    leg_a = SmaEvent.parse(raw).participant("LEG-A")
    assert leg_a is not None
    assert leg_a.start_time_ms is None


def test_reads_the_error_string_form() -> None:
    error = SmaEvent.parse(load_event("action_failed_start_call_recording")).error

    assert error == ErrorInfo("NoAccessToDestination", "Error while accessing destination")


def test_reads_error_type_and_message_inside_action_data() -> None:
    error = SmaEvent.parse(load_event("action_failed_start_call_recording_invalid_parameter")).error

    assert error == ErrorInfo("InvalidActionParameter", "CallId parameter for action is invalid")


def test_reads_error_type_and_message_at_the_top_level() -> None:
    error = SmaEvent.parse(load_event("invalid_lambda_response_top_level")).error

    assert error.type == "TransactionAttributesInvalidMapSize"
    assert error.message is not None
    assert "Maximum number of mappings is 10" in error.message


def test_action_data_error_wins_over_the_top_level() -> None:
    raw = load_event("action_failed_start_call_recording_invalid_parameter")
    raw["ErrorType"] = "Other"

    assert SmaEvent.parse(raw).error.type == "InvalidActionParameter"


def test_an_error_string_without_a_type_keeps_the_text_as_message() -> None:
    assert ErrorInfo.read({"Error": "something went wrong"}) == ErrorInfo(
        None, "something went wrong"
    )


def test_error_type_is_cleaned_for_use_as_a_dimension() -> None:
    assert ErrorInfo("Bad Type\n<x>").metric_type == "BadTypex"
    assert ErrorInfo().metric_type == "Unknown"


def test_reads_the_recording_destination_of_start_call_recording() -> None:
    data = SmaEvent.parse(load_event("action_successful_start_call_recording")).action_data

    assert data is not None
    assert data.recording_location is not None
    assert data.recording_location.endswith(f"_{TRANSACTION_ID}_{LEG_A}.wav")


def test_new_incoming_call_is_read_as_new_inbound_call() -> None:
    raw = load_event("new_inbound_call")
    raw["InvocationEventType"] = "NEW_INCOMING_CALL"

    assert SmaEvent.parse(raw).event_type == "NEW_INBOUND_CALL"


def test_keeps_only_string_transaction_attributes() -> None:
    raw = load_event("new_inbound_call", attributes={"a": "1", "b": 2})

    assert dict(SmaEvent.parse(raw).attributes) == {"a": "1"}


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        (lambda e: e.pop("InvocationEventType"), "no InvocationEventType"),
        (lambda e: e.pop("CallDetails"), "no CallDetails"),
        (lambda e: e["CallDetails"].pop("TransactionId"), "CallDetails.TransactionId is missing"),
        (lambda e: e["CallDetails"].update(Participants={}), "Participants is not a list"),
        (lambda e: e["CallDetails"]["Participants"].append("x"), "not an object"),
        (lambda e: e["CallDetails"]["Participants"][0].pop("CallId"), "CallId is missing"),
    ],
)
def test_refuses_events_that_cannot_be_handled(mutate: Any, reason: str) -> None:
    raw = load_event("new_inbound_call")
    mutate(raw)

    with pytest.raises(EventError, match=reason):
        SmaEvent.parse(raw)


def test_refuses_an_event_that_is_not_an_object() -> None:
    with pytest.raises(EventError, match="not a JSON object"):
        SmaEvent.parse(["NEW_INBOUND_CALL"])


def test_peek_context_reads_what_identifies_even_a_broken_event() -> None:
    raw = load_event("hangup_single_leg")
    raw["CallDetails"]["Participants"] = "broken"

    assert peek_context(raw) == {
        "transactionId": TRANSACTION_ID,
        "sequence": 7,
        "eventType": "HANGUP",
    }
    assert peek_context(None) == {"transactionId": None, "sequence": None, "eventType": None}
