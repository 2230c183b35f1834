"""What happens after a simulated call: the recordings arrive, are cataloged and announced.

The AWS side is played by :class:`~cdk_recording.testing.ArrivalDouble` (``_arrival_moto.py``: the
real arrival processor over moto). This module holds what needs no AWS and no moto: the envelopes
S3, EventBridge and SQS would wrap a recording in (:func:`object_created_event`, :func:`sqs_record`),
:class:`ArrivalPlan` (how the arrival is played: the facts before or after the delivery, recordings
lost on the way), and :class:`ArrivalReport`, the part of a :class:`~cdk_recording.testing.CallReport`
that says what the arrival produced. The text masks phone numbers like the handler's log lines
(:func:`sma_recording.telemetry.mask_phone`); the JSON holds the catalog items as stored.
"""

from __future__ import annotations

import json
import math
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from sma_recording.telemetry import mask_phone

from cdk_recording.testing._transcription_report import TranscriptionReport

__all__ = [
    "ArrivalDelivery",
    "ArrivalPlan",
    "ArrivalReport",
    "FactsOrder",
    "object_created_event",
    "s3_event_time",
    "sqs_record",
]

#: ``requester`` of the S3 events: the principal the service writes recordings as.
_REQUESTER = "voiceconnector.chime.amazonaws.com"
#: The queue the construct's rule sends ``Object Created`` events to (named in the record's ARN).
_ARRIVAL_QUEUE = "recording-arrivals"
#: When the facts consumer gets the call's facts messages, relative to the recordings' delivery.
FactsOrder = Literal["before", "after"]
_FACTS_ORDERS: tuple[FactsOrder, ...] = ("before", "after")
_LEGS = ("LEG-A", "LEG-B")


@dataclass(frozen=True)
class ArrivalPlan:
    """How the arrival of a call is played.

    :param facts: ``before``: the facts consumer gets the call's facts messages before the
        recordings are delivered (as usually in production: the messages are sent during the call,
        the file after it); ``after``: once they are delivered. The catalog must come out the same.
        Default: ``before``.
    :param drop: the legs (``LEG-A``, ``LEG-B``) whose recording is lost on the way: never put in
        the bucket, so the missing sweep must report it. Default: none.
    :raises ValueError: an unknown order or leg (the message names the allowed values).
    """

    facts: FactsOrder = "before"
    drop: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.facts not in _FACTS_ORDERS:
            raise ValueError(f"facts must be one of {', '.join(_FACTS_ORDERS)}, got {self.facts!r}")
        for leg in self.drop:
            if leg not in _LEGS:
                raise ValueError(f"drop holds legs {' or '.join(_LEGS)}, got {leg!r}")

    def dropped(self, leg: str) -> bool:
        """Whether the recording of ``leg`` is lost."""
        return leg in self.drop


@dataclass(frozen=True)
class SweepRun:
    """One run of the missing sweep (``recording_processor.handler.sweep_handler``).

    :param at: the simulated time it ran at (ISO 8601 UTC): the first 5-minute schedule tick
        after the latest deadline of the call's awaited recordings.
    :param counts: what it returned (``examined``, ``missing``, ``raced``, ``failed``,
        ``backlog``).
    """

    at: str
    counts: Mapping[str, int]


def s3_event_time(epoch_ms: int) -> str:
    """The ``time`` of an S3 event for an object created at ``epoch_ms``: whole seconds, UTC.

    EventBridge events carry seconds; rounding up keeps the event at or after the moment the
    service finished writing (the processor's delivery latency is then never negative).
    """
    moment = datetime.fromtimestamp(math.ceil(epoch_ms / 1000), UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def object_created_event(
    *,
    bucket: str,
    key: str,
    version_id: str | None,
    sequencer: str,
    size: int,
    etag: str,
    created_ms: int,
    account_id: str,
    region: str,
) -> dict[str, Any]:
    """The EventBridge ``Object Created`` event S3 sends for a new object version.

    Shape: S3 user guide, "EventBridge message structure" (reference post-call §2.6). The event id
    derives from the version and sequencer, so the same object always makes the same event (a
    duplicate delivery is then the very same event, as EventBridge's at-least-once would send).
    """
    obj: dict[str, Any] = {"key": key, "size": size, "etag": etag, "sequencer": sequencer}
    if version_id is not None:
        obj["version-id"] = version_id
    identity = f"s3://{bucket}/{key}?versionId={version_id}#{sequencer}"
    return {
        "version": "0",
        "id": str(uuid.uuid5(uuid.NAMESPACE_URL, identity)),
        "detail-type": "Object Created",
        "source": "aws.s3",
        "account": account_id,
        "time": s3_event_time(created_ms),
        "region": region,
        "resources": [f"arn:aws:s3:::{bucket}"],
        "detail": {
            "version": "0",
            "bucket": {"name": bucket},
            "object": obj,
            "request-id": sequencer[-16:].rjust(16, "0"),
            "requester": _REQUESTER,
            "source-ip-address": "203.0.113.15",
            "reason": "PutObject",
        },
    }


def sqs_record(
    event: Mapping[str, Any],
    *,
    message_id: str,
    receive_count: int = 1,
    account_id: str,
    region: str,
) -> dict[str, Any]:
    """One record of the SQS event Lambda hands the processor: the rule's target put ``event``
    in the queue as the message body (JSON)."""
    return {
        "messageId": message_id,
        "receiptHandle": f"AQEB-{message_id}",
        "body": json.dumps(event, separators=(",", ":")),
        "attributes": {"ApproximateReceiveCount": str(receive_count)},
        "messageAttributes": {},
        "eventSource": "aws:sqs",
        "eventSourceARN": f"arn:aws:sqs:{region}:{account_id}:{_ARRIVAL_QUEUE}",
        "awsRegion": region,
    }


@dataclass(frozen=True)
class ArrivalDelivery:
    """One ``Object Created`` event handed to the arrival processor (in an SQS record).

    :param outcome: what the processor made of it: ``delivered``, ``event-sent``, ``duplicate``,
        ``stale``, ``ignored`` or ``failed`` (from its ``batch processed`` log line).
    :param retried: the processor asked SQS to deliver the record again (``batchItemFailures``).
    """

    bucket: str
    key: str
    version_id: str
    sequencer: str
    event_time: str
    size_bytes: int
    outcome: str
    retried: bool = False


@dataclass(frozen=True)
class ArrivalReport:
    """What the arrival of one call's recordings produced.

    :param deliveries: every event handed to the processor, in order.
    :param catalog: the call's catalog items after the arrival (``CALL`` first, then ``REC#``),
        JSON-ready (numbers as int or float, string sets as sorted lists).
    :param events: the "Recording Available" events the processor put on the bus, as a rule's
        SQS target received them (the whole EventBridge envelope).
    :param dropped: the recordings lost on the way (``s3://`` URIs), as the plan says.
    :param numbers: the call's ``NUM#`` items (each number that took part), from the facts.
    :param facts: the call's ``FACT#`` items (the consent and recording audit trail), in order.
    :param facts_fed: facts messages handed to the facts consumer (None: the handler sends none
        the simulator can capture, so nothing was fed).
    :param plan: how the arrival was played.
    :param sweep: the missing sweep's run after the deliveries, when the facts were fed.
    :param problems: where the arrival disagrees with the call: a recording not cataloged, billed
        minutes that differ from the simulator's, not exactly one event per recording, a record
        the processor retried or ignored; with the facts, a start, stop or pause the catalog does
        not hold as the simulator saw it, other parties, a lost recording not reported missing
        exactly once.
    :param notes: what was not played.
    :param log: the processor's output: JSON log lines and EMF documents.
    :param skipped: why the arrival did not run at all (moto is not installed); None when it ran.
    :param transcription: what the transcription of the announced recordings produced, when it
        was played (``SmaSimulator(transcription=...)``, ``simulate --transcribe``); None otherwise.
    """

    deliveries: tuple[ArrivalDelivery, ...] = ()
    catalog: tuple[Mapping[str, Any], ...] = ()
    events: tuple[Mapping[str, Any], ...] = ()
    dropped: tuple[str, ...] = ()
    numbers: tuple[Mapping[str, Any], ...] = ()
    facts: tuple[Mapping[str, Any], ...] = ()
    facts_fed: int | None = None
    plan: ArrivalPlan = ArrivalPlan()
    sweep: SweepRun | None = None
    problems: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    log: tuple[str, ...] = ()
    skipped: str | None = None
    transcription: TranscriptionReport | None = None

    @property
    def ok(self) -> bool:
        """Whether the arrival (and the transcription, when played) agrees with the call (a
        skipped arrival has nothing to disagree)."""
        return not self.problems and (self.transcription is None or self.transcription.ok)

    def call_item(self) -> Mapping[str, Any] | None:
        """The ``CALL`` catalog item, if any recording was cataloged."""
        return next((item for item in self.catalog if item.get("sk") == "CALL"), None)

    def recording_item(self, call_id: str) -> Mapping[str, Any] | None:
        """The ``REC#<callId>`` catalog item of a recorded leg."""
        return next((item for item in self.catalog if item.get("sk") == f"REC#{call_id}"), None)

    def events_of(self, detail_type: str, call_id: str | None = None) -> list[Mapping[str, Any]]:
        """The captured events of one detail type (``Recording Available``, ``Recording
        Missing``), of one recording when ``call_id`` is given."""
        return [
            event
            for event in self.events
            if event.get("detail-type") == detail_type
            and (call_id is None or (event.get("detail") or {}).get("callId") == call_id)
        ]

    def to_lines(self, start_ms: int | None = None) -> list[str]:
        """The report's ``arrival`` section, line by line (numbers masked).

        :param start_ms: the call's start (epoch milliseconds): facts are timed from it, as the
            call's timeline is. Default: facts show their own time.
        """
        if self.skipped is not None:
            return [f"arrival: skipped: {self.skipped}", *self._transcription_lines()]
        lines = ["arrival (the recording processor over moto S3, DynamoDB, EventBridge and SQS):"]
        if self.facts_fed is not None and self.plan.facts == "before":
            lines.append(f"  facts: {self.facts_fed} messages fed to the facts consumer")
        if not self.deliveries:
            lines.append("  nothing delivered")
        for delivery in self.deliveries:
            retried = ", retried" if delivery.retried else ""
            lines.append(
                f"  s3://{delivery.bucket}/{delivery.key} version {delivery.version_id} "
                f"({delivery.size_bytes} bytes, Object Created at {delivery.event_time}): "
                f"{delivery.outcome}{retried}"
            )
        lines.extend(f"  {uri}: dropped, never delivered" for uri in self.dropped)
        if self.facts_fed is not None and self.plan.facts == "after":
            lines.append(f"  facts: {self.facts_fed} messages fed to the facts consumer")
        if self.sweep is not None:
            counts = ", ".join(f"{name} {value}" for name, value in self.sweep.counts.items())
            lines.append(f"  missing sweep at {self.sweep.at}: {counts}")
        lines.append("  catalog:")
        if not (self.catalog or self.numbers):
            lines.append("    none")
        for item in (*self.catalog, *self.numbers):
            lines.append(f"    {item.get('pk')} {_masked_key(item.get('sk'))}: {_item_text(item)}")
        if self.facts_fed is not None:
            lines.append(f"  facts timeline: {len(self.facts) or 'none'}")
            lines.extend(f"    {_fact_text(fact, start_ms)}" for fact in self.facts)
        lines.append(f"  events: {len(self.events) or 'none'}")
        lines.extend(f"    {_event_text(event)}" for event in self.events)
        lines.extend(f"  note: {note}" for note in self.notes)
        lines.append(f"  arrival problems: {len(self.problems) or 'none'}")
        lines.extend(f"    {problem}" for problem in self.problems)
        return lines + self._transcription_lines()

    def _transcription_lines(self) -> list[str]:
        if self.transcription is None:
            return []
        return ["", *self.transcription.to_lines()]


#: Attributes shown per item kind, in order (the JSON has them all).
_CALL_NAMES = (
    "direction",
    "fromNumber",
    "toNumber",
    "startedAt",
    "endedAt",
    "consent",
    "recordings",
    "billedMinutes",
    "firstStart",
    "day",
)
_RECORDING_NAMES = (
    "status",
    "leg",
    "startedAt",
    "stoppedAt",
    "pausedSeconds",
    "missingAt",
    "durationSeconds",
    "billedMinutes",
    "channels",
    "sampleRate",
    "track",
    "integrity",
    "eventSent",
)
_NUMBER_NAMES = ("role", "leg")
_PHONE_NAMES = frozenset({"fromNumber", "toNumber", "number"})
#: Fact details left out of the text: the object key (shown with the delivery) and the service's
#: error message (in the JSON).
_LONG_DETAIL = frozenset({"location", "errorMessage"})


def _item_text(item: Mapping[str, Any]) -> str:
    sort_key = str(item.get("sk"))
    names: tuple[str, ...]
    if sort_key == "CALL":
        names = _CALL_NAMES
    elif sort_key.startswith("NUM#"):
        names = _NUMBER_NAMES
    else:
        names = _RECORDING_NAMES
    return ", ".join(f"{name} {_value_text(name, item[name])}" for name in names if name in item)


def _masked_key(sort_key: object) -> str:
    text = str(sort_key)
    if text.startswith("NUM#"):
        return "NUM#" + (mask_phone(text[4:]) or "")
    return text


def _value_text(name: str, value: object) -> str:
    if name in _PHONE_NAMES and isinstance(value, str):
        return mask_phone(value) or ""
    if name == "consent" and isinstance(value, Mapping):
        legs = " and ".join(str(leg) for leg in value.get("legs") or ()) or "no leg"
        return f"played {value.get('playedAt')} to {legs}"
    if isinstance(value, list):
        return str(len(value))
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


def _fact_text(fact: Mapping[str, Any], start_ms: int | None) -> str:
    at = str(fact.get("at"))
    if start_ms is not None:
        try:
            moment = datetime.strptime(at, "%Y-%m-%dT%H:%M:%S.%f%z")
        except ValueError:
            pass
        else:
            at = _offset(round(moment.timestamp() * 1000) - start_ms)
    detail = fact.get("detail") or {}
    shown = ", ".join(
        f"{name} {_value_text(name, value)}"
        for name, value in sorted(dict(detail).items())
        if name not in _LONG_DETAIL
    )
    leg = fact.get("leg") or "-"
    return f"{at}  #{fact.get('sequence')} {fact.get('kind')} {leg}" + (
        f" ({shown})" if shown else ""
    )


def _offset(ms: int) -> str:
    sign = "-" if ms < 0 else ""
    ms = abs(ms)
    return f"{sign}{ms // 60000:02d}:{ms // 1000 % 60:02d}.{ms % 1000:03d}"


def _event_text(event: Mapping[str, Any]) -> str:
    detail = event.get("detail") or {}
    kind = event.get("detail-type")
    if kind == "Recording Missing":
        return (
            f"{kind} {detail.get('callId')} ({detail.get('leg')}): started {detail.get('startedAt')}, "
            f"stopped {detail.get('stoppedAt')}, deadline {detail.get('deadline')}, "
            f"detected {detail.get('detectedAt')}"
        )
    return (
        f"{kind} {detail.get('callId')}: "
        f"{detail.get('durationSeconds')} s, {detail.get('billedMinutes')} min, "
        f"{detail.get('sizeBytes')} bytes, sha256 {str(detail.get('sha256'))[:16]}..., "
        f"integrity {detail.get('integrity')}"
    )
