"""Transcripts are records too: every output of a completed job takes its recording's retention.

When ``record`` writes a completed transcript, each object the job wrote (the transcript JSON,
the redacted and unredacted transcripts, the redacted audio; all under
``<outputPrefix>/<transactionId>/``) gets what the arrival processor gave the recording
(``recording_processor._retention``, reused, not copied):

* the Object Lock retention until the ``REC#`` item's ``retainUntil``, in the mode of the
  ``RETENTION`` policy (the processor's variable), never shortening one the object already has
  (a later date is kept, and a COMPLIANCE retention keeps its mode);
* the tag ``retention-class=<the REC item's retentionClass>`` merged into the object's tags, so
  the class's lifecycle rule for ``transcripts/`` expires it with the recording.

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

from recording_processor._keys import iso_utc
from recording_processor._record import recording_key_attributes
from recording_processor._retention import RetentionApplier

if TYPE_CHECKING:
    from recording_processor._store import CatalogStore
    from recording_processor.transcription._options import TranscriptionConfig

__all__ = [
    "RecordRetention",
    "output_keys",
    "retain_outputs",
    "retain_transcripts",
    "retention_of",
]

#: The status outputs that name an object the job wrote.
_OUTPUTS = ("transcriptKey", "redactedTranscriptKey", "redactedMediaKey")


@dataclass(frozen=True)
class RecordRetention:
    """What a recording carries: its class and the end of its lock (None: not known)."""

    name: str
    retain_until: datetime | None


def retention_of(rec: Mapping[str, Any] | None) -> RecordRetention | None:
    """The retention of the recording whose ``REC#`` item is ``rec``; None when it has none.

    :raises ValueError: ``retainUntil`` is not an ISO 8601 timestamp.
    """
    name = (rec or {}).get("retentionClass")
    if not isinstance(name, str) or not name:
        return None
    until = (rec or {}).get("retainUntil")
    if until is None:
        return RecordRetention(name, None)
    try:
        moment = datetime.fromisoformat(str(until))
    except ValueError:
        raise ValueError(
            f"record: the recording's retainUntil is {until!r}; allowed: an ISO 8601 timestamp"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return RecordRetention(name, moment)


def output_keys(plan: Mapping[str, Any], status: Mapping[str, Any], prefix: str) -> list[str]:
    """Every object key the job's status names, in the order of :data:`_OUTPUTS`, once each.

    :raises ValueError: an output is in another bucket or outside ``<prefix>/<transactionId>/``
        (the only place the function may lock and tag, and where erasure looks).
    """
    outputs = status.get("outputs") or {}
    folder = f"{prefix}/{plan['transactionId']}/"
    keys: list[str] = []
    for name in _OUTPUTS:
        key = outputs.get(name)
        if not isinstance(key, str) or not key or key in keys:
            continue
        if not key.startswith(folder):
            raise ValueError(f"record: the job's {name} {key!r} is outside {folder}")
        keys.append(key)
    bucket = outputs.get("bucket")
    if keys and bucket is not None and bucket != plan["bucket"]:
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
            applier.tag(plan["bucket"], key, None, retention.name)
            continue
        applied = applier.retain(plan["bucket"], key, None, retention.retain_until, retention.name)
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
    retention = retention_of(
        store.get(recording_key_attributes(plan["transactionId"], plan["callId"]))
    )
    if retention is None:
        return {}
    return retain_outputs(RetentionApplier(s3, policy.mode), plan, keys, retention, now)
