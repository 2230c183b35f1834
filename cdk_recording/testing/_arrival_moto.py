"""The post-call side of a deployment, in moto: the real arrival processor catalogs the recordings.

:class:`ArrivalDouble` holds a versioned recording bucket, the catalog table
(``recording_processor.schema.create_table_arguments``), the default event bus with a rule that
captures every ``cdk-recording`` event into an SQS queue, and the arrival processor's ``handler``
with a ``Runtime`` over those clients. For each recording a call delivered, it puts the WAV and its
§3.4 metadata under the recording's key, builds the ``Object Created`` event S3 would send, wraps
it into an SQS record as the construct's rule and queue would, and calls the handler.

moto is a development dependency, not a runtime one: it is imported only by
:meth:`ArrivalDouble.in_moto`, which raises :class:`ArrivalUnavailable` when it is missing. The
processor's package lives in ``lambda/recording_processor`` (``cdk_recording/_lambda`` in a wheel)
and is put on ``sys.path`` the first time an arrival is played, if it is not importable already.
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib.util
import json
import sys
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from cdk_recording._assets import lambda_asset_path
from cdk_recording.testing._arrival import (
    ArrivalDelivery,
    ArrivalReport,
    object_created_event,
    sqs_record,
)
from cdk_recording.testing._report import CallReport
from cdk_recording.testing._sinks import RecordingObject

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sqs import SQSClient
    from recording_processor.handler import Runtime

__all__ = ["ArrivalDouble", "ArrivalUnavailable", "BatchOutcome", "StoredRecording"]

#: The catalog table's name in the double.
CATALOG_TABLE = "recording-catalog"
_CAPTURE_RULE = "capture-cdk-recording-events"
_CAPTURE_QUEUE = "captured-recording-events"
_FACTS_NOTE = (
    "facts not fed: the facts consumer (recording_processor.handler.facts_handler) is not wired "
    "into the simulator yet, so the catalog holds only what the arrival processor writes"
)


class ArrivalUnavailable(RuntimeError):  # noqa: N818 - a condition of the environment, not a bug
    """The arrival cannot be played here (moto is not installed); the message says how to fix it."""


def _ensure_processor_importable() -> None:
    """Make ``recording_processor`` importable: from a source checkout or an installed wheel."""
    if importlib.util.find_spec("recording_processor") is None:
        sys.path.append(lambda_asset_path("recording_processor"))


@dataclass(frozen=True)
class StoredRecording:
    """One recording version put in the double's bucket: what S3's event will say about it.

    :param prefix: the ``StartCallRecording`` destination prefix it was written under (the
        processor is configured with it, as the construct does).
    :param created_ms: when the object was created (the simulated delivery), epoch milliseconds.
    """

    bucket: str
    key: str
    prefix: str
    version_id: str
    sequencer: str
    etag: str
    size: int
    created_ms: int

    def event(self, account_id: str, region: str) -> dict[str, Any]:
        """The ``Object Created`` event of this version."""
        return object_created_event(
            bucket=self.bucket,
            key=self.key,
            version_id=self.version_id,
            sequencer=self.sequencer,
            size=self.size,
            etag=self.etag,
            created_ms=self.created_ms,
            account_id=account_id,
            region=region,
        )


@dataclass(frozen=True)
class BatchOutcome:
    """What the processor made of one SQS batch.

    :param outcomes: count per outcome (``delivered``, ``duplicate``, ...), from its log.
    :param retried: message ids it asked SQS to deliver again.
    :param message_ids: the batch's message ids, in the order of the versions given.
    """

    outcomes: Mapping[str, int]
    retried: tuple[str, ...] = ()
    message_ids: tuple[str, ...] = ()


class ArrivalDouble:
    """Recording bucket, catalog, bus and arrival processor, over moto (see the module docstring).

    Build it inside moto (:meth:`in_moto` does both); it creates its resources at once. The
    clients have fixed test credentials and explicit endpoints, so nothing can reach a real
    account even with ``AWS_PROFILE`` or ``AWS_ENDPOINT_URL`` set.

    :param account_id: the account in events and ARNs. Default: ``123456789012``.
    :param region: the Region of every client. Default: ``us-east-1``.
    """

    def __init__(self, *, account_id: str = "123456789012", region: str = "us-east-1") -> None:
        import boto3  # here: importing the simulator stays light

        _ensure_processor_importable()
        self.account_id = account_id
        self.region = region
        session = boto3.session.Session(
            aws_access_key_id="testing",
            aws_secret_access_key="testing",  # noqa: S106 - moto's fake credentials
            aws_session_token="testing",  # noqa: S106
            region_name=region,
        )
        self._session = session
        self.s3: S3Client = session.client("s3", endpoint_url=self._endpoint("s3"))
        self.dynamodb: DynamoDBClient = session.client(
            "dynamodb", endpoint_url=self._endpoint("dynamodb")
        )
        self.events: EventBridgeClient = session.client(
            "events", endpoint_url=self._endpoint("events")
        )
        self.sqs: SQSClient = session.client("sqs", endpoint_url=self._endpoint("sqs"))
        self._buckets: set[str] = set()
        self._puts = 0
        self._messages = 0
        self._captured: list[dict[str, Any]] = []
        self.log: list[str] = []
        self._create_resources()

    @classmethod
    @contextlib.contextmanager
    def in_moto(
        cls, *, seed: int = 0, account_id: str = "123456789012", region: str = "us-east-1"
    ) -> Iterator[ArrivalDouble]:
        """Start moto (nested in a moto already running, it shares its state), build the double.

        :param seed: seeds moto's ids (version ids, event ids), so a run is reproducible.
        :raises ArrivalUnavailable: moto is not installed.
        """
        try:
            from moto import mock_aws
        except ImportError as error:
            raise ArrivalUnavailable(
                "moto is not installed (it is a development dependency: "
                "pip install 'moto[s3,dynamodb,events,sqs]')"
            ) from error
        import requests  # moto depends on it

        with mock_aws():
            # moto's documented way to make its generated ids reproducible.
            requests.post(f"http://motoapi.amazonaws.com/moto-api/seed?a={seed}", timeout=5)
            yield cls(account_id=account_id, region=region)

    def _endpoint(self, service: str) -> str:
        return f"https://{service}.{self.region}.amazonaws.com"

    def _create_resources(self) -> None:
        from recording_processor.schema import create_table_arguments

        self.dynamodb.create_table(**create_table_arguments(CATALOG_TABLE))
        self.queue_url = self.sqs.create_queue(QueueName=_CAPTURE_QUEUE)["QueueUrl"]
        queue_arn = self.sqs.get_queue_attributes(
            QueueUrl=self.queue_url, AttributeNames=["QueueArn"]
        )["Attributes"]["QueueArn"]
        self.events.put_rule(
            Name=_CAPTURE_RULE,
            EventBusName="default",
            EventPattern=json.dumps({"source": ["cdk-recording"]}),
        )
        self.events.put_targets(
            Rule=_CAPTURE_RULE,
            EventBusName="default",
            Targets=[{"Id": "capture", "Arn": queue_arn}],
        )

    # S3

    def store(self, recording: RecordingObject, created_ms: int, prefix: str) -> StoredRecording:
        """Put one recording version (the bucket is created, versioned, on first use)."""
        if recording.bucket not in self._buckets:
            self.s3.create_bucket(Bucket=recording.bucket)
            self.s3.put_bucket_versioning(
                Bucket=recording.bucket, VersioningConfiguration={"Status": "Enabled"}
            )
            self._buckets.add(recording.bucket)
        response = self.s3.put_object(
            Bucket=recording.bucket,
            Key=recording.key,
            Body=recording.body,
            Metadata=dict(recording.metadata),
        )
        self._puts += 1
        return StoredRecording(
            bucket=recording.bucket,
            key=recording.key,
            prefix=prefix.strip("/"),
            version_id=response["VersionId"],
            # S3 sequencers are 18 hex digits that grow with each write of a key; this one grows
            # with every write of the double.
            sequencer=f"{created_ms:012X}{self._puts:06X}",
            etag=str(response["ETag"]).strip('"'),
            size=len(recording.body),
            created_ms=created_ms,
        )

    # the processor

    def _runtime(self, bucket: str, prefix: str, created_ms: int) -> Runtime:
        from recording_processor._config import ProcessorConfig
        from recording_processor.handler import Runtime

        moment = datetime.fromtimestamp(created_ms / 1000, UTC)
        return Runtime(
            config=ProcessorConfig(
                catalog_table=CATALOG_TABLE,
                recording_bucket=bucket,
                recording_prefix=prefix,
                application="cdk-recording-simulator",
            ),
            s3=self.s3,
            dynamodb=self.dynamodb,
            events=self.events,
            clock=lambda: moment,
            write=self._write,
        )

    def _write(self, text: str) -> None:
        self.log.extend(line for line in text.splitlines() if line)

    def message_id(self) -> str:
        """A fresh SQS message id (deterministic: the n-th message of this double)."""
        self._messages += 1
        return str(uuid.UUID(int=self._messages, version=4))

    def process(self, stored: Sequence[StoredRecording], *, receive_count: int = 1) -> BatchOutcome:
        """Hand the processor one SQS batch: each version's ``Object Created`` event, in order.

        A version may appear more than once (EventBridge and SQS deliver at least once).

        :raises ValueError: the versions are not all in one bucket and prefix (one processor is
            configured for one destination), or the batch is empty.
        """
        from recording_processor.handler import handler

        if not stored:
            raise ValueError("a batch needs at least one stored recording")
        destinations = {(s.bucket, s.prefix) for s in stored}
        if len(destinations) != 1:
            raise ValueError(f"a batch must hold one bucket and prefix, got {sorted(destinations)}")
        records = [
            sqs_record(
                s.event(self.account_id, self.region),
                message_id=self.message_id(),
                receive_count=receive_count,
                account_id=self.account_id,
                region=self.region,
            )
            for s in stored
        ]
        first = len(self.log)
        runtime = self._runtime(
            stored[0].bucket, stored[0].prefix, max(s.created_ms for s in stored)
        )
        response = handler({"Records": records}, None, runtime=runtime)
        outcomes: dict[str, int] = {}
        for line in self.log[first:]:
            document = _json(line)
            if document.get("message") == "batch processed":
                outcomes = {str(k): int(v) for k, v in dict(document.get("outcomes", {})).items()}
        return BatchOutcome(
            outcomes=outcomes,
            retried=tuple(f["itemIdentifier"] for f in response["batchItemFailures"]),
            message_ids=tuple(r["messageId"] for r in records),
        )

    # what came out

    def captured_events(self) -> list[dict[str, Any]]:
        """Every event the processor put on the bus so far (drains the capture queue)."""
        while True:
            messages = self.sqs.receive_message(
                QueueUrl=self.queue_url, MaxNumberOfMessages=10
            ).get("Messages", [])
            if not messages:
                return list(self._captured)
            for message in messages:
                self._captured.append(json.loads(message["Body"]))
                self.sqs.delete_message(
                    QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"]
                )

    def catalog(self, transaction_id: str) -> tuple[dict[str, Any], ...]:
        """The call's catalog items, ``CALL`` first, JSON-ready."""
        from recording_processor.catalog import get_call

        table = self._session.resource("dynamodb", endpoint_url=self._endpoint("dynamodb")).Table(
            CATALOG_TABLE
        )
        call = get_call(table, transaction_id)
        items = [] if call.item is None else [call.item]
        items += sorted(call.recordings, key=lambda item: str(item.get("sk")))
        return tuple({name: _plain(value) for name, value in item.items()} for item in items)

    # the seam for the second consumer

    def feed_facts(self, report: CallReport) -> tuple[str, ...]:
        """Feed the call's facts messages (``docs/catalog.md``, "The facts message") to the facts
        consumer; returns notes for the report.

        The one place to wire ``recording_processor.handler.facts_handler`` once it exists: take
        the messages the recording handler sent for ``report``'s transaction, wrap each body in
        :func:`~cdk_recording.testing._arrival.sqs_record`, and call the consumer with a runtime
        over this double's clients, before or after :meth:`process` (the two writers own different
        attributes, so either order must give the same catalog). Until then nothing is fed.
        """
        del report
        return (_FACTS_NOTE,)

    # one call

    def arrive(
        self, report: CallReport, objects: Mapping[tuple[str, str], RecordingObject]
    ) -> ArrivalReport:
        """Deliver every recording of ``report`` (bodies from ``objects``, by bucket and key), one
        SQS record each in delivery order, and report the catalog and events that came out."""
        first_log = len(self.log)
        deliveries: list[ArrivalDelivery] = []
        problems: list[str] = []
        for recording in sorted(report.recordings, key=lambda r: r.delivered_ms):
            body = objects.get((recording.bucket, recording.key))
            if body is None:
                problems.append(f"{recording.uri}: the simulator delivered no object to upload")
                continue
            _, _, prefix = recording.location.partition("/")
            stored = self.store(body, report.start_time_ms + recording.delivered_ms, prefix)
            batch = self.process([stored])
            outcome = next(iter(batch.outcomes), "unknown")
            deliveries.append(
                ArrivalDelivery(
                    bucket=stored.bucket,
                    key=stored.key,
                    version_id=stored.version_id,
                    sequencer=stored.sequencer,
                    event_time=stored.event(self.account_id, self.region)["time"],
                    size_bytes=stored.size,
                    outcome=outcome,
                    retried=bool(batch.retried),
                )
            )
            if batch.retried or outcome != "delivered":
                problems.append(f"{recording.uri}: the processor's outcome was {outcome}")
        notes = self.feed_facts(report)
        events = tuple(
            event
            for event in self.captured_events()
            if (event.get("detail") or {}).get("transactionId") == report.transaction_id
        )
        result = ArrivalReport(
            deliveries=tuple(deliveries),
            catalog=self.catalog(report.transaction_id),
            events=events,
            notes=notes,
            log=tuple(self.log[first_log:]),
        )
        return dataclasses.replace(result, problems=(*problems, *_disagreements(report, result)))


def _disagreements(report: CallReport, arrival: ArrivalReport) -> list[str]:
    """Where the catalog and events disagree with the call: every delivered recording cataloged
    once, with the simulator's billed minutes, and announced by exactly one event."""
    problems: list[str] = []
    for bill in report.billing:
        item = arrival.recording_item(bill.call_id)
        if item is None or item.get("status") != "delivered":
            problems.append(f"{bill.leg} ({bill.call_id}): not cataloged as delivered")
        elif item.get("billedMinutes") != bill.billable_minutes:
            problems.append(
                f"{bill.leg}: catalog bills {item.get('billedMinutes')} min, "
                f"the simulator {bill.billable_minutes} min"
            )
        announced = [
            e for e in arrival.events if (e.get("detail") or {}).get("callId") == bill.call_id
        ]
        if len(announced) != 1:
            problems.append(
                f"{bill.leg}: {len(announced)} Recording Available events (expected exactly 1)"
            )
    call = arrival.call_item()
    if report.billing:
        billed = None if call is None else call.get("billedMinutes")
        if billed != report.billable_minutes:
            problems.append(
                f"the CALL item bills {billed} min, the simulator {report.billable_minutes} min"
            )
        cataloged = sorted(call.get("recordings", [])) if call else []
        if cataloged != sorted(bill.call_id for bill in report.billing):
            problems.append(f"the CALL item lists recordings {cataloged}")
    return problems


def _plain(value: object) -> object:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, set | frozenset):
        return sorted(_plain(v) for v in value)  # type: ignore[type-var]
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _json(line: str) -> dict[str, Any]:
    try:
        document = json.loads(line)
    except ValueError:
        return {}
    return document if isinstance(document, dict) else {}
