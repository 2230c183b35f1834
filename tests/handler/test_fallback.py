"""The answer to an event that cannot be acted on: ``Actions: null`` or ``Actions: []``.

Reference §2: a list in the answer, even ``[]``, replaces what the service still has queued; null
keeps it. Unsolicited events (update requests, DIGITS_RECEIVED, ACTION_INTERRUPTED) arrive while an
earlier list may still be queued (a StartCallRecording behind the consent announcement, a wrapped
handler's own actions), so their fallback is null; every other event asks for a new list or reports
on one that has run, so its fallback stays ``[]``. One function decides:
``sma_recording.actions.fallback_response``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sma_recording import entry, with_recording, wrapper
from sma_recording.actions import fallback_response
from sma_recording.entry import RecordingHandler
from sma_recording.state import STATE_KEY, CallState, Flow, LegStatus

from .conftest import (
    DTMF,
    LEG_A,
    FakeContext,
    Output,
    load_event,
    make_config,
)

ReadOutput = Callable[[], Output]

#: A single-leg call whose StartCallRecording is queued behind the consent announcement.
START_QUEUED = CallState(flow=Flow.SINGLE, leg_a=LegStatus.STARTING, consent_played=True)
FULL_MAP = {f"k{i}": "v" for i in range(10)}
PROMPT = {"Type": "Speak", "Parameters": {"CallId": LEG_A, "Text": "Please hold."}}


def boom(*args: object, **kwargs: object) -> Any:
    raise RuntimeError("bug")


# -- the one rule -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "event_type", ["CALL_UPDATE_REQUESTED", "DIGITS_RECEIVED", "ACTION_INTERRUPTED"]
)
def test_the_fallback_to_an_unsolicited_event_keeps_the_queued_actions(event_type: str) -> None:
    assert fallback_response({"InvocationEventType": event_type}) == {
        "SchemaVersion": "1.0",
        "Actions": None,
    }


@pytest.mark.parametrize(
    "event",
    [
        {"InvocationEventType": "NEW_INBOUND_CALL"},
        {"InvocationEventType": "CALL_ANSWERED"},
        {"InvocationEventType": "ACTION_SUCCESSFUL"},
        {"InvocationEventType": "ACTION_FAILED"},
        {"InvocationEventType": "HANGUP"},
        {"InvocationEventType": "RINGING"},
        {"InvocationEventType": 7},
        {},
        "not an event",
    ],
)
def test_the_fallback_to_any_other_event_is_an_empty_list(event: object) -> None:
    assert fallback_response(event) == {"SchemaVersion": "1.0", "Actions": []}


# -- the entry point -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "fixture", ["call_update_requested_pause", "digits_received_pause", "action_interrupted"]
)
def test_an_internal_error_on_an_unsolicited_event_keeps_the_queued_start(
    fixture: str, monkeypatch: pytest.MonkeyPatch, read_output: ReadOutput
) -> None:
    monkeypatch.setattr(entry, "decide", boom)
    event = load_event(fixture, state=START_QUEUED, single_leg=True)

    response = RecordingHandler(make_config(bridge=None, dtmf=DTMF))(event, FakeContext())

    assert response == {"SchemaVersion": "1.0", "Actions": None}
    assert "internal error; answered with no actions" in read_output().messages("ERROR")


def test_an_internal_error_on_a_new_call_still_answers_an_empty_list(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(entry, "decide", boom)

    response = RecordingHandler(make_config())(load_event("new_inbound_call"), FakeContext())

    assert response == {"SchemaVersion": "1.0", "Actions": []}


def test_a_malformed_update_request_keeps_the_queued_actions(read_output: ReadOutput) -> None:
    event = load_event("call_update_requested_pause")
    del event["CallDetails"]["TransactionId"]

    response = RecordingHandler(make_config())(event, FakeContext())

    assert response == {"SchemaVersion": "1.0", "Actions": None}
    assert read_output().metric_names() == ["MalformedEvent"]


def test_a_malformed_new_call_is_still_answered_with_an_empty_list() -> None:
    event = load_event("new_inbound_call")
    del event["CallDetails"]["TransactionId"]

    response = RecordingHandler(make_config())(event, FakeContext())

    assert response == {"SchemaVersion": "1.0", "Actions": []}


# -- the wrapper: events the recording logic answers ---------------------------------------------------


def never_called(event: Any, context: Any) -> Any:
    raise AssertionError("the wrapped handler must not be called for recording events")


def test_wrapped_a_recording_command_with_no_room_for_the_state_keeps_the_handlers_queue(
    read_output: ReadOutput,
) -> None:
    event = load_event("call_update_requested_pause", attributes=FULL_MAP)

    response = with_recording(config=make_config())(never_called)(event, FakeContext())

    assert response == {"SchemaVersion": "1.0", "Actions": None}
    assert any("no room" in m for m in read_output().messages("ERROR"))


def test_wrapped_our_dtmf_code_with_no_room_for_the_state_keeps_the_handlers_queue() -> None:
    event = load_event("digits_received_pause", attributes=FULL_MAP)

    response = with_recording(config=make_config(dtmf=DTMF))(never_called)(event, FakeContext())

    assert response["Actions"] is None


def test_wrapped_a_recording_result_with_no_room_for_the_state_is_an_empty_list() -> None:
    event = load_event("action_successful_start_call_recording", attributes=FULL_MAP)

    response = with_recording(config=make_config())(never_called)(event, FakeContext())

    assert response == {"SchemaVersion": "1.0", "Actions": []}


def test_wrapped_an_internal_error_on_a_recording_command_keeps_the_handlers_queue(
    monkeypatch: pytest.MonkeyPatch, read_output: ReadOutput
) -> None:
    monkeypatch.setattr(wrapper, "decide_recording_event", boom)
    event = load_event("call_update_requested_pause", state=START_QUEUED)

    response = with_recording(config=make_config())(never_called)(event, FakeContext())

    assert response == {"SchemaVersion": "1.0", "Actions": None}
    assert "internal error; answered with no actions" in read_output().messages("ERROR")


def test_wrapped_an_internal_error_on_a_recording_result_is_an_empty_list(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(wrapper, "decide_recording_event", boom)
    event = load_event("action_successful_start_call_recording")

    response = with_recording(config=make_config())(never_called)(event, FakeContext())

    assert response == {"SchemaVersion": "1.0", "Actions": []}


# -- the wrapper: events the wrapped handler answers ---------------------------------------------------


def test_wrapped_a_handler_that_raises_on_an_update_request_keeps_its_queue() -> None:
    event = load_event("call_update_requested_other", state=CallState(flow=Flow.BRIDGED))

    response = with_recording(config=make_config())(boom)(event, FakeContext())

    assert response["Actions"] is None
    assert STATE_KEY in response["TransactionAttributes"]


def test_wrapped_a_handler_with_unusable_actions_on_an_update_request_keeps_its_queue() -> None:
    def garbage(event: Any, context: Any) -> Any:
        return {"SchemaVersion": "1.0", "Actions": "play the menu"}

    event = load_event("call_update_requested_other", state=CallState(flow=Flow.BRIDGED))

    response = with_recording(config=make_config())(garbage)(event, FakeContext())

    assert response["Actions"] is None


def test_wrapped_a_handler_that_raises_on_a_result_is_still_answered_with_a_list() -> None:
    event = load_event("action_successful_speak")
    event["ActionData"] = {"Type": "Speak", "Parameters": dict(PROMPT["Parameters"])}

    response = with_recording(config=make_config())(boom)(event, FakeContext())

    assert isinstance(response["Actions"], list)
