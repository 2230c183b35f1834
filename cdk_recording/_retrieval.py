"""Audited retrieval of a call's recordings: a SHA-256-checked download, or presigned URLs.

``cdk-recording recordings get`` (:mod:`cdk_recording._retrieval_cli`) works in this order, so that
nothing leaves S3 without an entry in the catalog's audit trail (:mod:`cdk_recording._audit`):

1. read the call from the catalog and pick its retrievable recordings (status ``delivered``, with
   the cataloged bucket, key and ``versionId``);
2. check everything that can be checked locally: the files to write do not exist (unless
   ``--force``), the URL lifetime fits the signing credentials;
3. write the ``AUDIT#`` entry (action ``download`` or ``presign``; detail: bucket, keys,
   versionIds, call ids, and for URLs the lifetime). If that write fails, stop: nothing is read
   from S3 and no URL is signed;
4. read each object at its cataloged version into ``<name>.partial`` (a new file, owner-only, never
   opened through a link), hashing while streaming, and move every file into place only when all
   of them match the catalog's SHA-256. On a mismatch every ``.partial`` file is removed: an
   unverified copy is never handed over, and the audit entry already records that the objects were
   read. If a move fails, the files already moved are removed again.

A presigned URL is valid for at most :data:`MAX_EXPIRES_SECONDS` (12 hours; SigV4 allows 7 days,
which is far longer than a reviewer needs a link), and never longer than the credentials that sign
it: S3 refuses a presigned request once its signing session has expired, whatever the URL says.
"""

from __future__ import annotations

import hashlib
import os
import re
import sys
from collections.abc import Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any, Final

from botocore.credentials import RefreshableCredentials
from botocore.exceptions import BotoCoreError, ClientError

from cdk_recording import _audit
from cdk_recording._command import EXIT_USAGE, CommandError
from cdk_recording._records_verify import DELIVERED

if TYPE_CHECKING:
    import boto3
    from mypy_boto3_dynamodb.service_resource import Table
    from recording_processor.catalog import Call

__all__ = [
    "DEFAULT_EXPIRES_SECONDS",
    "MAX_EXPIRES_SECONDS",
    "RETRIEVABLE_STATUSES",
    "Downloaded",
    "StoredRecording",
    "audit_retrieval",
    "check_expires",
    "credentials_expiry",
    "download_all",
    "expires_text",
    "parse_expires",
    "presign",
    "retrievable",
    "targets",
]

#: Lifetime of a presigned URL unless ``--expires`` says otherwise: 5 minutes.
DEFAULT_EXPIRES_SECONDS: Final = 300
#: The longest presigned URL ``get`` signs: 12 hours.
MAX_EXPIRES_SECONDS: Final = 12 * 3600
#: Recording statuses whose object is in the bucket (``docs/catalog.md``): an ``erased`` tombstone
#: keeps the key and version of what was deleted, so it is not one of them.
RETRIEVABLE_STATUSES: Final = (DELIVERED,)
#: Suffix of a file being downloaded, until its SHA-256 matches the catalog.
PARTIAL_SUFFIX: Final = ".partial"

_EXPIRES = re.compile(r"([1-9][0-9]{0,5})([smh])")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600}
_CHUNK = 1024 * 1024
_ALLOWED_EXPIRES = "a whole number of seconds, minutes or hours (90s, 5m, 1h), from 1s to 12h"


# -- --expires ---------------------------------------------------------------------------------------


def parse_expires(value: str) -> int:
    """``90s``, ``5m`` or ``1h`` as seconds.

    :raises ValueError: not that form, or outside 1 second to 12 hours (the message names the value
        and the allowed range).
    """
    match = _EXPIRES.fullmatch(value.strip())
    seconds = int(match.group(1)) * _UNIT_SECONDS[match.group(2)] if match else 0
    if not 1 <= seconds <= MAX_EXPIRES_SECONDS:
        raise ValueError(f"{value!r} is not a URL lifetime: expected {_ALLOWED_EXPIRES}")
    return seconds


def expires_text(seconds: int) -> str:
    """Seconds in the largest whole unit: ``300`` is ``5m``, ``90`` is ``90s``."""
    for unit, size in (("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def credentials_expiry(session: boto3.session.Session) -> datetime | None:
    """When the session's credentials expire, where botocore knows it (role sessions, SSO,
    ``credential_process`` with an ``Expiration``); None for long-term keys.

    Refreshable credentials whose expiry cannot be read get a note on stderr (the URL lifetime is
    then not checked against them) rather than a silent pass.
    """
    credentials = session.get_credentials()
    if not isinstance(credentials, RefreshableCredentials):
        return None  # long-term keys (or none): they do not expire
    # RefreshableCredentials keep the expiry in a private attribute; botocore has no public one.
    # tests/cli/test_retrieval_expires.py fails if an upgrade of botocore drops it.
    expiry = getattr(credentials, "_expiry_time", None)
    if expiry is None:
        # A role profile's credentials are deferred: nothing is fetched, and no expiry known,
        # until they are first used. A failed fetch surfaces when the URL is signed.
        with suppress(RuntimeError, BotoCoreError):
            credentials.get_frozen_credentials()
        expiry = getattr(credentials, "_expiry_time", None)
    if not isinstance(expiry, datetime):
        print(
            f"cdk-recording: note: the AWS credentials ({credentials.method}) expire, but botocore "
            "does not say when: --expires is not checked against their lifetime, and a URL stops "
            "working when they expire",
            file=sys.stderr,
        )
        return None
    return expiry if expiry.tzinfo is not None else expiry.replace(tzinfo=UTC)


def check_expires(seconds: int, expiry: datetime | None, now: datetime) -> None:
    """Refuse a URL lifetime longer than what is left of the signing credentials.

    :raises CommandError: (exit 2) naming ``--expires``, the value and the limit.
    """
    if expiry is None:
        return
    left = int((expiry - now).total_seconds())
    if left <= 0:
        raise CommandError(
            f"the AWS credentials expired at {_iso(expiry)}: refresh them before signing URLs",
            EXIT_USAGE,
        )
    if seconds > left:
        raise CommandError(
            f"--expires {expires_text(seconds)} is longer than the signing credentials last "
            f"(they expire at {_iso(expiry)}, in {left}s): a presigned URL stops working when "
            f"they do; give at most --expires {_floor_text(left)}, or refresh the credentials",
            EXIT_USAGE,
        )


def _floor_text(seconds: int) -> str:
    if seconds >= 3600:
        return f"{seconds // 3600}h" if seconds % 3600 < 60 else f"{seconds // 60}m"
    return f"{seconds // 60}m" if seconds >= 60 else f"{seconds}s"


def _iso(moment: datetime) -> str:
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


# -- what to retrieve --------------------------------------------------------------------------------


@dataclass(frozen=True)
class StoredRecording:
    """One recording object as the catalog knows it."""

    call_id: str
    leg: str | None
    bucket: str
    key: str
    version_id: str
    sha256: str
    size_bytes: int | None

    @property
    def file_name(self) -> str:
        """The last segment of the key: the name the download is written under."""
        return PurePosixPath(self.key).name


def retrievable(call: Call, call_id: str | None = None) -> list[StoredRecording]:
    """The recordings of ``call`` whose object is in the bucket, by call id (only ``call_id``'s
    when given).

    :raises CommandError: the call is not cataloged, ``call_id`` is not one of its recordings, or
        none of them is retrievable (the message lists each recording's status).
    """
    if not call.found:
        raise CommandError(
            f"transaction {call.transaction_id} not found in the catalog: check the id "
            "(recordings list shows them) and --table/--stack"
        )
    items = sorted(call.recordings, key=lambda item: str(item.get("callId", "")))
    if call_id is not None:
        wanted = call_id.strip().lower()
        items = [item for item in items if str(item.get("callId", "")).lower() == wanted]
        if not items:
            known = ", ".join(str(i.get("callId")) for i in call.recordings) or "none"
            raise CommandError(
                f"--call {call_id}: not a recording of transaction {call.transaction_id} "
                f"(its recordings: {known})",
                EXIT_USAGE,
            )
    found = [_stored(item) for item in items if item.get("status") in RETRIEVABLE_STATUSES]
    if not found:
        statuses = ", ".join(f"{i.get('callId')}: {i.get('status')}" for i in items) or "none"
        raise CommandError(
            f"transaction {call.transaction_id} has no delivered recording to retrieve "
            f"(recordings: {statuses})"
        )
    return found


def _stored(item: Mapping[str, Any]) -> StoredRecording:
    missing = [name for name in ("bucket", "key", "versionId", "sha256") if not item.get(name)]
    if missing:
        raise CommandError(
            f"recording {item.get('callId')} of transaction {item.get('transactionId')} is "
            f"{item.get('status')} but its catalog item lacks {', '.join(missing)}: it cannot be "
            "retrieved by version and checked"
        )
    name = PurePosixPath(str(item["key"])).name
    if name in ("", ".", ".."):
        raise CommandError(f"recording key {item['key']!r} has no file name to download it under")
    size = item.get("sizeBytes")
    return StoredRecording(
        call_id=str(item.get("callId")),
        leg=str(item["leg"]) if item.get("leg") else None,
        bucket=str(item["bucket"]),
        key=str(item["key"]),
        version_id=str(item["versionId"]),
        sha256=str(item["sha256"]).lower(),
        size_bytes=int(size) if size is not None else None,
    )


def targets(recordings: Sequence[StoredRecording], out: Path, *, force: bool) -> list[Path]:
    """Where each recording is written: ``out/<file name of its key>``.

    :raises CommandError: ``out`` is not a directory (exit 2), two recordings share a file name, or
        a file (or its ``.partial`` file, or a link by either name) is already there and ``force``
        is false.
    """
    if not out.is_dir():
        raise CommandError(f"--out {out}: not a directory; create it or pick another", EXIT_USAGE)
    if not os.access(out, os.W_OK | os.X_OK):
        raise CommandError(f"--out {out}: not writable by you; pick another directory", EXIT_USAGE)
    paths = [out / recording.file_name for recording in recordings]
    if len(set(paths)) != len(paths):
        raise CommandError(
            f"recordings of the call share a file name ({', '.join(r.key for r in recordings)}): "
            "download them one at a time with --call"
        )
    existing = [
        str(path)
        for target in paths
        for path in (target, _partial(target))
        if path.exists() or path.is_symlink()
    ]
    if existing and not force:
        raise CommandError(
            f"{', '.join(existing)} already exists: nothing was downloaded; remove it, choose "
            "another --out, or pass --force to overwrite"
        )
    return paths


# -- the audit entry ---------------------------------------------------------------------------------


def audit_retrieval(
    table: Table,
    transaction_id: str,
    action: str,
    by: str,
    recordings: Sequence[StoredRecording],
    *,
    expires_seconds: int | None = None,
    now: datetime | None = None,
) -> _audit.AuditEntry:
    """Write the ``download`` or ``presign`` entry of ``recordings``.

    :raises CommandError: the write failed; the message says that nothing was handed over.
    """
    now = now or datetime.now(UTC)
    detail: dict[str, Any] = {
        "buckets": sorted({r.bucket for r in recordings}),
        "keys": [r.key for r in recordings],
        "versionIds": [r.version_id for r in recordings],
        "callIds": [r.call_id for r in recordings],
    }
    if expires_seconds is not None:
        detail["expiresSeconds"] = expires_seconds
        detail["expiresAt"] = _iso(now + timedelta(seconds=expires_seconds))
    nothing = "no file was downloaded" if action == "download" else "no URL was signed"
    return _audit.record_access(
        table, transaction_id, action, by, detail=detail, nothing=nothing, now=now
    )


# -- handing over ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Downloaded:
    """A recording written to disk, its SHA-256 checked against the catalog."""

    recording: StoredRecording
    path: Path
    size_bytes: int


def _partial(path: Path) -> Path:
    return path.with_name(path.name + PARTIAL_SUFFIX)


def _fetch(
    s3: Any, recording: StoredRecording, partial: Path, created: list[Path]
) -> tuple[str, int]:
    """Stream one object version into ``partial`` (owner-only, added to ``created`` once it is
    this call's); its SHA-256 and size."""
    try:
        response = s3.get_object(
            Bucket=recording.bucket, Key=recording.key, VersionId=recording.version_id
        )
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "error")
        raise CommandError(
            f"could not read s3://{recording.bucket}/{recording.key} version "
            f"{recording.version_id} ({code}): the caller needs s3:GetObjectVersion on it (and "
            "kms:Decrypt with a customer managed key); nothing was downloaded"
        ) from error
    digest = hashlib.sha256()
    size = 0
    descriptor = _create(partial)
    created.append(partial)
    with os.fdopen(descriptor, "wb") as file:
        for chunk in response["Body"].iter_chunks(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
            file.write(chunk)
    return digest.hexdigest(), size


def _create(partial: Path) -> int:
    """Create ``partial`` for writing, owner-only; never an existing file, never through a link
    (``O_EXCL`` fails on any name already there, ``O_NOFOLLOW`` on a link)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
    try:
        return os.open(partial, flags, 0o600)
    except FileExistsError as error:
        raise CommandError(
            f"{partial} appeared while downloading (or is a link): nothing was downloaded; "
            "remove it and run again"
        ) from error


def download_all(
    s3: Any, recordings: Sequence[StoredRecording], paths: Sequence[Path], *, force: bool
) -> list[Downloaded]:
    """Download every recording to its path, or none: each is streamed into ``<path>.partial``
    (created new, never through a link) and checked against the catalog's SHA-256; only when all
    match are they moved into place. If a move fails, the files already moved are removed again.

    With ``force``, an existing ``<path>.partial`` (or a link by that name: the link, not what it
    points at) is removed first, and the files moved replace the ones there.

    :raises CommandError: a read failed, a SHA-256 differs, or a file could not be written or moved
        (every ``.partial`` file this call created is removed; on a failed move the message names
        any file that was replaced and so could not be put back).
    """
    partials = [_partial(path) for path in paths]
    created: list[Path] = []
    done: list[Downloaded] = []
    try:
        for recording, path, partial in zip(recordings, paths, partials, strict=True):
            if force:
                partial.unlink(missing_ok=True)  # a link is removed, not followed
            sha256, size = _fetch(s3, recording, partial, created)
            if sha256 != recording.sha256:
                raise CommandError(
                    f"SHA-256 mismatch for s3://{recording.bucket}/{recording.key} version "
                    f"{recording.version_id}: the catalog has {recording.sha256}, the object "
                    f"read has {sha256} ({size} bytes); the object may have been altered. "
                    "Nothing was handed over (the unverified copy was removed); the read is in "
                    "the audit trail"
                )
            done.append(Downloaded(recording, path, size))
        for item in done:
            if not force and (item.path.exists() or item.path.is_symlink()):
                raise CommandError(f"{item.path} appeared while downloading; nothing was moved")
        _move_all(partials, done)
    except OSError as error:
        raise CommandError(
            f"cannot write {error.filename or 'a download'}: {error.strerror or error}; "
            "nothing was downloaded"
        ) from error
    finally:
        # Only what this call created: a name that was there before is the caller's.
        for partial in created:
            with suppress(OSError):
                partial.unlink(missing_ok=True)
    return done


def _move_all(partials: Sequence[Path], done: Sequence[Downloaded]) -> None:
    """Move every ``.partial`` file into place, or, if one move fails, remove the ones moved."""
    moved: list[tuple[Path, bool]] = []
    for partial, item in zip(partials, done, strict=True):
        replaced = item.path.exists() or item.path.is_symlink()
        try:
            os.replace(partial, item.path)
        except OSError as error:
            removed = [str(path) for path, was_there in moved if not was_there]
            replaced_names = [str(path) for path, was_there in moved if was_there]
            for path, was_there in moved:
                if not was_there:
                    with suppress(FileNotFoundError):
                        path.unlink()
            said = f"cannot move {partial} to {item.path} ({error.strerror or error}): "
            if removed:
                said += f"removed {', '.join(removed)} again; "
            if replaced_names:
                # The file --force replaced is gone for good: say what now holds its name.
                said += (
                    f"{', '.join(replaced_names)} was replaced (--force) before the failure and "
                    "holds its downloaded recording (SHA-256 checked); nothing else was handed "
                    "over"
                )
            else:
                said += "nothing was handed over"
            raise CommandError(said) from error
        moved.append((item.path, replaced))


def presign(s3: Any, recording: StoredRecording, expires_seconds: int) -> str:
    """A presigned GET URL of the recording's cataloged version."""
    url: str = s3.generate_presigned_url(
        "get_object",
        Params={
            "Bucket": recording.bucket,
            "Key": recording.key,
            "VersionId": recording.version_id,
        },
        ExpiresIn=expires_seconds,
    )
    return url
