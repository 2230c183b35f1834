"""The post-call side of a deployment, in moto: the real arrival processor catalogs the recordings.

:class:`ArrivalDouble` holds a versioned recording bucket, the catalog table
(``recording_processor.schema.create_table_arguments``), the default event bus with a rule that
captures every ``cdk-recording`` event into an SQS queue, and the arrival processor's ``handler``
with a ``Runtime`` over those clients. For each recording a call delivered, it puts the WAV and its
§3.4 metadata under the recording's key, builds the ``Object Created`` event S3 would send, wraps
it into an SQS record as the construct's rule and queue would, and calls the handler.

It also holds the facts queue: during a call the recording handler sends its facts messages there
(:meth:`ArrivalDouble.capturing_facts`), and :meth:`ArrivalDouble.feed_facts` drains them into the
real facts consumer, before or after the delivery (:class:`~cdk_recording.testing.ArrivalPlan`);
the missing sweep then runs past the call's deadlines (``_arrival_facts.py``).

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
    ArrivalPlan,
    ArrivalReport,
    SweepRun,
    object_created_event,
    sqs_record,
)
from cdk_recording.testing._arrival_checks import disagreements
from cdk_recording.testing._arrival_facts import (
    FACTS_QUEUE,
    FactsFeed,
    capturing_facts,
    drain_facts,
    sweep_after,
)
from cdk_recording.testing._report import CallReport
from cdk_recording.testing._sinks import RecordingObject

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sqs import SQSClient
    from recording_processor.catalog import Call
    from recording_processor.handler import CatalogRuntime, Runtime

__all__ = ["ArrivalDouble", "ArrivalUnavailable", "BatchOutcome", "StoredRecording"]

#: The catalog table's name in the double.
CATALOG_TABLE = "recording-catalog"
_CAPTURE_RULE = "capture-cdk-recording-events"
_CAPTURE_QUEUE = "captured-recording-events"
_FACTS_NOTE = (
    "facts not fed: the handler sends no facts the simulator can capture (only the recording "
    "handler's runtime takes a facts queue), so the catalog holds only what the arrival "
    "processor writes and the missing sweep is not run"
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
    :param plan: how each call's arrival is played (facts before or after the delivery,
        recordings lost). Default: :class:`ArrivalPlan` defaults.
    """

    def __init__(
        self,
        *,
        account_id: str = "123456789012",
        region: str = "us-east-1",
        plan: ArrivalPlan | None = None,
    ) -> None:
        import boto3  # here: importing the simulator stays light

        _ensure_processor_importable()
        self.account_id = account_id
        self.region = region
        self.plan = plan or ArrivalPlan()
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
        cls,
        *,
        seed: int = 0,
        account_id: str = "123456789012",
        region: str = "us-east-1",
        plan: ArrivalPlan | None = None,
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
            yield cls(account_id=account_id, region=region, plan=plan)

    def _endpoint(self, service: str) -> str:
        return f"https://{service}.{self.region}.amazonaws.com"

    def _create_resources(self) -> None:
        from recording_processor.schema import create_table_arguments

        self.dynamodb.create_table(**create_table_arguments(CATALOG_TABLE))
        self.queue_url = self.sqs.create_queue(QueueName=_CAPTURE_QUEUE)["QueueUrl"]
        self.facts_queue_url = self.sqs.create_queue(QueueName=FACTS_QUEUE)["QueueUrl"]
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
        call = self._call(transaction_id)
        items = [] if call.item is None else [call.item]
        items += sorted(call.recordings, key=lambda item: str(item.get("sk")))
        return _plain_items(items)

    def _call(self, transaction_id: str) -> Call:
        from recording_processor.catalog import get_call

        table = self._session.resource("dynamodb", endpoint_url=self._endpoint("dynamodb")).Table(
            CATALOG_TABLE
        )
        return get_call(table, transaction_id)

    # the facts consumer and the sweep

    def capturing_facts(self, handler: object) -> contextlib.AbstractContextManager[bool]:
        """While in it, ``handler`` (the recording handler) sends its facts messages to this
        double's facts queue through its real sending code; yields whether it does."""
        return capturing_facts(handler, self.facts_queue_url, self.sqs)

    def catalog_runtime(self, moment: datetime) -> CatalogRuntime:
        """The facts consumer's and the sweep's runtime over this double, at a simulated moment."""
        from recording_processor._config import CatalogConfig
        from recording_processor.handler import CatalogRuntime

        return CatalogRuntime(
            config=CatalogConfig(
                catalog_table=CATALOG_TABLE, application="cdk-recording-simulator"
            ),
            dynamodb=self.dynamodb,
            events=self.events,
            clock=lambda: moment,
            write=self._write,
        )

    def feed_facts(self, at_ms: int) -> FactsFeed:
        """Drain the facts queue into ``recording_processor.handler.facts_handler``, in batches
        of up to 10 as the event source mapping would, at the simulated time ``at_ms``."""
        return drain_facts(
            self.sqs,
            self.facts_queue_url,
            self.catalog_runtime(datetime.fromtimestamp(at_ms / 1000, UTC)),
            region=self.region,
            account_id=self.account_id,
        )

    def sweep(self, transaction_id: str, not_before_ms: int) -> SweepRun:
        """Run the missing sweep once, at the first 5-minute tick past the call's pending
        deadlines (and past ``not_before_ms``)."""
        recordings = _plain_items(self._call(transaction_id).recordings)
        return sweep_after(
            self.catalog_runtime,
            recordings,
            datetime.fromtimestamp(not_before_ms / 1000, UTC),
        )

    # one call

    def arrive(
        self,
        report: CallReport,
        objects: Mapping[tuple[str, str], RecordingObject],
        *,
        facts: bool = False,
        plan: ArrivalPlan | None = None,
    ) -> ArrivalReport:
        """Play the arrival of ``report``'s recordings and report the catalog and events.

        :param objects: the recordings' bodies, by bucket and key.
        :param facts: the handler sent its facts messages to this double's queue during the call
            (:meth:`capturing_facts`): feed them to the facts consumer (before or after the
            delivery, as ``plan`` says), run the sweep, and check the catalog against the call.
            Default: false (a note says the facts were not fed).
        :param plan: how to play it. Default: the double's :attr:`plan`.
        """
        plan = plan or self.plan
        first_log = len(self.log)
        end_ms = report.start_time_ms + report.ended_ms
        fed = 0
        problems: list[str] = []
        if facts and plan.facts == "before":
            fed, facts_problems = self._feed(end_ms)
            problems += facts_problems
        deliveries, delivery_problems, last_ms = self._deliver(report, objects, plan)
        dropped = tuple(r.uri for r in report.recordings if plan.dropped(r.leg))
        problems += delivery_problems
        if facts and plan.facts == "after":
            fed, facts_problems = self._feed(max(end_ms, last_ms))
            problems += facts_problems
        sweep = self.sweep(report.transaction_id, max(end_ms, last_ms)) if facts else None
        events = tuple(
            event
            for event in self.captured_events()
            if (event.get("detail") or {}).get("transactionId") == report.transaction_id
        )
        call = self._call(report.transaction_id)
        items = [] if call.item is None else [call.item]
        items += sorted(call.recordings, key=lambda item: str(item.get("sk")))
        result = ArrivalReport(
            deliveries=tuple(deliveries),
            dropped=dropped,
            catalog=_plain_items(items),
            events=events,
            numbers=_plain_items(sorted(call.numbers, key=lambda item: str(item.get("sk")))),
            facts=_plain_items(call.facts) if facts else (),
            facts_fed=fed if facts else None,
            plan=plan,
            sweep=sweep,
            notes=() if facts else (_FACTS_NOTE,),
            log=tuple(self.log[first_log:]),
        )
        return dataclasses.replace(result, problems=(*problems, *disagreements(report, result)))

    def _feed(self, at_ms: int) -> tuple[int, list[str]]:
        feed = self.feed_facts(at_ms)
        if feed.left:
            return feed.messages, [f"{feed.left} facts messages still retried by the consumer"]
        return feed.messages, []

    def _deliver(
        self,
        report: CallReport,
        objects: Mapping[tuple[str, str], RecordingObject],
        plan: ArrivalPlan,
    ) -> tuple[list[ArrivalDelivery], list[str], int]:
        """Deliver every recording not dropped, one SQS record each in delivery order; returns
        the deliveries, the problems and the last delivery's time (epoch ms, 0 without one)."""
        deliveries: list[ArrivalDelivery] = []
        problems: list[str] = []
        last_ms = 0
        for recording in sorted(report.recordings, key=lambda r: r.delivered_ms):
            if plan.dropped(recording.leg):
                continue
            body = objects.get((recording.bucket, recording.key))
            if body is None:
                problems.append(f"{recording.uri}: the simulator delivered no object to upload")
                continue
            _, _, prefix = recording.location.partition("/")
            last_ms = report.start_time_ms + recording.delivered_ms
            stored = self.store(body, last_ms, prefix)
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
        return deliveries, problems, last_ms


def _plain_items(items: Sequence[Mapping[str, Any]]) -> tuple[dict[str, Any], ...]:
    return tuple({str(name): _plain(value) for name, value in item.items()} for item in items)


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
