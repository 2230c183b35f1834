"""Transcripts are records too: every output of a completed job takes its recording's retention.

When ``record`` writes a completed transcript, each object the job wrote (the transcript JSON,
the redacted and unredacted transcripts, the redacted audio; all under
``<outputPrefix>/<transactionId>/``) gets what the arrival processor gave the recording
(``recording_processor._retention``, reused, not copied):

* the Object Lock retention until the ``REC#`` item's ``retainUntil``, in the mode of the
  ``RETENTION`` policy (the processor's variable), never shortening one the object already has
  (a later date is kept, and a COMPLIANCE retention keeps its mode);
* the tag ``retention-class=<the REC item's deletionClass>`` merged into the object's tags, so
  the class's lifecycle rule for ``transcripts/`` expires it with the recording; a recording with
  no ``deletionClass`` (no class rule may expire it) leaves its transcripts untagged too;
* a legal hold ON when the call's ``CALL`` item has ``legalHold`` (``recordings hold``): a hold
  covers what is derived from the call after it was placed.

Each call addresses the key's current version (what the job has just written). A ``retainUntil``
already past locks nothing (S3 refuses a date in the past) but still tags. No ``RETENTION``, or a
recording without ``retentionClass`` (its call is in no class): nothing is done. Any S3 failure
is :class:`~recording_processor._errors.Transient`: the state machine retries ``record``, then
records ``Transcription Failed`` with the reason; nothing is cataloged completed before the
outputs are retained.

:func:`retention_of` and :func:`output_keys` are pure; :func:`retain_outputs` does the S3 calls.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from recording_processor._errors import Transient
from recording_processor._keys import iso_utc
from recording_processor._record import call_key, recording_key_attributes
from recording_processor._retention import RetentionApplier

if TYPE_CHECKING:
    from recording_processor._store import CatalogStore
    from recording_processor.transcription._options import TranscriptionConfig

__all__ = [
    "RecordRetention",
    "hold_outputs",
    "is_redacted_output",
    "output_folder",
    "output_keys",
    "retain_outputs",
    "retain_transcripts",
    "retention_of",
]

#: The status outputs that name an object the job wrote.
_OUTPUTS = ("transcriptKey", "redactedTranscriptKey", "redactedMediaKey")


@dataclass(frozen=True)
class RecordRetention:
    """What a recording carries: its lock's class, the end of its lock (None: not known) and the
    class whose lifecycle rule deletes it (None: no class rule does)."""

    name: str
    retain_until: datetime | None
    deletion: str | None = None


def retention_of(rec: Mapping[str, Any] | None) -> RecordRetention | None:
    """The retention of the recording whose ``REC#`` item is ``rec``; None when it has none.

    :raises ValueError: ``retainUntil`` is not an ISO 8601 timestamp.
    """
    name = (rec or {}).get("retentionClass")
    if not isinstance(name, str) or not name:
        return None
    deletion = (rec or {}).get("deletionClass")
    deletion = deletion if isinstance(deletion, str) and deletion else None
    until = (rec or {}).get("retainUntil")
    if until is None:
        return RecordRetention(name, None, deletion)
    try:
        moment = datetime.fromisoformat(str(until))
    except ValueError:
        raise ValueError(
            f"record: the recording's retainUntil is {until!r}; allowed: an ISO 8601 timestamp"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return RecordRetention(name, moment, deletion)


def is_redacted_output(key: str) -> bool:
    """Whether ``key`` is where Transcribe writes a redacted output: ``redacted-<job>.json``
    (standard jobs) or ``redacted-analytics/<job>.json`` (Call Analytics)."""
    folder, _, name = key.rpartition("/")
    return name.startswith("redacted-") or folder.rpartition("/")[2] == "redacted-analytics"


def output_folder(plan: Mapping[str, Any]) -> str:
    """The folder the plan's request told the job to write to (``<outputPrefix>/<transactionId>/``).

    :raises ValueError: the request names no output location in the recording's bucket ending
        in ``<transactionId>/``.
    """
    request = plan.get("request") or {}
    location = request.get("OutputLocation")
    bucket: object
    folder: object
    if isinstance(location, str) and location.startswith("s3://"):
        bucket, _, folder = location.removeprefix("s3://").partition("/")
    else:
        bucket, folder = request.get("OutputBucketName"), request.get("OutputKey")
    suffix = f"{plan['transactionId']}/"
    if (
        bucket != plan["bucket"]
        or not isinstance(folder, str)
        or not folder.endswith(f"/{suffix}")
        or folder.startswith("/")
    ):
        raise ValueError(
            f"record: the plan's output location is {location or (bucket, folder)!r}; allowed: "
            f"s3://{plan['bucket']}/<outputPrefix>/{suffix}"
        )
    return folder


def output_keys(
    plan: Mapping[str, Any], status: Mapping[str, Any], prefix: str | None = None
) -> list[str]:
    """Every object key the job's status names, in the order of :data:`_OUTPUTS`, once each.

    ``prefix``: the output prefix; default: the folder the plan's request names.

    :raises ValueError: an output is in another bucket or outside ``<prefix>/<transactionId>/``
        (the only place the function may lock and tag, where erasure looks, and what is served).
    """
    outputs = status.get("outputs") or {}
    folder = output_folder(plan) if prefix is None else f"{prefix}/{plan['transactionId']}/"
    keys: list[str] = []
    for name in _OUTPUTS:
        key = outputs.get(name)
        if not isinstance(key, str) or not key or key in keys:
            continue
        if not key.startswith(folder):
            raise ValueError(f"record: the job's {name} {key!r} is outside {folder}")
        keys.append(key)
    bucket = outputs.get("bucket")
    if keys and bucket != plan["bucket"]:
        raise ValueError(
            f"record: the job wrote to bucket {bucket!r}, not the recording's {plan['bucket']!r}"
        )
    return keys


def retain_outputs(
    applier: RetentionApplier,
    plan: Mapping[str, Any],
    keys: list[str],
    retention: RecordRetention,
    now: datetime,
) -> dict[str, Any]:
    """Lock and tag each of ``keys`` like the recording; the transcript item's attributes
    ``retentionClass`` and ``retainUntil`` (the latest date an output now carries).

    :raises Transient: an S3 call failed (reason ``retention``).
    """
    latest: datetime | None = None
    for key in keys:
        if retention.retain_until is None or retention.retain_until <= now:
            applier.tag(plan["bucket"], key, None, retention.deletion)
            continue
        applied = applier.retain(
            plan["bucket"], key, None, retention.retain_until, retention.name, retention.deletion
        )
        latest = applied.retain_until if latest is None else max(latest, applied.retain_until)
    return {
        "retentionClass": retention.name,
        "retainUntil": None if latest is None else iso_utc(latest),
    }


def retain_transcripts(
    plan: Mapping[str, Any],
    status: Mapping[str, Any],
    config: TranscriptionConfig,
    store: CatalogStore,
    s3: Any,
    now: datetime,
) -> dict[str, Any]:
    """Give the completed job's outputs their recording's retention (see the module docstring);
    the transcript item's retention attributes, ``{}`` when there is nothing to apply.

    :raises ValueError: an output is outside the call's transcripts folder.
    :raises Transient: the catalog read or an S3 call failed.
    """
    policy = config.retention
    if policy is None or status.get("status") != "COMPLETED":
        return {}
    keys = output_keys(plan, status, config.options.output_prefix)
    if not keys:
        return {}
    applier = RetentionApplier(s3, policy.mode)
    retention = retention_of(
        store.get(recording_key_attributes(plan["transactionId"], plan["callId"]))
    )
    attributes = {} if retention is None else retain_outputs(applier, plan, keys, retention, now)
    call = store.get(call_key(plan["transactionId"]))
    if call is not None and call.get("legalHold") is True:
        hold_outputs(applier, plan, keys)
        attributes["legalHold"] = True
    return attributes


def hold_outputs(applier: RetentionApplier, plan: Mapping[str, Any], keys: list[str]) -> None:
    """Put a legal hold ON on each of ``keys`` (their current versions): the call is under a
    legal hold (``recordings hold``), which covers what is derived from it after the hold too.

    :raises Transient: S3 refused or failed (the state machine retries ``record``, then records
        the failure; nothing is cataloged completed before the outputs are held).
    """
    for key in keys:
        refused = applier.hold(plan["bucket"], key, None)
        if refused is not None:
            raise Transient("retention", f"PutObjectLegalHold of {key} refused: {refused}")
