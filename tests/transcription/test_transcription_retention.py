"""Transcripts are records too: ``record`` gives every output its recording's retention.

moto's S3 with Object Lock (GetObjectRetention answered from HeadObject, as moto 5.2 answers it
with a 500: ``LockedS3`` of the arrival processor's retention tests), moto DynamoDB and EventBridge.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws
from recording_processor._errors import Transient
from recording_processor._retention import RetentionApplier, RetentionPolicy
from recording_processor.transcription._options import OptionsError, TranscriptionConfig
from recording_processor.transcription._retain import (
    RecordRetention,
    output_folder,
    output_keys,
    retain_outputs,
    retention_of,
)
from recording_processor.transcription.handler import TranscriptionRuntime

from tests.processor.conftest import BUCKET, CALL_ID, TRANSACTION_ID, Aws, Output
from tests.processor.test_processor_retention import LockedS3
from tests.transcription.conftest import (
    REDACTION,
    Transcribe,
    config,
    invoke,
    make_runtime,
    seed_recording,
    transcript_item,
)
from tests.transcription.test_transcription_record import OUTPUT, a_plan, completed

POLICY = RetentionPolicy.from_json(
    json.dumps(
        {
            "mode": "GOVERNANCE",
            "classes": [{"name": "trading", "numbers": ["+12065550100"], "days": 2555}],
            "defaultDays": 365,
        }
    )
)
UNTIL = datetime(2033, 11, 22, 12, 1, 20, tzinfo=UTC)
FILES = {
    "transcriptKey": f"{OUTPUT}/analytics/j.json",
    "redactedTranscriptKey": f"{OUTPUT}/redacted-analytics/j.json",
    "redactedMediaKey": f"{OUTPUT}/redacted-analytics/j.wav",
}
STATUS = completed(**FILES)


# -- pure --------------------------------------------------------------------------------------


def test_a_recording_without_a_class_has_no_retention() -> None:
    assert retention_of({"retainUntil": "2033-11-22T12:01:20.000Z"}) is None
    assert retention_of(None) is None


def test_the_recording_retention_is_read_from_its_item() -> None:
    found = retention_of({"retentionClass": "trading", "retainUntil": "2033-11-22T12:01:20.000Z"})
    assert found == RecordRetention("trading", UNTIL)


def test_a_bad_retain_until_is_named() -> None:
    with pytest.raises(ValueError, match="retainUntil is 'soon'"):
        retention_of({"retentionClass": "trading", "retainUntil": "soon"})


def test_output_keys_are_every_file_of_the_job_once() -> None:
    status = completed(**{**FILES, "redactedMediaKey": FILES["transcriptKey"]})
    assert output_keys(a_plan(), status, "transcripts") == [
        FILES["transcriptKey"],
        FILES["redactedTranscriptKey"],
    ]


def test_an_output_outside_the_calls_folder_is_refused() -> None:
    status = completed(transcriptKey="transcripts/other-call/j.json")
    with pytest.raises(ValueError, match=f"outside transcripts/{TRANSACTION_ID}/"):
        output_keys(a_plan(), status, "transcripts")


def test_an_output_in_another_bucket_is_refused() -> None:
    status = {**STATUS, "outputs": {**STATUS["outputs"], "bucket": "elsewhere"}}
    with pytest.raises(ValueError, match="bucket 'elsewhere'"):
        output_keys(a_plan(), status, "transcripts")


def test_output_folder_is_read_from_the_plans_request() -> None:
    assert output_folder(a_plan()) == f"{OUTPUT}/"
    assert output_folder(a_plan("INCOMING")) == f"{OUTPUT}/"


@pytest.mark.parametrize(
    "request_fields",
    [
        {"OutputLocation": f"s3://elsewhere/{OUTPUT}/"},
        {"OutputLocation": f"s3://{BUCKET}/transcripts/other/"},
        {"OutputLocation": f"s3://{BUCKET}/{TRANSACTION_ID}/"},
        {},
    ],
)
def test_a_plan_without_its_output_folder_is_refused(request_fields: dict[str, Any]) -> None:
    plan = a_plan()
    request = {k: v for k, v in plan["request"].items() if k != "OutputLocation"}
    with pytest.raises(ValueError, match="the plan's output location is"):
        output_folder({**plan, "request": {**request, **request_fields}})


def test_the_environment_carries_the_retention_policy() -> None:
    environ = {
        "CATALOG_TABLE": "t",
        "RECORDING_BUCKET": "b",
        "DATA_ACCESS_ROLE_ARN": "arn:aws:iam::123456789012:role/r",
        "TRANSCRIPTION": "{}",
    }
    assert TranscriptionConfig.from_environ(environ).retention is None
    parsed = TranscriptionConfig.from_environ(
        {**environ, "RETENTION": '{"mode": "COMPLIANCE", "defaultDays": 30}'}
    )
    assert parsed.retention == RetentionPolicy("COMPLIANCE", (), 30)
    with pytest.raises(OptionsError, match=r"RETENTION\.mode is 'LOCKED'"):
        TranscriptionConfig.from_environ(
            {**environ, "RETENTION": '{"mode": "LOCKED", "defaultDays": 30}'}
        )


# -- record, end to end over moto S3 with Object Lock ------------------------------------------


@pytest.fixture
def locked() -> Iterator[tuple[Aws, LockedS3]]:
    with mock_aws():
        aws = Aws()
        aws.s3.delete_bucket(Bucket=BUCKET)
        aws.s3.create_bucket(Bucket=BUCKET, ObjectLockEnabledForBucket=True)
        yield aws, LockedS3(aws.s3)


def _recording(aws: Aws, **retention: Any) -> None:
    seed_recording(aws)
    if retention:
        aws.table.update_item(
            Key={"pk": f"TX#{TRANSACTION_ID}", "sk": f"REC#{CALL_ID}"},
            UpdateExpression="SET " + ", ".join(f"#{name} = :{name}" for name in retention),
            ExpressionAttributeNames={f"#{name}": name for name in retention},
            ExpressionAttributeValues={f":{name}": value for name, value in retention.items()},
        )


def _written(aws: Aws, tags: list[dict[str, str]] | None = None) -> None:
    """The objects the job wrote (Transcribe's PutObject: no Object Lock parameters)."""
    for key in FILES.values():
        aws.s3.put_object(
            Bucket=BUCKET,
            Key=key,
            Body=b"{}",
            Tagging="&".join(f"{t['Key']}={t['Value']}" for t in tags or []),
        )


def _runtime(
    aws: Aws, s3: Any, transcribe: Transcribe, output: Output, policy: RetentionPolicy | None
) -> TranscriptionRuntime:
    runtime = make_runtime(aws, transcribe, output, config(retention=policy))
    return TranscriptionRuntime(
        **{**runtime.__dict__, "s3": s3},
    )


def _lock(aws: Aws, key: str) -> tuple[str | None, datetime | None]:
    head = aws.s3.head_object(Bucket=BUCKET, Key=key)
    return head.get("ObjectLockMode"), head.get("ObjectLockRetainUntilDate")


def _tags(aws: Aws, key: str) -> list[dict[str, str]]:
    return aws.s3.get_object_tagging(Bucket=BUCKET, Key=key)["TagSet"]


def test_every_output_gets_the_recordings_retention_and_class_tag(
    locked: tuple[Aws, LockedS3], transcribe: Transcribe, output: Output
) -> None:
    aws, s3 = locked
    _recording(
        aws,
        retentionClass="trading",
        deletionClass="trading",
        retainUntil="2033-11-22T12:01:20.000Z",
    )
    _written(aws, tags=[{"Key": "team", "Value": "a"}])
    runtime = _runtime(aws, s3, transcribe, output, POLICY)
    invoke(runtime, action="record", plan=a_plan(redaction=REDACTION), status=STATUS)
    for key in FILES.values():
        assert _lock(aws, key) == ("GOVERNANCE", UNTIL)
        assert sorted(_tags(aws, key), key=lambda t: t["Key"]) == [
            {"Key": "retention-class", "Value": "trading"},
            {"Key": "team", "Value": "a"},
        ]
    stored = transcript_item(aws)
    assert stored is not None
    assert (stored["status"], stored["retentionClass"], stored["retainUntil"]) == (
        "completed",
        "trading",
        "2033-11-22T12:01:20.000Z",
    )


def test_a_recording_no_class_rule_may_delete_leaves_its_transcripts_untagged(
    locked: tuple[Aws, LockedS3], transcribe: Transcribe, output: Output
) -> None:
    # Locked by "trading", but another candidate class keeps the call for ever (no deletionClass):
    # the transcripts are locked as long and carry no class tag, so no class rule expires them.
    aws, s3 = locked
    _recording(aws, retentionClass="trading", retainUntil="2033-11-22T12:01:20.000Z")
    _written(
        aws, tags=[{"Key": "retention-class", "Value": "support"}, {"Key": "team", "Value": "a"}]
    )
    invoke(
        _runtime(aws, s3, transcribe, output, POLICY),
        action="record",
        plan=a_plan(redaction=REDACTION),
        status=STATUS,
    )
    for key in FILES.values():
        assert _lock(aws, key) == ("GOVERNANCE", UNTIL)
        assert _tags(aws, key) == [{"Key": "team", "Value": "a"}]


def test_the_mode_is_the_policys(
    locked: tuple[Aws, LockedS3], transcribe: Transcribe, output: Output
) -> None:
    aws, s3 = locked
    _recording(aws, retentionClass="default", retainUntil="2033-11-22T12:01:20.000Z")
    _written(aws)
    policy = RetentionPolicy("COMPLIANCE", (), 365)
    invoke(
        _runtime(aws, s3, transcribe, output, policy),
        action="record",
        plan=a_plan(redaction=REDACTION),
        status=STATUS,
    )
    assert {_lock(aws, key)[0] for key in FILES.values()} == {"COMPLIANCE"}


def test_a_later_retention_of_an_output_is_never_shortened(
    locked: tuple[Aws, LockedS3], transcribe: Transcribe, output: Output
) -> None:
    aws, s3 = locked
    _recording(
        aws,
        retentionClass="trading",
        deletionClass="trading",
        retainUntil="2033-11-22T12:01:20.000Z",
    )
    _written(aws)
    later = UNTIL + timedelta(days=400)
    key = FILES["transcriptKey"]
    aws.s3.put_object_retention(
        Bucket=BUCKET, Key=key, Retention={"Mode": "GOVERNANCE", "RetainUntilDate": later}
    )
    invoke(
        _runtime(aws, s3, transcribe, output, POLICY),
        action="record",
        plan=a_plan(redaction=REDACTION),
        status=STATUS,
    )
    assert _lock(aws, key) == ("GOVERNANCE", later)
    assert _lock(aws, FILES["redactedMediaKey"]) == ("GOVERNANCE", UNTIL)
    stored = transcript_item(aws)
    assert stored is not None
    assert stored["retainUntil"] == "2034-12-27T12:01:20.000Z"  # the later date


def test_a_retention_already_ended_only_tags(
    locked: tuple[Aws, LockedS3], transcribe: Transcribe, output: Output
) -> None:
    aws, s3 = locked
    _recording(
        aws,
        retentionClass="trading",
        deletionClass="trading",
        retainUntil="2026-01-01T00:00:00.000Z",
    )
    _written(aws)
    invoke(
        _runtime(aws, s3, transcribe, output, POLICY),
        action="record",
        plan=a_plan(redaction=REDACTION),
        status=STATUS,
    )
    assert "put_object_retention" not in s3.calls
    assert _lock(aws, FILES["transcriptKey"]) == (None, None)
    assert _tags(aws, FILES["transcriptKey"]) == [{"Key": "retention-class", "Value": "trading"}]
    stored = transcript_item(aws)
    assert stored is not None
    assert stored["retentionClass"] == "trading"
    assert "retainUntil" not in stored


def test_without_a_retention_policy_nothing_is_locked_or_tagged(
    locked: tuple[Aws, LockedS3], transcribe: Transcribe, output: Output
) -> None:
    aws, s3 = locked
    _recording(
        aws,
        retentionClass="trading",
        deletionClass="trading",
        retainUntil="2033-11-22T12:01:20.000Z",
    )
    _written(aws)
    invoke(
        _runtime(aws, s3, transcribe, output, None),
        action="record",
        plan=a_plan(redaction=REDACTION),
        status=STATUS,
    )
    assert s3.calls == []
    stored = transcript_item(aws)
    assert stored is not None
    assert "retentionClass" not in stored


def test_a_recording_in_no_class_leaves_its_transcripts_alone(
    locked: tuple[Aws, LockedS3], transcribe: Transcribe, output: Output
) -> None:
    aws, s3 = locked
    _recording(aws)
    _written(aws)
    invoke(
        _runtime(aws, s3, transcribe, output, POLICY),
        action="record",
        plan=a_plan(redaction=REDACTION),
        status=STATUS,
    )
    assert s3.calls == []
    assert _tags(aws, FILES["transcriptKey"]) == []


@pytest.mark.parametrize(
    "operation", ["put_object_retention", "get_object_tagging", "put_object_tagging"]
)
def test_a_refused_s3_call_is_transient_and_nothing_is_cataloged(
    locked: tuple[Aws, LockedS3], transcribe: Transcribe, output: Output, operation: str
) -> None:
    aws, s3 = locked
    _recording(
        aws,
        retentionClass="trading",
        deletionClass="trading",
        retainUntil="2033-11-22T12:01:20.000Z",
    )
    _written(aws)
    s3.fail = operation
    with pytest.raises(Transient, match="AccessDenied") as raised:
        invoke(
            _runtime(aws, s3, transcribe, output, POLICY),
            action="record",
            plan=a_plan(redaction=REDACTION),
            status=STATUS,
        )
    assert raised.value.reason == "retention"
    # Not completed, so the state machine's retry (or its fail path) still has the item to write.
    assert transcript_item(aws) is None
    assert [e for e in aws.emitted() if e["detail-type"] == "Transcript Available"] == []


def test_a_retried_record_after_a_failure_completes(
    locked: tuple[Aws, LockedS3], transcribe: Transcribe, output: Output
) -> None:
    aws, s3 = locked
    _recording(
        aws,
        retentionClass="trading",
        deletionClass="trading",
        retainUntil="2033-11-22T12:01:20.000Z",
    )
    _written(aws)
    runtime = _runtime(aws, s3, transcribe, output, POLICY)
    s3.fail = "put_object_tagging"
    with pytest.raises(Transient):
        invoke(runtime, action="record", plan=a_plan(redaction=REDACTION), status=STATUS)
    s3.fail = None
    item = invoke(runtime, action="record", plan=a_plan(redaction=REDACTION), status=STATUS)
    assert item["retentionClass"] == "trading"
    assert all(_lock(aws, key) == ("GOVERNANCE", UNTIL) for key in FILES.values())


def test_the_failure_is_recorded_with_its_reason_after_retries(
    locked: tuple[Aws, LockedS3], transcribe: Transcribe, output: Output
) -> None:
    aws, s3 = locked
    _recording(
        aws,
        retentionClass="trading",
        deletionClass="trading",
        retainUntil="2033-11-22T12:01:20.000Z",
    )
    _written(aws)
    runtime = _runtime(aws, s3, transcribe, output, POLICY)
    s3.fail = "put_object_retention"
    plan = a_plan(redaction=REDACTION)
    with pytest.raises(Transient) as raised:
        invoke(runtime, action="record", plan=plan, status=STATUS)
    # What the state machine's catch passes to fail once the retries are spent.
    error = {"Error": "Transient", "Cause": json.dumps({"errorMessage": str(raised.value)})}
    invoke(runtime, action="fail", plan=plan, error=error)
    stored = transcript_item(aws)
    assert stored is not None
    assert stored["status"] == "failed"
    assert stored["failureReason"] == "Transient: PutObjectRetention failed: AccessDenied"
    [event] = [e for e in aws.emitted() if e["detail-type"] == "Transcription Failed"]
    assert event["detail"]["reason"] == stored["failureReason"]


# -- the exact requests (Stubber): the key's current version, no VersionId -----------------------


def test_outputs_are_addressed_at_their_current_version() -> None:
    client = boto3.client(
        "s3", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    address = {"Bucket": BUCKET, "Key": FILES["transcriptKey"]}
    with Stubber(client) as stubber:
        stubber.add_client_error(
            "get_object_retention",
            service_error_code="NoSuchObjectLockConfiguration",
            http_status_code=404,
            expected_params=address,
        )
        stubber.add_response(
            "put_object_retention",
            {},
            {**address, "Retention": {"Mode": "GOVERNANCE", "RetainUntilDate": UNTIL}},
        )
        stubber.add_response("get_object_tagging", {"TagSet": []}, address)
        stubber.add_response(
            "put_object_tagging",
            {},
            {**address, "Tagging": {"TagSet": [{"Key": "retention-class", "Value": "trading"}]}},
        )
        attributes = retain_outputs(
            RetentionApplier(client, "GOVERNANCE"),
            a_plan(),
            [FILES["transcriptKey"]],
            RecordRetention("trading", UNTIL, "trading"),
            datetime(2026, 11, 24, tzinfo=UTC),
        )
        stubber.assert_no_pending_responses()
    assert attributes == {"retentionClass": "trading", "retainUntil": "2033-11-22T12:01:20.000Z"}
