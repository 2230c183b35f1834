"""Fixtures for the transcription runtime: moto's DynamoDB and EventBridge (the catalog and the
event capture of the arrival processor's tests), and a Transcribe client under a botocore
``Stubber`` (moto has no Call Analytics jobs), which validates every request against the model.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws
from recording_processor.transcription._options import (
    TranscriptionConfig,
    TranscriptionOptions,
    parse_options,
)
from recording_processor.transcription.handler import TranscriptionRuntime, handler

from tests.processor.conftest import (  # noqa: F401 - an autouse fixture, found by name
    BUCKET,
    BUS,
    CALL_ID,
    PREFIX,
    REGION,
    TABLE,
    TRANSACTION_ID,
    Aws,
    Output,
    _dummy_credentials,
    key_for,
)

ROLE = "arn:aws:iam::123456789012:role/transcribe-data-access"
NOW = datetime(2026, 11, 24, 12, 10, tzinfo=UTC)
LATER = datetime(2026, 11, 24, 12, 20, tzinfo=UTC)
KEY = key_for()
REDACTION = {
    "entityTypes": ["CREDIT_DEBIT_NUMBER", "CREDIT_DEBIT_CVV", "SSN"],
    "output": "redacted_and_unredacted",
}


def config(
    options: TranscriptionOptions | Mapping[str, Any] | None = None, **overrides: Any
) -> TranscriptionConfig:
    """The test configuration; ``options`` as a dataclass or as the ``TRANSCRIPTION`` JSON keys."""
    if isinstance(options, Mapping):
        import json

        options = parse_options(json.dumps(options))
    values: dict[str, Any] = {
        "catalog_table": TABLE,
        "recording_bucket": BUCKET,
        "data_access_role_arn": ROLE,
        "recording_prefix": PREFIX,
        "event_bus": BUS,
        "metrics_namespace": "CdkRecordingTest",
        "application": "test-app",
        "options": options or TranscriptionOptions(),
    }
    values.update(overrides)
    return TranscriptionConfig(**values)


def seed_recording(
    aws: Aws,
    *,
    leg: str | None = "LEG-A",
    track: str | None = "BOTH",
    call_direction: str | None = "inbound",
    leg_direction: str | None = None,
    channels: int | None = 2,
    status: str = "delivered",
    key: str = KEY,
    call_id: str = CALL_ID,
) -> None:
    """A ``REC#`` item as the arrival processor and the facts consumer leave it, and its ``CALL``."""
    rec: dict[str, Any] = {
        "pk": f"TX#{TRANSACTION_ID}",
        "sk": f"REC#{call_id}",
        "transactionId": TRANSACTION_ID,
        "callId": call_id,
        "status": status,
        "bucket": BUCKET,
        "key": key,
        "leg": leg,
        "track": track,
        "channels": channels,
        "direction": leg_direction or (call_direction if leg == "LEG-A" else "outbound"),
    }
    aws.table.put_item(Item={k: v for k, v in rec.items() if v is not None})
    call: dict[str, Any] = {"pk": f"TX#{TRANSACTION_ID}", "sk": "CALL", "direction": call_direction}
    aws.table.put_item(Item={k: v for k, v in call.items() if v is not None})


@pytest.fixture
def aws() -> Iterator[Aws]:
    with mock_aws():
        yield Aws()


@pytest.fixture
def output() -> Output:
    return Output()


class Transcribe:
    """A Transcribe client and its stubber."""

    def __init__(self) -> None:
        self.client = boto3.client("transcribe", region_name=REGION)
        self.stubber = Stubber(self.client)

    def add(self, method: str, response: Mapping[str, Any], params: Mapping[str, Any]) -> None:
        self.stubber.add_response(method, dict(response), dict(params))

    def add_error(self, method: str, code: str, params: Mapping[str, Any] | None = None) -> None:
        self.stubber.add_client_error(
            method,
            service_error_code=code,
            service_message=f"{code} from the stub",
            http_status_code=409 if code == "ConflictException" else 400,
            expected_params=None if params is None else dict(params),
        )


@pytest.fixture
def transcribe() -> Iterator[Transcribe]:
    stubbed = Transcribe()
    with stubbed.stubber:
        yield stubbed
        stubbed.stubber.assert_no_pending_responses()


def make_runtime(
    aws: Aws,
    transcribe: Transcribe,
    output: Output,
    cfg: TranscriptionConfig | None = None,
    clock: datetime = NOW,
) -> TranscriptionRuntime:
    return TranscriptionRuntime(
        config=cfg or config(),
        transcribe=transcribe.client,
        dynamodb=aws.dynamodb,
        events=aws.events,
        clock=lambda: clock,
        write=output.write,
    )


def invoke(runtime: TranscriptionRuntime, **event: Any) -> Any:
    return handler(event, None, runtime=runtime)


def transcript_item(aws: Aws, call_id: str = CALL_ID) -> dict[str, Any] | None:
    return aws.item(f"TRANSCRIPT#{call_id}")
