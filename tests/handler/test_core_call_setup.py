"""Call setup: inbound calls (bridged or alone), outbound calls, and bridge results."""

from __future__ import annotations

import logging

import pytest
from sma_recording.config import Destination, RecordingConfig
from sma_recording.core import ANSWER_PAUSE_MS, KEEP_ALIVE_MS, MetricName, MetricRecord, decide
from sma_recording.state import CallState, Flow, LegStatus

from .conftest import (
    AGENT,
    CALLER,
    CONSENT_TEXT,
    DTMF,
    LEG_A,
    LEG_B,
    SPEAK_CONSENT,
    action_types,
    decide_event,
    load_event,
    make_config,
    messages,
)

BRIDGING = CallState(flow=Flow.BRIDGING)


def test_inbound_call_is_bridged_to_the_configured_number_with_the_callers_id() -> None:
    decision = decide_event("new_inbound_call")

    assert list(decision.actions) == [
        {
            "Type": "CallAndBridge",
            "Parameters": {
                "CallTimeoutSeconds": 30,
                "CallerIdNumber": CALLER,
                "Endpoints": [{"BridgeEndpointType": "PSTN", "Uri": AGENT}],
            },
        }
    ]
    assert decision.state.flow == Flow.BRIDGING


def test_inbound_call_plays_the_consent_to_leg_a_before_bridging() -> None:
    decision = decide_event("new_inbound_call", config=make_config(consent=SPEAK_CONSENT))

    assert action_types(decision.actions) == ["Speak", "CallAndBridge"]
    assert decision.actions[0]["Parameters"] == {"CallId": LEG_A, "Text": CONSENT_TEXT}
    assert decision.state.consent_played


def test_audio_consent_is_played_from_s3() -> None:
    consent = {"audio": {"bucket": "prompts-bucket", "key": "prompts/consent.wav"}}

    decision = decide_event("new_inbound_call", config=make_config(consent=consent))

    assert decision.actions[0] == {
        "Type": "PlayAudio",
        "Parameters": {
            "CallId": LEG_A,
            "AudioSource": {
                "Type": "S3",
                "BucketName": "prompts-bucket",
                "Key": "prompts/consent.wav",
            },
        },
    }


def test_speak_consent_passes_voice_engine_language_and_ssml() -> None:
    consent = {
        "speak": {
            "text": "<speak>Recorded.</speak>",
            "voiceId": "Matthew",
            "engine": "neural",
            "languageCode": "en-US",
        }
    }

    decision = decide_event("new_inbound_call", config=make_config(consent=consent))

    assert decision.actions[0]["Parameters"] == {
        "CallId": LEG_A,
        "Text": "<speak>Recorded.</speak>",
        "TextType": "ssml",
        "Engine": "neural",
        "LanguageCode": "en-US",
        "VoiceId": "Matthew",
    }


def test_bridge_to_a_voice_connector_carries_its_arn_and_the_configured_caller_id() -> None:
    bridge = {
        "endpointType": "AWS",
        "uri": "agent-desk-7",
        "arn": "arn:aws:chime:us-east-1:123456789012:vc/abcdefg1hijklm2nopq3rs",
        "callerId": "+14345550101",
        "timeoutSeconds": 45,
    }

    decision = decide_event("new_inbound_call", config=make_config(bridge=bridge))

    assert decision.actions[0]["Parameters"] == {
        "CallTimeoutSeconds": 45,
        "CallerIdNumber": "+14345550101",
        "Endpoints": [{"BridgeEndpointType": "AWS", "Uri": "agent-desk-7", "Arn": bridge["arn"]}],
    }


@pytest.mark.parametrize(
    "withheld", [None, "Restricted", "anonymous", "+anonymous", "", "+1", "+14345550101\n"]
)
def test_a_withheld_caller_is_bridged_with_the_dialled_number(withheld: str | None) -> None:
    raw = load_event("new_inbound_call")
    leg_a = raw["CallDetails"]["Participants"][0]
    if withheld is None:
        del leg_a["From"]
    else:
        leg_a["From"] = withheld

    decision = decide(raw, CallState(), make_config(consent=SPEAK_CONSENT))

    assert action_types(decision.actions) == ["Speak", "CallAndBridge"]
    assert decision.actions[1]["Parameters"]["CallerIdNumber"] == leg_a["To"]
    assert decision.state.flow == Flow.BRIDGING
    assert MetricRecord(MetricName.CALLER_ID_FALLBACK) in decision.metrics
    assert any("withheld" in message for message in messages(decision, logging.WARNING))


def test_a_caller_with_an_e164_number_is_bridged_with_it_and_nothing_is_counted() -> None:
    decision = decide_event("new_inbound_call")

    assert decision.actions[-1]["Parameters"]["CallerIdNumber"] == CALLER
    assert decision.metrics == ()


def test_a_configured_caller_id_wins_over_a_withheld_number() -> None:
    raw = load_event("new_inbound_call")
    raw["CallDetails"]["Participants"][0]["From"] = "anonymous"
    config = make_config(bridge={"endpointType": "PSTN", "uri": AGENT, "callerId": "+14345550199"})

    decision = decide(raw, CallState(), config)

    assert decision.actions[-1]["Parameters"]["CallerIdNumber"] == "+14345550199"
    assert MetricRecord(MetricName.CALLER_ID_FALLBACK) not in decision.metrics


def test_inbound_call_without_any_usable_caller_id_is_hung_up_instead_of_bridged() -> None:
    raw = load_event("new_inbound_call")
    leg_a = raw["CallDetails"]["Participants"][0]
    leg_a["From"] = "anonymous"
    leg_a["To"] = "sip:desk@example.com"

    decision = decide(raw, CallState(), make_config(consent=SPEAK_CONSENT))

    assert list(decision.actions) == [
        {"Type": "Hangup", "Parameters": {"CallId": LEG_A, "SipResponseCode": "480"}}
    ]
    assert decision.state.flow == Flow.ENDED


def test_inbound_call_without_bridge_answers_then_records_leg_a_last() -> None:
    decision = decide_event("new_inbound_call", config=make_config(bridge=None))

    assert list(decision.actions) == [
        {
            "Type": "Pause",
            "Parameters": {"CallId": LEG_A, "DurationInMilliseconds": ANSWER_PAUSE_MS},
        },
        {
            "Type": "StartCallRecording",
            "Parameters": {
                "CallId": LEG_A,
                "Track": "BOTH",
                "Destination": {"Type": "S3", "Location": "recordings-bucket/recordings"},
            },
        },
    ]
    assert (decision.state.flow, decision.state.leg_a) == (Flow.SINGLE, LegStatus.STARTING)


def test_inbound_call_without_bridge_records_after_the_consent() -> None:
    decision = decide_event(
        "new_inbound_call", config=make_config(bridge=None, consent=SPEAK_CONSENT)
    )

    assert action_types(decision.actions) == ["Speak", "StartCallRecording"]


def test_inbound_call_without_bridge_or_auto_start_is_kept_up_with_a_long_pause() -> None:
    decision = decide_event("new_inbound_call", config=make_config(bridge=None, autoStart=False))

    assert list(decision.actions) == [
        {"Type": "Pause", "Parameters": {"CallId": LEG_A, "DurationInMilliseconds": KEEP_ALIVE_MS}}
    ]
    assert decision.state.leg_a == LegStatus.IDLE


def test_leg_b_configured_on_a_single_leg_call_falls_back_to_leg_a_with_a_warning() -> None:
    decision = decide_event("new_inbound_call", config=make_config(bridge=None, leg="LEG-B"))

    assert decision.actions[-1]["Parameters"]["CallId"] == LEG_A
    assert decision.state.leg_a == LegStatus.STARTING
    assert any("LEG-B is configured" in m for m in messages(decision, logging.WARNING))


def test_track_and_empty_prefix_are_used_for_start_call_recording() -> None:
    config = make_config(
        bridge=None, track="INCOMING", destination={"bucket": "calls-bucket", "prefix": ""}
    )

    start = decide_event("new_inbound_call", config=config).actions[-1]

    assert start["Parameters"]["Track"] == "INCOMING"
    assert start["Parameters"]["Destination"] == {"Type": "S3", "Location": "calls-bucket"}


def test_inbound_call_logs_masked_numbers() -> None:
    decision = decide_event("new_inbound_call")

    record = next(r for r in decision.logs if r.message == "inbound call")
    assert record.fields["fromNumber"] == "+*******0199"
    assert CALLER not in str([r.fields for r in decision.logs])


def test_new_outbound_call_and_ringing_need_no_action() -> None:
    for name in ("new_outbound_call", "ringing"):
        decision = decide_event(name)
        assert decision.actions == ()
        assert decision.state.flow == Flow.NEW


def test_answered_outbound_call_is_recorded_on_leg_a() -> None:
    decision = decide_event("call_answered")

    assert action_types(decision.actions) == ["StartCallRecording"]
    assert decision.actions[0]["Parameters"]["CallId"] == LEG_A
    assert decision.state.flow == Flow.SINGLE


def test_answered_outbound_call_hears_the_consent_first() -> None:
    decision = decide_event("call_answered", config=make_config(consent=SPEAK_CONSENT))

    assert action_types(decision.actions) == ["Speak", "StartCallRecording"]


def test_answered_outbound_call_without_auto_start_is_kept_up() -> None:
    decision = decide_event("call_answered", config=make_config(autoStart=False))

    assert action_types(decision.actions) == ["Pause"]
    assert decision.actions[0]["Parameters"]["DurationInMilliseconds"] == KEEP_ALIVE_MS


def test_bridge_success_starts_recording_leg_a_as_the_last_action() -> None:
    decision = decide_event("action_successful_call_and_bridge", BRIDGING)

    assert action_types(decision.actions) == ["StartCallRecording"]
    assert decision.actions[0]["Parameters"]["CallId"] == LEG_A
    assert (decision.state.flow, decision.state.leg_a) == (Flow.BRIDGED, LegStatus.STARTING)


def test_bridge_success_records_leg_b_when_configured() -> None:
    decision = decide_event("action_successful_call_and_bridge", BRIDGING, make_config(leg="LEG-B"))

    assert decision.actions[-1]["Parameters"]["CallId"] == LEG_B
    assert decision.state.leg_b == LegStatus.STARTING


def test_bridge_success_announces_to_the_callee_before_recording() -> None:
    config = make_config(consent=SPEAK_CONSENT, announceToCallee=True)

    decision = decide_event(
        "action_successful_call_and_bridge",
        CallState(flow=Flow.BRIDGING, consent_played=True),
        config,
    )

    assert action_types(decision.actions) == ["Speak", "StartCallRecording"]
    assert decision.actions[0]["Parameters"]["CallId"] == LEG_B


def test_bridge_success_without_auto_start_only_announces() -> None:
    config = make_config(consent=SPEAK_CONSENT, announceToCallee=True, autoStart=False)

    decision = decide_event("action_successful_call_and_bridge", BRIDGING, config)

    assert action_types(decision.actions) == ["Speak"]
    assert decision.state.leg_a == LegStatus.IDLE


def test_bridge_success_after_a_failed_consent_records_nothing() -> None:
    state = CallState(flow=Flow.BRIDGING, leg_a=LegStatus.FAILED, leg_b=LegStatus.FAILED)
    config = make_config(consent=SPEAK_CONSENT, announceToCallee=True)

    decision = decide_event("action_successful_call_and_bridge", state, config)

    assert decision.actions == ()
    assert decision.state.flow == Flow.BRIDGED


def test_bridge_not_answered_hangs_up_the_caller_with_480() -> None:
    decision = decide_event("action_failed_call_and_bridge", BRIDGING)

    assert list(decision.actions) == [
        {"Type": "Hangup", "Parameters": {"CallId": LEG_A, "SipResponseCode": "480"}}
    ]
    assert decision.state.flow == Flow.ENDED
    assert decision.metrics == ()
    assert "CallAndBridge failed" in messages(decision, logging.WARNING)[0]


def test_busy_callee_hangs_up_the_caller_with_486() -> None:
    decision = decide_event("action_failed_call_and_bridge_busy", BRIDGING)

    assert decision.actions[0]["Parameters"]["SipResponseCode"] == "486"


def test_bridge_completing_after_the_caller_left_hangs_up_leg_b() -> None:
    decision = decide_event("action_successful_call_and_bridge", CallState(flow=Flow.ENDED))

    assert list(decision.actions) == [
        {"Type": "Hangup", "Parameters": {"CallId": LEG_B, "SipResponseCode": "0"}}
    ]


def test_invalid_configuration_still_bridges_inbound_calls_unrecorded() -> None:
    config = RecordingConfig(
        "app",
        Destination("recording-disabled"),
        auto_start=False,
        bridge=make_config().bridge,
        disabled_reason="track must be ...",
    )

    decision = decide_event("new_inbound_call", config=config)

    assert action_types(decision.actions) == ["CallAndBridge"]
    assert decision.metrics == (MetricRecord(MetricName.RECORDING_FAILED, "InvalidConfiguration"),)
    assert messages(decision, logging.ERROR)


#: What load_config falls back to for an invalid configuration with no usable bridge.
DISABLED_NO_BRIDGE = RecordingConfig(
    "app", Destination("recording-disabled"), auto_start=False, disabled_reason="bad"
)


def test_invalid_configuration_without_bridge_answers_inbound_calls_instead_of_hanging_up() -> None:
    decision = decide_event("new_inbound_call", config=DISABLED_NO_BRIDGE)

    assert list(decision.actions) == [
        {"Type": "Pause", "Parameters": {"CallId": LEG_A, "DurationInMilliseconds": KEEP_ALIVE_MS}}
    ]
    assert decision.state.flow == Flow.SINGLE


def test_invalid_configuration_without_bridge_is_logged_and_counted_once_per_call() -> None:
    decision = decide_event("new_inbound_call", config=DISABLED_NO_BRIDGE)

    assert decision.metrics == (MetricRecord(MetricName.RECORDING_FAILED, "InvalidConfiguration"),)
    assert any("invalid configuration" in m for m in messages(decision, logging.ERROR))


def test_invalid_configuration_without_bridge_answers_like_a_valid_one_without_recording() -> None:
    valid = make_config(bridge=None, autoStart=False)

    disabled = decide_event("new_inbound_call", config=DISABLED_NO_BRIDGE)

    assert disabled.actions == decide_event("new_inbound_call", config=valid).actions


def test_invalid_configuration_without_bridge_keeps_the_call_up_until_the_caller_hangs_up() -> None:
    answered = decide_event("new_inbound_call", config=DISABLED_NO_BRIDGE)
    kept = decide_event(
        "action_successful_pause", answered.state, DISABLED_NO_BRIDGE, single_leg=True
    )
    hung_up = decide_event("hangup_single_leg", kept.state, DISABLED_NO_BRIDGE)

    assert action_types(kept.actions) == ["Pause"]
    assert kept.metrics == ()
    assert (hung_up.actions, hung_up.state.flow) == ((), Flow.ENDED)


def test_invalid_configuration_without_bridge_refuses_recording_commands_and_stays_up() -> None:
    answered = decide_event("new_inbound_call", config=DISABLED_NO_BRIDGE)

    decision = decide_event(
        "call_update_requested_start", answered.state, DISABLED_NO_BRIDGE, single_leg=True
    )

    assert action_types(decision.actions) == ["Pause"]
    assert any("recording is disabled" in m for m in messages(decision, logging.WARNING))


def test_invalid_configuration_never_starts_recording_after_a_bridge() -> None:
    config = RecordingConfig(
        "app", Destination("recording-disabled"), bridge=make_config().bridge, disabled_reason="bad"
    )

    decision = decide_event("action_successful_call_and_bridge", BRIDGING, config)

    assert decision.actions == ()


def test_invalid_configuration_keeps_an_answered_outbound_call_up_unrecorded() -> None:
    config = RecordingConfig("app", Destination("recording-disabled"), disabled_reason="bad")

    decision = decide_event("call_answered", config=config)

    assert action_types(decision.actions) == ["Pause"]
    assert decision.metrics[0].error_type == "InvalidConfiguration"


def test_a_repeated_new_inbound_call_for_a_call_under_way_is_ignored() -> None:
    decision = decide_event("new_inbound_call", CallState(flow=Flow.BRIDGED))

    assert decision.actions == ()
    assert any("under way" in m for m in messages(decision, logging.WARNING))


def test_dtmf_configuration_does_not_arm_before_recording_starts() -> None:
    decision = decide_event("new_inbound_call", config=make_config(dtmf=DTMF))

    assert "ReceiveDigits" not in action_types(decision.actions)
