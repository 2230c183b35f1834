"""Lambda entry point of the recording arrival processor.

Delivery path: S3 (EventBridge notifications on) -> ``Object Created`` on the default bus -> an
EventBridge rule -> an SQS queue (redrive to a dead-letter queue after 5 receives) -> this function,
with ``ReportBatchItemFailures``. :func:`handler` receives an SQS batch whose record bodies are
EventBridge events, and returns ``{"batchItemFailures": [{"itemIdentifier": messageId}, ...]}``
naming only the records that failed transiently. It never raises: a record that can never be
processed is logged, counted (``ObjectIgnored``) and dropped; an exception would make SQS deliver
the whole batch again.

This is the only module that reads the environment or builds boto3 clients; tests pass a
:class:`Runtime` over moto or stubbed clients instead.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from typing import TYPE_CHECKING, Any, TypedDict

import boto3
from botocore.config import Config

from recording_processor._config import ConfigError, ProcessorConfig
from recording_processor._process import Outcome, Services, process_body
from recording_processor._publish import EventPublisher
from recording_processor._s3 import RecordingObjects
from recording_processor._store import CatalogStore
from recording_processor._telemetry import Logger, Metrics

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_s3 import S3Client

__all__ = ["BatchItemFailure", "BatchResponse", "Runtime", "handler"]

#: botocore's standard retry mode absorbs brief throttling within the invocation; anything longer
#: goes back to the queue. The read timeout applies per socket read of the streamed GET.
_CLIENT_CONFIG = Config(
    retries={"mode": "standard", "total_max_attempts": 3},
    connect_timeout=5,
    read_timeout=30,
)


class BatchItemFailure(TypedDict):
    itemIdentifier: str


class BatchResponse(TypedDict):
    batchItemFailures: list[BatchItemFailure]


def _now() -> datetime:
    return datetime.now(UTC)


def _stdout(text: str) -> None:
    sys.stdout.write(text)
    sys.stdout.flush()


@dataclass(frozen=True)
class Runtime:
    """What the handler needs from the outside world.

    :param config: the configuration. Default (in Lambda): read from the environment.
    :param s3: S3 client. Default: a boto3 client.
    :param dynamodb: DynamoDB client. Default: a boto3 client.
    :param events: EventBridge client. Default: a boto3 client.
    :param clock: the wall clock (UTC). Default: :func:`datetime.now`.
    :param write: where log lines and EMF documents go. Default: stdout.
    :param log_level: ``DEBUG``, ``INFO``, ``WARNING`` or ``ERROR``. Default: ``INFO``.
    """

    config: ProcessorConfig
    s3: S3Client
    dynamodb: DynamoDBClient
    events: EventBridgeClient
    clock: Callable[[], datetime] = _now
    write: Callable[[str], object] = field(default=_stdout)
    log_level: str = "INFO"

    def services(self) -> Services:
        return Services(
            config=self.config,
            objects=RecordingObjects(self.s3),
            store=CatalogStore(self.dynamodb, self.config.catalog_table),
            publisher=EventPublisher(self.events, self.config.event_bus),
            metrics=Metrics(
                self.write, self.config.metrics_namespace, self.config.application, self.clock
            ),
            clock=self.clock,
        )


@cache
def _lambda_runtime() -> Runtime:
    config = ProcessorConfig.from_environ(os.environ)
    return Runtime(
        config=config,
        s3=boto3.client("s3", config=_CLIENT_CONFIG),
        dynamodb=boto3.client("dynamodb", config=_CLIENT_CONFIG),
        events=boto3.client("events", config=_CLIENT_CONFIG),
        log_level=os.environ.get("LOG_LEVEL", "INFO"),
    )


def handler(
    event: Mapping[str, Any], context: object = None, *, runtime: Runtime | None = None
) -> BatchResponse:
    """Process an SQS batch of S3 ``Object Created`` events; see the module docstring."""
    records = [r for r in _list(event.get("Records")) if isinstance(r, Mapping)]
    request_id = getattr(context, "aws_request_id", None)
    try:
        runtime = runtime or _lambda_runtime()
    except ConfigError as error:
        return _misconfigured(records, request_id, error)
    services = runtime.services()
    log = Logger(runtime.write, {"requestId": request_id}, runtime.log_level, runtime.clock)
    failures: list[BatchItemFailure] = []
    counts: dict[str, int] = {}
    for record in records:
        message_id = record.get("messageId")
        attributes = record.get("attributes")
        receive_count = (
            attributes.get("ApproximateReceiveCount") if isinstance(attributes, Mapping) else None
        )
        record_log = log.bind(messageId=message_id, receiveCount=receive_count)
        if not isinstance(message_id, str) or not message_id:
            # Without an id the record cannot be named for a retry; an empty itemIdentifier
            # would make Lambda fail the whole batch instead.
            record_log.error("SQS record without a messageId; skipped")
            continue
        outcome: Outcome = process_body(record.get("body"), services, record_log)
        counts[outcome.status] = counts.get(outcome.status, 0) + 1
        if outcome.retry:
            failures.append({"itemIdentifier": message_id})
    log.info("batch processed", records=len(records), outcomes=counts, retried=len(failures))
    return {"batchItemFailures": failures}


def _misconfigured(
    records: list[Mapping[str, Any]], request_id: object, error: ConfigError
) -> BatchResponse:
    # Every record goes back to the queue, and after 5 receives to the dead-letter queue, from
    # which it can be redriven once the configuration is fixed; nothing is lost.
    log = Logger(_stdout, {"requestId": request_id})
    log.error("invalid configuration; every record will be retried", detail=str(error))
    Metrics(
        _stdout,
        os.environ.get("METRICS_NAMESPACE") or "CdkRecording",
        os.environ.get("APPLICATION") or "cdk-recording",
    ).emit({"ProcessorFailed": (len(records), "Count")}, reason="configuration")
    return {
        "batchItemFailures": [
            {"itemIdentifier": str(r["messageId"])} for r in records if r.get("messageId")
        ]
    }


def _list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []
