"""Results of recording actions, on-demand commands and DTMF control."""

from __future__ import annotations

import logging

import pytest
from sma_recording.core import (
    DTMF_KEEP_ALIVE_MS,
    KEEP_ALIVE_MS,
    MetricName,
    MetricRecord,
    decide,
)
from sma_recording.state import CallState, Flow, LegStatus

from .conftest import (
    DTMF,
    LEG_A,
    LEG_B,
    SPEAK_CONSENT,
    TRANSACTION_ID,
    action_types,
    decide_event,
    load_event,
    make_config,
    messages,
)

BRIDGED = CallState(flow=Flow.BRIDGED)
RECORDING = CallState(flow=Flow.BRIDGED, leg_a=LegStatus.RECORDING)
PAUSED = CallState(flow=Flow.BRIDGED, leg_a=LegStatus.PAUSED)
STARTING = CallState(flow=Flow.BRIDGED, leg_a=LegStatus.STARTING)

# -- results of recording actions ---------------------------------------------------------------------


def test_start_success_marks_the_leg_recording_and_counts_it() -> None:
    decision = decide_event("action_successful_start_call_recording", STARTING)

    assert decision.state.leg_a == LegStatus.RECORDING
    assert decision.metrics == (MetricRecord(MetricName.RECORDING_STARTED),)
    assert decision.actions == ()


def test_start_success_logs_the_delivered_object_key() -> None:
    decision = decide_event("action_successful_start_call_recording", STARTING)

    record = next(r for r in decision.logs if r.message == "recording started")
    assert record.fields["objectKey"] == (
        "recordings-bucket/recordings/2026/11/25/"
        f"2026-11-25-10-40-03-456_{TRANSACTION_ID}_{LEG_A}.wav"
    )


def test_start_success_arms_dtmf_control_on_the_agents_leg() -> None:
    decision = decide_event(
        "action_successful_start_call_recording", STARTING, make_config(dtmf=DTMF)
    )

    assert list(decision.actions) == [
        {
            "Type": "ReceiveDigits",
            "Parameters": {
                "CallId": LEG_B,
                "InputDigitsRegex": r"^(\*1|\*2)$",
                "InBetweenDigitsDurationInMilliseconds": 1000,
                "FlushDigitsDurationInMilliseconds": 5000,
            },
        }
    ]
    assert decision.state.dtmf_armed


def test_start_success_on_a_single_leg_call_keeps_it_up() -> None:
    state = CallState(flow=Flow.SINGLE, leg_a=LegStatus.STARTING)

    decision = decide_event("action_successful_start_call_recording", state, single_leg=True)

    assert list(decision.actions) == [
        {"Type": "Pause", "Parameters": {"CallId": LEG_A, "DurationInMilliseconds": KEEP_ALIVE_MS}}
    ]


@pytest.mark.parametrize(
    ("fixture", "error_type"),
    [
        ("action_failed_start_call_recording", "NoAccessToDestination"),
        ("action_failed_start_call_recording_invalid_parameter", "InvalidActionParameter"),
    ],
)
def test_start_failure_marks_the_leg_failed_and_counts_it_by_error_type(
    fixture: str, error_type: str
) -> None:
    decision = decide_event(fixture, STARTING)

    assert decision.state.leg_a == LegStatus.FAILED
    assert decision.metrics == (MetricRecord(MetricName.RECORDING_FAILED, error_type),)
    error = next(r for r in decision.logs if r.level == logging.ERROR)
    assert error.fields["errorType"] == error_type
    assert error.fields["errorMessage"]


def test_start_failure_never_hangs_up_the_call() -> None:
    decision = decide_event("action_failed_start_call_recording", STARTING)

    assert "Hangup" not in action_types(decision.actions)


def test_start_failure_on_a_single_leg_call_keeps_it_up() -> None:
    state = CallState(flow=Flow.SINGLE, leg_a=LegStatus.STARTING)

    decision = decide_event("action_failed_start_call_recording", state, single_leg=True)

    assert action_types(decision.actions) == ["Pause"]


def test_pause_failure_reported_at_the_top_level_is_counted_by_type() -> None:
    decision = decide_event("action_failed_pause_call_recording_top_level", PAUSED)

    assert decision.metrics == (MetricRecord(MetricName.RECORDING_FAILED, "SystemException"),)


@pytest.mark.parametrize(
    ("fixture", "state", "metric"),
    [
        ("action_successful_pause_call_recording", PAUSED, MetricName.RECORDING_PAUSED),
        ("action_successful_resume_call_recording", RECORDING, MetricName.RECORDING_RESUMED),
        (
            "action_successful_stop_call_recording",
            CallState(flow=Flow.BRIDGED, leg_a=LegStatus.STOPPED),
            MetricName.RECORDING_STOPPED,
        ),
    ],
)
def test_command_success_is_counted(fixture: str, state: CallState, metric: MetricName) -> None:
    decision = decide_event(fixture, state)

    assert decision.metrics == (MetricRecord(metric),)
    assert decision.state.leg_a == state.leg_a


def test_a_late_pause_success_does_not_undo_a_resume_sent_since() -> None:
    decision = decide_event("action_successful_pause_call_recording", RECORDING)

    assert decision.state.leg_a == LegStatus.RECORDING


def test_a_list_that_completed_confirms_a_start_it_held() -> None:
    state = CallState(flow=Flow.SINGLE, leg_a=LegStatus.STARTING)

    decision = decide_event("action_successful_speak", state)

    assert decision.state.leg_a == LegStatus.RECORDING
    assert decision.metrics == (MetricRecord(MetricName.RECORDING_STARTED),)


# -- consent failures ----------------------------------------------------------------------------------


def test_consent_failure_before_a_bridge_bridges_without_recording() -> None:
    state = CallState(flow=Flow.BRIDGING, consent_played=True)

    decision = decide_event("action_failed_speak", state, make_config(consent=SPEAK_CONSENT))

    assert action_types(decision.actions) == ["CallAndBridge"]
    assert (decision.state.leg_a, decision.state.leg_b) == (LegStatus.FAILED, LegStatus.FAILED)
    assert decision.metrics == (MetricRecord(MetricName.RECORDING_FAILED, "ConsentFailed"),)


def test_consent_failure_on_a_single_leg_call_drops_the_start_and_keeps_the_call_up() -> None:
    state = CallState(flow=Flow.SINGLE, leg_a=LegStatus.STARTING, consent_played=True)
    config = make_config(consent=SPEAK_CONSENT, bridge=None)

    decision = decide_event("action_failed_speak", state, config)

    assert decision.state.leg_a == LegStatus.FAILED
    assert action_types(decision.actions) == ["Pause"]


def test_audio_consent_failure_is_recognised_by_its_source() -> None:
    consent = {"audio": {"bucket": "recordings-bucket", "key": "prompts/consent.wav"}}
    state = CallState(flow=Flow.SINGLE, leg_a=LegStatus.STARTING)

    decision = decide_event(
        "action_failed_play_audio", state, make_config(consent=consent, bridge=None)
    )

    assert decision.state.leg_a == LegStatus.FAILED
    assert decision.metrics[0].error_type == "ConsentFailed"


def test_start_after_a_consent_failure_is_refused() -> None:
    state = CallState(flow=Flow.BRIDGED, leg_a=LegStatus.FAILED, leg_b=LegStatus.FAILED)

    decision = decide_event("call_update_requested_start", state)

    assert decision.actions == ()
    assert messages(decision, logging.WARNING)


# -- on-demand commands ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fixture", "status", "action", "after"),
    [
        ("call_update_requested_start", LegStatus.IDLE, "StartCallRecording", LegStatus.STARTING),
        (
            "call_update_requested_pause",
            LegStatus.RECORDING,
            "PauseCallRecording",
            LegStatus.PAUSED,
        ),
        (
            "call_update_requested_resume",
            LegStatus.PAUSED,
            "ResumeCallRecording",
            LegStatus.RECORDING,
        ),
        ("call_update_requested_stop", LegStatus.RECORDING, "StopCallRecording", LegStatus.STOPPED),
        ("call_update_requested_stop", LegStatus.PAUSED, "StopCallRecording", LegStatus.STOPPED),
    ],
)
def test_command_that_applies_sends_its_action_on_leg_a(
    fixture: str, status: LegStatus, action: str, after: LegStatus
) -> None:
    decision = decide_event(
        fixture, CallState(flow=Flow.BRIDGED, leg_a=status), make_config(autoStart=False)
    )

    assert action_types(decision.actions) == [action]
    assert decision.actions[0]["Parameters"]["CallId"] == LEG_A
    assert decision.state.leg_a == after
    assert messages(decision, logging.WARNING) == []


@pytest.mark.parametrize(
    ("fixture", "status"),
    [
        ("call_update_requested_start", LegStatus.RECORDING),
        ("call_update_requested_start", LegStatus.STOPPED),
        ("call_update_requested_start", LegStatus.FAILED),
        ("call_update_requested_pause", LegStatus.IDLE),
        ("call_update_requested_pause", LegStatus.PAUSED),
        ("call_update_requested_pause", LegStatus.STOPPED),
        ("call_update_requested_resume", LegStatus.RECORDING),
        ("call_update_requested_resume", LegStatus.IDLE),
        ("call_update_requested_resume", LegStatus.STOPPED),
        ("call_update_requested_stop", LegStatus.IDLE),
        ("call_update_requested_stop", LegStatus.STOPPED),
        ("call_update_requested_stop", LegStatus.FAILED),
    ],
)
def test_command_that_does_not_apply_sends_nothing_and_warns(
    fixture: str, status: LegStatus
) -> None:
    decision = decide_event(fixture, CallState(flow=Flow.BRIDGED, leg_a=status))

    assert decision.actions == ()
    assert decision.state.leg_a == status
    assert messages(decision, logging.WARNING)
    assert messages(decision, logging.ERROR) == []


def test_command_naming_a_call_id_acts_on_that_leg() -> None:
    state = CallState(flow=Flow.BRIDGED, leg_a=LegStatus.RECORDING, leg_b=LegStatus.RECORDING)

    decision = decide_event("call_update_requested_stop_leg_b", state)

    assert decision.actions[0]["Parameters"]["CallId"] == LEG_B
    assert (decision.state.leg_a, decision.state.leg_b) == (LegStatus.RECORDING, LegStatus.STOPPED)


def test_command_without_call_id_finds_the_leg_it_applies_to() -> None:
    state = CallState(flow=Flow.BRIDGED, leg_a=LegStatus.FAILED, leg_b=LegStatus.RECORDING)

    decision = decide_event("call_update_requested_pause", state)

    assert decision.actions[0]["Parameters"]["CallId"] == LEG_B


def test_command_naming_an_unknown_call_id_is_refused() -> None:
    raw = load_event("call_update_requested_stop_leg_b")
    raw["ActionData"]["Parameters"]["Arguments"]["callId"] = "00000000-0000-0000-0000-000000000000"

    decision = decide(raw, RECORDING, make_config())

    assert decision.actions == ()
    assert any("not a leg" in m for m in messages(decision, logging.WARNING))


def test_command_before_the_call_is_connected_is_refused() -> None:
    decision = decide_event("call_update_requested_start", CallState(flow=Flow.BRIDGING))

    assert decision.actions == ()
    assert any("not connected" in m for m in messages(decision, logging.WARNING))


def test_command_on_a_single_leg_call_interrupts_the_pause_and_is_the_last_action() -> None:
    state = CallState(flow=Flow.SINGLE, leg_a=LegStatus.RECORDING)

    decision = decide_event("call_update_requested_pause", state, single_leg=True)

    assert action_types(decision.actions) == ["PauseCallRecording"]


def test_refused_command_on_a_single_leg_call_restores_the_keep_alive_pause() -> None:
    state = CallState(flow=Flow.SINGLE, leg_a=LegStatus.IDLE)

    decision = decide_event("call_update_requested_resume", state, single_leg=True)

    assert action_types(decision.actions) == ["Pause"]


def test_update_request_without_a_recording_command_is_logged_only() -> None:
    decision = decide_event("call_update_requested_other", RECORDING)

    assert decision.actions == ()
    assert decision.state.leg_a == LegStatus.RECORDING
    record = next(r for r in decision.logs if "without a recording command" in r.message)
    assert record.level == logging.INFO
    assert record.fields["argumentKeys"] == ["JoinToken"]


def test_update_request_with_an_unknown_command_is_a_warning() -> None:
    decision = decide_event("call_update_requested_invalid_command", RECORDING)

    assert decision.actions == ()
    assert any("invalid recording command" in m for m in messages(decision, logging.WARNING))


def test_on_demand_start_plays_the_consent_first_when_it_was_never_played() -> None:
    config = make_config(consent=SPEAK_CONSENT, autoStart=False)

    decision = decide_event("call_update_requested_start", BRIDGED, config)

    assert action_types(decision.actions) == ["Speak", "StartCallRecording"]
    assert decision.actions[0]["Parameters"]["CallId"] == LEG_A


# -- DTMF ---------------------------------------------------------------------------------------------


def test_pause_digits_pause_the_recording() -> None:
    state = CallState(flow=Flow.BRIDGED, leg_a=LegStatus.RECORDING, dtmf_armed=True)

    decision = decide_event("digits_received_pause", state, make_config(dtmf=DTMF))

    assert action_types(decision.actions) == ["PauseCallRecording"]
    assert decision.state.leg_a == LegStatus.PAUSED
    assert not decision.state.dtmf_armed


def test_resume_digits_resume_the_recording() -> None:
    state = CallState(flow=Flow.BRIDGED, leg_a=LegStatus.PAUSED, dtmf_armed=True)

    decision = decide_event("digits_received_resume", state, make_config(dtmf=DTMF))

    assert action_types(decision.actions) == ["ResumeCallRecording"]


def test_recording_result_after_a_dtmf_command_re_arms_the_listener() -> None:
    state = CallState(flow=Flow.BRIDGED, leg_a=LegStatus.PAUSED, dtmf_armed=False)

    decision = decide_event("action_successful_pause_call_recording", state, make_config(dtmf=DTMF))

    assert action_types(decision.actions) == ["ReceiveDigits"]
    assert decision.state.dtmf_armed


def test_digits_that_do_not_apply_re_arm_at_once_and_warn() -> None:
    state = CallState(flow=Flow.BRIDGED, leg_a=LegStatus.RECORDING, dtmf_armed=True)

    decision = decide_event("digits_received_resume", state, make_config(dtmf=DTMF))

    assert action_types(decision.actions) == ["ReceiveDigits"]
    assert decision.actions[0]["Parameters"]["CallId"] == LEG_B
    assert messages(decision, logging.WARNING)


def test_unknown_digits_are_never_logged() -> None:
    raw = load_event("digits_received_pause")
    raw["ActionData"]["ReceivedDigits"] = "4111111111111111"
    state = CallState(flow=Flow.BRIDGED, leg_a=LegStatus.RECORDING, dtmf_armed=True)

    decision = decide(raw, state, make_config(dtmf=DTMF))

    assert "4111" not in repr(decision.logs)
    assert any(r.fields.get("length") == 16 for r in decision.logs)


def test_digits_without_dtmf_configured_are_ignored() -> None:
    decision = decide_event("digits_received_pause", RECORDING)

    assert decision.actions == ()
    assert messages(decision, logging.WARNING)


def test_no_listener_is_armed_once_nothing_is_recorded() -> None:
    state = CallState(flow=Flow.BRIDGED, leg_a=LegStatus.STOPPED, dtmf_armed=False)

    decision = decide_event("action_successful_stop_call_recording", state, make_config(dtmf=DTMF))

    assert decision.actions == ()


# -- DTMF on a single-leg call: the keep-alive Pause bounds how late a code takes effect ---------------

#: The service's limit of invocations per call (reference §2); each keep-alive Pause costs one.
MAX_INVOCATIONS = 1000


def test_a_single_leg_call_with_dtmf_control_is_kept_up_with_5_second_pauses() -> None:
    state = CallState(flow=Flow.SINGLE, leg_a=LegStatus.STARTING)

    decision = decide_event(
        "action_successful_start_call_recording",
        state,
        make_config(bridge=None, dtmf=DTMF),
        single_leg=True,
    )

    assert action_types(decision.actions) == ["ReceiveDigits", "Pause"]
    assert (
        decision.actions[-1]["Parameters"]["DurationInMilliseconds"] == DTMF_KEEP_ALIVE_MS == 5000
    )


def test_a_dtmf_pause_on_a_single_leg_call_is_followed_by_the_short_keep_alive() -> None:
    """DIGITS_RECEIVED does not interrupt the running Pause: the code takes effect when it ends, so
    every keep-alive of the call must be the short one."""
    config = make_config(bridge=None, dtmf=DTMF)
    keyed = decide_event(
        "digits_received_pause",
        CallState(flow=Flow.SINGLE, leg_a=LegStatus.RECORDING, dtmf_armed=True),
        config,
        single_leg=True,
    )
    paused = decide_event(
        "action_successful_pause_call_recording", keyed.state, config, single_leg=True
    )
    kept = decide_event("action_successful_pause", paused.state, config, single_leg=True)

    assert action_types(keyed.actions) == ["PauseCallRecording"]
    for decision in (paused, kept):
        assert decision.actions[-1]["Type"] == "Pause"
        assert decision.actions[-1]["Parameters"]["DurationInMilliseconds"] == DTMF_KEEP_ALIVE_MS


def test_a_single_leg_call_without_dtmf_control_keeps_the_30_second_pause() -> None:
    decision = decide_event(
        "action_successful_pause",
        CallState(flow=Flow.SINGLE, leg_a=LegStatus.RECORDING),
        make_config(bridge=None),
        single_leg=True,
    )

    assert decision.actions[-1]["Parameters"]["DurationInMilliseconds"] == KEEP_ALIVE_MS == 30_000


def test_the_dtmf_keep_alive_still_lets_a_single_leg_call_last_80_minutes() -> None:
    """1,000 invocations x 5 s = 83 minutes, less the call's other invocations."""
    assert MAX_INVOCATIONS * DTMF_KEEP_ALIVE_MS >= 80 * 60_000
