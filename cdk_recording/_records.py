"""Records management of one call: its objects in S3, legal hold, erasure and the catalog tombstone.

The objects of a call are every version (and delete marker) of

* each recording the catalog knows a key for (``REC#`` items with ``bucket`` and ``key``): a
  ``ListObjectVersions`` with ``Prefix=key``, keeping the exact key only (``a.wav`` must not take
  ``a.wav.bak`` with it);
* everything derived from the call under ``transcripts/<transactionId>/`` in the same bucket
  (transcripts, redacted transcripts and audio).

``s3`` is a boto3 S3 client and ``table`` the catalog's boto3 ``Table``; every function here makes
the requests it names and nothing else, so the commands in :mod:`cdk_recording._records_cli` decide
what runs, in which order, and what is printed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final

from botocore.exceptions import ClientError

from cdk_recording._command import EXIT_FAILURE, CommandError

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

__all__ = [
    "ERASED",
    "TRANSCRIPTS_PREFIX",
    "CallRecords",
    "ObjectVersion",
    "Refusal",
    "bucket_has_object_lock",
    "delete_versions",
    "erase_numbers",
    "iso_now",
    "load_call",
    "mark_call_erased",
    "numbers_present",
    "object_list",
    "object_versions",
    "record_legal_hold",
    "refusals",
    "refused",
    "set_legal_hold",
    "tombstone",
]

#: The status of a recording or transcript whose objects were erased.
ERASED: Final = "erased"
#: Where everything derived from a call lives: ``transcripts/<transactionId>/``.
TRANSCRIPTS_PREFIX: Final = "transcripts"

_CALL_SK = "CALL"
_RECORDING = "REC#"
_TRANSCRIPT = "TRANSCRIPT#"
_NUMBER = "NUM#"
_FACT = "FACT#"
_NUMBER_ATTRIBUTES = ("fromNumber", "toNumber")
# What S3 answers when a version has no legal hold or retention (or the bucket has no Object Lock).
_NO_LOCK = frozenset({"NoSuchObjectLockConfiguration", "ObjectLockConfigurationNotFoundError"})
_ACCESS_DENIED = frozenset({"AccessDenied", "AccessDeniedException"})
_E164_IN_TEXT = re.compile(r"\+[1-9][0-9]{1,14}")


def iso_now(now: datetime | None = None) -> str:
    """``now`` (default: the clock) as the catalog writes times: ISO 8601 UTC with milliseconds."""
    now = (now or datetime.now(UTC)).astimezone(UTC)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"


# -- the call in the catalog -------------------------------------------------------------------------


@dataclass(frozen=True)
class CallRecords:
    """Every catalog item of one call (its partition), by kind."""

    transaction_id: str
    items: tuple[dict[str, Any], ...]

    def _with_prefix(self, prefix: str) -> list[dict[str, Any]]:
        return [item for item in self.items if str(item.get("sk", "")).startswith(prefix)]

    @property
    def call(self) -> dict[str, Any] | None:
        """The ``CALL`` item, when there is one."""
        return next((item for item in self.items if item.get("sk") == _CALL_SK), None)

    @property
    def recordings(self) -> list[dict[str, Any]]:
        """The ``REC#`` items with an S3 object (delivered, or erased: the key is kept)."""
        return [
            item for item in self._with_prefix(_RECORDING) if item.get("key") and item.get("bucket")
        ]

    @property
    def transcripts(self) -> list[dict[str, Any]]:
        """The ``TRANSCRIPT#`` items."""
        return self._with_prefix(_TRANSCRIPT)

    @property
    def buckets(self) -> list[str]:
        """The buckets the call's recordings are in (the transcripts are beside them)."""
        return sorted({str(item["bucket"]) for item in self.recordings})

    @property
    def sha256_by_key(self) -> dict[str, str | None]:
        """The cataloged SHA-256 of each recording key."""
        return {str(item["key"]): _optional(item.get("sha256")) for item in self.recordings}

    @property
    def transcripts_in_flight(self) -> list[dict[str, Any]]:
        """The ``TRANSCRIPT#`` items whose transcription has started and not ended."""
        return [item for item in self.transcripts if item.get("status") == "started"]

    @property
    def legal_hold(self) -> bool:
        """Whether the catalog records a legal hold on the call."""
        return bool((self.call or {}).get("legalHold"))


def load_call(table: Table, transaction_id: str) -> CallRecords:
    """Every item of ``transaction_id`` (a paginated Query of its partition).

    :raises CommandError: the catalog holds nothing about the call.
    """
    from boto3.dynamodb.conditions import Key

    transaction_id = transaction_id.strip().lower()
    items: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"KeyConditionExpression": Key("pk").eq(f"TX#{transaction_id}")}
    while True:
        page = table.query(**kwargs)
        items.extend(page.get("Items", []))
        if "LastEvaluatedKey" not in page:
            break
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    if not items:
        raise CommandError(
            f"transaction {transaction_id} not found in the catalog: check the id (recordings list "
            "shows them) and --table/--stack"
        )
    return CallRecords(transaction_id, tuple(items))


# -- the call's objects in S3 ------------------------------------------------------------------------


@dataclass(frozen=True)
class ObjectVersion:
    """One version, or delete marker, of an object of the call."""

    bucket: str
    key: str
    version_id: str
    delete_marker: bool = False


def _versions(s3: Any, bucket: str, prefix: str, exact: bool) -> Iterator[ObjectVersion]:
    paginator = s3.get_paginator("list_object_versions")
    for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
        for kind, marker in (("Versions", False), ("DeleteMarkers", True)):
            for entry in page.get(kind, []):
                key = str(entry["Key"])
                if exact and key != prefix:
                    continue
                yield ObjectVersion(bucket, key, str(entry.get("VersionId") or "null"), marker)


def object_versions(s3: Any, records: CallRecords) -> list[ObjectVersion]:
    """Every version and delete marker of every object of the call, in a stable order."""
    found: set[ObjectVersion] = set()
    for item in records.recordings:
        found.update(_versions(s3, str(item["bucket"]), str(item["key"]), exact=True))
    derived = f"{TRANSCRIPTS_PREFIX}/{records.transaction_id}/"
    for bucket in records.buckets:
        found.update(_versions(s3, bucket, derived, exact=False))
    return sorted(found, key=lambda v: (v.bucket, v.key, v.delete_marker, v.version_id))


def object_list(
    versions: Iterable[ObjectVersion], sha256_by_key: Mapping[str, str | None] | None = None
) -> list[dict[str, Any]]:
    """``[{key, versionIds}]``, one entry per object of ``versions`` (delete markers included);
    with ``sha256_by_key``, each entry also has ``sha256``: the cataloged SHA-256 of a recording,
    null for a derived object."""
    by_key: dict[str, list[str]] = {}
    for version in versions:
        by_key.setdefault(version.key, []).append(version.version_id)
    listed: list[dict[str, Any]] = []
    for key, ids in sorted(by_key.items()):
        entry: dict[str, Any] = {"key": key, "versionIds": ids}
        if sha256_by_key is not None:
            entry["sha256"] = sha256_by_key.get(key)
        listed.append(entry)
    return listed


def bucket_has_object_lock(s3: Any, bucket: str) -> bool:
    """Whether ``bucket`` was created with S3 Object Lock (``GetObjectLockConfiguration``)."""
    try:
        answer = s3.get_object_lock_configuration(Bucket=bucket)
    except ClientError as error:
        if _code(error) in _NO_LOCK:
            return False
        raise
    return bool(answer.get("ObjectLockConfiguration", {}).get("ObjectLockEnabled") == "Enabled")


# -- legal hold --------------------------------------------------------------------------------------


def set_legal_hold(s3: Any, versions: Iterable[ObjectVersion], on: bool) -> list[ObjectVersion]:
    """``PutObjectLegalHold`` ON (or OFF) on every version (delete markers cannot be held); the
    versions it was put on."""
    done: list[ObjectVersion] = []
    for version in versions:
        if version.delete_marker:
            continue
        s3.put_object_legal_hold(
            Bucket=version.bucket,
            Key=version.key,
            VersionId=version.version_id,
            LegalHold={"Status": "ON" if on else "OFF"},
        )
        done.append(version)
    return done


def record_legal_hold(
    table: Table, transaction_id: str, on: bool, by: str, reason: str, at: str
) -> None:
    """Set the ``CALL`` item's ``legalHold`` and who set or released it, when and why (the latest
    change; the whole history is the call's audit trail)."""
    table.update_item(
        Key={"pk": f"TX#{transaction_id}", "sk": _CALL_SK},
        UpdateExpression="SET legalHold = :on, legalHoldBy = :by, legalHoldAt = :at, "
        "legalHoldReason = :reason, transactionId = if_not_exists(transactionId, :tx)",
        ExpressionAttributeValues={
            ":on": on,
            ":by": by,
            ":at": at,
            ":reason": reason,
            ":tx": transaction_id,
        },
    )


# -- erasure -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Refusal:
    """Why one version cannot be erased: a legal hold, or a retention that has not expired."""

    key: str
    version_id: str | None
    reason: str

    def __str__(self) -> str:
        where = self.key if self.version_id is None else f"{self.key} version {self.version_id}"
        return f"{where}: {self.reason}"


def _lock_read(call: Any, **kwargs: Any) -> dict[str, Any] | None:
    try:
        answer: dict[str, Any] = call(**kwargs)
    except ClientError as error:
        if _code(error) in _NO_LOCK:
            return None
        raise
    return answer


def refusals(
    s3: Any,
    retention_s3: Any,
    records: CallRecords,
    versions: Iterable[ObjectVersion],
    now: datetime,
) -> list[Refusal]:
    """What stops the call's erasure: the catalog's legal hold, a recording still awaited, and per
    version S3's legal hold
    (``GetObjectLegalHold``) and an unexpired retention (``GetObjectRetention``, ``RetainUntilDate``
    after ``now``). Versions of a bucket without Object Lock are not asked about (none can apply).
    ``retention_s3`` makes the ``GetObjectRetention`` requests (the same client as ``s3`` outside
    tests).
    """
    found: list[Refusal] = []
    call = records.call or {}
    if records.legal_hold:
        found.append(
            Refusal(
                "catalog",
                None,
                f"legal hold recorded by {call.get('legalHoldBy')} at {call.get('legalHoldAt')} "
                f"({call.get('legalHoldReason')}); release it with `recordings release`",
            )
        )
    for item in records.items:
        if str(item.get("sk", "")).startswith(_RECORDING) and item.get("status") == "started":
            # A recording still on its way would land after the erasure, outside the tombstone.
            found.append(
                Refusal(
                    f"recording {item.get('callId')}",
                    None,
                    "still awaited (status started): erase once it is delivered or missing",
                )
            )
    for item in records.transcripts_in_flight:
        # Transcribe would write under transcripts/<tx>/ after the erasure, outside the tombstone.
        found.append(
            Refusal(
                f"transcript of call {item.get('callId')}",
                None,
                f"transcription in flight (status started, job {item.get('jobName')}): wait for "
                "it to end, or check the transcription's Step Functions execution",
            )
        )
    locked: dict[str, bool] = {}
    for version in versions:
        if version.delete_marker:
            continue
        if version.bucket not in locked:
            locked[version.bucket] = bucket_has_object_lock(s3, version.bucket)
        if not locked[version.bucket]:
            continue
        where = {"Bucket": version.bucket, "Key": version.key, "VersionId": version.version_id}
        hold = _lock_read(s3.get_object_legal_hold, **where)
        if hold and hold.get("LegalHold", {}).get("Status") == "ON":
            found.append(Refusal(version.key, version.version_id, "legal hold ON"))
        retention = _lock_read(retention_s3.get_object_retention, **where)
        until = (retention or {}).get("Retention", {}).get("RetainUntilDate")
        if isinstance(until, datetime) and until > now:
            mode = retention["Retention"].get("Mode") if retention else None
            found.append(
                Refusal(
                    version.key,
                    version.version_id,
                    f"retention {mode} until {iso_now(until)}",
                )
            )
    return found


def delete_versions(s3: Any, versions: Iterable[ObjectVersion]) -> list[ObjectVersion]:
    """``DeleteObject`` with ``VersionId`` for every version and delete marker (a permanent delete,
    never a new delete marker), stopping at the first failure; the versions deleted.

    :raises CommandError: access denied on one version: it was locked or held after the check (or
        the caller lacks ``s3:DeleteObjectVersion``); the versions after it were not touched.
    """
    done: list[ObjectVersion] = []
    for version in versions:
        try:
            s3.delete_object(Bucket=version.bucket, Key=version.key, VersionId=version.version_id)
        except ClientError as error:
            if _code(error) not in _ACCESS_DENIED:
                raise
            raise CommandError(
                f"access denied on DeleteObject of {version.key} version {version.version_id}: "
                "locked or held since the check (or missing s3:DeleteObjectVersion); "
                f"{len(done)} version(s) deleted before it, nothing more was deleted; re-run "
                "erase (it refuses while a hold or retention applies)",
                EXIT_FAILURE,
            ) from error
        done.append(version)
    return done


def mark_call_erased(table: Table, transaction_id: str, by: str, at: str) -> None:
    """Set ``erasedAt`` and ``erasedBy`` on the ``CALL`` item unless already set (the first erasure
    stays recorded), so the catalog's other writers see the call was erased."""
    table.update_item(
        Key={"pk": f"TX#{transaction_id}", "sk": _CALL_SK},
        UpdateExpression="SET erasedAt = if_not_exists(erasedAt, :at), "
        "erasedBy = if_not_exists(erasedBy, :by), "
        "transactionId = if_not_exists(transactionId, :tx)",
        ExpressionAttributeValues={":at": at, ":by": by, ":tx": transaction_id},
    )


def tombstone(
    table: Table,
    records: CallRecords,
    versions: Iterable[ObjectVersion],
    by: str,
    reason: str,
    at: str,
    jobs: Mapping[str, str] | None = None,
) -> int:
    """Mark the call's recordings and transcripts erased; the number of items changed.

    Each ``REC#`` item gets ``status = erased``, ``erasedAt``, ``erasedBy``, ``erasureReason`` and
    ``erasedVersionIds`` (its key's versions that were deleted); ``bucket``, ``key``, ``versionId``,
    ``sha256`` and ``sizeBytes`` stay as the record of what was erased, ``s3Uri`` (the link to fetch
    it) is removed. ``TRANSCRIPT#`` items get the same status and attributes, and
    ``transcribeJobDeleted`` (``deleted`` or ``already-gone``) from ``jobs`` (by sort key).

    The update is additive: ``erasedAt``, ``erasedBy`` and ``erasureReason`` keep the first
    erasure's values and ``erasedVersionIds`` is appended to, so a re-run never loses what an earlier
    run recorded.
    """
    deleted: dict[str, list[str]] = {}
    for version in versions:
        deleted.setdefault(version.key, []).append(version.version_id)
    changed = 0
    for item in [*records.recordings, *records.transcripts]:
        values: dict[str, Any] = {
            ":erased": ERASED,
            ":at": at,
            ":by": by,
            ":reason": reason,
        }
        update = (
            "SET #status = :erased, erasedAt = if_not_exists(erasedAt, :at), "
            "erasedBy = if_not_exists(erasedBy, :by), "
            "erasureReason = if_not_exists(erasureReason, :reason)"
        )
        if str(item["sk"]).startswith(_RECORDING):
            values[":versions"] = deleted.get(str(item["key"]), [])
            values[":none"] = []
            update += (
                ", erasedVersionIds = list_append(if_not_exists(erasedVersionIds, :none), "
                ":versions) REMOVE s3Uri"
            )
        elif jobs and str(item["sk"]) in jobs:
            values[":job"] = jobs[str(item["sk"])]
            update += ", transcribeJobDeleted = :job"
        table.update_item(
            Key={"pk": item["pk"], "sk": item["sk"]},
            UpdateExpression=update,
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues=values,
        )
        changed += 1
    return changed


def erase_numbers(table: Table, records: CallRecords) -> dict[str, int]:
    """Remove the call's phone numbers from the catalog: delete its ``NUM#`` items (and with them
    the number index entries), remove ``fromNumber``/``toNumber`` from every other item, and mask
    numbers inside facts' details. Returns how many items of each kind changed."""
    counts = {"numberItems": 0, "itemsWithNumbers": 0, "facts": 0}
    for item in records.items:
        key = {"pk": item["pk"], "sk": item["sk"]}
        sort_key = str(item["sk"])
        if sort_key.startswith(_NUMBER):
            table.delete_item(Key=key)
            counts["numberItems"] += 1
            continue
        present = [name for name in _NUMBER_ATTRIBUTES if name in item]
        if present:
            table.update_item(Key=key, UpdateExpression="REMOVE " + ", ".join(present))
            counts["itemsWithNumbers"] += 1
        if sort_key.startswith(_FACT) and "detail" in item:
            masked = _masked(item["detail"])
            if masked != item["detail"]:
                table.update_item(
                    Key=key,
                    UpdateExpression="SET detail = :detail",
                    ExpressionAttributeValues={":detail": masked},
                )
                counts["facts"] += 1
    return counts


def numbers_present(records: CallRecords) -> int:
    """How many items hold a phone number (what ``--erase-numbers`` would change)."""
    return sum(
        1
        for item in records.items
        if str(item.get("sk", "")).startswith(_NUMBER)
        or any(name in item for name in _NUMBER_ATTRIBUTES)
        or _masked(item.get("detail")) != item.get("detail")
    )


def _masked(value: Any) -> Any:
    if isinstance(value, str):
        return _E164_IN_TEXT.sub(lambda m: "+" + "*" * (len(m.group(0)) - 1), value)
    if isinstance(value, Mapping):
        return {key: _masked(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_masked(item) for item in value]
    return value


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _optional(value: object) -> str | None:
    return None if value is None else str(value)


def refused(refusals_found: Iterable[Refusal], transaction_id: str) -> CommandError:
    """The one-line error of an erasure that is refused."""
    listed = "; ".join(str(refusal) for refusal in refusals_found)
    return CommandError(f"erase {transaction_id} refused, nothing deleted: {listed}", EXIT_FAILURE)
