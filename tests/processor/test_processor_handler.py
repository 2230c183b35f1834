"""The arrival processor end to end over moto: catalog items, emitted events, metrics, retries."""

from __future__ import annotations

import hashlib
import json
from decimal import Decimal
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import ANY, Stubber
from recording_processor import handler as handler_module
from recording_processor._config import ProcessorConfig
from recording_processor.handler import Runtime

from tests.processor.conftest import (
    APPLICATION,
    BUCKET,
    BUS,
    CALL_ID,
    LEG_START,
    NAMESPACE,
    NOW,
    PREFIX,
    REGION,
    SEQUENCER,
    TRANSACTION_ID,
    Aws,
    Output,
    failed_ids,
    key_for,
    make_runtime,
    metadata_for,
    mono_wav,
    run,
    s3_event,
    sqs_batch,
    stereo_wav,
)

SECONDS = 75.5
OTHER_CALL_ID = "7d6c5b4a-3e2f-4a1b-8c9d-0e1f2a3b4c5d"


def deliver(aws: Aws, seconds: float = SECONDS, **event: Any) -> tuple[str, str, bytes]:
    """Upload the default stereo recording; returns (key, version id, bytes)."""
    key = key_for()
    body = stereo_wav(seconds)
    version = aws.put_recording(key, body, metadata_for(seconds))
    return key, version, body


def test_happy_path_catalogs_the_recording(aws: Aws, runtime: Runtime) -> None:
    key, version, body = deliver(aws)

    assert run(sqs_batch(s3_event(key, version)), runtime) == []

    item = aws.recording_item()
    assert item is not None
    assert item["pk"] == f"TX#{TRANSACTION_ID}"
    assert item["sk"] == f"REC#{CALL_ID}"
    assert item["status"] == "delivered"
    assert item["transactionId"] == TRANSACTION_ID
    assert item["callId"] == CALL_ID
    assert item["bucket"] == BUCKET
    assert item["key"] == key
    assert item["versionId"] == version
    assert item["s3Uri"] == f"s3://{BUCKET}/{key}"
    assert item["sizeBytes"] == len(body)
    assert item["sha256"] == hashlib.sha256(body).hexdigest()
    assert item["etag"] == hashlib.md5(body).hexdigest()  # noqa: S324 - S3's single-part ETag
    assert item["durationSeconds"] == Decimal("75.5")
    assert item["durationSource"] == "metadata"
    assert item["billedMinutes"] == 2
    assert item["channels"] == 2
    assert item["sampleRate"] == 8000
    assert item["bitsPerSample"] == 16
    assert item["format"] == "wav"
    assert item["track"] == "BOTH"
    assert item["mediaType"] == "audio/wav"
    assert item["legStartTime"] == "2026-11-24T12:00:00.250Z"
    assert item["day"] == "2026-11-24"
    assert item["deliveredAt"] == "2026-11-24T12:01:20.000Z"
    assert item["sequencer"] == SEQUENCER
    assert item["integrity"] == "ok"
    assert item["schemaVersion"] == 1
    assert item["gsi2pk"] == "DAY#2026-11-24"
    assert item["gsi2sk"] == f"2026-11-24T12:00:00.250Z#{TRANSACTION_ID}#{CALL_ID}"
    assert item["eventSent"] is True
    assert "metadataTransactionId" not in item


def test_happy_path_keeps_a_call_item(aws: Aws, runtime: Runtime) -> None:
    key, version, _ = deliver(aws)

    run(sqs_batch(s3_event(key, version)), runtime)

    call = aws.call_item()
    assert call is not None
    assert call["transactionId"] == TRANSACTION_ID
    assert call["day"] == "2026-11-24"
    assert call["firstStart"] == "2026-11-24T12:00:00.250Z"
    assert call["recordings"] == {CALL_ID}
    assert call["billedMinutes"] == 2


def test_happy_path_emits_one_recording_available_event(aws: Aws, runtime: Runtime) -> None:
    key, version, body = deliver(aws)

    run(sqs_batch(s3_event(key, version)), runtime)

    [event] = aws.emitted()
    assert event["source"] == "cdk-recording"
    assert event["detail-type"] == "Recording Available"
    assert event["resources"] == [f"arn:aws:s3:::{BUCKET}/{key}"]
    assert event["detail"] == {
        "schemaVersion": "1",
        "transactionId": TRANSACTION_ID,
        "callId": CALL_ID,
        "bucket": BUCKET,
        "key": key,
        "versionId": version,
        "s3Uri": f"s3://{BUCKET}/{key}",
        "sha256": hashlib.sha256(body).hexdigest(),
        "sizeBytes": len(body),
        "durationSeconds": 75.5,
        "billedMinutes": 2,
        "channels": 2,
        "sampleRate": 8000,
        "legStartTime": "2026-11-24T12:00:00.250Z",
        "deliveredAt": "2026-11-24T12:01:20.000Z",
        "integrity": "ok",
    }


def test_happy_path_emits_delivery_metrics(aws: Aws, runtime: Runtime, output: Output) -> None:
    key, version, _ = deliver(aws)
    # The recording ends at leg start (12:00:00.250) + 75.5 s; S3 created the object 4 s later.
    event_time = "2026-11-24T12:01:19.750Z"

    run(sqs_batch(s3_event(key, version, time=event_time)), runtime)

    [document] = output.metrics
    assert document["_aws"]["CloudWatchMetrics"] == [
        {
            "Namespace": NAMESPACE,
            "Dimensions": [["Application"]],
            "Metrics": [
                {"Name": "RecordingDelivered", "Unit": "Count"},
                {"Name": "RecordedMinutes", "Unit": "Count"},
                {"Name": "DeliveryLatency", "Unit": "Seconds"},
            ],
        }
    ]
    assert document["Application"] == APPLICATION
    assert document["RecordingDelivered"] == 1
    assert document["RecordedMinutes"] == 2
    assert document["DeliveryLatency"] == pytest.approx(4.0)
    assert document["transactionId"] == TRANSACTION_ID


def test_every_log_line_after_parsing_carries_the_transaction_id(
    aws: Aws, runtime: Runtime, output: Output
) -> None:
    key, version, _ = deliver(aws)

    run(sqs_batch(s3_event(key, version)), runtime)

    record_lines = [line for line in output.logs if line["message"] != "batch processed"]
    assert record_lines
    assert all(line["transactionId"] == TRANSACTION_ID for line in record_lines)
    assert all(line["messageId"] for line in record_lines)


def test_duplicate_event_changes_nothing_and_emits_no_second_event(
    aws: Aws, runtime: Runtime, output: Output
) -> None:
    key, version, _ = deliver(aws)
    event = s3_event(key, version)
    run(sqs_batch(event), runtime)
    before = sorted(aws.items(), key=lambda item: item["sk"])

    assert run(sqs_batch(event), runtime) == []

    assert sorted(aws.items(), key=lambda item: item["sk"]) == before
    assert len(aws.emitted()) == 1
    assert output.metric_values("RecordingDelivered") == [1]


def test_duplicate_within_one_batch_is_cataloged_once(aws: Aws, runtime: Runtime) -> None:
    key, version, _ = deliver(aws)
    event = s3_event(key, version)

    assert run(sqs_batch(event, event), runtime) == []

    assert aws.call_item()["billedMinutes"] == 2  # type: ignore[index]
    assert len(aws.emitted()) == 1


def test_older_version_after_newer_changes_nothing(aws: Aws, runtime: Runtime) -> None:
    key = key_for()
    old = aws.put_recording(key, stereo_wav(30), metadata_for(30))
    new = aws.put_recording(key, stereo_wav(130), metadata_for(130))
    run(sqs_batch(s3_event(key, new, sequencer="0062E99A88DC407470")), runtime)
    before = aws.items()

    assert run(sqs_batch(s3_event(key, old, sequencer="0062E99A88DC407460")), runtime) == []

    assert aws.items() == before
    assert aws.recording_item()["versionId"] == new  # type: ignore[index]
    assert aws.call_item()["billedMinutes"] == 3  # type: ignore[index]
    assert len(aws.emitted()) == 1


def test_newer_version_replaces_the_older_one_and_corrects_the_call_total(
    aws: Aws, runtime: Runtime
) -> None:
    key = key_for()
    old = aws.put_recording(key, stereo_wav(30), metadata_for(30))
    new = aws.put_recording(key, stereo_wav(130), metadata_for(130))
    run(sqs_batch(s3_event(key, old, sequencer="0062E99A88DC407460")), runtime)

    run(sqs_batch(s3_event(key, new, sequencer="0062E99A88DC407470")), runtime)

    item = aws.recording_item()
    assert item is not None
    assert item["versionId"] == new
    assert item["billedMinutes"] == 3
    assert aws.call_item()["billedMinutes"] == 3  # type: ignore[index]
    assert [e["detail"]["versionId"] for e in aws.emitted()] == [old, new]


def test_second_leg_adds_to_the_call_item(aws: Aws, runtime: Runtime) -> None:
    key_a, version_a, _ = deliver(aws)
    key_b = key_for(call_id=OTHER_CALL_ID, leg_start=LEG_START.replace(second=10))
    version_b = aws.put_recording(key_b, mono_wav(20), metadata_for(20, call_id=OTHER_CALL_ID))

    run(sqs_batch(s3_event(key_b, version_b), s3_event(key_a, version_a)), runtime)

    call = aws.call_item()
    assert call is not None
    assert call["recordings"] == {CALL_ID, OTHER_CALL_ID}
    assert call["billedMinutes"] == 3
    assert call["firstStart"] == "2026-11-24T12:00:00.250Z"
    mono = aws.recording_item(OTHER_CALL_ID)
    assert mono is not None
    assert mono["channels"] == 1
    assert "track" not in mono


def test_missing_object_is_ignored_not_retried(aws: Aws, runtime: Runtime, output: Output) -> None:
    event = s3_event(key_for(), "3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY")

    assert run(sqs_batch(event), runtime) == []

    assert aws.items() == []
    assert output.metric_values("ObjectIgnored") == [1]
    assert [m["reason"] for m in output.metrics] == ["object-missing"]


def test_deleted_version_is_ignored_not_retried(aws: Aws, runtime: Runtime) -> None:
    key, version, _ = deliver(aws)
    aws.s3.delete_object(Bucket=BUCKET, Key=key, VersionId=version)

    assert run(sqs_batch(s3_event(key, version)), runtime) == []

    assert aws.items() == []
    assert aws.emitted() == []


def test_non_wav_object_is_cataloged_with_format_unknown(
    aws: Aws, runtime: Runtime, output: Output
) -> None:
    key = key_for()
    body = b"<html>not a recording</html>" * 10
    version = aws.put_recording(key, body, metadata_for(61))

    assert run(sqs_batch(s3_event(key, version)), runtime) == []

    item = aws.recording_item()
    assert item is not None
    assert item["status"] == "delivered"
    assert item["format"] == "unknown"
    assert item["sha256"] == hashlib.sha256(body).hexdigest()
    assert item["durationSeconds"] == Decimal(61)
    assert item["billedMinutes"] == 2
    assert "channels" not in item
    assert "sampleRate" not in item
    assert any(
        line["level"] == "WARNING" and "not a WAV" in line["message"] for line in output.logs
    )
    assert aws.emitted()[0]["detail"]["channels"] is None


def test_non_wav_without_metadata_has_no_duration_or_billed_minutes(
    aws: Aws, runtime: Runtime, output: Output
) -> None:
    key = key_for()
    version = aws.put_recording(key, b"\x00" * 100)

    run(sqs_batch(s3_event(key, version)), runtime)

    item = aws.recording_item()
    assert item is not None
    assert "durationSeconds" not in item
    assert "billedMinutes" not in item
    assert aws.call_item()["billedMinutes"] == 0  # type: ignore[index]
    assert output.metric_values("RecordedMinutes") == []
    assert output.metric_values("DeliveryLatency") == []


@pytest.mark.parametrize(
    "event",
    [
        pytest.param(s3_event(key_for(prefix="elsewhere"), "v1"), id="outside-prefix"),
        pytest.param(s3_event(key_for(), "v1", bucket="another-bucket"), id="other-bucket"),
        pytest.param(s3_event(key_for().replace(".wav", ".json"), "v1"), id="not-wav"),
        pytest.param(s3_event(f"{PREFIX}/2026/11/24/notes.wav", "v1"), id="bad-key"),
        pytest.param(s3_event(key_for(), "v1", detail_type="Object Deleted"), id="deleted"),
        pytest.param(s3_event(key_for(), "v1", source="aws.ec2"), id="other-source"),
    ],
)
def test_objects_that_are_not_recordings_are_ignored(
    aws: Aws, runtime: Runtime, output: Output, event: dict[str, Any]
) -> None:
    assert run(sqs_batch(event), runtime) == []

    assert aws.items() == []
    assert output.metric_values("ObjectIgnored") == [1]


@pytest.mark.parametrize(
    "body",
    [
        pytest.param("{not json", id="not-json"),
        pytest.param("[1, 2]", id="not-an-object"),
        pytest.param(json.dumps({"source": "aws.s3", "detail-type": "Object Created"}), id="empty"),
    ],
)
def test_malformed_body_is_not_retried(
    aws: Aws, runtime: Runtime, output: Output, body: str
) -> None:
    assert run(sqs_batch(body), runtime) == []

    assert output.metric_values("ObjectIgnored") == [1]
    assert output.metric_values("ProcessorFailed") == []


def test_metadata_missing_is_filled_from_the_wav_header(aws: Aws, runtime: Runtime) -> None:
    key = key_for()
    version = aws.put_recording(key, mono_wav(61.25, sample_rate=16000))

    run(sqs_batch(s3_event(key, version)), runtime)

    item = aws.recording_item()
    assert item is not None
    assert item["durationSeconds"] == Decimal("61.25")
    assert item["durationSource"] == "header"
    assert item["channels"] == 1
    assert item["sampleRate"] == 16000
    assert item["billedMinutes"] == 2
    assert item["integrity"] == "ok"
    assert "mediaType" not in item


def test_metadata_disagreeing_with_the_key_is_flagged_and_the_key_wins(
    aws: Aws, runtime: Runtime, output: Output
) -> None:
    key = key_for()
    other_tx = "99999999-8888-4777-8666-555555555555"
    version = aws.put_recording(key, stereo_wav(10), metadata_for(10, transaction_id=other_tx))

    run(sqs_batch(s3_event(key, version)), runtime)

    item = aws.recording_item()
    assert item is not None
    assert item["integrity"] == "metadata-mismatch"
    assert item["metadataTransactionId"] == other_tx
    assert "metadataCallId" not in item
    assert aws.item(f"REC#{CALL_ID}", other_tx) is None
    assert aws.emitted()[0]["detail"]["integrity"] == "metadata-mismatch"
    assert any(
        line["level"] == "WARNING" and line.get("mismatched") == ["transaction-id"]
        for line in output.logs
    )


def test_phone_numbers_in_metadata_never_reach_the_logs(
    aws: Aws, runtime: Runtime, output: Output
) -> None:
    key = key_for()
    version = aws.put_recording(key, stereo_wav(5), metadata_for(5, transaction_id="+12065550100"))

    run(sqs_batch(s3_event(key, version)), runtime)

    assert "2065550100" not in output.text
    assert "+*******0100" in output.text


def test_started_item_is_upgraded_keeping_its_other_attributes(aws: Aws, runtime: Runtime) -> None:
    aws.table.put_item(
        Item={
            "pk": f"TX#{TRANSACTION_ID}",
            "sk": f"REC#{CALL_ID}",
            "transactionId": TRANSACTION_ID,
            "callId": CALL_ID,
            "status": "started",
            "leg": "LEG-A",
            "direction": "inbound",
            "startedAt": "2026-11-24T12:00:01.000Z",
            "consentPlayed": True,
        }
    )
    key, version, _ = deliver(aws)

    run(sqs_batch(s3_event(key, version)), runtime)

    item = aws.recording_item()
    assert item is not None
    assert item["status"] == "delivered"
    assert item["versionId"] == version
    assert item["billedMinutes"] == 2
    assert item["leg"] == "LEG-A"
    assert item["direction"] == "inbound"
    assert item["startedAt"] == "2026-11-24T12:00:01.000Z"
    assert item["consentPlayed"] is True
    assert aws.call_item()["billedMinutes"] == 2  # type: ignore[index]
    assert len(aws.emitted()) == 1


def test_missing_item_is_upgraded_to_delivered(aws: Aws, runtime: Runtime) -> None:
    aws.table.put_item(
        Item={"pk": f"TX#{TRANSACTION_ID}", "sk": f"REC#{CALL_ID}", "status": "missing"}
    )
    key, version, _ = deliver(aws)

    run(sqs_batch(s3_event(key, version)), runtime)

    assert aws.recording_item()["status"] == "delivered"  # type: ignore[index]


def test_rejected_put_events_is_retried_and_the_retry_emits_exactly_once(
    aws: Aws, output: Output
) -> None:
    key, version, _ = deliver(aws)
    batch = sqs_batch(s3_event(key, version))
    rejecting = boto3.client("events", region_name=REGION)
    with Stubber(rejecting) as stub:
        stub.add_response(
            "put_events",
            {
                "FailedEntryCount": 1,
                "Entries": [{"ErrorCode": "InternalFailure", "ErrorMessage": "try again"}],
            },
            {
                "Entries": [
                    {
                        "Source": "cdk-recording",
                        "DetailType": "Recording Available",
                        "Detail": ANY,
                        "Resources": [f"arn:aws:s3:::{BUCKET}/{key}"],
                        "EventBusName": BUS,
                    }
                ]
            },
        )
        first = run(batch, make_runtime(aws, output, events=rejecting))
        stub.assert_no_pending_responses()

    assert first == failed_ids(batch)
    assert output.metric_values("ProcessorFailed") == [1]
    assert "eventSent" not in aws.recording_item()  # type: ignore[operator]
    assert aws.emitted() == []

    assert run(batch, make_runtime(aws, output)) == []

    assert len(aws.emitted()) == 1
    assert aws.recording_item()["eventSent"] is True  # type: ignore[index]
    assert output.metric_values("RecordingDelivered") == [1]
    assert aws.call_item()["billedMinutes"] == 2  # type: ignore[index]


def test_throttled_head_object_is_retried(aws: Aws, output: Output) -> None:
    key, version, _ = deliver(aws)
    batch = sqs_batch(s3_event(key, version))
    throttled = boto3.client("s3", region_name=REGION)
    with Stubber(throttled) as stub:
        stub.add_client_error("head_object", "SlowDown", "Please reduce your request rate.", 503)
        assert run(batch, make_runtime(aws, output, s3=throttled)) == failed_ids(batch)

    assert output.metric_values("ProcessorFailed") == [1]
    assert aws.items() == []


def test_only_the_failing_record_of_a_batch_is_retried(aws: Aws, output: Output) -> None:
    key, version, _ = deliver(aws)
    good = s3_event(key, version)
    unreadable = s3_event(key_for(call_id=OTHER_CALL_ID), "v-unreadable")
    batch = sqs_batch("not json", unreadable, good)
    s3 = boto3.client("s3", region_name=REGION)
    real_head = s3.head_object

    def head_object(**params: Any) -> Any:
        if params.get("VersionId") == "v-unreadable":
            raise ClientError(
                {
                    "Error": {"Code": "InternalError", "Message": "boom"},
                    "ResponseMetadata": {"HTTPStatusCode": 500},
                },
                "HeadObject",
            )
        return real_head(**params)

    s3.head_object = head_object  # type: ignore[method-assign]

    assert run(batch, make_runtime(aws, output, s3=s3)) == [batch["Records"][1]["messageId"]]
    assert aws.recording_item() is not None


def test_unversioned_bucket_uses_the_null_version(aws: Aws, runtime: Runtime) -> None:
    key, _, _ = deliver(aws)

    run(sqs_batch(s3_event(key, None)), runtime)

    item = aws.recording_item()
    assert item is not None
    assert item["versionId"] == "null"


def test_url_encoded_key_is_decoded_defensively(aws: Aws, output: Output) -> None:
    config = ProcessorConfig(
        catalog_table="recording-catalog",
        recording_bucket=BUCKET,
        recording_prefix="my calls",
        event_bus=BUS,
    )
    key = key_for(prefix="my calls")
    version = aws.put_recording(key, stereo_wav(3), metadata_for(3))

    event = s3_event(key.replace(" ", "+"), version)
    assert run(sqs_batch(event), make_runtime(aws, output, config=config)) == []

    assert aws.recording_item()["key"] == key  # type: ignore[index]


def test_invalid_configuration_retries_every_record(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    module = handler_module
    monkeypatch.delenv("CATALOG_TABLE", raising=False)
    monkeypatch.setenv("RECORDING_BUCKET", BUCKET)
    module._lambda_runtime.cache_clear()
    batch = sqs_batch("{}", "{}")

    response = module.handler(batch, None)

    assert [f["itemIdentifier"] for f in response["batchItemFailures"]] == failed_ids(batch)
    assert "CATALOG_TABLE is not set" in capsys.readouterr().out
    module._lambda_runtime.cache_clear()


def test_the_lambda_runtime_has_an_sqs_client_to_shorten_deferrals(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Without it every deferred record would wait the queue's 12-minute visibility timeout.
    module = handler_module
    monkeypatch.setenv("CATALOG_TABLE", "catalog")
    monkeypatch.setenv("RECORDING_BUCKET", BUCKET)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    module._lambda_runtime.cache_clear()
    try:
        sqs = module._lambda_runtime().sqs
        assert sqs is not None
        assert sqs.meta.service_model.service_name == "sqs"
    finally:
        module._lambda_runtime.cache_clear()


def test_record_without_message_id_is_skipped(runtime: Runtime, output: Output) -> None:
    batch = {"Records": [{"body": "{}"}]}

    assert run(batch, runtime) == []
    assert any(line["level"] == "ERROR" for line in output.logs)


def test_clock_is_the_processing_time_of_the_catalog_entry(aws: Aws, runtime: Runtime) -> None:
    key, version, _ = deliver(aws)

    run(sqs_batch(s3_event(key, version, time=None)), runtime)

    item = aws.recording_item()
    assert item is not None
    assert item["catalogedAt"] == "2026-11-24T12:05:00.000Z"
    assert item["deliveredAt"] == NOW.strftime("%Y-%m-%dT%H:%M:%S.000Z")


class InterferingDynamoDB:
    """The moto client, with another writer acting just before the processor's first commit."""

    def __init__(self, client: Any, interfere: Any) -> None:
        self._client = client
        self._interfere = interfere
        self.commits = 0

    def transact_write_items(self, **params: Any) -> Any:
        self.commits += 1
        if self.commits == 1:
            self._interfere()
        return self._client.transact_write_items(**params)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


def test_losing_a_race_to_the_same_version_changes_nothing_and_sends_nothing(
    aws: Aws, output: Output
) -> None:
    key, version, _ = deliver(aws)
    batch = sqs_batch(s3_event(key, version))
    # The "other" processor: the same delivery, committed and announced while we were hashing.
    run(batch, make_runtime(aws, Output()))
    winner = aws.items()
    aws.emitted()
    for item in winner:
        aws.table.delete_item(Key={"pk": item["pk"], "sk": item["sk"]})

    def replay_winner() -> None:
        for item in winner:
            aws.table.put_item(Item=item)

    racing = InterferingDynamoDB(aws.dynamodb, replay_winner)

    assert run(batch, make_runtime(aws, output, dynamodb=racing)) == []

    assert sorted(aws.items(), key=lambda i: i["sk"]) == sorted(winner, key=lambda i: i["sk"])
    assert len(aws.emitted()) == 1  # the winner's only
    assert output.metric_values("RecordingDelivered") == []


def test_a_started_item_written_during_processing_is_upgraded_not_overwritten(
    aws: Aws, output: Output
) -> None:
    key, version, _ = deliver(aws)

    def handler_writes_started() -> None:
        aws.table.put_item(
            Item={
                "pk": f"TX#{TRANSACTION_ID}",
                "sk": f"REC#{CALL_ID}",
                "status": "started",
                "leg": "LEG-A",
            }
        )

    racing = InterferingDynamoDB(aws.dynamodb, handler_writes_started)

    assert run(sqs_batch(s3_event(key, version)), make_runtime(aws, output, dynamodb=racing)) == []

    item = aws.recording_item()
    assert item is not None
    assert racing.commits == 2
    assert (item["status"], item["leg"], item["versionId"]) == ("delivered", "LEG-A", version)
    assert aws.call_item()["billedMinutes"] == 2  # type: ignore[index]
    assert len(aws.emitted()) == 1


def test_endless_contention_is_retried_later(aws: Aws, output: Output) -> None:
    key, version, _ = deliver(aws)
    batch = sqs_batch(s3_event(key, version))

    class AlwaysCancelled(InterferingDynamoDB):
        def transact_write_items(self, **_params: Any) -> Any:
            self.commits += 1
            raise ClientError(
                {
                    "Error": {"Code": "TransactionCanceledException", "Message": "cancelled"},
                    "CancellationReasons": [{"Code": "TransactionConflict"}, {"Code": "None"}],
                },
                "TransactWriteItems",
            )

    contended = AlwaysCancelled(aws.dynamodb, None)

    assert run(batch, make_runtime(aws, output, dynamodb=contended)) == failed_ids(batch)
    assert contended.commits == 4
    assert [m["reason"] for m in output.metrics] == ["catalog-contention"]
