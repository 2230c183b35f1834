"""Fixtures for the arrival processor: moto's S3, DynamoDB, EventBridge and SQS, and real WAVs.

The catalog table has the ``byDay`` index; the recording bucket is versioned; "Recording Available"
events go to a custom bus whose rule targets an SQS queue, so a test reads back exactly what the
processor emitted. Recordings are rendered by the offline simulator's WAV writer and named by its
key function, so the processor is tested against the shape the rest of the library produces.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from moto import mock_aws
from recording_processor._config import ProcessorConfig
from recording_processor.handler import Runtime, handler
from recording_processor.schema import create_table_arguments

from cdk_recording.testing import recording_key
from cdk_recording.testing._wav import Span, render_channel, wav_bytes

REGION = "us-east-1"
ACCOUNT = "123456789012"
BUCKET = "recordings-123456789012"
PREFIX = "calls"
TABLE = "recording-catalog"
BUS = "recording-events"
APPLICATION = "test-app"
NAMESPACE = "CdkRecordingTest"
TRANSACTION_ID = "5b1a6c2e-8d4f-4a1b-9c3e-7f6a5b4c3d2e"
CALL_ID = "0c9e8d7f-6a5b-4c3d-8e2f-1a0b9c8d7e6f"
#: Leg start of the default recording.
LEG_START = datetime(2026, 11, 24, 12, 0, 0, 250000, tzinfo=UTC)
#: The processor's wall clock.
NOW = datetime(2026, 11, 24, 12, 5, tzinfo=UTC)
SEQUENCER = "0062E99A88DC407460"


@pytest.fixture(autouse=True)
def _dummy_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    for name in ("AWS_PROFILE", "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))


def stereo_wav(seconds: float, sample_rate: int = 8000) -> bytes:
    """A real stereo recording: caller tone on the left, callee tone on the right."""
    ms = round(seconds * 1000)
    left = render_channel([Span(0, ms, (400,))], 0, ms, sample_rate)
    right = render_channel([Span(0, ms, (600,))], 0, ms, sample_rate)
    return wav_bytes([left, right], sample_rate)


def mono_wav(seconds: float, sample_rate: int = 8000) -> bytes:
    ms = round(seconds * 1000)
    return wav_bytes([render_channel([Span(0, ms, (400,))], 0, ms, sample_rate)], sample_rate)


def key_for(
    transaction_id: str = TRANSACTION_ID,
    call_id: str = CALL_ID,
    leg_start: datetime = LEG_START,
    prefix: str = PREFIX,
) -> str:
    """The key the simulated SMA writes for this leg (reference §3.4)."""
    location = f"{BUCKET}/{prefix}" if prefix else BUCKET
    _, key = recording_key(location, transaction_id, call_id, round(leg_start.timestamp() * 1000))
    return key


def metadata_for(
    seconds: float | str | None,
    transaction_id: str = TRANSACTION_ID,
    call_id: str = CALL_ID,
) -> dict[str, str]:
    """§3.4 user metadata, as the simulator writes it."""
    metadata = {
        "transaction-id": transaction_id,
        "call-id": call_id,
        "recording-audio-file-format": "audio/wav",
    }
    if seconds is not None:
        metadata["recording-duration"] = seconds if isinstance(seconds, str) else f"{seconds:.3f}"
    return metadata


def s3_event(
    key: str,
    version_id: str | None,
    *,
    sequencer: str = SEQUENCER,
    bucket: str = BUCKET,
    time: str | None = "2026-11-24T12:01:20Z",
    size: int = 0,
    source: str = "aws.s3",
    detail_type: str = "Object Created",
) -> dict[str, Any]:
    """An S3 EventBridge ``Object Created`` event (S3 user guide, EventBridge message structure)."""
    obj: dict[str, Any] = {"key": key, "size": size, "etag": "0123abcd", "sequencer": sequencer}
    if version_id is not None:
        obj["version-id"] = version_id
    event: dict[str, Any] = {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": detail_type,
        "source": source,
        "account": ACCOUNT,
        "region": REGION,
        "resources": [f"arn:aws:s3:::{bucket}"],
        "detail": {
            "version": "0",
            "bucket": {"name": bucket},
            "object": obj,
            "request-id": "N4N7GDK58NMKJ12R",
            "requester": "voiceconnector.chime.amazonaws.com",
            "source-ip-address": "203.0.113.15",
            "reason": "PutObject",
        },
    }
    if time is not None:
        event["time"] = time
    return event


def sqs_batch(*bodies: str | Mapping[str, Any], receive_count: int = 1) -> dict[str, Any]:
    """An SQS event for Lambda; mapping bodies are JSON-encoded as EventBridge does."""
    return {
        "Records": [
            {
                "messageId": str(uuid.uuid4()),
                "receiptHandle": "AQEB-test",
                "body": body if isinstance(body, str) else json.dumps(body),
                "attributes": {"ApproximateReceiveCount": str(receive_count)},
                "messageAttributes": {},
                "eventSource": "aws:sqs",
                "eventSourceARN": f"arn:aws:sqs:{REGION}:{ACCOUNT}:recording-arrivals",
                "awsRegion": REGION,
            }
            for body in bodies
        ]
    }


@dataclass
class Output:
    """Everything the processor wrote to stdout: JSON log lines and EMF documents."""

    lines: list[str] = field(default_factory=list)

    def write(self, text: str) -> None:
        self.lines.extend(line for line in text.splitlines() if line)

    @property
    def documents(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.lines]

    @property
    def logs(self) -> list[dict[str, Any]]:
        return [d for d in self.documents if "_aws" not in d]

    @property
    def metrics(self) -> list[dict[str, Any]]:
        return [d for d in self.documents if "_aws" in d]

    def metric_values(self, name: str) -> list[Any]:
        return [d[name] for d in self.metrics if name in d]

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


class Aws:
    """moto-backed clients and the test's resources."""

    def __init__(self) -> None:
        self.s3 = boto3.client("s3", region_name=REGION)
        self.dynamodb = boto3.client("dynamodb", region_name=REGION)
        self.events = boto3.client("events", region_name=REGION)
        self.sqs = boto3.client("sqs", region_name=REGION)
        self.table = boto3.resource("dynamodb", region_name=REGION).Table(TABLE)
        self.captured: list[dict[str, Any]] = []
        self.s3.create_bucket(Bucket=BUCKET)
        self.s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
        self.dynamodb.create_table(**create_table_arguments(TABLE))
        self.events.create_event_bus(Name=BUS)
        self.queue_url = self.sqs.create_queue(QueueName="captured-recording-events")["QueueUrl"]
        queue_arn = self.sqs.get_queue_attributes(
            QueueUrl=self.queue_url, AttributeNames=["QueueArn"]
        )["Attributes"]["QueueArn"]
        self.events.put_rule(
            Name="capture",
            EventBusName=BUS,
            EventPattern=json.dumps({"source": ["cdk-recording"]}),
        )
        self.events.put_targets(
            Rule="capture", EventBusName=BUS, Targets=[{"Id": "queue", "Arn": queue_arn}]
        )

    def put_recording(
        self, key: str, body: bytes, metadata: Mapping[str, str] | None = None
    ) -> str:
        """Upload a recording version; returns its version id."""
        response = self.s3.put_object(
            Bucket=BUCKET, Key=key, Body=body, Metadata=dict(metadata or {})
        )
        return response["VersionId"]

    def emitted(self) -> list[dict[str, Any]]:
        """Every event the processor has emitted so far (drains the capture queue)."""
        while True:
            messages = self.sqs.receive_message(
                QueueUrl=self.queue_url, MaxNumberOfMessages=10
            ).get("Messages", [])
            if not messages:
                return self.captured
            for message in messages:
                self.captured.append(json.loads(message["Body"]))
                self.sqs.delete_message(
                    QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"]
                )

    def item(self, sk: str, transaction_id: str = TRANSACTION_ID) -> dict[str, Any] | None:
        response = self.table.get_item(
            Key={"pk": f"TX#{transaction_id}", "sk": sk}, ConsistentRead=True
        )
        return response.get("Item")

    def recording_item(self, call_id: str = CALL_ID) -> dict[str, Any] | None:
        return self.item(f"REC#{call_id}")

    def call_item(self, transaction_id: str = TRANSACTION_ID) -> dict[str, Any] | None:
        return self.item("CALL", transaction_id)

    def items(self) -> list[dict[str, Any]]:
        return self.table.scan()["Items"]


@pytest.fixture
def aws() -> Iterator[Aws]:
    with mock_aws():
        yield Aws()


@pytest.fixture
def output() -> Output:
    return Output()


CONFIG = ProcessorConfig(
    catalog_table=TABLE,
    recording_bucket=BUCKET,
    recording_prefix=PREFIX,
    event_bus=BUS,
    metrics_namespace=NAMESPACE,
    application=APPLICATION,
)


def make_runtime(aws: Aws, output: Output, **overrides: Any) -> Runtime:
    values: dict[str, Any] = {
        "config": CONFIG,
        "s3": aws.s3,
        "dynamodb": aws.dynamodb,
        "events": aws.events,
        "clock": lambda: NOW,
        "write": output.write,
    }
    values.update(overrides)
    return Runtime(**values)


@pytest.fixture
def runtime(aws: Aws, output: Output) -> Runtime:
    return make_runtime(aws, output)


def run(batch: Mapping[str, Any], runtime: Runtime) -> list[str]:
    """Invoke the handler; returns the message ids it asked SQS to deliver again."""
    response = handler(batch, None, runtime=runtime)
    return [failure["itemIdentifier"] for failure in response["batchItemFailures"]]


def failed_ids(batch: Mapping[str, Any]) -> list[str]:
    return [record["messageId"] for record in batch["Records"]]
