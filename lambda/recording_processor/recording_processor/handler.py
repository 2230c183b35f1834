"""Lambda entry point of the recording arrival processor.

Delivery path: S3 (EventBridge notifications on) -> ``Object Created`` on the default bus -> an
EventBridge rule -> an SQS queue (redrive to a dead-letter queue after 5 receives) -> this function,
with ``ReportBatchItemFailures``. :func:`handler` receives an SQS batch whose record bodies are
EventBridge events, and returns ``{"batchItemFailures": [{"itemIdentifier": messageId}, ...]}``
naming only the records that failed transiently. It never raises: a record that can never be
processed is logged, counted (``ObjectIgnored``) and dropped; an exception would make SQS deliver
the whole batch again. A record deferred until its call has ended (retention classes) is named too,
after its visibility timeout has been shortened to ``DEFER_SECONDS`` (best effort: otherwise it comes
back after the queue's own visibility timeout).

Two more entry points share the package and the catalog (``docs/catalog.md``):

* :func:`facts_handler`: an SQS batch of facts messages from the recording handler, merged into
  the call's catalog items (:mod:`~recording_processor._ingest`), with the same
  ``ReportBatchItemFailures`` contract;
* :func:`sweep_handler`: an EventBridge schedule; started recordings whose file is overdue become
  ``missing`` and are announced (:mod:`~recording_processor._sweep`).

This is the only module that reads the environment or builds boto3 clients; tests pass a
:class:`Runtime` or :class:`CatalogRuntime` over moto or stubbed clients instead.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from typing import TYPE_CHECKING, Any, Protocol, TypedDict

import boto3
from botocore.config import Config

from recording_processor._config import CatalogConfig, ConfigError, ProcessorConfig
from recording_processor._ingest import FactsServices, process_facts
from recording_processor._ledger import Timing
from recording_processor._process import DEFER_SECONDS, Outcome, Services, process_body
from recording_processor._publish import EventPublisher
from recording_processor._retention import RetentionApplier
from recording_processor._s3 import RecordingObjects
from recording_processor._store import CatalogStore
from recording_processor._sweep import SweepServices, sweep
from recording_processor._telemetry import Logger, Metrics

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sqs import SQSClient

__all__ = [
    "BatchItemFailure",
    "BatchResponse",
    "CatalogRuntime",
    "Runtime",
    "facts_handler",
    "handler",
    "sweep_handler",
]

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


class _Outcome(Protocol):
    @property
    def status(self) -> str: ...

    @property
    def retry(self) -> bool: ...


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
    :param sqs: SQS client (shortens the visibility of a deferred record). Default: a boto3 client
        in Lambda; None keeps the queue's visibility timeout.
    """

    config: ProcessorConfig
    s3: S3Client
    dynamodb: DynamoDBClient
    events: EventBridgeClient
    clock: Callable[[], datetime] = _now
    write: Callable[[str], object] = field(default=_stdout)
    log_level: str = "INFO"
    sqs: SQSClient | None = None

    def services(self) -> Services:
        policy = self.config.retention
        return Services(
            config=self.config,
            objects=RecordingObjects(self.s3),
            store=CatalogStore(self.dynamodb, self.config.catalog_table),
            publisher=EventPublisher(self.events, self.config.event_bus),
            metrics=Metrics(
                self.write, self.config.metrics_namespace, self.config.application, self.clock
            ),
            clock=self.clock,
            retention=None if policy is None else RetentionApplier(self.s3, policy.mode),
        )


@dataclass(frozen=True)
class CatalogRuntime:
    """What :func:`facts_handler` and :func:`sweep_handler` need from the outside world.

    :param config: the configuration. Default (in Lambda): read from the environment.
    :param dynamodb: DynamoDB client. Default: a boto3 client.
    :param events: EventBridge client (the sweep's "Recording Missing"). Default: a boto3 client.
    :param clock: the wall clock (UTC). Default: :func:`datetime.now`.
    :param write: where log lines and EMF documents go. Default: stdout.
    :param log_level: ``DEBUG``, ``INFO``, ``WARNING`` or ``ERROR``. Default: ``INFO``.
    """

    config: CatalogConfig
    dynamodb: DynamoDBClient
    events: EventBridgeClient
    clock: Callable[[], datetime] = _now
    write: Callable[[str], object] = field(default=_stdout)
    log_level: str = "INFO"

    def metrics(self) -> Metrics:
        return Metrics(
            self.write, self.config.metrics_namespace, self.config.application, self.clock
        )

    def facts_services(self) -> FactsServices:
        return FactsServices(
            store=CatalogStore(self.dynamodb, self.config.catalog_table),
            metrics=self.metrics(),
            timing=Timing(self.config.max_call_hours, self.config.grace_minutes),
            clock=self.clock,
        )

    def sweep_services(self) -> SweepServices:
        return SweepServices(
            store=CatalogStore(self.dynamodb, self.config.catalog_table),
            publisher=EventPublisher(self.events, self.config.event_bus),
            metrics=self.metrics(),
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
        sqs=boto3.client("sqs", config=_CLIENT_CONFIG),
    )


@cache
def _lambda_catalog_runtime() -> CatalogRuntime:
    return CatalogRuntime(
        config=CatalogConfig.from_environ(os.environ),
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
        return _misconfigured(records, request_id, error, "ProcessorFailed")
    services = runtime.services()
    log = Logger(runtime.write, {"requestId": request_id}, runtime.log_level, runtime.clock)

    def arrive(record: Mapping[str, Any], record_log: Logger) -> Outcome:
        outcome = process_body(
            record.get("body"), services, record_log, receive_count=_receive_count(record)
        )
        if outcome.status == "deferred":
            _defer(runtime.sqs, record, record_log)
        return outcome

    return _batch(records, log, arrive)


def facts_handler(
    event: Mapping[str, Any], context: object = None, *, runtime: CatalogRuntime | None = None
) -> BatchResponse:
    """Process an SQS batch of facts messages; malformed ones are dropped, failures retried."""
    records = [r for r in _list(event.get("Records")) if isinstance(r, Mapping)]
    request_id = getattr(context, "aws_request_id", None)
    try:
        runtime = runtime or _lambda_catalog_runtime()
    except ConfigError as error:
        return _misconfigured(records, request_id, error, "ProcessorFailed")
    services = runtime.facts_services()
    log = Logger(runtime.write, {"requestId": request_id}, runtime.log_level, runtime.clock)
    return _batch(
        records,
        log,
        lambda record, record_log: process_facts(record.get("body"), services, record_log),
    )


def sweep_handler(
    event: Mapping[str, Any] | None = None,  # noqa: ARG001 - the schedule's event says nothing
    context: object = None,
    *,
    runtime: CatalogRuntime | None = None,
) -> dict[str, int]:
    """Mark overdue started recordings missing (EventBridge schedule); returns the counts.

    A configuration error raises, so the invocation fails and the function's ``Errors`` metric
    shows it; everything else is logged and counted, and the next run tries again.
    """
    request_id = getattr(context, "aws_request_id", None)
    try:
        runtime = runtime or _lambda_catalog_runtime()
    except ConfigError as error:
        Logger(_stdout, {"requestId": request_id}).error(
            "invalid configuration; nothing swept", detail=str(error)
        )
        raise
    log = Logger(runtime.write, {"requestId": request_id}, runtime.log_level, runtime.clock)
    return sweep(runtime.sweep_services(), log).as_dict()


def _batch(
    records: list[Mapping[str, Any]],
    log: Logger,
    process: Callable[[Mapping[str, Any], Logger], _Outcome],
) -> BatchResponse:
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
        outcome = process(record, record_log)
        counts[outcome.status] = counts.get(outcome.status, 0) + 1
        if outcome.retry:
            failures.append({"itemIdentifier": message_id})
    log.info("batch processed", records=len(records), outcomes=counts, retried=len(failures))
    return {"batchItemFailures": failures}


def _misconfigured(
    records: list[Mapping[str, Any]], request_id: object, error: ConfigError, metric: str
) -> BatchResponse:
    # Every record goes back to the queue, and after 5 receives to the dead-letter queue, from
    # which it can be redriven once the configuration is fixed; nothing is lost.
    log = Logger(_stdout, {"requestId": request_id})
    log.error("invalid configuration; every record will be retried", detail=str(error))
    Metrics(
        _stdout,
        os.environ.get("METRICS_NAMESPACE") or "CdkRecording",
        os.environ.get("APPLICATION") or "cdk-recording",
    ).emit({metric: (len(records), "Count")}, reason="configuration")
    return {
        "batchItemFailures": [
            {"itemIdentifier": str(r["messageId"])} for r in records if r.get("messageId")
        ]
    }


def _receive_count(record: Mapping[str, Any]) -> int | None:
    attributes = record.get("attributes")
    count = attributes.get("ApproximateReceiveCount") if isinstance(attributes, Mapping) else None
    if isinstance(count, str) and count.isascii() and count.isdigit() and len(count) < 10:
        return int(count)
    return None


def _defer(sqs: SQSClient | None, record: Mapping[str, Any], log: Logger) -> None:
    """Make the record visible again after ``DEFER_SECONDS``; on any failure it comes back after
    the queue's visibility timeout instead (later, never lost)."""
    source = record.get("eventSourceARN")
    handle = record.get("receiptHandle")
    parts = source.split(":") if isinstance(source, str) else []
    if sqs is None or len(parts) != 6 or not isinstance(handle, str) or not handle:
        log.warning("deferred for the queue's visibility timeout (no queue to shorten it on)")
        return
    try:
        url = sqs.get_queue_url(QueueName=parts[5], QueueOwnerAWSAccountId=parts[4])["QueueUrl"]
        sqs.change_message_visibility(
            QueueUrl=url, ReceiptHandle=handle, VisibilityTimeout=DEFER_SECONDS
        )
    except Exception as error:  # best effort: the record is already handed back either way
        log.warning(
            "could not shorten the deferred record's visibility; it comes back after the "
            "queue's visibility timeout",
            errorType=type(error).__name__,
            detail=str(error),
        )


def _list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []
