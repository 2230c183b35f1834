"""``recordings show --html FILE``: the call's playback picture, written as one HTML file.

The timeline comes from the document ``show`` prints (already masked unless ``--unmask``). The
waveform of each delivered recording is read from S3 by its bucket, key and version id as cataloged
(GetObject with ``VersionId``: the version that was hashed, not whatever the key holds now), streamed
through :func:`cdk_recording._playback_audio.read_waveform`. Reading a recording is handing call
content over, so a ``playback`` entry (:mod:`cdk_recording._audit`) is written to the call's audit
trail first; if it cannot be written, nothing is read and no page is written. ``--no-audio`` reads
no object and writes no entry. A recording whose object cannot be read gets a note on the page and
a warning on stderr; the page is still written (the timeline is worth having on its own).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from botocore.exceptions import BotoCoreError, ClientError

from cdk_recording import _audit, _aws
from cdk_recording._command import EXIT_USAGE, CommandError
from cdk_recording._playback import build_playback
from cdk_recording._playback_audio import Waveform, WaveformError, read_waveform
from cdk_recording._playback_html import render_page
from cdk_recording._records_verify import DELIVERED

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table
    from mypy_boto3_s3 import S3Client

__all__ = [
    "AUDIO_PERMISSION",
    "PLAYBACK_PERMISSIONS",
    "audit_playback",
    "check_options",
    "read_audio",
    "s3_client",
    "write_page",
]

#: What reading the waveforms needs from S3.
AUDIO_PERMISSION: Final = (
    "s3:GetObjectVersion on the recordings (and kms:Decrypt with an SSE-KMS bucket)"
)
#: What ``--html`` without ``--no-audio`` needs, besides what ``show`` needs.
PLAYBACK_PERMISSIONS: Final = (
    f"{AUDIO_PERMISSION}, dynamodb:PutItem on the catalog table (the audit entry) and "
    "sts:GetCallerIdentity"
)


def check_options(args: argparse.Namespace) -> None:
    """Refuse ``--no-audio`` without ``--html`` (it would silently do nothing)."""
    if args.no_audio and not args.html:
        raise CommandError(
            "--no-audio applies to the playback page only: add --html FILE, or leave it out",
            EXIT_USAGE,
        )


def s3_client(args: argparse.Namespace) -> S3Client:
    """The S3 client of ``--profile`` and ``--region`` (a seam for tests)."""
    return _aws.session(args.profile).client("s3", region_name=args.region)


def _caller(args: argparse.Namespace) -> str:
    sts = _aws.session(args.profile).client("sts", region_name=args.region)
    return _audit.access_caller(sts, "no recording was read and no page was written")


@dataclass(frozen=True)
class _Object:
    call_id: str
    bucket: str
    key: str
    version_id: str | None


def _plan(recordings: Iterable[Mapping[str, Any]]) -> tuple[dict[str, str], list[_Object]]:
    """Per call id, why no audio is read; and the objects that are read."""
    notes: dict[str, str] = {}
    objects: list[_Object] = []
    for item in recordings:
        call_id = str(item.get("callId") or "")
        bucket, key, version = item.get("bucket"), item.get("key"), item.get("versionId")
        if item.get("status") == "erased":
            # The tombstone keeps bucket, key and version as the record of what was deleted.
            notes[call_id] = f"no audio: the recording was erased ({item.get('erasedAt') or '-'})"
            continue
        if item.get("status") != DELIVERED and not (bucket and key):
            notes[call_id] = (
                f"no audio: the recording's status is {item.get('status') or 'unknown'}"
            )
            continue
        if not (isinstance(bucket, str) and isinstance(key, str) and bucket and key):
            notes[call_id] = "no audio: the catalog names no object for this recording"
            continue
        versioned = isinstance(version, str) and bool(version)
        objects.append(_Object(call_id, bucket, key, str(version) if versioned else None))
    return notes, objects


def audit_playback(
    table: Table, transaction_id: str, by: str, recordings: Iterable[Mapping[str, Any]]
) -> _audit.AuditEntry | None:
    """Write the ``playback`` entry of the objects :func:`read_audio` reads (None when it reads
    none: the page then holds no call content from S3).

    :raises CommandError: the write failed; nothing may be read.
    """
    _, objects = _plan(recordings)
    if not objects:
        return None
    detail = {
        "buckets": sorted({o.bucket for o in objects}),
        "keys": [o.key for o in objects],
        "versionIds": [o.version_id for o in objects],
        "callIds": [o.call_id for o in objects],
    }
    return _audit.record_access(
        table,
        transaction_id,
        "playback",
        by,
        detail=detail,
        nothing="no recording was read and no page was written",
    )


def read_audio(client: Any, recordings: Iterable[Mapping[str, Any]]) -> dict[str, Waveform | str]:
    """Per call id, the waveform of its delivered version, or why there is none."""
    notes, objects = _plan(recordings)
    audio: dict[str, Waveform | str] = dict(notes)
    for found in objects:
        call_id, bucket, key = found.call_id, found.bucket, found.key
        request: dict[str, Any] = {"Bucket": bucket, "Key": key}
        if found.version_id is not None:
            request["VersionId"] = found.version_id
        try:
            response = client.get_object(**request)
            body = response["Body"]
            try:
                audio[call_id] = read_waveform(body, response.get("ContentLength"))
            finally:
                body.close()
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "Unknown")
            audio[call_id] = _warn(
                call_id, f"GetObject s3://{bucket}/{key} failed ({code}); needs {AUDIO_PERMISSION}"
            )
        except BotoCoreError as error:
            audio[call_id] = _warn(call_id, f"GetObject s3://{bucket}/{key} failed: {error}")
        except WaveformError as error:
            audio[call_id] = _warn(call_id, f"s3://{bucket}/{key} cannot be drawn: {error}")
    return audio


def _warn(call_id: str, message: str) -> str:
    print(f"cdk-recording: warning: recording {call_id}: {message}", file=sys.stderr)
    return f"no waveform: {message}"


def write_page(
    args: argparse.Namespace,
    document: Mapping[str, Any],
    recordings: Sequence[Mapping[str, Any]],
    table: Table,
) -> Path:
    """Write the page of ``document`` to ``args.html``; ``recordings`` are the call's raw (unmasked)
    ``REC#`` items, whose bucket, key and version id address the audio. Unless ``--no-audio``, the
    ``playback`` audit entry is written to ``table`` before any of them is read.

    :raises CommandError: the audit entry cannot be written (exit 1, nothing read), or the file
        cannot be written (exit 2: the operator's path).
    """
    if args.no_audio:
        audio: dict[str, Waveform | str] = {
            str(item.get("callId") or ""): "waveform not read (--no-audio)" for item in recordings
        }
    else:
        if _plan(recordings)[1]:
            audit_playback(table, str(document["transactionId"]), _caller(args), recordings)
        audio = read_audio(s3_client(args), recordings)
    page = render_page(build_playback(document), audio)
    target = Path(args.html)
    temporary: str | None = None
    try:
        # Written beside the target and renamed over it, so a reader never sees half a page. The
        # file is the owner's only (mkstemp's 0600): the page shows a call's content.
        handle, temporary = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(page)
        os.replace(temporary, target)
    except OSError as error:
        if temporary is not None:
            Path(temporary).unlink(missing_ok=True)
        raise CommandError(
            f"--html {args.html}: cannot write the page ({error.strerror or error}); give a "
            "writable file path",
            EXIT_USAGE,
        ) from error
    print(f"cdk-recording: wrote the playback page to {target}", file=sys.stderr)
    return target
