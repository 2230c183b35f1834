"""Recording commands that arrive while a StartCallRecording is in flight are deferred.

Reference §2: the answer to any invocation replaces what the service still has queued, and a null
action list keeps it; §5: an update request arrives whenever the application sends it, e.g. during
the consent announcement queued before StartCallRecording; §3.2: a leg is recorded once, so a
second StartCallRecording fails. See "Update requests while actions of ours are queued" in
``sma_recording.core``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import pytest
from sma_recording import with_recording
from sma_recording.core import KEEP_ALIVE_MS, Decision, MetricName, MetricRecord, decide
from sma_recording.entry import RecordingHandler
from sma_recording.state import STATE_KEY, CallState, Flow, LegStatus, seal

from .conftest import (
    DTMF,
    LEG_A,
    LEG_B,
    SPEAK_CONSENT,
    Call,
    FakeContext,
    Output,
    action_types,
    decide_event,
    load_event,
    make_config,
    messages,
)

ReadOutput = Callable[[], Output]

#: A bridged call whose LEG-A recording was started and has not reported yet.
STARTING = CallState(flow=Flow.BRIDGED, leg_a=LegStatus.STARTING, consent_played=True)
#: A single-leg call whose StartCallRecording waits behind the consent announcement.
SINGLE_STARTING = CallState(flow=Flow.SINGLE, leg_a=LegStatus.STARTING, consent_played=True)


def keeps_the_queue(decision: Decision) -> bool:
    """The answer is ``Actions: null`` (and carries the state)."""
    body = decision.response()
    return decision.keep_queued and decision.actions == () and body["Actions"] is None


def start_leg_b(event: dict[str, Any]) -> None:
    event["ActionData"]["Parameters"]["Arguments"]["callId"] = LEG_B


# -- commands while starting --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fixture", "wanted"),
    [
        ("call_update_requested_pause", LegStatus.PAUSED),
        ("call_update_requested_stop", LegStatus.STOPPED),
    ],
)
def test_a_command_while_starting_is_deferred_and_keeps_the_queued_start(
    fixture: str, wanted: LegStatus
) -> None:
    decision = decide_event(fixture, STARTING)

    assert keeps_the_queue(decision)
    assert decision.state.leg_a == LegStatus.STARTING
    assert decision.state.wanted_a == wanted
    assert any("deferred until StartCallRecording reports" in m for m in messages(decision))
    assert messages(decision, logging.WARNING) == []


def test_resume_while_starting_does_not_apply_and_still_keeps_the_queue() -> None:
    decision = decide_event("call_update_requested_resume", STARTING)

    assert keeps_the_queue(decision)
    assert (decision.state.leg_a, decision.state.wanted_a) == (LegStatus.STARTING, None)
    assert any("resume does not apply" in m for m in messages(decision, logging.WARNING))


def test_a_second_start_while_starting_does_not_apply_and_keeps_the_queue() -> None:
    decision = decide_event("call_update_requested_start", STARTING)

    assert keeps_the_queue(decision)
    assert (decision.state.leg_a, decision.state.wanted_a) == (LegStatus.STARTING, None)
    assert any("start does not apply" in m for m in messages(decision, logging.WARNING))


def test_pause_then_resume_while_starting_cancel_out() -> None:
    paused = decide_event("call_update_requested_pause", STARTING).state

    decision = decide_event("call_update_requested_resume", paused)

    assert keeps_the_queue(decision)
    assert (decision.state.leg_a, decision.state.wanted_a) == (LegStatus.STARTING, None)
    assert messages(decision, logging.WARNING) == []


def test_stop_while_starting_is_final() -> None:
    stopped = decide_event("call_update_requested_stop", STARTING).state

    for fixture in ("call_update_requested_pause", "call_update_requested_start"):
        decision = decide_event(fixture, stopped)
        assert keeps_the_queue(decision)
        assert decision.state.wanted_a == LegStatus.STOPPED
        assert messages(decision, logging.WARNING)


def test_pause_then_stop_while_starting_leaves_only_the_stop() -> None:
    paused = decide_event("call_update_requested_pause", STARTING).state

    decision = decide_event("call_update_requested_stop", paused)

    assert decision.state.wanted_a == LegStatus.STOPPED


def test_a_command_on_a_single_leg_call_while_starting_adds_no_keep_alive_pause() -> None:
    decision = decide_event("call_update_requested_pause", SINGLE_STARTING, single_leg=True)

    assert keeps_the_queue(decision)
    assert decision.state.wanted_a == LegStatus.PAUSED


def test_dtmf_code_while_starting_is_deferred_and_the_listener_waits() -> None:
    state = CallState(
        flow=Flow.BRIDGED, leg_a=LegStatus.RECORDING, leg_b=LegStatus.STARTING, dtmf_armed=True
    )

    decision = decide_event("digits_received_pause", state, make_config(dtmf=DTMF))

    assert keeps_the_queue(decision)
    assert decision.state.wanted_a == LegStatus.PAUSED
    assert not decision.state.dtmf_armed


def test_start_of_the_other_leg_while_starting_waits_its_turn() -> None:
    raw = load_event("call_update_requested_start")
    start_leg_b(raw)

    decision = decide(raw, STARTING, make_config())

    assert keeps_the_queue(decision)
    assert (decision.state.leg_b, decision.state.wanted_b) == (LegStatus.IDLE, LegStatus.RECORDING)


def test_stop_cancels_a_deferred_start_that_was_never_sent() -> None:
    state = CallState(flow=Flow.BRIDGED, leg_a=LegStatus.STARTING, wanted_b=LegStatus.RECORDING)
    raw = load_event("call_update_requested_stop_leg_b")

    decision = decide(raw, state, make_config())

    assert keeps_the_queue(decision)
    assert (decision.state.leg_b, decision.state.wanted_b) == (LegStatus.IDLE, None)


# -- other update requests while our actions are queued ----------------------------------------------


@pytest.mark.parametrize(
    "state",
    [
        STARTING,
        CallState(flow=Flow.BRIDGING, consent_played=True),
        CallState(flow=Flow.ENDED, leg_a=LegStatus.STOPPED),
    ],
    ids=["starting", "bridging", "ended"],
)
def test_an_update_without_a_recording_command_keeps_our_queue(state: CallState) -> None:
    decision = decide_event("call_update_requested_other", state)

    assert keeps_the_queue(decision)
    assert decision.state.leg_a == state.leg_a


def test_a_command_before_the_bridge_is_refused_but_the_bridge_goes_on() -> None:
    decision = decide_event("call_update_requested_pause", CallState(flow=Flow.BRIDGING))

    assert keeps_the_queue(decision)
    assert any("not connected" in m for m in messages(decision, logging.WARNING))


def test_an_update_with_nothing_queued_is_answered_as_before() -> None:
    bridged = decide_event(
        "call_update_requested_other", CallState(flow=Flow.BRIDGED, leg_a=LegStatus.RECORDING)
    )
    single = decide_event(
        "call_update_requested_other",
        CallState(flow=Flow.SINGLE, leg_a=LegStatus.RECORDING),
        single_leg=True,
    )

    assert not bridged.keep_queued
    assert bridged.response()["Actions"] == []
    assert not single.keep_queued
    assert action_types(single.actions) == ["Pause"]


# -- applied once the Start succeeds --------------------------------------------------------------


@pytest.mark.parametrize(
    ("wanted", "action"),
    [(LegStatus.PAUSED, "PauseCallRecording"), (LegStatus.STOPPED, "StopCallRecording")],
)
def test_a_deferred_command_is_sent_when_the_start_succeeds(wanted: LegStatus, action: str) -> None:
    state = CallState(flow=Flow.BRIDGED, leg_a=LegStatus.STARTING, wanted_a=wanted)

    decision = decide_event("action_successful_start_call_recording", state)

    assert list(decision.actions) == [{"Type": action, "Parameters": {"CallId": LEG_A}}]
    assert (decision.state.leg_a, decision.state.wanted_a) == (wanted, None)
    assert decision.metrics == (MetricRecord(MetricName.RECORDING_STARTED),)
    assert not decision.keep_queued


def test_a_deferred_command_is_sent_when_the_list_that_held_the_start_completes() -> None:
    state = CallState(flow=Flow.SINGLE, leg_a=LegStatus.STARTING, wanted_a=LegStatus.PAUSED)

    decision = decide_event("action_successful_speak", state)

    assert action_types(decision.actions) == ["PauseCallRecording"]
    assert decision.state.leg_a == LegStatus.PAUSED


def test_a_deferred_pause_on_a_single_leg_call_ends_the_list_and_the_pause_result_keeps_it_up() -> (
    None
):
    state = CallState(flow=Flow.SINGLE, leg_a=LegStatus.STARTING, wanted_a=LegStatus.PAUSED)

    started = decide_event("action_successful_start_call_recording", state, single_leg=True)
    paused = decide_event("action_successful_pause_call_recording", started.state, single_leg=True)

    assert action_types(started.actions) == ["PauseCallRecording"]
    assert list(paused.actions) == [
        {"Type": "Pause", "Parameters": {"CallId": LEG_A, "DurationInMilliseconds": KEEP_ALIVE_MS}}
    ]


def test_the_dtmf_listener_is_armed_after_the_deferred_command_reports() -> None:
    state = CallState(flow=Flow.BRIDGED, leg_a=LegStatus.STARTING, wanted_a=LegStatus.PAUSED)
    config = make_config(dtmf=DTMF)

    started = decide_event("action_successful_start_call_recording", state, config)
    paused = decide_event("action_successful_pause_call_recording", started.state, config)

    assert action_types(started.actions) == ["PauseCallRecording"]
    assert action_types(paused.actions) == ["ReceiveDigits"]


def test_a_deferred_start_of_the_other_leg_follows_once_the_first_action_reports() -> None:
    state = CallState(
        flow=Flow.BRIDGED,
        leg_a=LegStatus.STARTING,
        wanted_a=LegStatus.STOPPED,
        wanted_b=LegStatus.PAUSED,
    )

    started = decide_event("action_successful_start_call_recording", state)
    stopped = decide_event("action_successful_stop_call_recording", started.state)

    assert action_types(started.actions) == ["StopCallRecording"]
    assert (started.state.leg_a, started.state.wanted_a) == (LegStatus.STOPPED, None)
    assert (started.state.leg_b, started.state.wanted_b) == (LegStatus.IDLE, LegStatus.PAUSED)
    assert action_types(stopped.actions) == ["StartCallRecording"]
    assert stopped.actions[0]["Parameters"]["CallId"] == LEG_B
    assert (stopped.state.leg_b, stopped.state.wanted_b) == (LegStatus.STARTING, LegStatus.PAUSED)


# -- dropped when the Start does not happen ----------------------------------------------------------


def test_a_deferred_command_is_dropped_when_the_start_fails() -> None:
    state = CallState(flow=Flow.BRIDGED, leg_a=LegStatus.STARTING, wanted_a=LegStatus.PAUSED)

    decision = decide_event("action_failed_start_call_recording", state)

    assert decision.actions == ()
    assert (decision.state.leg_a, decision.state.wanted_a) == (LegStatus.FAILED, None)
    dropped = next(r for r in decision.logs if r.message == "deferred recording command dropped")
    assert dropped.level == logging.WARNING
    assert dropped.fields["wanted"] == "paused"


def test_a_deferred_start_of_the_other_leg_survives_a_failed_start() -> None:
    state = CallState(flow=Flow.BRIDGED, leg_a=LegStatus.STARTING, wanted_b=LegStatus.RECORDING)

    decision = decide_event("action_failed_start_call_recording", state)

    assert action_types(decision.actions) == ["StartCallRecording"]
    assert decision.actions[0]["Parameters"]["CallId"] == LEG_B
    assert (decision.state.leg_a, decision.state.leg_b) == (LegStatus.FAILED, LegStatus.STARTING)


def test_deferred_commands_are_dropped_when_the_consent_fails() -> None:
    state = CallState(
        flow=Flow.SINGLE, leg_a=LegStatus.STARTING, consent_played=True, wanted_a=LegStatus.PAUSED
    )
    config = make_config(consent=SPEAK_CONSENT, bridge=None)

    decision = decide_event("action_failed_speak", state, config)

    assert (decision.state.leg_a, decision.state.wanted_a) == (LegStatus.FAILED, None)
    assert "PauseCallRecording" not in action_types(decision.actions)


def test_deferred_commands_are_dropped_when_the_call_ends() -> None:
    state = CallState(flow=Flow.BRIDGED, leg_a=LegStatus.STARTING, wanted_a=LegStatus.PAUSED)

    decision = decide_event("hangup_leg_a_bridged", state)

    assert (decision.state.flow, decision.state.wanted_a) == (Flow.ENDED, None)
    assert action_types(decision.actions) == ["Hangup"]


def test_deferred_commands_stay_when_an_action_before_the_start_failed_and_it_is_sent_again() -> (
    None
):
    state = CallState(flow=Flow.SINGLE, leg_a=LegStatus.STARTING, wanted_a=LegStatus.PAUSED)
    raw = load_event("action_successful_pause", single_leg=True)
    raw["InvocationEventType"] = "ACTION_FAILED"
    raw["ActionData"].update(
        Parameters={"CallId": LEG_A, "DurationInMilliseconds": 200},
        ErrorType="SystemException",
        ErrorMessage="boom",
    )

    decision = decide(raw, state, make_config(bridge=None))

    assert action_types(decision.actions) == ["StartCallRecording"]
    assert (decision.state.leg_a, decision.state.wanted_a) == (
        LegStatus.STARTING,
        LegStatus.PAUSED,
    )


# -- end to end through the entry point and the wrapper --------------------------------------------


def test_start_then_pause_during_the_announcement_records_then_pauses(
    read_output: ReadOutput,
) -> None:
    """The simulator's race (tests/simulator: test_rapid_update_requests_during_a_prompt)."""
    call = Call(RecordingHandler(make_config(bridge=None, consent=SPEAK_CONSENT, autoStart=False)))
    call.send("call_answered", single_leg=True)

    assert action_types(call.send("call_update_requested_start", single_leg=True)["Actions"]) == [
        "StartCallRecording"
    ]
    response = call.send("call_update_requested_pause", single_leg=True)
    assert response["Actions"] is None
    assert '"wa":"paused"' in response["TransactionAttributes"][STATE_KEY]
    assert action_types(
        call.send("action_successful_start_call_recording", single_leg=True)["Actions"]
    ) == ["PauseCallRecording"]
    assert action_types(
        call.send("action_successful_pause_call_recording", single_leg=True)["Actions"]
    ) == ["Pause"]

    assert call.state.leg_a == LegStatus.PAUSED
    assert read_output().metric_names() == ["RecordingStarted", "RecordingPaused"]


class _Menu:
    """A wrapped handler that answers CALL_ANSWERED with a prompt and the rest with nothing."""

    PROMPT = {"Type": "Speak", "Parameters": {"CallId": LEG_A, "Text": "Welcome."}}

    def __init__(self) -> None:
        self.seen: list[str] = []

    def __call__(self, event: dict[str, Any], context: Any) -> dict[str, Any]:  # noqa: ARG002
        self.seen.append(event["InvocationEventType"])
        actions = [self.PROMPT] if event["InvocationEventType"] == "CALL_ANSWERED" else []
        return {"SchemaVersion": "1.0", "Actions": actions}


def test_wrapped_a_command_while_starting_keeps_the_handlers_queue_and_applies_later() -> None:
    user = _Menu()
    call = Call(with_recording(config=make_config(bridge=None))(user))
    first = call.send("call_answered", single_leg=True)
    assert action_types(first["Actions"]) == ["StartCallRecording", "Speak"]

    response = call.send("call_update_requested_pause", single_leg=True)

    assert response["Actions"] is None
    assert user.seen == ["CALL_ANSWERED"]
    assert call.state.wanted_a == LegStatus.PAUSED

    def prompt_done(event: dict[str, Any]) -> None:
        event["ActionData"] = {"Type": "Speak", "Parameters": dict(_Menu.PROMPT["Parameters"])}

    done = call.send("action_successful_speak", prompt_done, single_leg=True)

    assert action_types(done["Actions"]) == ["PauseCallRecording"]
    assert (call.state.leg_a, call.state.wanted_a) == (LegStatus.PAUSED, None)


def test_wrapped_a_command_that_needs_no_action_keeps_the_handlers_queue() -> None:
    user = _Menu()
    handler = with_recording(config=make_config(bridge=None))(user)
    state = CallState(flow=Flow.SINGLE, leg_a=LegStatus.RECORDING)

    response = handler(load_event("call_update_requested_resume", state=state), FakeContext())

    assert response["Actions"] is None
    assert user.seen == []


# -- the state -----------------------------------------------------------------------------------------


def test_deferred_statuses_round_trip_and_are_left_out_when_unset() -> None:
    state = CallState(
        flow=Flow.BRIDGED,
        leg_a=LegStatus.STARTING,
        wanted_a=LegStatus.PAUSED,
        wanted_b=LegStatus.RECORDING,
    )

    assert CallState.decode(state.encode()) == (state, None)
    assert "wa" not in CallState().encode()


@pytest.mark.parametrize("value", ["starting", "idle", 7, [1]])
def test_an_unreadable_deferred_status_rejects_the_state(value: object) -> None:
    state, warning = CallState.decode(seal({"v": 2, "f": "bridged", "a": "starting", "wa": value}))

    assert state.rejected is not None
    assert warning is not None
    assert "unreadable value (wa)" in warning
