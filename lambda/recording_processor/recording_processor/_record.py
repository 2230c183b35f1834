"""The catalog entries of a delivered recording, and the decisions that keep them right.

Pure: plain values in, plain values out, no boto3. The store (``_store``) turns an
:class:`CatalogWrite` into one DynamoDB transaction.

Items (table keys ``pk``/``sk``, both strings):

* the recording, ``TX#<transactionId>`` / ``REC#<callId>``: one per recorded leg, upgraded in place
  from ``started``/``missing`` (written by other parts of the system) to ``delivered``, with the day
  index attributes ``gsi2pk = DAY#<day>`` and ``gsi2sk = <legStartTime>#<transactionId>#<callId>``,
  and without the pending index attributes ``gsi3pk``/``gsi3sk`` (a delivered recording is no longer
  awaited); upgrading a ``missing`` item is a late delivery (:attr:`CatalogWrite.late`);
* the call, ``TX#<transactionId>`` / ``CALL``: ``firstStart`` (earliest leg start), its ``day``,
  ``recordings`` (string set of delivered call ids) and ``billedMinutes`` (their sum).

Idempotency is keyed by object version. A write is decided from the recording item as read (see
:func:`decide`) and made conditional on that item still being as read, in the same transaction as
the call item's increments: so a duplicate or an older version never changes anything, and the
call totals move exactly when the recording item does, even when two deliveries race.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Any, Final, Literal

from recording_processor._events import compare_sequencers
from recording_processor._keys import RecordingKey, iso_utc
from recording_processor._wav import WavInfo

__all__ = [
    "ABSENT",
    "CALL_SK",
    "DELIVERED",
    "EVENT_DETAIL_FIELDS",
    "MISSING",
    "NULL_VERSION",
    "SCHEMA_VERSION",
    "CatalogWrite",
    "Delivery",
    "Metadata",
    "Update",
    "Verdict",
    "billed_minutes",
    "call_key",
    "catalog_write",
    "decide",
    "event_detail",
    "object_arn",
    "read_metadata",
    "recording_attributes",
    "recording_key_attributes",
]

SCHEMA_VERSION: Final = 1
DELIVERED: Final = "delivered"
#: What the missing sweep makes of a started recording whose file is overdue.
MISSING: Final = "missing"
CALL_SK: Final = "CALL"
#: S3's version id of an object in a bucket that never had versioning on.
NULL_VERSION: Final = "null"

#: The fields of the "Recording Available" event's detail, besides ``schemaVersion``.
EVENT_DETAIL_FIELDS: Final = (
    "transactionId",
    "callId",
    "bucket",
    "key",
    "versionId",
    "s3Uri",
    "sha256",
    "sizeBytes",
    "durationSeconds",
    "billedMinutes",
    "channels",
    "sampleRate",
    "legStartTime",
    "deliveredAt",
    "integrity",
)

_MILLISECOND = Decimal("0.001")
_STEREO = 2
# No call lasts this long (115 days); a larger recording-duration is garbage, not a length.
_MAX_SECONDS = Decimal(10_000_000)
_SECONDS_PER_MINUTE = 60
# A header-derived length further than this from recording-duration is worth a warning.
_DURATION_TOLERANCE = Decimal(1)


class _Absent:
    """Marks an attribute a conditional write expects not to exist."""

    def __repr__(self) -> str:
        return "ABSENT"


ABSENT: Final = _Absent()

Integrity = Literal["ok", "metadata-mismatch"]


class Verdict(enum.Enum):
    """What an object version means for the catalog, given the recording item as read."""

    #: No item yet: write it.
    NEW = "new"
    #: An item without a version (``started``/``missing``): upgrade it to ``delivered``.
    UPGRADE = "upgrade"
    #: An item of an older version of the same key: replace its delivered fields.
    REPLACE = "replace"
    #: This very version, already cataloged and announced: nothing to do.
    DUPLICATE = "duplicate"
    #: This very version, cataloged but its event never confirmed sent: send it now.
    EVENT_PENDING = "event-pending"
    #: An item of a newer version: this older one changes nothing.
    STALE = "stale"

    @property
    def writes(self) -> bool:
        return self in (Verdict.NEW, Verdict.UPGRADE, Verdict.REPLACE)


@dataclass(frozen=True)
class Metadata:
    """The recording's S3 user metadata (reference §3.4); any field may be missing.

    ``problems`` lists values that were present but unusable (e.g. a duration that is not a
    number), for a warning in the log.
    """

    transaction_id: str | None = None
    call_id: str | None = None
    duration_seconds: Decimal | None = None
    media_type: str | None = None
    problems: tuple[str, ...] = ()


@dataclass(frozen=True)
class Delivery:
    """Everything known about one delivered object version.

    :param version_id: the object's version, ``"null"`` for an unversioned bucket.
    :param sequencer: the event's S3 sequencer (upper-case hex), ``""`` when it had none.
    :param delivered_at: when S3 created the object (the event's ``time``).
    :param wav: the parsed header; None when the object is not a readable WAV.
    :param last_modified: the version's ``LastModified`` (HeadObject), where S3 said it.
    """

    key: RecordingKey
    bucket: str
    version_id: str
    sequencer: str
    size_bytes: int
    etag: str | None
    sha256: str
    delivered_at: datetime
    metadata: Metadata
    wav: WavInfo | None
    last_modified: datetime | None = None

    @property
    def integrity(self) -> Integrity:
        """``metadata-mismatch`` when the metadata names other ids than the key (the key wins)."""
        return "metadata-mismatch" if self.mismatched_fields else "ok"

    @property
    def mismatched_fields(self) -> tuple[str, ...]:
        fields = []
        meta_tx, meta_call = self.metadata.transaction_id, self.metadata.call_id
        if meta_tx is not None and meta_tx.lower() != self.key.transaction_id:
            fields.append("transaction-id")
        if meta_call is not None and meta_call.lower() != self.key.call_id:
            fields.append("call-id")
        return tuple(fields)

    @property
    def header_duration(self) -> Decimal | None:
        return None if self.wav is None else self.wav.duration_seconds(self.size_bytes)

    @property
    def duration(self) -> tuple[Decimal | None, Literal["metadata", "header"] | None]:
        """The recording's length and where it came from.

        ``recording-duration`` is the service's own figure (and what billing is said to follow),
        so it wins; the header's data size stands in when the metadata is missing or unusable.
        """
        if self.metadata.duration_seconds is not None:
            return self.metadata.duration_seconds, "metadata"
        header = self.header_duration
        return (header, "header") if header is not None else (None, None)

    @property
    def duration_disagrees(self) -> bool:
        """Whether the header's length is more than a second off ``recording-duration``."""
        header, meta = self.header_duration, self.metadata.duration_seconds
        return header is not None and meta is not None and abs(header - meta) > _DURATION_TOLERANCE


@dataclass(frozen=True)
class Update:
    """One conditional UpdateItem, as plain values.

    ``expect`` maps attribute names to the value each must still have (or :data:`ABSENT`): the
    state the decision was made from. ``add`` holds numeric increments and set additions.
    """

    key: Mapping[str, str]
    set: Mapping[str, Any]
    remove: tuple[str, ...] = ()
    add: Mapping[str, Any] = field(default_factory=dict)
    expect: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class CatalogWrite:
    """The recording item's update and the call item's, to be committed together."""

    recording: Update
    call: Update
    verdict: Verdict
    #: The item was ``missing``: the sweep has already reported this recording as never delivered.
    late: bool = False


def recording_key_attributes(transaction_id: str, call_id: str) -> dict[str, str]:
    """The table key of a recording item."""
    return {"pk": f"TX#{transaction_id}", "sk": f"REC#{call_id}"}


def call_key(transaction_id: str) -> dict[str, str]:
    """The table key of a call item."""
    return {"pk": f"TX#{transaction_id}", "sk": CALL_SK}


def read_metadata(raw: Mapping[str, str]) -> Metadata:
    """Read §3.4's user metadata from HeadObject's ``Metadata`` (names compared case-blind)."""
    values = {name.lower().removeprefix("x-amz-meta-"): value for name, value in raw.items()}
    problems: list[str] = []
    duration: Decimal | None = None
    text = values.get("recording-duration")
    if text is not None:
        duration = _seconds(text)
        if duration is None:
            problems.append("recording-duration is not a non-negative number of seconds")
    return Metadata(
        transaction_id=values.get("transaction-id") or None,
        call_id=values.get("call-id") or None,
        duration_seconds=duration,
        media_type=values.get("recording-audio-file-format") or None,
        problems=tuple(problems),
    )


def billed_minutes(duration_seconds: Decimal | None) -> int | None:
    """The minutes a recording of this length is billed for; None when the length is unknown.

    Reference §9: recording is billed per minute while it is enabled on a leg, pauses included
    (silence is recorded while paused, so the file's length is the billed time). That a started
    minute counts as a whole one is an assumption, as in the simulator: the pricing page has not
    been read. So any non-zero length bills at least 1 minute, and 0 seconds bills 0.
    """
    if duration_seconds is None:
        return None
    if duration_seconds <= 0:
        return 0
    return max(1, math.ceil(duration_seconds / _SECONDS_PER_MINUTE))


def recording_attributes(delivery: Delivery, cataloged_at: datetime) -> dict[str, Any]:
    """The delivered recording item's attributes; None marks an attribute to remove.

    ``track`` is only written for stereo files (``BOTH``, reference §3.2); for a mono file the
    single track cannot be told from the audio, so whatever the item already says is kept.
    """
    key = delivery.key
    duration, source = delivery.duration
    wav = delivery.wav
    mismatched = delivery.mismatched_fields
    attributes: dict[str, Any] = {
        **recording_key_attributes(key.transaction_id, key.call_id),
        "transactionId": key.transaction_id,
        "callId": key.call_id,
        "status": DELIVERED,
        "bucket": delivery.bucket,
        "key": key.key,
        "versionId": delivery.version_id,
        "s3Uri": f"s3://{delivery.bucket}/{key.key}",
        "sizeBytes": delivery.size_bytes,
        "etag": delivery.etag,
        "sha256": delivery.sha256,
        "durationSeconds": duration,
        "durationSource": source,
        "billedMinutes": billed_minutes(duration),
        "format": "wav" if wav is not None else "unknown",
        "channels": wav.channels if wav else None,
        "sampleRate": wav.sample_rate if wav else None,
        "bitsPerSample": wav.bits_per_sample if wav else None,
        "mediaType": delivery.metadata.media_type,
        "legStartTime": key.leg_start_iso,
        "day": key.day,
        "deliveredAt": iso_utc(delivery.delivered_at),
        "catalogedAt": iso_utc(cataloged_at),
        "sequencer": delivery.sequencer or None,
        "integrity": delivery.integrity,
        "metadataTransactionId": (
            delivery.metadata.transaction_id if "transaction-id" in mismatched else None
        ),
        "metadataCallId": delivery.metadata.call_id if "call-id" in mismatched else None,
        "schemaVersion": SCHEMA_VERSION,
        "gsi2pk": f"DAY#{key.day}",
        "gsi2sk": f"{key.leg_start_iso}#{key.transaction_id}#{key.call_id}",
        # Delivered: no longer awaited, so out of the pending index (and out of the sweep's way).
        "gsi3pk": None,
        "gsi3sk": None,
    }
    if wav is not None and wav.channels == _STEREO:
        attributes["track"] = "BOTH"
    return attributes


def decide(existing: Mapping[str, Any] | None, version_id: str, sequencer: str) -> Verdict:
    """What the version ``version_id`` (event ``sequencer``) means, given the recording item.

    Versions of one key are ordered by their events' sequencers (:func:`compare_sequencers`).
    In an unversioned bucket every version is ``"null"``, so there the sequencer alone tells a
    repeated event from an overwrite. Without sequencers two different versions cannot be
    ordered, and the one cataloged first stays.
    """
    if existing is None:
        return Verdict.NEW
    old_version = existing.get("versionId")
    if not isinstance(old_version, str):
        return Verdict.UPGRADE
    old_sequencer = existing.get("sequencer")
    order = compare_sequencers(sequencer, old_sequencer if isinstance(old_sequencer, str) else "")
    if old_version == version_id and (version_id != NULL_VERSION or order == 0):
        return Verdict.DUPLICATE if existing.get("eventSent") is True else Verdict.EVENT_PENDING
    return Verdict.REPLACE if order > 0 else Verdict.STALE


def catalog_write(
    attributes: Mapping[str, Any],
    existing: Mapping[str, Any] | None,
    call: Mapping[str, Any] | None,
) -> CatalogWrite:
    """The conditional updates that catalog ``attributes`` over ``existing`` and ``call``.

    :raises ValueError: the verdict for ``existing`` is not a write (a caller's mistake).
    """
    verdict = decide(existing, attributes["versionId"], attributes["sequencer"] or "")
    if not verdict.writes:
        raise ValueError(f"nothing to write for a {verdict.value} delivery")
    key = {"pk": attributes["pk"], "sk": attributes["sk"]}
    values = {name: value for name, value in attributes.items() if name not in key}
    # A new version must be announced again, so the previous version's flag goes.
    removed = sorted(
        {name for name, value in values.items() if value is None} | {"eventSent", "eventSentAt"}
    )
    recording = Update(
        key=key,
        set={name: value for name, value in values.items() if value is not None},
        remove=tuple(removed),
        expect=_expected_recording(verdict, existing, key),
    )
    # Only a version of ours was counted into the call: a started/missing item never was.
    counted = _int(existing.get("billedMinutes")) if verdict is Verdict.REPLACE and existing else 0
    transaction_id, leg_start = attributes["transactionId"], attributes["legStartTime"]
    call_set: dict[str, Any] = {"transactionId": transaction_id, "schemaVersion": SCHEMA_VERSION}
    call_expect: dict[str, Any] = {}
    first_start = call.get("firstStart") if call else None
    if not isinstance(first_start, str) or leg_start < first_start:
        call_set["firstStart"] = leg_start
        call_expect["firstStart"] = first_start if isinstance(first_start, str) else ABSENT
        # The call's day follows its startedAt once the facts consumer has written one; until
        # then the first leg start stands in (and the consumer overwrites it).
        if not isinstance((call or {}).get("startedAt"), str):
            call_set["day"] = attributes["day"]
            call_expect["startedAt"] = ABSENT
    call_update = Update(
        key=call_key(transaction_id),
        set=call_set,
        add={
            "recordings": {attributes["callId"]},
            "billedMinutes": (attributes["billedMinutes"] or 0) - counted,
        },
        expect=call_expect,
    )
    late = verdict is Verdict.UPGRADE and existing is not None and existing.get("status") == MISSING
    return CatalogWrite(recording=recording, call=call_update, verdict=verdict, late=late)


def event_detail(item: Mapping[str, Any]) -> dict[str, Any]:
    """The "Recording Available" detail, from a delivered recording item (JSON-ready values)."""
    detail: dict[str, Any] = {"schemaVersion": str(SCHEMA_VERSION)}
    for name in EVENT_DETAIL_FIELDS:
        detail[name] = _json_value(item.get(name))
    return detail


def object_arn(partition: str, bucket: str, key: str) -> str:
    """The S3 object's ARN, for the event's ``resources``."""
    return f"arn:{partition}:s3:::{bucket}/{key}"


def _expected_recording(
    verdict: Verdict, existing: Mapping[str, Any] | None, key: Mapping[str, str]
) -> dict[str, Any]:
    if verdict is Verdict.NEW or existing is None:
        return {"pk": ABSENT}
    if verdict is Verdict.UPGRADE:
        # The status as read too: if the sweep marks the item missing in between, the commit
        # fails, and the delivery, read again, is known to be late.
        status = existing.get("status")
        return {"pk": key["pk"], "versionId": ABSENT, "status": status if status else ABSENT}
    sequencer = existing.get("sequencer")
    return {
        "versionId": existing["versionId"],
        "sequencer": sequencer if isinstance(sequencer, str) else ABSENT,
    }


def _seconds(text: str) -> Decimal | None:
    try:
        value = Decimal(text.strip())
        if not value.is_finite() or not 0 <= value <= _MAX_SECONDS:
            return None
        return value.quantize(_MILLISECOND, rounding=ROUND_HALF_EVEN)
    except (InvalidOperation, ValueError):
        return None


def _int(value: object) -> int:
    if isinstance(value, Decimal | int) and not isinstance(value, bool):
        return int(value)
    return 0


def _json_value(value: object) -> object:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value
