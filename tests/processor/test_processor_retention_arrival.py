"""Retention at arrival, end to end over moto S3 with Object Lock: lock, tag, legal hold, erasure,
final refusals and the catalog item."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber
from moto import mock_aws
from recording_processor._config import ProcessorConfig
from recording_processor._process import DEFER_SECONDS
from recording_processor._retention import RetentionApplier, RetentionPolicy

from tests.processor.conftest import (
    BUCKET,
    CONFIG,
    TRANSACTION_ID,
    Aws,
    Output,
    key_for,
    make_runtime,
    metadata_for,
    run,
    s3_event,
    sqs_batch,
    stereo_wav,
)
from tests.processor.test_processor_retention import (
    POLICY,
    SECONDS,
    SUPPORT,
    SUPPORT_NUMBER,
    TRADING_NUMBER,
    LockedS3,
)

# -- at arrival, end to end over moto S3 with Object Lock ----------------------------------------


@pytest.fixture
def locked() -> Iterator[tuple[Aws, LockedS3]]:
    with mock_aws():
        aws = Aws()
        # The same bucket, created again with Object Lock enabled (and no default retention).
        aws.s3.delete_bucket(Bucket=BUCKET)
        aws.s3.create_bucket(Bucket=BUCKET, ObjectLockEnabledForBucket=True)
        yield aws, LockedS3(aws.s3)


def _runtime(aws: Aws, s3: LockedS3, output: Output, **overrides: Any) -> Any:
    config = ProcessorConfig(**{**CONFIG.__dict__, "retention": POLICY})
    return make_runtime(aws, output, s3=s3, config=config, **overrides)


def _call(aws: Aws, **attributes: Any) -> None:
    """The call item as the facts consumer (and the records commands) leave it: ended."""
    aws.table.put_item(
        Item={
            "pk": f"TX#{TRANSACTION_ID}",
            "sk": "CALL",
            "transactionId": TRANSACTION_ID,
            "endedAt": "2026-11-24T12:01:10.000Z",
            **attributes,
        }
    )


def _number(aws: Aws, number: str) -> None:
    aws.table.put_item(
        Item={
            "pk": f"TX#{TRANSACTION_ID}",
            "sk": f"NUM#{number}",
            "transactionId": TRANSACTION_ID,
            "number": number,
            "role": "to",
        }
    )


def _deliver(aws: Aws) -> tuple[str, str, dict[str, Any]]:
    key = key_for()
    version = aws.put_recording(key, stereo_wav(SECONDS), metadata_for(SECONDS))
    return key, version, s3_event(key, version)


def _lock(aws: Aws, key: str, version: str) -> tuple[str | None, datetime | None, datetime]:
    head = aws.s3.head_object(Bucket=BUCKET, Key=key, VersionId=version)
    return head.get("ObjectLockMode"), head.get("ObjectLockRetainUntilDate"), head["LastModified"]


def _tags(aws: Aws, key: str, version: str) -> list[dict[str, str]]:
    return aws.s3.get_object_tagging(Bucket=BUCKET, Key=key, VersionId=version)["TagSet"]


def test_arrival_locks_and_tags_the_version_of_a_class_number(
    locked: tuple[Aws, LockedS3], output: Output
) -> None:
    aws, s3 = locked
    _call(aws)
    _number(aws, TRADING_NUMBER)
    key, version, event = _deliver(aws)
    assert run(sqs_batch(event), _runtime(aws, s3, output)) == []
    mode, until, created = _lock(aws, key, version)
    assert mode == "GOVERNANCE"
    assert until == created + timedelta(days=2555)
    assert _tags(aws, key, version) == [{"Key": "retention-class", "Value": "trading"}]
    item = aws.recording_item()
    assert item is not None
    assert item["status"] == "delivered"
    assert item["retentionClass"] == item["deletionClass"] == "trading"
    assert item["retainUntil"].startswith((created + timedelta(days=2555)).strftime("%Y-%m-%dT"))
    assert "retentionDefaulted" not in item
    assert "retentionFailed" not in item
    assert output.metric_values("RetentionClassDefaulted") == []


def test_the_call_item_numbers_classify_the_call(
    locked: tuple[Aws, LockedS3], output: Output
) -> None:
    aws, s3 = locked
    _call(aws, fromNumber=SUPPORT_NUMBER)
    key, version, event = _deliver(aws)
    assert run(sqs_batch(event), _runtime(aws, s3, output)) == []
    _, until, created = _lock(aws, key, version)
    assert until == created + timedelta(days=90)
    assert aws.recording_item()["retentionClass"] == "support"  # type: ignore[index]


def test_unknown_numbers_take_the_longest_lock_no_tag_and_are_counted(
    locked: tuple[Aws, LockedS3], output: Output
) -> None:
    aws, s3 = locked
    _call(aws)
    key, version, event = _deliver(aws)
    assert run(sqs_batch(event), _runtime(aws, s3, output)) == []
    _, until, created = _lock(aws, key, version)
    assert until == created + timedelta(days=2555)
    # No class tag: no class rule expires it (it may be a "default" call, never expired).
    assert _tags(aws, key, version) == []
    item = aws.recording_item()
    assert item is not None
    assert item["retentionClass"] == "trading"
    assert "deletionClass" not in item
    assert item["retentionDefaulted"] is True
    assert output.metric_values("RetentionClassDefaulted") == [1]


def test_a_call_not_yet_ended_is_defaulted_although_a_number_is_known(
    locked: tuple[Aws, LockedS3], output: Output
) -> None:
    aws, s3 = locked
    # The call item has no endedAt: a number of a longer class may still come.
    aws.table.put_item(
        Item={"pk": f"TX#{TRANSACTION_ID}", "sk": "CALL", "fromNumber": SUPPORT_NUMBER}
    )
    key, version, event = _deliver(aws)
    # The second receive: the first was deferred (below) and the call has still not ended.
    assert run(sqs_batch(event, receive_count=2), _runtime(aws, s3, output)) == []
    _, until, created = _lock(aws, key, version)
    assert until == created + timedelta(days=2555)
    assert _tags(aws, key, version) == []
    item = aws.recording_item()
    assert item is not None
    assert item["retentionClass"] == "trading"
    assert item["retentionDefaulted"] is True
    assert output.metric_values("RetentionClassDefaulted") == [1]
    assert output.metric_values("RetentionDeferred") == []


def _open_call(aws: Aws) -> None:
    # The call item as the facts consumer leaves it during the call: a number, no endedAt yet.
    aws.table.put_item(
        Item={"pk": f"TX#{TRANSACTION_ID}", "sk": "CALL", "fromNumber": SUPPORT_NUMBER}
    )


def test_the_first_receive_of_a_call_not_yet_ended_is_deferred_untouched(
    locked: tuple[Aws, LockedS3], output: Output
) -> None:
    aws, s3 = locked
    _open_call(aws)
    key, version, event = _deliver(aws)
    batch = sqs_batch(event)
    assert run(batch, _runtime(aws, s3, output)) == [batch["Records"][0]["messageId"]]
    # Nothing read, locked, tagged or cataloged; counted and logged.
    assert _lock(aws, key, version)[:2] == (None, None)
    assert _tags(aws, key, version) == []
    assert aws.recording_item() is None
    assert output.metric_values("RetentionDeferred") == [1]
    assert output.metric_values("ProcessorFailed") == []
    assert any("deferred" in line.get("message", "") for line in output.logs)


def test_a_deferred_record_is_classified_once_the_call_has_ended(
    locked: tuple[Aws, LockedS3], output: Output
) -> None:
    aws, s3 = locked
    _open_call(aws)
    key, version, event = _deliver(aws)
    assert len(run(sqs_batch(event), _runtime(aws, s3, output))) == 1
    # The hangup fact lands; the record comes back (receive 2) and gets the support class.
    _call(aws, fromNumber=SUPPORT_NUMBER)
    assert run(sqs_batch(event, receive_count=2), _runtime(aws, s3, output)) == []
    _, until, created = _lock(aws, key, version)
    assert until == created + timedelta(days=90)
    assert _tags(aws, key, version) == [{"Key": "retention-class", "Value": "support"}]
    item = aws.recording_item()
    assert item is not None
    assert item["retentionClass"] == "support"
    assert "retentionDefaulted" not in item


@pytest.mark.parametrize("receive_count", [None, "x", "99999999999"])
def test_an_unknown_receive_count_never_defers(
    locked: tuple[Aws, LockedS3], output: Output, receive_count: str | None
) -> None:
    aws, s3 = locked
    _open_call(aws)
    _, _, event = _deliver(aws)
    batch = sqs_batch(event)
    attributes = batch["Records"][0]["attributes"]
    if receive_count is None:
        del attributes["ApproximateReceiveCount"]
    else:
        attributes["ApproximateReceiveCount"] = receive_count
    assert run(batch, _runtime(aws, s3, output)) == []
    assert aws.recording_item()["retentionDefaulted"] is True  # type: ignore[index]


def test_without_classes_a_call_not_yet_ended_is_not_deferred(
    locked: tuple[Aws, LockedS3], output: Output
) -> None:
    aws, s3 = locked
    _open_call(aws)
    _, _, event = _deliver(aws)
    policy = RetentionPolicy(mode="GOVERNANCE", classes=(), default_days=30)
    config = ProcessorConfig(**{**CONFIG.__dict__, "retention": policy})
    runtime = make_runtime(aws, output, s3=s3, config=config)
    assert run(sqs_batch(event), runtime) == []
    assert aws.recording_item()["retentionClass"] == "default"  # type: ignore[index]
    assert output.metric_values("RetentionDeferred") == []


def test_an_erased_call_is_not_deferred(locked: tuple[Aws, LockedS3], output: Output) -> None:
    aws, s3 = locked
    aws.table.put_item(
        Item={"pk": f"TX#{TRANSACTION_ID}", "sk": "CALL", "erasedAt": "2026-11-24T12:05:00.000Z"}
    )
    _, _, event = _deliver(aws)
    assert run(sqs_batch(event), _runtime(aws, s3, output)) == []
    assert aws.recording_item()["afterErasure"] is True  # type: ignore[index]


def test_an_existing_later_retention_is_never_shortened(
    locked: tuple[Aws, LockedS3], output: Output
) -> None:
    aws, s3 = locked
    _call(aws)
    _number(aws, SUPPORT_NUMBER)
    key, version, event = _deliver(aws)
    far = datetime(2040, 1, 1, tzinfo=UTC)
    aws.s3.put_object_retention(
        Bucket=BUCKET,
        Key=key,
        VersionId=version,
        Retention={"Mode": "GOVERNANCE", "RetainUntilDate": far},
    )
    assert run(sqs_batch(event), _runtime(aws, s3, output)) == []
    # moto would accept a shorter date (real S3 refuses one without a bypass): so this checks
    # that the processor never asked for one.
    assert _lock(aws, key, version)[1] == far
    assert "put_object_retention" not in s3.calls
    assert aws.recording_item()["retainUntil"] == "2040-01-01T00:00:00.000Z"  # type: ignore[index]


def test_a_version_redelivered_after_a_lost_catalog_commit_is_not_written_again(
    locked: tuple[Aws, LockedS3], output: Output
) -> None:
    aws, s3 = locked
    _call(aws)
    _number(aws, SUPPORT_NUMBER)
    key, version, event = _deliver(aws)
    batch = sqs_batch(event)

    def lost(*_: Any, **__: Any) -> Any:
        raise ClientError(
            {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "x"}},
            "TransactWriteItems",
        )

    dynamodb = _Patched(aws.dynamodb, transact_write_items=lost)
    # The first delivery locks and tags the version, then loses its catalog commit.
    assert run(batch, _runtime(aws, s3, output, dynamodb=dynamodb)) == [
        batch["Records"][0]["messageId"]
    ]
    assert aws.recording_item() is None
    before = (_lock(aws, key, version), _tags(aws, key, version))
    assert before[0][0] == "GOVERNANCE"
    s3.calls.clear()
    # The redelivery reaches the retention code again (nothing cataloged) and writes nothing.
    assert run(batch, _runtime(aws, s3, output)) == []
    assert "get_object_retention" in s3.calls
    assert not [c for c in s3.calls if c.startswith("put_")]
    assert (_lock(aws, key, version), _tags(aws, key, version)) == before
    item = aws.recording_item()
    assert item is not None
    assert item["retainUntil"].startswith(before[0][1].strftime("%Y-%m-%dT"))  # type: ignore[union-attr]


def test_retention_applied_again_to_a_locked_version_writes_nothing(
    locked: tuple[Aws, LockedS3],
) -> None:
    aws, s3 = locked
    key, version, _ = _deliver(aws)
    created = _lock(aws, key, version)[2]
    applier = RetentionApplier(s3, "GOVERNANCE")
    first = applier.apply(BUCKET, key, version, created, SUPPORT, created)
    s3.calls.clear()
    second = applier.apply(BUCKET, key, version, created, SUPPORT, created)
    assert first.changed
    assert not second.changed
    assert second.retain_until == first.retain_until
    assert not [c for c in s3.calls if c.startswith("put_")]


def test_a_failed_retention_retries_the_record_and_catalogs_nothing_until_it_succeeds(
    locked: tuple[Aws, LockedS3], output: Output
) -> None:
    aws, s3 = locked
    _call(aws)
    _number(aws, SUPPORT_NUMBER)
    key, version, event = _deliver(aws)
    batch = sqs_batch(event)
    s3.fail = "put_object_retention"
    assert run(batch, _runtime(aws, s3, output)) == [batch["Records"][0]["messageId"]]
    # A transient failure is a ProcessorFailed (ProcessorFailing alarm), not a RetentionFailed.
    assert output.metric_values("ProcessorFailed") == [1]
    assert output.metric_values("RetentionFailed") == []
    assert aws.recording_item() is None
    assert aws.emitted() == []
    s3.fail = None
    assert run(batch, _runtime(aws, s3, output)) == []
    assert _lock(aws, key, version)[0] == "GOVERNANCE"
    item, call = aws.recording_item(), aws.call_item()
    assert item is not None
    assert call is not None
    assert item["retentionClass"] == "support"
    assert call["recordings"] == {item["callId"]}
    # Counted once, although the record was processed twice.
    assert call["billedMinutes"] == item["billedMinutes"] == 1
    assert [e["detail-type"] for e in aws.emitted()] == ["Recording Available"]


@pytest.mark.parametrize(
    ("operation", "code"),
    [("put_object_retention", "InvalidRequest"), ("put_object_tagging", "InvalidTag")],
)
def test_a_retention_s3_refuses_for_good_is_cataloged_as_failed(
    locked: tuple[Aws, LockedS3], output: Output, operation: str, code: str
) -> None:
    aws, s3 = locked
    _call(aws)
    _number(aws, SUPPORT_NUMBER)
    _, _, event = _deliver(aws)
    s3.fail, s3.code = operation, code
    # Not retried: before, the record went to the dead-letter queue and the sweep called the
    # recording missing.
    assert run(sqs_batch(event), _runtime(aws, s3, output)) == []
    item = aws.recording_item()
    assert item is not None
    assert item["status"] == "delivered"
    assert code in item["retentionFailed"]
    assert "deletionClass" not in item
    assert output.metric_values("RetentionFailed") == [1]
    assert output.metric_values("ProcessorFailed") == []
    assert [e["detail-type"] for e in aws.emitted()] == ["Recording Available"]


def test_a_record_redriven_after_its_period_is_cataloged_without_a_lock(
    locked: tuple[Aws, LockedS3], output: Output
) -> None:
    aws, s3 = locked
    _call(aws)
    _number(aws, SUPPORT_NUMBER)
    key, version, event = _deliver(aws)
    created = _lock(aws, key, version)[2]
    runtime = _runtime(aws, s3, output, clock=lambda: created + timedelta(days=91))
    assert run(sqs_batch(event), runtime) == []
    assert _lock(aws, key, version)[0] is None
    item = aws.recording_item()
    assert item is not None
    assert item["retentionClass"] == "support"
    assert "retainUntil" not in item
    assert "retentionFailed" not in item
    assert output.metric_values("RetentionFailed") == []


def test_a_recording_of_a_call_under_legal_hold_is_held_at_arrival(
    locked: tuple[Aws, LockedS3], output: Output
) -> None:
    aws, s3 = locked
    _call(aws, legalHold=True)
    _number(aws, SUPPORT_NUMBER)
    key, version, event = _deliver(aws)
    assert run(sqs_batch(event), _runtime(aws, s3, output)) == []
    head = aws.s3.head_object(Bucket=BUCKET, Key=key, VersionId=version)
    assert head["ObjectLockLegalHoldStatus"] == "ON"
    item = aws.recording_item()
    assert item is not None
    assert item["legalHold"] is True
    assert item["retentionClass"] == "support"


def test_a_recording_without_legal_hold_is_not_held(
    locked: tuple[Aws, LockedS3], output: Output
) -> None:
    aws, s3 = locked
    _call(aws, legalHold=False)
    _, _, event = _deliver(aws)
    assert run(sqs_batch(event), _runtime(aws, s3, output)) == []
    assert "put_object_legal_hold" not in s3.calls
    assert "legalHold" not in aws.recording_item()  # type: ignore[operator]


def test_a_recording_after_its_call_was_erased_is_cataloged_unannounced_and_unlocked(
    locked: tuple[Aws, LockedS3], output: Output
) -> None:
    aws, s3 = locked
    _call(aws, erasedAt="2026-11-24T12:03:00.000Z")
    key, version, event = _deliver(aws)
    batch = sqs_batch(event)
    assert run(batch, _runtime(aws, s3, output)) == []
    item = aws.recording_item()
    assert item is not None
    assert item["afterErasure"] is True
    assert "retentionClass" not in item
    # Not locked, so running the erasure again can delete it; not announced, so not transcribed.
    assert _lock(aws, key, version)[0] is None
    assert aws.emitted() == []
    assert output.metric_values("RecordingAfterErasure") == [1]
    # A redelivery finds no event flag, and still sends nothing.
    assert run(batch, _runtime(aws, s3, output)) == []
    assert aws.emitted() == []


def test_without_a_policy_nothing_is_locked(locked: tuple[Aws, LockedS3], output: Output) -> None:
    aws, s3 = locked
    key, version, event = _deliver(aws)
    assert run(sqs_batch(event), make_runtime(aws, output, s3=s3)) == []
    assert _lock(aws, key, version)[0] is None
    assert "retentionClass" not in aws.recording_item()  # type: ignore[operator]


class _Patched:
    """A client with some operations replaced; every other call goes to the client."""

    def __init__(self, client: Any, **operations: Any) -> None:
        self._client = client
        self._operations = operations

    def __getattr__(self, name: str) -> Any:
        return self._operations.get(name) or getattr(self._client, name)


def test_after_an_erasure_without_object_lock_the_recording_is_still_not_announced(
    aws: Aws, output: Output
) -> None:
    _call(aws, erasedAt="2026-11-24T12:03:00.000Z")
    _, _, event = _deliver(aws)
    assert run(sqs_batch(event), make_runtime(aws, output)) == []
    item = aws.recording_item()
    assert item is not None
    assert item["afterErasure"] is True
    assert "retentionClass" not in item
    assert aws.emitted() == []
    assert output.metric_values("RecordingAfterErasure") == [1]


# -- the deferred record's visibility -----------------------------------------------------------


QUEUE_URL = "https://sqs.us-east-1.amazonaws.com/123456789012/recording-arrivals"


def _stubbed_sqs() -> tuple[Any, Stubber]:
    client = boto3.session.Session().client("sqs", region_name="us-east-1")
    return client, Stubber(client)


def test_a_deferred_record_comes_back_after_defer_seconds(
    locked: tuple[Aws, LockedS3], output: Output
) -> None:
    aws, s3 = locked
    _open_call(aws)
    _, _, event = _deliver(aws)
    batch = sqs_batch(event)
    sqs, stubber = _stubbed_sqs()
    stubber.add_response(
        "get_queue_url",
        {"QueueUrl": QUEUE_URL},
        {"QueueName": "recording-arrivals", "QueueOwnerAWSAccountId": "123456789012"},
    )
    stubber.add_response(
        "change_message_visibility",
        {},
        {"QueueUrl": QUEUE_URL, "ReceiptHandle": "AQEB-test", "VisibilityTimeout": DEFER_SECONDS},
    )
    with stubber:
        failed = run(batch, _runtime(aws, s3, output, sqs=sqs))
    stubber.assert_no_pending_responses()
    assert failed == [batch["Records"][0]["messageId"]]


def test_a_visibility_that_cannot_be_shortened_still_hands_the_record_back(
    locked: tuple[Aws, LockedS3], output: Output
) -> None:
    aws, s3 = locked
    _open_call(aws)
    _, _, event = _deliver(aws)
    batch = sqs_batch(event)
    sqs, stubber = _stubbed_sqs()
    stubber.add_client_error("get_queue_url", "AccessDenied", "denied", http_status_code=403)
    with stubber:
        failed = run(batch, _runtime(aws, s3, output, sqs=sqs))
    assert failed == [batch["Records"][0]["messageId"]]
    [warning] = [line for line in output.logs if line.get("level") == "WARNING"]
    assert warning["message"].startswith("could not shorten the deferred record's visibility")
    assert warning["errorType"] == "ClientError"


def test_a_duplicate_of_a_cataloged_recording_is_settled_not_deferred(
    locked: tuple[Aws, LockedS3], output: Output
) -> None:
    aws, s3 = locked
    _open_call(aws)
    _, _, event = _deliver(aws)
    # Cataloged on a second receive (defaulted), then the same event again on a first receive.
    assert run(sqs_batch(event, receive_count=2), _runtime(aws, s3, output)) == []
    assert run(sqs_batch(event), _runtime(aws, s3, output)) == []
    assert output.metric_values("RetentionDeferred") == []
