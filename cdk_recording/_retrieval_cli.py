"""``cdk-recording recordings get``: download a call's recordings, or presign URLs, audited.

The logic (what is retrievable, the order of audit and hand-over, the SHA-256 check, URL lifetimes)
is in :mod:`cdk_recording._retrieval`; this module is the argument parser and the output.
"""

from __future__ import annotations

import argparse
import sys
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from botocore.config import Config

from cdk_recording import _audit, _aws, _retrieval
from cdk_recording._command import EXIT_OK, EXIT_USAGE, CommandError, non_empty
from cdk_recording._recordings_aws import Where, aws_errors, open_table
from cdk_recording._recordings_output import clean, presented, table, to_json

if TYPE_CHECKING:
    from cdk_recording._command import Subcommands

__all__ = ["GET_PERMISSIONS", "add_get"]

#: What the caller's identity needs for ``get``.
GET_PERMISSIONS: Final = (
    "dynamodb:Query and dynamodb:PutItem on the catalog table, s3:GetObjectVersion on the "
    "recordings (kms:Decrypt with a customer managed key), sts:GetCallerIdentity"
)

_S3_CONFIG = Config(
    signature_version="s3v4",
    s3={"addressing_style": "virtual"},
    retries={"mode": "standard", "max_attempts": 5},
)

_EPILOG = f"""\
Every retrieval is recorded first: an AUDIT# entry (action download or presign, the caller's ARN
from STS, the keys and versionIds, the URL lifetime) is written to the catalog before any object is
read or any URL signed; if it cannot be written, nothing is handed over.

Downloads read the cataloged version of each delivered recording into DIR/<file name of the key>,
check its SHA-256 against the catalog and keep the files only if every one matches (if one cannot
be moved into place, those already moved are removed again). An existing file, or an existing
DIR/<name>.partial, is never overwritten or removed without --force.

--url prints presigned GET URLs of the cataloged versions instead, valid for --expires (90s, 5m,
1h; default 5m, at most 12h, and never longer than the signing credentials last).

{textwrap.fill(f"The caller needs {GET_PERMISSIONS}.", width=99)}

exit status: 0 handed over, 1 not found, refused or failed (no delivered recording, SHA-256
mismatch, file exists, audit write failed, access denied), 2 invalid arguments or AWS
configuration (including an --expires longer than the credentials last)."""


def _expires(value: str) -> int:
    try:
        return _retrieval.parse_expires(value)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def add_get(actions: Subcommands, common: argparse.ArgumentParser) -> None:
    """Register ``recordings get`` (``common`` holds the catalog, AWS and output options)."""
    parser = actions.add_parser(
        "get",
        parents=[common],
        help="download a call's recordings (SHA-256 checked) or presign URLs, audited",
        description="Retrieve the delivered recordings of a call: download them (default) or\n"
        "print presigned URLs (--url). Each retrieval is written to the catalog's audit\n"
        "trail first.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "transaction_id", metavar="TRANSACTION_ID", type=non_empty, help="the call's transaction id"
    )
    parser.add_argument(
        "--call",
        dest="call_id",
        type=non_empty,
        metavar="CALL_ID",
        help="only the recording of this leg's call id (default: every delivered recording)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        metavar="DIR",
        help="the directory to download into (default: the current directory)",
    )
    parser.add_argument(
        "--force", action="store_true", help="overwrite files that already exist in DIR"
    )
    parser.add_argument(
        "--url", action="store_true", help="print presigned GET URLs instead of downloading"
    )
    parser.add_argument(
        "--expires",
        type=_expires,
        metavar="DURATION",
        help="lifetime of the URLs with --url: 90s, 5m, 1h (default: 5m; at most 12h and the "
        "credentials' remaining lifetime)",
    )
    parser.set_defaults(run=_run_get)


def _check_combination(args: argparse.Namespace) -> None:
    if args.url:
        for flag, given in (("--out", args.out is not None), ("--force", args.force)):
            if given:
                raise CommandError(
                    f"{flag} applies to downloads, not to --url: drop one of them", EXIT_USAGE
                )
    elif args.expires is not None:
        raise CommandError(
            f"--expires {_retrieval.expires_text(args.expires)} applies only with --url "
            "(downloads do not expire): add --url or drop --expires",
            EXIT_USAGE,
        )


def _run_get(args: argparse.Namespace) -> int:
    from recording_processor import catalog

    _check_combination(args)
    where = Where()
    with aws_errors(where):
        catalog_table = open_table(args, where)
        call = catalog.get_call(catalog_table, args.transaction_id)
        recordings = _retrieval.retrievable(call, args.call_id)
        session = _aws.session(args.profile)
        s3 = session.client("s3", region_name=args.region, config=_S3_CONFIG)
        sts = session.client("sts", region_name=args.region)
        if args.url:
            seconds: int = args.expires or _retrieval.DEFAULT_EXPIRES_SECONDS
            now = datetime.now(UTC)
            _retrieval.check_expires(seconds, _retrieval.credentials_expiry(session), now)
            entry = _retrieval.audit_retrieval(
                catalog_table,
                call.transaction_id,
                "presign",
                _caller(sts),
                recordings,
                expires_seconds=seconds,
                now=now,
            )
            expires_at = datetime.now(UTC) + timedelta(seconds=seconds)
            handed: list[dict[str, Any]] = [
                {
                    **_describe(recording),
                    "url": _retrieval.presign(s3, recording, seconds),
                    "expiresAt": expires_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
                }
                for recording in recordings
            ]
        else:
            paths = _retrieval.targets(recordings, args.out or Path("."), force=args.force)
            entry = _retrieval.audit_retrieval(
                catalog_table,
                call.transaction_id,
                "download",
                _caller(sts),
                recordings,
            )
            handed = [
                {
                    **_describe(item.recording),
                    "path": str(item.path),
                    "sizeBytes": item.size_bytes,
                    "sha256Verified": True,
                }
                for item in _retrieval.download_all(s3, recordings, paths, force=args.force)
            ]
    parties = presented(_parties(call.item), unmask=args.unmask)
    if args.output == "json":
        document = {
            "transactionId": call.transaction_id,
            "action": entry.action,
            "audit": {"at": entry.at, "by": entry.by},
            "call": parties,
            ("urls" if args.url else "files"): handed,
        }
        sys.stdout.write(to_json(document))
        return EXIT_OK
    sys.stdout.write(_text(call.transaction_id, entry, parties, handed, url=args.url))
    return EXIT_OK


def _caller(sts: Any) -> str:
    """The caller's ARN for the audit entry; without it nothing is handed over."""
    return _audit.access_caller(sts, "nothing was handed over")


def _describe(recording: _retrieval.StoredRecording) -> dict[str, Any]:
    return {
        "callId": recording.call_id,
        "leg": recording.leg,
        "bucket": recording.bucket,
        "key": recording.key,
        "versionId": recording.version_id,
        "sha256": recording.sha256,
    }


def _parties(item: dict[str, Any] | None) -> dict[str, Any]:
    fields = ("direction", "fromNumber", "toNumber", "startedAt")
    return {key: value for key, value in clean(item or {}).items() if key in fields}


def _text(
    transaction_id: str,
    entry: _audit.AuditEntry,
    parties: dict[str, Any],
    handed: list[dict[str, Any]],
    *,
    url: bool,
) -> str:
    header = table(
        ["CALL", ""],
        [
            ("transaction", transaction_id),
            ("from", parties.get("fromNumber")),
            ("to", parties.get("toNumber")),
            ("started", parties.get("startedAt")),
            ("audit", f"{entry.action} by {entry.by} at {entry.at}"),
        ],
    )
    if url:
        lines = [
            f"\n{item['leg'] or '-'} {item['callId']} (expires {item['expiresAt']})\n{item['url']}"
            for item in handed
        ]
        return header + "".join(lines) + "\n"
    body = table(
        ["LEG", "CALL ID", "FILE", "BYTES", "SHA-256"],
        (
            [item["leg"], item["callId"], item["path"], item["sizeBytes"], "verified"]
            for item in handed
        ),
    )
    return header + "\n" + body
