"""At most one recording action per list; each one's success is counted.

Reference §2: the service reports a list once, when every action in it has succeeded, and a failed
action drops the rest of its list. A second recording action in a list could therefore be dropped
unseen (a leg left ``starting`` forever, every later command deferred), and its success would never
be named. See "One recording action per list" in ``sma_recording.core``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from sma_recording import with_recording
from sma_recording.core import MetricName, MetricRecord, decide, decide_recording_event
from sma_recording.entry import RecordingHandler
from sma_recording.state import CallState, Flow, LegStatus, Pending

from .conftest import (
    DTMF,
    LEG_A,
    LEG_B,
    Call,
    FakeContext,
    Output,
    action_types,
    decide_event,
    load_event,
    make_config,
    messages,
    number_after,
)

ReadOutput = Callable[[], Output]

#: LEG-A's Start in flight; a pause of LEG-A and a start of LEG-B were deferred meanwhile.
PAUSE_A_START_B = CallState(
    flow=Flow.BRIDGED,
    leg_a=LegStatus.STARTING,
    wanted_a=LegStatus.PAUSED,
    wanted_b=LegStatus.RECORDING,
)


def on_leg_b(name: str) -> dict[str, Any]:
    event = load_event(name)
    event["ActionData"]["Parameters"]["CallId"] = LEG_B
    return event


def pause_a_failed() -> dict[str, Any]:
    event = load_event("action_successful_pause_call_recording")
    event["InvocationEventType"] = "ACTION_FAILED"
    event["ActionData"].update(ErrorType="SystemException", ErrorMessage="boom")
    return event


# -- one recording action per list --------------------------------------------------------------------


def test_deferred_commands_of_two_legs_are_sent_one_list_at_a_time() -> None:
    decision = decide_event("action_successful_start_call_recording", PAUSE_A_START_B)

    assert list(decision.actions) == [
        {"Type": "PauseCallRecording", "Parameters": {"CallId": LEG_A}}
    ]
    assert (decision.state.leg_b, decision.state.wanted_b) == (LegStatus.IDLE, LegStatus.RECORDING)


def test_the_next_deferred_action_goes_out_when_the_previous_one_succeeds() -> None:
    started = decide_event("action_successful_start_call_recording", PAUSE_A_START_B)

    paused = decide_event("action_successful_pause_call_recording", started.state)

    assert action_types(paused.actions) == ["StartCallRecording"]
    assert paused.actions[0]["Parameters"]["CallId"] == LEG_B
    assert paused.state.leg_b == LegStatus.STARTING


def test_the_next_deferred_action_goes_out_when_the_previous_one_fails() -> None:
    """The reviewer's case: ``[PauseCallRecording(A), StartCallRecording(B)]`` in one list, the
    pause failed, and LEG-B stayed ``starting`` for the rest of the call."""
    started = decide_event("action_successful_start_call_recording", PAUSE_A_START_B)

    decision = decide(pause_a_failed(), started.state, make_config())

    assert action_types(decision.actions) == ["StartCallRecording"]
    assert decision.actions[0]["Parameters"]["CallId"] == LEG_B
    assert (decision.state.leg_a, decision.state.leg_b) == (LegStatus.RECORDING, LegStatus.STARTING)


def test_commands_are_applied_again_once_the_last_deferred_action_reported() -> None:
    config = make_config(dtmf=DTMF)
    started = decide(load_event("action_successful_start_call_recording"), PAUSE_A_START_B, config)
    pause_failed = decide(number_after(pause_a_failed(), started.state), started.state, config)
    b_started = decide(
        number_after(on_leg_b("action_successful_start_call_recording"), pause_failed.state),
        pause_failed.state,
        config,
    )

    digits = decide(
        load_event("digits_received_pause", state=b_started.state), b_started.state, config
    )

    assert action_types(b_started.actions) == ["ReceiveDigits"]
    assert not digits.keep_queued
    assert action_types(digits.actions) == ["PauseCallRecording"]


def test_a_start_after_a_stop_waits_for_the_stop_to_report() -> None:
    state = CallState(
        flow=Flow.BRIDGED,
        leg_a=LegStatus.STARTING,
        wanted_a=LegStatus.STOPPED,
        wanted_b=LegStatus.RECORDING,
    )

    decision = decide_event("action_successful_start_call_recording", state)

    assert action_types(decision.actions) == ["StopCallRecording"]


def test_a_command_waits_while_the_other_legs_recording_action_goes_first() -> None:
    state = CallState(
        flow=Flow.BRIDGED,
        leg_a=LegStatus.RECORDING,
        leg_b=LegStatus.RECORDING,
        wanted_a=LegStatus.PAUSED,
    )

    decision = decide_event("call_update_requested_stop_leg_b", state)
    paused = decide_event("action_successful_pause_call_recording", decision.state)

    assert list(decision.actions) == [
        {"Type": "PauseCallRecording", "Parameters": {"CallId": LEG_A}}
    ]
    assert decision.state.wanted_b == LegStatus.STOPPED
    assert any("other leg's recording action" in m for m in messages(decision, logging.INFO))
    assert list(paused.actions) == [{"Type": "StopCallRecording", "Parameters": {"CallId": LEG_B}}]


def test_a_start_dropped_behind_a_failed_action_of_an_earlier_version_is_sent_again() -> None:
    """A call that began under a version that still put two recording actions in one list."""
    state = CallState(
        flow=Flow.BRIDGED,
        leg_a=LegStatus.PAUSED,
        leg_b=LegStatus.STARTING,
        last_sent="5:PauseCallRecording,StartCallRecording",
    )

    decision = decide(pause_a_failed(), state, make_config())

    assert action_types(decision.actions) == ["StartCallRecording"]
    assert decision.actions[0]["Parameters"]["CallId"] == LEG_B
    assert decision.state.leg_b == LegStatus.STARTING
    assert any("not run; starting again" in m for m in messages(decision, logging.WARNING))


def test_a_start_in_flight_in_a_list_of_its_own_is_not_sent_again_when_a_pause_fails() -> None:
    state = CallState(
        flow=Flow.BRIDGED,
        leg_a=LegStatus.PAUSED,
        leg_b=LegStatus.STARTING,
        pending_a=Pending("PauseCallRecording", LegStatus.RECORDING),
        last_sent="6:StartCallRecording",
    )

    decision = decide(pause_a_failed(), state, make_config())

    assert decision.actions == ()
    assert decision.state.leg_b == LegStatus.STARTING


# -- every success is counted -------------------------------------------------------------------------


def test_each_action_of_a_deferred_sequence_is_counted_once(read_output: ReadOutput) -> None:
    call = Call(RecordingHandler(make_config()))
    call.send("new_inbound_call")
    call.send("action_successful_call_and_bridge")
    call.send("call_update_requested_stop")

    def start_leg_b(event: dict[str, Any]) -> None:
        event["ActionData"]["Parameters"]["Arguments"]["callId"] = LEG_B

    assert call.send("call_update_requested_start", start_leg_b)["Actions"] is None
    assert action_types(call.send("action_successful_start_call_recording")["Actions"]) == [
        "StopCallRecording"
    ]
    assert action_types(call.send("action_successful_stop_call_recording")["Actions"]) == [
        "StartCallRecording"
    ]

    def on_b(event: dict[str, Any]) -> None:
        event["ActionData"]["Parameters"]["CallId"] = LEG_B

    call.send("action_successful_start_call_recording", on_b)

    assert (call.state.leg_a, call.state.leg_b) == (LegStatus.STOPPED, LegStatus.RECORDING)
    assert read_output().metric_names() == [
        "RecordingStarted",
        "RecordingStopped",
        "RecordingStarted",
    ]


# -- the wrapper: our action inserted before the handler's last action ---------------------------------

PROMPT = {"Type": "Speak", "Parameters": {"CallId": LEG_A, "Text": "Press 1 for sales."}}


class _Prompter:
    """A wrapped handler that answers every event with one prompt."""

    def __call__(self, event: dict[str, Any], context: Any) -> dict[str, Any]:  # noqa: ARG002
        return {"SchemaVersion": "1.0", "Actions": [PROMPT]}


def prompt_result(kind: str) -> Callable[[dict[str, Any]], None]:
    def mutate(event: dict[str, Any]) -> None:
        event["InvocationEventType"] = kind
        event["ActionData"] = {"Type": "Speak", "Parameters": dict(PROMPT["Parameters"])}
        if kind == "ACTION_FAILED":
            event["ActionData"].update(ErrorType="SystemException", ErrorMessage="boom")

    return mutate


def wrapped_call_with_an_inserted_pause() -> Call:
    """Recording LEG-A; a pause deferred while the Start was in flight is inserted before the
    handler's prompt when the Start's list completes."""
    call = Call(with_recording(config=make_config(bridge=None))(_Prompter()))
    call.send("call_answered", single_leg=True)
    call.send("call_update_requested_pause", single_leg=True)
    response = call.send("action_successful_speak", prompt_result("ACTION_SUCCESSFUL"))
    assert action_types(response["Actions"]) == ["PauseCallRecording", "Speak"]
    assert call.state.pending_a == Pending("PauseCallRecording", LegStatus.RECORDING, in_list=True)
    return call


def test_wrapped_an_inserted_pause_is_counted_when_the_handlers_list_succeeds(
    read_output: ReadOutput,
) -> None:
    call = wrapped_call_with_an_inserted_pause()
    read_output()

    call.send("action_successful_speak", prompt_result("ACTION_SUCCESSFUL"))

    assert read_output().metric_names() == ["RecordingPaused"]
    assert (call.state.leg_a, call.state.pending_a) == (LegStatus.PAUSED, None)


def test_wrapped_an_inserted_pause_is_counted_when_the_handlers_action_after_it_fails(
    read_output: ReadOutput,
) -> None:
    call = wrapped_call_with_an_inserted_pause()
    read_output()

    call.send("action_successful_speak", prompt_result("ACTION_FAILED"))

    assert read_output().metric_names() == ["RecordingPaused"]
    assert call.state.leg_a == LegStatus.PAUSED


def test_wrapped_an_inserted_pause_dropped_with_the_handlers_failed_action_is_sent_again() -> None:
    call = Call(with_recording(config=make_config(bridge=None))(_Prompter()))
    # The handler's prompt failed and it is not the action kept for a re-send (that one, queued
    # after ours, is a Hangup): the prompt came before our pause, so the pause never ran.
    state = CallState(
        flow=Flow.SINGLE,
        leg_a=LegStatus.PAUSED,
        pending_a=Pending("PauseCallRecording", LegStatus.RECORDING, in_list=True),
        resend={"Type": "Hangup", "Parameters": {"CallId": LEG_A}},
    )
    event = load_event("action_successful_speak", state=state, single_leg=True)
    prompt_result("ACTION_FAILED")(event)

    response = call.handler(event, FakeContext())

    assert action_types(response["Actions"]) == ["PauseCallRecording", "Speak"]


def test_wrapped_a_failed_inserted_pause_leaves_the_leg_recording() -> None:
    state = CallState(
        flow=Flow.SINGLE,
        leg_a=LegStatus.PAUSED,
        pending_a=Pending("PauseCallRecording", LegStatus.RECORDING, in_list=True),
    )
    event = load_event("action_successful_pause_call_recording", single_leg=True)
    event["InvocationEventType"] = "ACTION_FAILED"
    event["ActionData"].update(ErrorType="SystemException", ErrorMessage="boom")

    decision = decide_recording_event(event, state, make_config(bridge=None))

    assert (decision.state.leg_a, decision.state.pending_a) == (LegStatus.RECORDING, None)
    assert decision.metrics == (MetricRecord(MetricName.RECORDING_FAILED, "SystemException"),)


def test_wrapped_no_start_is_inserted_next_to_another_recording_action() -> None:
    state = CallState(
        flow=Flow.BRIDGED,
        leg_a=LegStatus.IDLE,
        leg_b=LegStatus.RECORDING,
        wanted_b=LegStatus.PAUSED,
    )
    event = load_event("action_successful_pause_call_recording", state=state)  # both legs
    prompt_result("ACTION_SUCCESSFUL")(event)

    first = with_recording(config=make_config())(_Prompter())(event, FakeContext())

    assert action_types(first["Actions"]) == ["PauseCallRecording", "Speak"]
    assert first["Actions"][0]["Parameters"]["CallId"] == LEG_B
