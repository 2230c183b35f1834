"""A failed PauseCallRecording, ResumeCallRecording or StopCallRecording changes nothing.

Only a failed StartCallRecording is final for its leg. After a failed pause or stop the recording is
still running, after a failed resume it is still paused (reference §3.2: the recording goes on until
it is stopped or the leg ends). The leg gets its previous status back, the failure is counted by
``ErrorType`` and logged truthfully, and the command can be sent again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import pytest
from sma_recording.core import Decision, MetricName, MetricRecord, decide
from sma_recording.entry import RecordingHandler
from sma_recording.state import CallState, Flow, LegStatus, Pending

from .conftest import (
    DTMF,
    LEG_A,
    Call,
    Output,
    action_types,
    decide_event,
    load_event,
    make_config,
)

ReadOutput = Callable[[], Output]

#: LEG-A after a PauseCallRecording was sent from ``recording``.
PAUSE_SENT = CallState(
    flow=Flow.BRIDGED,
    leg_a=LegStatus.PAUSED,
    pending_a=Pending("PauseCallRecording", LegStatus.RECORDING),
)
#: LEG-A after a ResumeCallRecording was sent from ``paused``.
RESUME_SENT = CallState(
    flow=Flow.BRIDGED,
    leg_a=LegStatus.RECORDING,
    pending_a=Pending("ResumeCallRecording", LegStatus.PAUSED),
)


def stop_sent(prior: LegStatus) -> CallState:
    """LEG-A after a StopCallRecording was sent from ``prior``."""
    return CallState(
        flow=Flow.BRIDGED,
        leg_a=LegStatus.STOPPED,
        pending_a=Pending("StopCallRecording", prior),
    )


def failed(name: str, **options: Any) -> dict[str, Any]:
    """An ``action_successful_*`` fixture turned into the ACTION_FAILED of the same action."""
    event = load_event(name, **options)
    event["InvocationEventType"] = "ACTION_FAILED"
    event["ActionData"].update(ErrorType="SystemException", ErrorMessage="boom")
    return event


def fail_pause(state: CallState, **config: Any) -> Decision:
    return decide(failed("action_successful_pause_call_recording"), state, make_config(**config))


def fail_resume(state: CallState) -> Decision:
    return decide(failed("action_successful_resume_call_recording"), state, make_config())


def error_record(decision: Decision) -> Any:
    return next(r for r in decision.logs if r.level == logging.ERROR)


# -- the status the leg is left in -----------------------------------------------------------------


def test_a_failed_pause_leaves_the_leg_recording() -> None:
    decision = fail_pause(PAUSE_SENT)

    assert (decision.state.leg_a, decision.state.pending_a) == (LegStatus.RECORDING, None)


def test_a_failed_resume_leaves_the_leg_paused() -> None:
    decision = fail_resume(RESUME_SENT)

    assert (decision.state.leg_a, decision.state.pending_a) == (LegStatus.PAUSED, None)


@pytest.mark.parametrize("prior", [LegStatus.RECORDING, LegStatus.PAUSED])
def test_a_failed_stop_leaves_the_leg_as_it_was_before_the_stop(prior: LegStatus) -> None:
    decision = decide_event("action_failed_stop_call_recording", stop_sent(prior))

    assert (decision.state.leg_a, decision.state.pending_a) == (prior, None)


def test_a_failed_stop_without_a_known_prior_status_leaves_the_leg_recording() -> None:
    state = CallState(flow=Flow.BRIDGED, leg_a=LegStatus.STOPPED)

    decision = decide_event("action_failed_stop_call_recording", state)

    assert decision.state.leg_a == LegStatus.RECORDING


def test_a_failed_pause_without_a_known_prior_status_leaves_the_leg_recording() -> None:
    decision = decide_event(
        "action_failed_pause_call_recording_top_level",
        CallState(flow=Flow.BRIDGED, leg_a=LegStatus.PAUSED),
    )

    assert decision.state.leg_a == LegStatus.RECORDING


def test_a_failed_stop_after_the_call_ended_leaves_the_leg_stopped() -> None:
    state = CallState(
        flow=Flow.ENDED,
        leg_a=LegStatus.STOPPED,
        pending_a=Pending("StopCallRecording", LegStatus.RECORDING),
    )

    decision = decide_event("action_failed_stop_call_recording", state)

    assert decision.state.leg_a == LegStatus.STOPPED


def test_a_failed_pause_while_a_resume_is_in_flight_leaves_the_resume_alone() -> None:
    """Pause, then resume before the pause reported: the resume started from a running recording,
    so if it fails too the leg stays recording."""
    resumed = CallState(
        flow=Flow.BRIDGED,
        leg_a=LegStatus.RECORDING,
        pending_a=Pending("ResumeCallRecording", LegStatus.PAUSED),
    )

    pause_failed = fail_pause(resumed)
    resume_failed = fail_resume(pause_failed.state)

    assert pause_failed.state.leg_a == LegStatus.RECORDING
    assert resume_failed.state.leg_a == LegStatus.RECORDING


def test_a_failed_start_is_still_final() -> None:
    decision = decide_event(
        "action_failed_start_call_recording", CallState(flow=Flow.BRIDGED, leg_a=LegStatus.STARTING)
    )

    assert decision.state.leg_a == LegStatus.FAILED
    assert "not recorded" in error_record(decision).message


# -- counted and logged -------------------------------------------------------------------------------


@pytest.mark.parametrize("which", ["pause", "resume", "stop"])
def test_a_failed_command_is_counted_by_error_type(which: str) -> None:
    decision = {
        "pause": lambda: fail_pause(PAUSE_SENT),
        "resume": lambda: fail_resume(RESUME_SENT),
        "stop": lambda: decide_event(
            "action_failed_stop_call_recording", stop_sent(LegStatus.RECORDING)
        ),
    }[which]()

    assert decision.metrics == (MetricRecord(MetricName.RECORDING_FAILED, "SystemException"),)


@pytest.mark.parametrize(
    ("which", "said"),
    [
        ("pause", "PauseCallRecording failed; the recording is still running"),
        ("resume", "ResumeCallRecording failed; the recording is still paused"),
        ("stop-running", "StopCallRecording failed; the recording is still running"),
        ("stop-paused", "StopCallRecording failed; the recording is still paused"),
    ],
)
def test_a_failed_command_logs_that_the_recording_goes_on(which: str, said: str) -> None:
    decision = {
        "pause": lambda: fail_pause(PAUSE_SENT),
        "resume": lambda: fail_resume(RESUME_SENT),
        "stop-running": lambda: decide_event(
            "action_failed_stop_call_recording", stop_sent(LegStatus.RECORDING)
        ),
        "stop-paused": lambda: decide_event(
            "action_failed_stop_call_recording", stop_sent(LegStatus.PAUSED)
        ),
    }[which]()

    record = error_record(decision)
    assert record.message.startswith(said)
    assert "no longer recorded" not in record.message
    assert (record.fields["leg"], record.fields["errorType"]) == ("LEG-A", "SystemException")


def test_a_failed_command_never_hangs_up() -> None:
    decision = fail_pause(PAUSE_SENT)

    assert "Hangup" not in action_types(decision.actions)


# -- the command can be sent again ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fixture", "action"),
    [
        ("call_update_requested_pause", "PauseCallRecording"),
        ("call_update_requested_stop", "StopCallRecording"),
    ],
)
def test_after_a_failed_pause_a_pause_or_stop_is_sent_again(fixture: str, action: str) -> None:
    after = fail_pause(PAUSE_SENT).state

    decision = decide_event(fixture, after)

    assert list(decision.actions) == [{"Type": action, "Parameters": {"CallId": LEG_A}}]


def test_after_a_failed_stop_a_stop_is_sent_again() -> None:
    after = decide_event("action_failed_stop_call_recording", stop_sent(LegStatus.RECORDING)).state

    decision = decide_event("call_update_requested_stop", after)

    assert action_types(decision.actions) == ["StopCallRecording"]


def test_after_a_failed_resume_a_resume_is_sent_again() -> None:
    after = fail_resume(RESUME_SENT).state

    decision = decide_event("call_update_requested_resume", after)

    assert action_types(decision.actions) == ["ResumeCallRecording"]


def test_a_failed_dtmf_pause_re_arms_the_listener_so_the_code_can_be_keyed_again() -> None:
    state = CallState(
        flow=Flow.BRIDGED,
        leg_a=LegStatus.PAUSED,
        pending_a=Pending("PauseCallRecording", LegStatus.RECORDING),
        dtmf_armed=False,
    )

    decision = fail_pause(state, dtmf=DTMF)
    again = decide(
        load_event("digits_received_pause", state=decision.state),
        decision.state,
        make_config(dtmf=DTMF),
    )

    assert action_types(decision.actions) == ["ReceiveDigits"]
    assert action_types(again.actions) == ["PauseCallRecording"]


def test_a_failed_pause_on_a_single_leg_call_keeps_it_up() -> None:
    state = CallState(
        flow=Flow.SINGLE,
        leg_a=LegStatus.PAUSED,
        pending_a=Pending("PauseCallRecording", LegStatus.RECORDING),
    )

    decision = decide(
        failed("action_successful_pause_call_recording", single_leg=True),
        state,
        make_config(bridge=None),
    )

    assert action_types(decision.actions) == ["Pause"]
    assert decision.state.leg_a == LegStatus.RECORDING


# -- end to end ----------------------------------------------------------------------------------------


def test_a_failed_pause_then_a_retried_pause_through_the_entry_point(
    read_output: ReadOutput,
) -> None:
    call = Call(RecordingHandler(make_config()))
    call.send("new_inbound_call")
    call.send("action_successful_call_and_bridge")
    call.send("action_successful_start_call_recording")
    assert action_types(call.send("call_update_requested_pause")["Actions"]) == [
        "PauseCallRecording"
    ]

    call.send("action_failed_pause_call_recording_top_level")
    retried = call.send("call_update_requested_pause")
    call.send("action_successful_pause_call_recording")

    assert action_types(retried["Actions"]) == ["PauseCallRecording"]
    assert call.state.leg_a == LegStatus.PAUSED
    output = read_output()
    assert output.metric_names() == ["RecordingStarted", "RecordingFailed", "RecordingPaused"]
    assert any("still running" in m for m in output.messages("ERROR"))
