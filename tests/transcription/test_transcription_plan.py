"""Planning: channel roles from the catalog, the job type and its fallback, job names, requests."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import botocore.session
import pytest
from botocore.validate import validate_parameters
from hypothesis import given
from hypothesis import strategies as st
from recording_processor._store import CatalogStore
from recording_processor.transcription._plan import (
    channel_roles,
    decide_plan,
    job_name,
    read_plan,
)

from tests.processor.conftest import BUCKET, CALL_ID, LEG_START, TRANSACTION_ID, Aws, key_for
from tests.transcription.conftest import KEY, REDACTION, ROLE, config, seed_recording

_MODEL = botocore.session.get_session().get_service_model("transcribe")
_JOB_NAME = re.compile(r"[0-9a-zA-Z._-]{1,200}")


def validate(plan: dict[str, Any]) -> None:
    """The request is valid for the real API model (what the Stubber checks too)."""
    operation = (
        "StartCallAnalyticsJob" if plan["jobType"] == "call-analytics" else "StartTranscriptionJob"
    )
    validate_parameters(plan["request"], _MODEL.operation_model(operation).input_shape)


def rec(
    leg: str | None = "LEG-A",
    track: str | None = "BOTH",
    channels: int | None = 2,
    direction: str | None = None,
) -> dict[str, Any]:
    item = {"key": KEY, "leg": leg, "track": track, "channels": channels, "direction": direction}
    return {k: v for k, v in item.items() if v is not None}


def plan_for(
    leg: str | None = "LEG-A",
    call_direction: str | None = "inbound",
    track: str | None = "BOTH",
    channels: int | None = 2,
    leg_direction: str | None = None,
    **options: Any,
) -> dict[str, Any]:
    call = None if call_direction is None else {"direction": call_direction}
    plan = decide_plan(
        BUCKET,
        KEY,
        TRANSACTION_ID,
        CALL_ID,
        rec(leg, track, channels, leg_direction),
        call,
        config(options or None),
    )
    validate(plan)
    return plan


# -- channel roles ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("leg", "direction", "channel_0", "channel_1"),
    [
        ("LEG-A", "inbound", "CUSTOMER", "AGENT"),
        ("LEG-B", "inbound", "AGENT", "CUSTOMER"),
        ("LEG-A", "outbound", "AGENT", "CUSTOMER"),
        ("LEG-B", "outbound", "CUSTOMER", "AGENT"),
    ],
)
def test_channel_roles(leg: str, direction: str, channel_0: str, channel_1: str) -> None:
    """post-call.md §2.1: LEG-A inbound is customer left, agent right; LEG-B or an outbound call
    reverses it, and both together reverse it twice.
    """
    assert channel_roles(leg, direction) == {"0": channel_0, "1": channel_1}


@pytest.mark.parametrize(("leg", "direction"), [("LEG-C", "inbound"), ("LEG-A", "sideways")])
def test_channel_roles_refuse_to_guess(leg: str, direction: str) -> None:
    with pytest.raises(ValueError, match="no channel roles"):
        channel_roles(leg, direction)


_STEREO_ROLES = {
    ("LEG-A", "inbound"): ("CUSTOMER", "AGENT"),
    ("LEG-B", "inbound"): ("AGENT", "CUSTOMER"),
    ("LEG-A", "outbound"): ("AGENT", "CUSTOMER"),
    ("LEG-B", "outbound"): ("CUSTOMER", "AGENT"),
}


@pytest.mark.parametrize("track", ["BOTH", "INCOMING", "OUTGOING", None])
@pytest.mark.parametrize("direction", ["inbound", "outbound", None])
@pytest.mark.parametrize("leg", ["LEG-A", "LEG-B", None])
def test_every_leg_direction_and_track(
    leg: str | None, direction: str | None, track: str | None
) -> None:
    """Every combination the catalog can hold.

    ===========  =========  =========  ==============  ================  ====================
    track        leg        direction  job             fallbackReason    ChannelDefinitions
    ===========  =========  =========  ==============  ================  ====================
    BOTH         known      known      call-analytics  null              the roles table
    BOTH         unknown    any        standard        unknown-roles     (ChannelIdentification off)
    BOTH         any        unknown    standard        unknown-roles     (ChannelIdentification off)
    INCOMING     any        any        standard        mono-track        (ChannelIdentification off)
    OUTGOING     any        any        standard        mono-track        (ChannelIdentification off)
    unknown      any        any        standard        unknown-roles     (ChannelIdentification off)
    ===========  =========  =========  ==============  ================  ====================

    A mono file has one channel, so its track says nothing about its channels' roles; the
    direction of LEG-A's own item stands in for the call's only for LEG-A (see below).
    """
    channels = 2 if track in ("BOTH", None) else 1
    plan = plan_for(leg, direction, track, channels, leg_direction="outbound")
    expected = _STEREO_ROLES.get((leg, direction)) if leg and direction else None
    if track in ("INCOMING", "OUTGOING"):
        assert (plan["jobType"], plan["fallbackReason"], plan["channelRoles"]) == (
            "standard",
            "mono-track",
            None,
        )
        assert plan["request"]["Settings"]["ChannelIdentification"] is False
    elif track == "BOTH" and expected is not None:
        assert (plan["jobType"], plan["fallbackReason"]) == ("call-analytics", None)
        assert plan["channelRoles"] == {"0": expected[0], "1": expected[1]}
        assert plan["request"]["ChannelDefinitions"] == [
            {"ChannelId": 0, "ParticipantRole": expected[0]},
            {"ChannelId": 1, "ParticipantRole": expected[1]},
        ]
    elif track == "BOTH" and leg == "LEG-A" and direction is None:
        # LEG-A's own direction is the call's: the item said "outbound".
        assert plan["channelRoles"] == {"0": "AGENT", "1": "CUSTOMER"}
    else:
        assert (plan["jobType"], plan["fallbackReason"], plan["channelRoles"]) == (
            "standard",
            "unknown-roles",
            None,
        )
        assert plan["request"]["Settings"]["ChannelIdentification"] is False


def test_leg_b_own_direction_does_not_stand_for_the_calls() -> None:
    """A bridged LEG-B is an outbound leg of an inbound call: its item's direction is not the
    call's, so without the call's direction the roles are unknown.
    """
    plan = plan_for("LEG-B", None, leg_direction="outbound")
    assert plan["fallbackReason"] == "unknown-roles"
    assert plan_for("LEG-B", "inbound", leg_direction="outbound")["channelRoles"] == {
        "0": "AGENT",
        "1": "CUSTOMER",
    }


def test_one_channel_file_is_mono_whatever_the_track_says() -> None:
    plan = plan_for(track="BOTH", channels=1)
    assert (plan["jobType"], plan["fallbackReason"]) == ("standard", "mono-track")


def test_catalog_values_are_read_case_blind() -> None:
    assert plan_for("leg-a", "INBOUND", "both")["channelRoles"] == {"0": "CUSTOMER", "1": "AGENT"}


# -- job type and request --------------------------------------------------------------------


def test_call_analytics_request_is_exact() -> None:
    plan = plan_for(
        languageCode="en-US",
        redaction=REDACTION,
        vocabularyName="banking-terms",
        summarization=True,
    )
    assert plan["request"] == {
        "CallAnalyticsJobName": job_name(BUCKET, KEY),
        "Media": {"MediaFileUri": f"s3://{BUCKET}/{KEY}"},
        "OutputLocation": f"s3://{BUCKET}/transcripts/{TRANSACTION_ID}/",
        "DataAccessRoleArn": ROLE,
        "ChannelDefinitions": [
            {"ChannelId": 0, "ParticipantRole": "CUSTOMER"},
            {"ChannelId": 1, "ParticipantRole": "AGENT"},
        ],
        "Settings": {
            "LanguageOptions": ["en-US"],
            "VocabularyName": "banking-terms",
            "ContentRedaction": {
                "RedactionType": "PII",
                "RedactionOutput": "redacted_and_unredacted",
                "PiiEntityTypes": ["CREDIT_DEBIT_NUMBER", "CREDIT_DEBIT_CVV", "SSN"],
            },
            "Summarization": {"GenerateAbstractiveSummary": True},
        },
    }
    assert {k: plan[k] for k in ("skip", "transactionId", "callId", "bucket", "key")} == {
        "skip": False,
        "transactionId": TRANSACTION_ID,
        "callId": CALL_ID,
        "bucket": BUCKET,
        "key": KEY,
    }


def test_standard_request_for_a_mono_track_is_exact() -> None:
    plan = plan_for(track="INCOMING", channels=1, redaction={"output": "redacted"})
    assert plan["request"] == {
        "TranscriptionJobName": job_name(BUCKET, KEY),
        "LanguageCode": "en-US",
        "Media": {"MediaFileUri": f"s3://{BUCKET}/{KEY}"},
        "OutputBucketName": BUCKET,
        "OutputKey": f"transcripts/{TRANSACTION_ID}/",
        "Settings": {"ChannelIdentification": False},
        "JobExecutionSettings": {"AllowDeferredExecution": True, "DataAccessRoleArn": ROLE},
        "ContentRedaction": {
            "RedactionType": "PII",
            "RedactionOutput": "redacted",
            "PiiEntityTypes": [
                "CREDIT_DEBIT_NUMBER",
                "CREDIT_DEBIT_CVV",
                "CREDIT_DEBIT_EXPIRY",
                "PIN",
                "BANK_ACCOUNT_NUMBER",
                "BANK_ROUTING",
                "SSN",
            ],
        },
    }


def test_language_call_analytics_lacks_falls_back_with_channel_identification() -> None:
    plan = plan_for(languageCode="nl-NL")
    assert (plan["jobType"], plan["fallbackReason"]) == ("standard", "language")
    assert plan["channelRoles"] == {"0": "CUSTOMER", "1": "AGENT"}
    assert plan["request"]["LanguageCode"] == "nl-NL"
    assert plan["request"]["Settings"]["ChannelIdentification"] is True


def test_call_analytics_off_is_a_standard_job_without_fallback() -> None:
    plan = plan_for(callAnalytics=False)
    assert (plan["jobType"], plan["fallbackReason"]) == ("standard", None)
    assert plan["request"]["Settings"]["ChannelIdentification"] is True


def test_identified_language_passes_the_options() -> None:
    plan = plan_for(identifyLanguage=True, languageOptions=["en-US", "es-US"])
    assert plan["request"]["Settings"] == {"LanguageOptions": ["en-US", "es-US"]}
    mono = plan_for(
        track="OUTGOING", channels=1, identifyLanguage=True, languageOptions=["en-US", "es-US"]
    )
    assert mono["request"]["IdentifyLanguage"] is True
    assert "LanguageCode" not in mono["request"]
    assert mono["request"]["LanguageOptions"] == ["en-US", "es-US"]


def test_output_key_goes_to_the_configured_key_for_kms_buckets() -> None:
    cfg = config(output_kms_key_id="arn:aws:kms:us-east-1:123456789012:key/abc")
    for track, channels in (("BOTH", 2), ("INCOMING", 1)):
        plan = decide_plan(
            BUCKET,
            KEY,
            TRANSACTION_ID,
            CALL_ID,
            rec(track=track, channels=channels),
            {"direction": "inbound"},
            cfg,
        )
        validate(plan)
        assert plan["request"]["OutputEncryptionKMSKeyId"].endswith("key/abc")


def test_catalog_naming_another_key_is_a_skip() -> None:
    other = {**rec(), "key": key_for(leg_start=LEG_START + timedelta(seconds=1))}
    plan = decide_plan(BUCKET, KEY, TRANSACTION_ID, CALL_ID, other, None, config())
    assert plan == {"skip": True, "reason": "the catalog's delivered recording has another key"}


# -- job names -------------------------------------------------------------------------------


def test_job_name_of_a_real_key_is_its_file_name_and_a_hash() -> None:
    name = job_name(BUCKET, KEY)
    stem = KEY.rsplit("/", 1)[-1].removesuffix(".wav")
    assert name.startswith(stem + "_")
    assert re.fullmatch(r"[0-9a-f]{16}", name.removeprefix(stem + "_"))
    assert _JOB_NAME.fullmatch(name)


@pytest.mark.parametrize("prefix", ["calls", "", "a/b/c", "Amazon-Chime-SMA-Call-Recordings"])
def test_job_names_of_real_keys_are_valid_and_unique(prefix: str) -> None:
    keys = {
        key_for(
            str(uuid.UUID(int=n)),
            str(uuid.UUID(int=n + 1000)),
            LEG_START + timedelta(minutes=n),
            prefix,
        )
        for n in range(50)
    }
    names = {job_name(BUCKET, key) for key in keys}
    assert len(names) == len(keys)
    assert all(_JOB_NAME.fullmatch(name) for name in names)


def test_same_key_in_two_buckets_has_two_names() -> None:
    # Job names are per account and region: two recording buckets may hold the same key.
    assert job_name("recordings-a", KEY) != job_name("recordings-b", KEY)


def test_same_file_in_two_folders_has_two_names() -> None:
    assert job_name(BUCKET, key_for(prefix="calls")) != job_name(BUCKET, key_for(prefix="archive"))


@given(st.text(min_size=1, max_size=1200))
def test_job_name_of_any_key_fits_the_api(key: str) -> None:
    name = job_name(BUCKET, key)
    assert _JOB_NAME.fullmatch(name)
    assert name == job_name(BUCKET, key)


@given(st.text(min_size=1, max_size=300), st.text(min_size=1, max_size=300))
def test_different_keys_have_different_names(first: str, second: str) -> None:
    if first != second:
        assert job_name(BUCKET, first) != job_name(BUCKET, second)


@given(
    st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 31)),
    st.uuids(),
    st.uuids(),
)
def test_job_name_of_any_recording_key_keeps_its_file_name(
    moment: datetime, tx: uuid.UUID, call: uuid.UUID
) -> None:
    key = key_for(str(tx), str(call), moment.replace(tzinfo=UTC))
    stem = key.rsplit("/", 1)[-1].removesuffix(".wav")
    assert job_name(BUCKET, key).startswith(stem + "_")


# -- reading the catalog ---------------------------------------------------------------------


def read(aws: Aws, recording: dict[str, Any]) -> dict[str, Any]:
    return read_plan(recording, config(), CatalogStore(aws.dynamodb, config().catalog_table))


def test_reads_leg_track_and_direction_from_the_catalog(aws: Aws) -> None:
    seed_recording(aws, leg="LEG-B", call_direction="outbound")
    plan = read(
        aws, {"bucket": BUCKET, "key": KEY, "versionId": "v1", "transactionId": TRANSACTION_ID}
    )
    assert plan["channelRoles"] == {"0": "CUSTOMER", "1": "AGENT"}


@pytest.mark.parametrize(
    ("recording", "reason"),
    [
        pytest.param({"bucket": "elsewhere", "key": KEY}, "not the recording bucket", id="bucket"),
        pytest.param(
            {"bucket": BUCKET, "key": f"transcripts/{TRANSACTION_ID}/x.json"},
            "not a recording key",
            id="transcript",
        ),
        pytest.param(
            {"bucket": BUCKET, "key": key_for(call_id=str(uuid.uuid4()))},
            "no delivered recording",
            id="uncataloged",
        ),
    ],
)
def test_skips(aws: Aws, recording: dict[str, Any], reason: str) -> None:
    seed_recording(aws)
    plan = read(aws, recording)
    assert plan["skip"] is True
    assert reason in plan["reason"]


def test_recording_not_yet_delivered_is_skipped(aws: Aws) -> None:
    seed_recording(aws, status="started")
    assert read(aws, {"bucket": BUCKET, "key": KEY})["skip"] is True


def test_announced_transcript_is_skipped_an_unannounced_one_is_not(aws: Aws) -> None:
    seed_recording(aws)
    item = {"pk": f"TX#{TRANSACTION_ID}", "sk": f"TRANSCRIPT#{CALL_ID}", "status": "completed"}
    aws.table.put_item(Item=item)
    assert read(aws, {"bucket": BUCKET, "key": KEY})["skip"] is False
    aws.table.put_item(Item={**item, "eventSent": True})
    assert read(aws, {"bucket": BUCKET, "key": KEY}) == {
        "skip": True,
        "reason": "already transcribed",
    }


@pytest.mark.parametrize("recording", [None, "key", {"bucket": BUCKET}, {"bucket": 1, "key": KEY}])
def test_input_without_bucket_and_key_is_an_error(aws: Aws, recording: object) -> None:
    with pytest.raises(ValueError, match="bucket"):
        read(aws, recording)  # type: ignore[arg-type]
