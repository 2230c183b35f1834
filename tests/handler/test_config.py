"""The JSON configuration the construct writes into SMA_RECORDING_CONFIG."""

from __future__ import annotations

import json
import re

import pytest
from sma_recording.config import (
    AudioConsent,
    Bridge,
    ConfigError,
    Destination,
    DtmfControl,
    EndpointType,
    Engine,
    Leg,
    RecordingConfig,
    SpeakConsent,
    Track,
    load_config,
    parse_config,
)

from .conftest import AGENT, BASE_CONFIG, BUCKET, DTMF, SPEAK_CONSENT, config_document, make_config


def test_parses_the_document_the_construct_writes() -> None:
    config = make_config(consent=SPEAK_CONSENT, dtmf=DTMF, announceToCallee=True)

    assert config == RecordingConfig(
        application="CallRecordingStack/Recording/Handler",
        destination=Destination(BUCKET, "recordings"),
        metrics_namespace="CdkRecording",
        track=Track.BOTH,
        leg=Leg.A,
        auto_start=True,
        consent=SpeakConsent("This call is recorded for quality and training."),
        announce_to_callee=True,
        bridge=Bridge(AGENT, EndpointType.PSTN, None, None, 30),
        dtmf=DtmfControl("*1", "*2"),
    )
    assert config.recording_enabled


def test_missing_optional_keys_take_their_defaults() -> None:
    config = parse_config({"application": "app", "destination": {"bucket": BUCKET}})

    assert (config.metrics_namespace, config.track, config.leg) == ("CdkRecording", "BOTH", "LEG-A")
    assert config.auto_start is True
    assert config.announce_to_callee is False
    assert (config.consent, config.bridge, config.dtmf) == (None, None, None)
    assert config.destination.prefix == ""


def test_bridge_defaults_to_pstn_with_thirty_seconds_and_callers_number() -> None:
    config = parse_config(
        {"application": "a", "destination": {"bucket": BUCKET}, "bridge": {"uri": AGENT}}
    )

    assert config.bridge == Bridge(AGENT, EndpointType.PSTN, None, None, 30)


def test_round_trips_through_its_json_document() -> None:
    document = config_document(
        consent={"audio": {"bucket": BUCKET, "key": "prompts/consent.wav"}},
        dtmf=DTMF,
        leg="LEG-B",
        track="INCOMING",
    )

    assert parse_config(json.dumps(document)).to_json_dict() == document


def test_location_is_bucket_slash_prefix() -> None:
    assert Destination(BUCKET, "recordings/calls").location == f"{BUCKET}/recordings/calls"


def test_location_is_the_bucket_alone_with_an_empty_prefix() -> None:
    assert Destination(BUCKET, "").location == BUCKET


def test_speak_consent_with_engine_voice_and_language() -> None:
    consent = {
        "speak": {"text": "Hi", "voiceId": "Lea", "engine": "neural", "languageCode": "fr-FR"}
    }

    assert make_config(consent=consent).consent == SpeakConsent("Hi", "Lea", Engine.NEURAL, "fr-FR")


def test_dtmf_regex_escapes_star_and_leaves_hash() -> None:
    regex = DtmfControl("*1", "#9").input_digits_regex

    assert regex == r"^(\*1|#9)$"
    assert re.fullmatch(regex, "*1")
    assert re.fullmatch(regex, "#9")
    assert not re.fullmatch(regex, "11")
    assert not re.fullmatch(regex, "*1#9")


@pytest.mark.parametrize(
    ("overrides", "problem"),
    [
        ({"version": 2}, "version must be 1"),
        ({"application": ""}, "application must be 1-255"),
        ({"application": None}, "application must be a string"),
        ({"metricsNamespace": "AWS/Chime"}, "metricsNamespace"),
        ({"metricsNamespace": "has space"}, "metricsNamespace"),
        ({"destination": {"bucket": "Not_A_Bucket"}}, "destination.bucket must be an S3 bucket"),
        (
            {"destination": {"bucket": BUCKET, "prefix": "/recordings/"}},
            "without a leading or trailing",
        ),
        ({"destination": None}, "destination must be an object"),
        ({"track": "both"}, "track must be BOTH, INCOMING or OUTGOING"),
        ({"leg": "LEG-C"}, "leg must be LEG-A or LEG-B"),
        ({"autoStart": "true"}, "autoStart must be true or false"),
        ({"announceToCallee": True}, "announceToCallee needs a consent"),
        ({"consent": {"speak": {"text": ""}}}, "consent.speak.text must be 1-1000"),
        ({"consent": {"speak": {"text": "x" * 1001}}}, "consent.speak.text must be 1-1000"),
        ({"consent": {"speak": {"text": "hi", "engine": "generative"}}}, "consent.speak.engine"),
        (
            {"consent": {"speak": {"text": "hi"}, "audio": {"bucket": BUCKET, "key": "k"}}},
            "exactly one",
        ),
        ({"consent": {}}, "exactly one of speak or audio"),
        ({"bridge": {"uri": "0800 123"}}, "bridge.uri must be an E.164"),
        ({"bridge": {"endpointType": "AWS", "uri": "agent@example.com"}}, "bridge.arn must be"),
        ({"bridge": {"uri": AGENT, "arn": "arn:aws:chime:us-east-1:1:vc/x"}}, "only allowed with"),
        ({"bridge": {"uri": AGENT, "callerId": "12065550100"}}, "bridge.callerId must be"),
        ({"bridge": {"uri": AGENT, "timeoutSeconds": 121}}, "bridge.timeoutSeconds"),
        (
            {"bridge": {"uri": AGENT, "timeoutSeconds": True}},
            "bridge.timeoutSeconds must be an integer",
        ),
        (
            {"bridge": {"uri": AGENT, "endpointType": "SIP"}},
            "bridge.endpointType must be PSTN or AWS",
        ),
        ({"dtmf": {"pause": "*1", "resume": "*1"}}, "must differ"),
        ({"dtmf": {"pause": "*1", "resume": "*12"}}, "prefixes"),
        ({"dtmf": {"pause": "A", "resume": "*2"}}, "dtmf.pause must be 1-8 of the keys"),
        ({"dtmf": {"pause": "*1"}}, "dtmf.resume is required"),
        ({"recordingPrefix": "x"}, "recordingPrefix is not a known key"),
        # A trailing newline passes a regex anchored with '$': each value must match as a whole.
        ({"destination": {"bucket": BUCKET + "\n"}}, "destination.bucket must be an S3 bucket"),
        ({"bridge": {"uri": AGENT + "\n"}}, "bridge.uri must be an E.164"),
        ({"bridge": {"uri": AGENT, "callerId": AGENT + "\n"}}, "bridge.callerId must be"),
        ({"dtmf": {"pause": "*1\n", "resume": "*2"}}, "dtmf.pause must be 1-8 of the keys"),
        ({"metricsNamespace": "CdkRecording\n"}, "metricsNamespace"),
    ],
)
def test_rejects_invalid_documents_naming_the_key(
    overrides: dict[str, object], problem: str
) -> None:
    with pytest.raises(ConfigError) as raised:
        parse_config(json.dumps(config_document(**overrides)))

    assert any(problem in p for p in raised.value.problems), raised.value.problems


def test_reports_every_problem_at_once() -> None:
    with pytest.raises(ConfigError) as raised:
        parse_config(json.dumps(config_document(track="x", leg="y", autoStart=1)))

    assert len(raised.value.problems) == 3


def test_rejects_text_that_is_not_json() -> None:
    with pytest.raises(ConfigError, match="not valid JSON"):
        parse_config("{application: app}")


def test_rejects_a_document_that_is_not_an_object() -> None:
    with pytest.raises(ConfigError, match="must be a JSON object"):
        parse_config("[]")


def test_dataclasses_validate_when_built_in_code() -> None:
    with pytest.raises(ConfigError, match=r"bridge\.timeoutSeconds"):
        Bridge(AGENT, timeout_seconds=0)


def test_audio_consent_needs_a_valid_bucket() -> None:
    with pytest.raises(ConfigError, match=r"consent\.audio\.bucket"):
        AudioConsent("no", "consent.wav")


def test_load_config_returns_a_valid_configuration_without_problems() -> None:
    config, problems = load_config(json.dumps(BASE_CONFIG))

    assert problems == ()
    assert config.recording_enabled


def test_load_config_without_the_variable_disables_recording() -> None:
    config, problems = load_config(None)

    assert not config.recording_enabled
    assert problems == ("environment variable SMA_RECORDING_CONFIG is not set",)
    assert config.bridge is None


def test_load_config_of_invalid_json_disables_recording_with_the_reason() -> None:
    config, problems = load_config("{")

    assert not config.recording_enabled
    assert "not valid JSON" in problems[0]
    assert config.disabled_reason == problems[0]


def test_invalid_config_keeps_the_valid_bridge_application_and_namespace() -> None:
    config, problems = load_config(
        json.dumps(config_document(track="STEREO", metricsNamespace="Calls/Recording"))
    )

    assert problems
    assert "track" in problems[0]
    assert not config.recording_enabled
    assert config.bridge == Bridge(AGENT)
    assert config.application == BASE_CONFIG["application"]
    assert config.metrics_namespace == "Calls/Recording"
    assert config.auto_start is False


def test_invalid_config_drops_an_invalid_bridge() -> None:
    config, _ = load_config(json.dumps(config_document(bridge={"uri": "not a number"})))

    assert not config.recording_enabled
    assert config.bridge is None


def test_invalid_config_with_invalid_application_uses_a_placeholder() -> None:
    config, _ = load_config(json.dumps(config_document(application="")))

    assert config.application == "unknown"
