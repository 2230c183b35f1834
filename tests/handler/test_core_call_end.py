"""Hangups, rejected responses, interruptions, keep-alive and malformed input."""

from __future__ import annotations

import logging

from sma_recording.core import KEEP_ALIVE_MS, MetricName, MetricRecord, decide
from sma_recording.state import STATE_KEY, CallState, Flow, LegStatus

from .conftest import LEG_A, LEG_B, action_types, decide_event, load_event, make_config, messages

RECORDING = CallState(flow=Flow.BRIDGED, leg_a=LegStatus.RECORDING)

# -- hangups ------------------------------------------------------------------------------------------


def test_caller_hanging_up_a_bridged_call_hangs_up_leg_b() -> None:
    decision = decide_event("hangup_leg_a_bridged", RECORDING)

    assert list(decision.actions) == [
        {"Type": "Hangup", "Parameters": {"CallId": LEG_B, "SipResponseCode": "0"}}
    ]
    assert decision.state.flow == Flow.ENDED


def test_callee_hanging_up_a_bridged_call_hangs_up_leg_a() -> None:
    decision = decide_event("hangup_leg_b_bridged", RECORDING)

    assert list(decision.actions) == [
        {"Type": "Hangup", "Parameters": {"CallId": LEG_A, "SipResponseCode": "0"}}
    ]


def test_hangup_without_action_data_finds_the_leg_that_left_from_its_status() -> None:
    raw = load_event("hangup_leg_a_bridged")
    del raw["ActionData"]

    decision = decide(raw, RECORDING, make_config())

    assert action_types(decision.actions) == ["Hangup"]
    assert decision.actions[0]["Parameters"]["CallId"] == LEG_B


def test_hangup_marks_the_recordings_of_ended_legs_stopped() -> None:
    state = CallState(flow=Flow.BRIDGED, leg_a=LegStatus.PAUSED, leg_b=LegStatus.RECORDING)

    decision = decide_event("hangup_leg_b_bridged", state)

    assert (decision.state.leg_a, decision.state.leg_b) == (LegStatus.STOPPED, LegStatus.STOPPED)
    assert decision.metrics == ()


def test_hangup_after_the_other_leg_was_hung_up_needs_no_action() -> None:
    decision = decide_event("hangup_leg_b_bridged", CallState(flow=Flow.ENDED))

    assert decision.actions == ()


def test_hangup_of_a_single_leg_call_needs_no_action() -> None:
    state = CallState(flow=Flow.SINGLE, leg_a=LegStatus.RECORDING)

    decision = decide_event("hangup_single_leg", state)

    assert decision.actions == ()
    assert (decision.state.flow, decision.state.leg_a) == (Flow.ENDED, LegStatus.STOPPED)


def test_callee_leaving_while_being_connected_waits_for_the_bridge_result() -> None:
    decision = decide_event("hangup_leg_b_bridged", CallState(flow=Flow.BRIDGING))

    assert decision.actions == ()
    assert decision.state.flow == Flow.BRIDGING


def test_caller_leaving_while_the_callee_rings_hangs_up_the_callee() -> None:
    decision = decide_event("hangup_leg_a_bridged", CallState(flow=Flow.BRIDGING))

    assert action_types(decision.actions) == ["Hangup"]
    assert decision.actions[0]["Parameters"]["CallId"] == LEG_B


# -- keep-alive of single-leg calls -------------------------------------------------------------------


def test_keep_alive_pause_is_renewed_when_it_ends() -> None:
    decision = decide_event(
        "action_successful_pause", CallState(flow=Flow.SINGLE, leg_a=LegStatus.RECORDING)
    )

    assert list(decision.actions) == [
        {"Type": "Pause", "Parameters": {"CallId": LEG_A, "DurationInMilliseconds": KEEP_ALIVE_MS}}
    ]


def test_a_failing_keep_alive_pause_is_not_repeated() -> None:
    raw = load_event("action_successful_pause")
    raw["InvocationEventType"] = "ACTION_FAILED"
    raw["ActionData"]["ErrorType"] = "SystemException"

    decision = decide(raw, CallState(flow=Flow.SINGLE), make_config(bridge=None))

    assert decision.actions == ()


def test_bridged_calls_get_no_keep_alive() -> None:
    decision = decide_event("action_successful_speak", CallState(flow=Flow.BRIDGED))

    assert decision.actions == ()


def test_a_failed_answer_pause_is_followed_by_the_start_it_dropped() -> None:
    raw = load_event("action_successful_pause")
    raw["InvocationEventType"] = "ACTION_FAILED"
    raw["ActionData"]["Parameters"]["DurationInMilliseconds"] = 200
    state = CallState(flow=Flow.SINGLE, leg_a=LegStatus.STARTING)

    decision = decide(raw, state, make_config(bridge=None))

    assert action_types(decision.actions) == ["StartCallRecording"]
    assert decision.state.leg_a == LegStatus.STARTING


# -- rejected responses, interruptions, unknown and malformed events ----------------------------------


def test_rejected_response_in_action_data_is_logged_with_what_was_sent_and_counted() -> None:
    state = CallState(flow=Flow.BRIDGING, last_sent="1:Speak,CallAndBridge")

    decision = decide_event("invalid_lambda_response_action_data", state)

    error = next(r for r in decision.logs if r.level == logging.ERROR)
    assert error.fields == {
        "errorType": "InvalidActionParameter",
        "errorMessage": "Parameter CallerIdNumber is invalid",
        "previousResponse": "1:Speak,CallAndBridge",
    }
    assert decision.metrics == (MetricRecord(MetricName.INVALID_LAMBDA_RESPONSE),)


def test_rejected_response_at_the_top_level_is_answered_without_actions_or_attributes() -> None:
    decision = decide_event("invalid_lambda_response_top_level", CallState(flow=Flow.SINGLE))

    assert decision.response() == {"SchemaVersion": "1.0", "Actions": []}
    assert next(r for r in decision.logs if r.level == logging.ERROR).fields["errorType"] == (
        "TransactionAttributesInvalidMapSize"
    )


def test_interrupted_action_is_logged_and_answered_without_actions() -> None:
    decision = decide_event("action_interrupted", CallState(flow=Flow.SINGLE))

    assert decision.actions == ()
    assert messages(decision, logging.INFO)


def test_unknown_event_type_is_a_warning_without_actions() -> None:
    raw = load_event("ringing")
    raw["InvocationEventType"] = "CALL_TELEPORTED"

    decision = decide(raw, CallState(flow=Flow.SINGLE), make_config())

    assert decision.actions == ()
    assert messages(decision, logging.WARNING) == ["unexpected event type; no action"]


def test_malformed_event_is_answered_with_no_actions_logged_and_counted() -> None:
    decision = decide({"InvocationEventType": "HANGUP"}, RECORDING, make_config())

    assert decision.response() == {"SchemaVersion": "1.0", "Actions": []}
    assert decision.metrics == (MetricRecord(MetricName.MALFORMED_EVENT),)
    assert decision.logs[0].fields["reason"] == "the event has no CallDetails object"


def test_unknown_schema_version_is_handled_with_a_warning() -> None:
    raw = load_event("new_inbound_call")
    raw["SchemaVersion"] = "2.0"

    decision = decide(raw, CallState(), make_config())

    assert action_types(decision.actions) == ["CallAndBridge"]
    assert any("SchemaVersion" in m for m in messages(decision, logging.WARNING))


def test_every_response_carries_the_full_state_as_one_attribute() -> None:
    decision = decide_event("call_update_requested_pause", RECORDING, sequence=12)

    attributes = decision.response()["TransactionAttributes"]
    assert list(attributes) == [STATE_KEY]
    state, warning = CallState.from_attributes(attributes)
    assert warning is None
    assert state.leg_a == LegStatus.PAUSED
    assert state.last_sent == "12:PauseCallRecording"
