"""What happens after a simulated call: the recordings arrive, are cataloged and announced.

The AWS side is played by :class:`~cdk_recording.testing.ArrivalDouble` (``_arrival_moto.py``: the
real arrival processor over moto). This module holds what needs no AWS and no moto: the envelopes
S3, EventBridge and SQS would wrap a recording in (:func:`object_created_event`, :func:`sqs_record`),
and :class:`ArrivalReport`, the part of a :class:`~cdk_recording.testing.CallReport` that says
what the arrival produced.
"""

from __future__ import annotations

import json
import math
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

__all__ = [
    "ArrivalDelivery",
    "ArrivalReport",
    "object_created_event",
    "s3_event_time",
    "sqs_record",
]

#: ``requester`` of the S3 events: the principal the service writes recordings as.
_REQUESTER = "voiceconnector.chime.amazonaws.com"
#: The queue the construct's rule sends ``Object Created`` events to (named in the record's ARN).
_ARRIVAL_QUEUE = "recording-arrivals"


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
    :param problems: where the arrival disagrees with the call: a recording not cataloged, billed
        minutes that differ from the simulator's, not exactly one event per recording, a record
        the processor retried or ignored.
    :param notes: what was not played (the facts consumer, for now).
    :param log: the processor's output: JSON log lines and EMF documents.
    :param skipped: why the arrival did not run at all (moto is not installed); None when it ran.
    """

    deliveries: tuple[ArrivalDelivery, ...] = ()
    catalog: tuple[Mapping[str, Any], ...] = ()
    events: tuple[Mapping[str, Any], ...] = ()
    problems: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    log: tuple[str, ...] = ()
    skipped: str | None = None

    @property
    def ok(self) -> bool:
        """Whether the arrival agrees with the call (a skipped arrival has nothing to disagree)."""
        return not self.problems

    def call_item(self) -> Mapping[str, Any] | None:
        """The ``CALL`` catalog item, if any recording was cataloged."""
        return next((item for item in self.catalog if item.get("sk") == "CALL"), None)

    def recording_item(self, call_id: str) -> Mapping[str, Any] | None:
        """The ``REC#<callId>`` catalog item of a recorded leg."""
        return next((item for item in self.catalog if item.get("sk") == f"REC#{call_id}"), None)

    def to_lines(self) -> list[str]:
        """The report's ``arrival`` section, line by line."""
        if self.skipped is not None:
            return [f"arrival: skipped: {self.skipped}"]
        lines = ["arrival (the recording processor over moto S3, DynamoDB, EventBridge and SQS):"]
        if not self.deliveries:
            lines.append("  nothing delivered")
        for delivery in self.deliveries:
            retried = ", retried" if delivery.retried else ""
            lines.append(
                f"  s3://{delivery.bucket}/{delivery.key} version {delivery.version_id} "
                f"({delivery.size_bytes} bytes, Object Created at {delivery.event_time}): "
                f"{delivery.outcome}{retried}"
            )
        lines.append("  catalog:")
        if not self.catalog:
            lines.append("    none")
        for item in self.catalog:
            lines.append(f"    {item.get('pk')} {item.get('sk')}: {_item_text(item)}")
        lines.append(f"  events: {len(self.events) or 'none'}")
        for event in self.events:
            detail = event.get("detail") or {}
            lines.append(
                f"    {event.get('detail-type')} {detail.get('callId')}: "
                f"{detail.get('durationSeconds')} s, {detail.get('billedMinutes')} min, "
                f"{detail.get('sizeBytes')} bytes, sha256 {str(detail.get('sha256'))[:16]}..., "
                f"integrity {detail.get('integrity')}"
            )
        lines.extend(f"  note: {note}" for note in self.notes)
        lines.append(f"  arrival problems: {len(self.problems) or 'none'}")
        lines.extend(f"    {problem}" for problem in self.problems)
        return lines


def _item_text(item: Mapping[str, Any]) -> str:
    names: tuple[str, ...]
    if item.get("sk") == "CALL":
        names = ("recordings", "billedMinutes", "firstStart", "day")
    else:
        names = (
            "status",
            "durationSeconds",
            "billedMinutes",
            "channels",
            "sampleRate",
            "track",
            "integrity",
            "eventSent",
        )
    return ", ".join(f"{name} {_value_text(item[name])}" for name in names if name in item)


def _value_text(value: object) -> str:
    if isinstance(value, list):
        return str(len(value))
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)
