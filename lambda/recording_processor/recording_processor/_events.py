"""Typed, read-only views over what arrives: an SQS record whose body is an S3 EventBridge event.

Reference post-call §2.6: ``{"source": "aws.s3", "detail-type": "Object Created", "time": ...,
"resources": ["arn:aws:s3:::bucket"], "detail": {"bucket": {"name"}, "object": {"key", "size",
"etag", "version-id", "sequencer"}, "reason", "requester", ...}}``. The event carries no user
metadata. Anything that does not fit is :class:`Unprocessable`: a permanent verdict, because
delivering the same body again cannot make it fit.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from recording_processor._keys import (
    KeyFormatError,
    RecordingKey,
    decode_event_key,
    parse_recording_key,
    recording_folder,
)

__all__ = [
    "ObjectCreated",
    "Unprocessable",
    "compare_sequencers",
    "parse_object_created",
    "recording_key_of",
]

_HEX = re.compile(r"[0-9A-Fa-f]+")
_S3_ARN = re.compile(r"arn:(?P<partition>[a-z0-9-]+):s3:::[^/]+")


class Unprocessable(ValueError):  # noqa: N818 - a verdict on the input, not an error of ours
    """A record that can never be processed; ``reason`` is a short code for logs and metrics."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class ObjectCreated:
    """An S3 ``Object Created`` event, with the fields this processor reads.

    :param time: the event's ``time`` (when S3 created the object), UTC; None when absent or
        unreadable.
    :param version_id: ``detail.object.version-id``; None for an unversioned bucket.
    :param sequencer: ``detail.object.sequencer``, upper-cased; ``""`` when absent or not hex, which
        orders before every real sequencer.
    :param partition: the AWS partition of the bucket ARN in ``resources`` (``aws`` by default),
        for the object ARN of the event this processor emits.
    """

    event_id: str
    time: datetime | None
    bucket: str
    key: str
    version_id: str | None
    sequencer: str
    size: int | None
    etag: str | None
    reason: str | None
    partition: str


def parse_object_created(body: str) -> ObjectCreated:
    """Parse an SQS record body.

    :raises Unprocessable: not JSON, not an S3 ``Object Created`` event, or without bucket or key.
    """
    try:
        event = json.loads(body)
    except (TypeError, ValueError):
        raise Unprocessable("malformed-body", "the SQS message body is not JSON") from None
    if not isinstance(event, Mapping):
        raise Unprocessable("malformed-body", "the SQS message body is not a JSON object")
    if event.get("source") != "aws.s3" or event.get("detail-type") != "Object Created":
        raise Unprocessable(
            "not-object-created",
            f"not an S3 Object Created event (source {event.get('source')!r}, "
            f"detail-type {event.get('detail-type')!r})",
        )
    detail = _mapping(event.get("detail"))
    bucket = _text(_mapping(detail.get("bucket")).get("name"))
    obj = _mapping(detail.get("object"))
    key = _text(obj.get("key"))
    if not bucket or not key:
        raise Unprocessable("malformed-event", "the event has no bucket name or object key")
    sequencer = _text(obj.get("sequencer")) or ""
    return ObjectCreated(
        event_id=_text(event.get("id")) or "",
        time=_parse_time(event.get("time")),
        bucket=bucket,
        key=key,
        version_id=_text(obj.get("version-id")),
        sequencer=sequencer.upper() if _HEX.fullmatch(sequencer) else "",
        size=_int(obj.get("size")),
        etag=_text(obj.get("etag")),
        reason=_text(detail.get("reason")),
        partition=_partition(event.get("resources")),
    )


def recording_key_of(event: ObjectCreated, bucket: str, prefix: str) -> RecordingKey:
    """The parsed key of an event for a recording in ``bucket`` under ``prefix``.

    :raises Unprocessable: another bucket, not a ``.wav``, or not a recording key (§3.4).
    """
    if event.bucket != bucket:
        raise Unprocessable("other-bucket", "the object is not in the recording bucket")
    try:
        return _accepted(event.key, prefix)
    except Unprocessable:
        decoded = decode_event_key(event.key)
        if decoded == event.key:
            raise
        return _accepted(decoded, prefix)


def _accepted(key: str, prefix: str) -> RecordingKey:
    folder = recording_folder(prefix)
    if not key.startswith(folder + "/"):
        raise Unprocessable("outside-prefix", f"the object is not under {folder + '/'!r}")
    if not key.lower().endswith(".wav"):
        raise Unprocessable("not-wav", "the object key does not end in .wav")
    try:
        return parse_recording_key(key, prefix)
    except KeyFormatError as error:
        raise Unprocessable("bad-key", str(error)) from None


def compare_sequencers(a: str, b: str) -> int:
    """-1, 0 or 1 as S3 ``sequencer`` ``a`` orders before, with or after ``b`` (same key only).

    Sequencers are hex strings of varying length. The current S3 event-structure documentation
    says to right-pad the shorter one with zeros and compare lexicographically; an earlier
    revision said left-pad. The later wording is followed here (a deliberate correction is the
    likelier reading); the two agree whenever the lengths are equal, which is what S3 sends in
    practice. ``""`` (no sequencer) orders before any real one.
    """
    if not a or not b:
        return bool(a) - bool(b)
    width = max(len(a), len(b))
    left, right = a.upper().ljust(width, "0"), b.upper().ljust(width, "0")
    return (left > right) - (left < right)


def _parse_time(value: object) -> datetime | None:
    text = _text(value)
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _partition(resources: object) -> str:
    if isinstance(resources, list):
        for resource in resources:
            match = _S3_ARN.match(resource) if isinstance(resource, str) else None
            if match:
                return match.group("partition")
    return "aws"


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None
