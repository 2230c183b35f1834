"""``cdk-recording recordings hold|release|erase|verify``: records management of calls.

* ``hold`` / ``release`` write an ``intent`` audit entry (:mod:`cdk_recording._audit`), put an S3
  Object Lock legal hold ON / OFF on every version of every object of a call
  (:mod:`cdk_recording._records`), record it on the call's ``CALL`` item, then write the ``done``
  (or ``failed``) entry;
* ``erase`` (:mod:`cdk_recording._records_erase_cli`) is a dry run unless ``--yes``;
* ``verify`` recomputes the SHA-256 of delivered recordings, checks that the cataloged version is
  still the key's current one (:mod:`cdk_recording._records_verify`) and writes one ``verify``
  audit entry per call checked.

The table, the Region and the credentials are found as for ``recordings list``
(:mod:`cdk_recording._recordings_aws`).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any, Final

from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from cdk_recording import _audit, _aws, _records
from cdk_recording._command import (
    DAY_FORMAT,
    EXIT_FAILURE,
    EXIT_OK,
    EXIT_USAGE,
    CommandError,
    non_empty,
    utc_day,
)
from cdk_recording._recordings_aws import (
    Where,
    aws_errors,
    open_table,
)
from cdk_recording._recordings_output import plain, table, to_json
from cdk_recording._records_verify import RESULTS, checks, findings, summary

if TYPE_CHECKING:
    import boto3
    from mypy_boto3_dynamodb.service_resource import Table

    from cdk_recording._command import Subcommands
    from cdk_recording._records_verify import Check

__all__ = [
    "CLIENT_CONFIG",
    "ERASE_PERMISSIONS",
    "EVENT_BUS_OUTPUT_PREFIX",
    "HOLD_PERMISSIONS",
    "MAX_VERIFY_DAYS",
    "Clients",
    "add_records",
    "after",
    "needs",
    "open_clients",
    "print_document",
    "record_failure",
    "retention_client",
    "s3_client",
    "transcribe_client",
    "versions_table",
]

#: The stack output holding the catalog's event bus name starts with this.
EVENT_BUS_OUTPUT_PREFIX: Final = "CatalogEventBusName"
#: Widest day range ``verify`` reads (one day-index Query per day), as ``list``.
MAX_VERIFY_DAYS: Final = 92
_WITH_STACK = "and with --stack, cloudformation:DescribeStacks on the stack"
#: What ``hold`` and ``release`` need.
HOLD_PERMISSIONS: Final = (
    "s3:ListBucketVersions, s3:GetBucketObjectLockConfiguration and s3:PutObjectLegalHold on the "
    "recording bucket (grant_legal_hold), dynamodb:Query, GetItem, UpdateItem and PutItem on the "
    f"catalog table (grant_hold_records), {_WITH_STACK}"
)
#: What ``erase`` needs.
ERASE_PERMISSIONS: Final = (
    "s3:ListBucketVersions, s3:GetBucketObjectLockConfiguration, s3:GetObjectLegalHold, "
    "s3:GetObjectRetention, s3:DeleteObject and s3:DeleteObjectVersion on the recording bucket, "
    "transcribe:DeleteCallAnalyticsJob and DeleteTranscriptionJob (grant_erase), dynamodb:Query, "
    "GetItem, UpdateItem, PutItem and DeleteItem on the catalog table and events:PutEvents on its "
    f"bus (grant_erase_records), {_WITH_STACK}"
)
#: What ``verify`` needs.
VERIFY_PERMISSIONS: Final = (
    "s3:GetObject and s3:GetObjectVersion on the recordings (grant_read_recordings), "
    f"dynamodb:Query, GetItem and PutItem on the catalog table (grant_audit_records), {_WITH_STACK}"
)
_MAX_REASON = 1024
_ACCESS_DENIED = frozenset({"AccessDenied", "AccessDeniedException"})
#: The retries of every client of the records commands.
CLIENT_CONFIG: Final = Config(retries={"mode": "standard", "max_attempts": 5})

_EPILOG = """\
Every action is recorded in the call's audit trail in the catalog (AUDIT# items): who (the STS
caller ARN), what, when and why; hold, release and erase write an intent entry before their first
change and a done (or failed) entry after. erase is a dry run unless --yes.

exit status: 0 success (verify: every recording matches and is its key's current version), 1
refused, not found, a finding (verify: a mismatch, a cataloged version superseded by another or
hidden by a delete marker, a missing version, a recording without a hash) or failed, 2 invalid
arguments or AWS configuration."""


# -- clients -----------------------------------------------------------------------------------------


def s3_client(session: boto3.session.Session, region: str | None) -> Any:
    """The S3 client the objects of a call are listed, held, deleted and read with."""
    return session.client("s3", region_name=region, config=CLIENT_CONFIG)


def retention_client(session: boto3.session.Session, region: str | None) -> Any:
    """The S3 client of ``GetObjectRetention`` (the same kind as :func:`s3_client`: a seam for tests,
    since moto answers that operation with an internal error)."""
    return session.client("s3", region_name=region, config=CLIENT_CONFIG)


def transcribe_client(session: boto3.session.Session, region: str | None) -> Any:
    """The Transcribe client ``erase`` deletes the call's jobs with."""
    return session.client("transcribe", region_name=region, config=CLIENT_CONFIG)


@dataclass
class Clients:
    """The clients of one command run."""

    table: Table
    s3: Any
    retention: Any
    sts: Any
    transcribe: Any
    session: boto3.session.Session


def open_clients(args: argparse.Namespace, where: Where) -> Clients:
    """The catalog table (found as for ``recordings list``) and the clients of the command."""
    catalog_table = open_table(args, where)
    session = _aws.session(args.profile)
    return Clients(
        table=catalog_table,
        s3=s3_client(session, args.region),
        retention=retention_client(session, args.region),
        sts=session.client("sts", region_name=args.region, config=CLIENT_CONFIG),
        transcribe=transcribe_client(session, args.region),
        session=session,
    )


def record_failure(
    clients: Clients, intent: _audit.AuditEntry, reason: str, error: BaseException
) -> None:
    """Write the ``failed`` entry of the action ``intent`` announced (best effort: when it cannot be
    written, the intent entry without an outcome still tells that the action started)."""
    try:
        _audit.record(
            clients.table,
            intent.transaction_id,
            intent.action,
            intent.by,
            reason=reason,
            detail={"intent": intent.key, "error": str(error)},
            now=after(intent),
            phase="failed",
        )
    except (ClientError, BotoCoreError):
        return


def after(entry: _audit.AuditEntry) -> datetime:
    """The clock, at least one millisecond after ``entry`` (so the outcome sorts after its
    intent)."""
    earliest = datetime.fromisoformat(entry.at.replace("Z", "+00:00")) + timedelta(milliseconds=1)
    return max(datetime.now(UTC), earliest)


@contextmanager
def needs(permissions: str) -> Iterator[None]:
    """Access denied names what the command needs (not only the catalog Query)."""
    try:
        yield
    except ClientError as error:
        details = error.response.get("Error", {})
        code = details.get("Code") or "Unknown"
        if code in _ACCESS_DENIED:
            raise CommandError(
                f"access denied on {error.operation_name} ({code}: {details.get('Message')}): the "
                f"caller needs {permissions}"
            ) from error
        raise


# -- arguments ---------------------------------------------------------------------------------------


def _reason(value: str) -> str:
    if not value.strip():
        raise argparse.ArgumentTypeError("must not be empty: say why (a case or ticket number)")
    if len(value) > _MAX_REASON:
        raise argparse.ArgumentTypeError(f"is {len(value)} characters long; at most {_MAX_REASON}")
    return value


def add_records(actions: Subcommands, common: argparse.ArgumentParser) -> None:
    """Register ``recordings hold|release|erase|verify`` (``common``: the catalog, AWS and output
    options every ``recordings`` action takes)."""
    for name, verb, run in (("hold", "put", _run_hold), ("release", "remove", _run_release)):
        parser = actions.add_parser(
            name,
            parents=[common],
            help=f"{verb} a legal hold on every object of a call",
            description=f"{verb.capitalize()} an S3 Object Lock legal hold on every version of "
            "every object of a call\n(its recordings and everything under "
            "transcripts/<transactionId>/), and record it in the catalog.",
            epilog=f"{_EPILOG}\n\nThe caller needs {HOLD_PERMISSIONS}.",
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        _transaction(parser)
        parser.add_argument("--reason", type=_reason, required=True, help="why (recorded)")
        parser.set_defaults(run=run)

    parser = actions.add_parser(
        "erase",
        parents=[common],
        help="delete every version of every object of a call (dry run unless --yes)",
        description="Erase a call: every version and delete marker of its recordings and of\n"
        "transcripts/<transactionId>/, then tombstone its catalog items and put Recording Erased.\n"
        "Refused while a legal hold or an unexpired Object Lock retention applies.",
        epilog=f"{_EPILOG}\n\nThe caller needs {ERASE_PERMISSIONS}.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _transaction(parser)
    parser.add_argument("--reason", type=_reason, required=True, help="why (recorded)")
    parser.add_argument(
        "--yes", action="store_true", help="delete for real (default: list what would be deleted)"
    )
    parser.add_argument(
        "--erase-numbers",
        action="store_true",
        help="also remove the call's phone numbers from the catalog (default: kept)",
    )
    parser.add_argument(
        "--event-bus",
        type=non_empty,
        help=f"the bus of Recording Erased (default: the --stack output {EVENT_BUS_OUTPUT_PREFIX}*; "
        "required with --table and --yes: `default` for the account's default bus)",
    )
    parser.set_defaults(run=_run_erase)

    parser = actions.add_parser(
        "verify",
        parents=[common],
        help="recompute SHA-256 of delivered recordings and compare with the catalog",
        description="Read every delivered recording of a day range (by leg start; default today,\n"
        "UTC) or of one call, hash the cataloged version, and report mismatches, missing\n"
        "versions, and keys whose current version is another one or a delete marker.",
        epilog=f"{_EPILOG}\n\nThe caller needs {VERIFY_PERMISSIONS}.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--since", type=utc_day, help=f"first UTC day, {DAY_FORMAT}")
    parser.add_argument(
        "--until", type=utc_day, help=f"last UTC day, {DAY_FORMAT} (default: today)"
    )
    parser.add_argument(
        "--transaction", type=non_empty, metavar="ID", help="only the recordings of this call"
    )
    parser.set_defaults(run=_run_verify)


def _run_erase(args: argparse.Namespace) -> int:
    from cdk_recording._records_erase_cli import run_erase

    return run_erase(args)


def _transaction(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "transaction_id", metavar="TRANSACTION_ID", type=non_empty, help="the call's transaction id"
    )


def print_document(args: argparse.Namespace, document: dict[str, Any], text: str) -> None:
    if args.output == "json":
        # Not masked: these documents hold keys, version ids, hashes and ARNs, whose digit runs
        # the phone number mask would garble, and no phone number.
        sys.stdout.write(to_json(plain(document)))
    else:
        sys.stdout.write(text)


def versions_table(versions: list[_records.ObjectVersion], extra: dict[Any, str]) -> str:
    rows = (
        [v.key, v.version_id, "delete marker" if v.delete_marker else "version", extra.get(v, "")]
        for v in versions
    )
    return table(["KEY", "VERSION", "KIND", "NOTE"], rows) if versions else ""


# -- hold / release ----------------------------------------------------------------------------------


def _run_hold(args: argparse.Namespace) -> int:
    return _legal_hold(args, on=True)


def _run_release(args: argparse.Namespace) -> int:
    return _legal_hold(args, on=False)


def _legal_hold(args: argparse.Namespace, *, on: bool) -> int:
    action = "hold" if on else "release"
    where = Where()
    with aws_errors(where), needs(HOLD_PERMISSIONS):
        clients = open_clients(args, where)
        records = _records.load_call(clients.table, args.transaction_id)
        tx = records.transaction_id
        if not records.buckets:
            raise CommandError(
                f"transaction {tx} has no recording with an S3 object in the catalog: nothing to "
                f"{action}"
            )
        for bucket in records.buckets:
            if not _records.bucket_has_object_lock(clients.s3, bucket):
                raise CommandError(
                    f"bucket {bucket} has no S3 Object Lock, so no legal hold can be put on its "
                    "objects: Object Lock is set when a bucket is created (RecordingStorage "
                    "object_lock_mode, or a bucket of your own created with it)"
                )
        by = _audit.caller_arn(clients.sts)
        versions = [v for v in _records.object_versions(clients.s3, records) if not v.delete_marker]
        if not versions:
            raise CommandError(
                f"transaction {tx}: no object version found in {', '.join(records.buckets)} "
                f"(erased, or deleted by a lifecycle rule?): nothing to {action}"
            )
        previous = _previous_hold(records)
        objects = _records.object_list(versions)
        intent = _audit.record(
            clients.table,
            tx,
            action,
            by,
            reason=args.reason,
            detail={"objects": objects, "previousHold": previous},
            phase="intent",
        )
        at = intent.at
        try:
            done = _records.set_legal_hold(clients.s3, versions, on)
            _records.record_legal_hold(clients.table, tx, on, by, args.reason, at)
        except Exception as error:
            record_failure(clients, intent, args.reason, error)
            raise
        _audit.record(
            clients.table,
            tx,
            action,
            by,
            reason=args.reason,
            detail={"intent": intent.key, "versions": len(done)},
            now=after(intent),
            phase="done",
        )
    document = {
        "transactionId": tx,
        "legalHold": on,
        "at": at,
        "by": by,
        "reason": args.reason,
        "objects": objects,
        "previousHold": previous,
    }
    summary_line = (
        f"legal hold {'ON' if on else 'OFF'} on {len(done)} version(s) of {len(objects)} "
        f"object(s) of transaction {tx}\n"
    )
    if previous is not None:
        summary_line += (
            f"{'replaced' if on else 'ended'} the hold put by {previous['by']} at "
            f"{previous['at']} ({previous['reason']}); the catalog keeps one hold per call\n"
        )
    print_document(args, document, versions_table(done, {}) + summary_line)
    return EXIT_OK


def _previous_hold(records: _records.CallRecords) -> dict[str, Any] | None:
    """The hold the catalog records on the call (``None`` when there is none)."""
    if not records.legal_hold:
        return None
    call = records.call or {}
    return {
        "by": call.get("legalHoldBy"),
        "at": call.get("legalHoldAt"),
        "reason": call.get("legalHoldReason"),
    }


# -- verify ------------------------------------------------------------------------------------------


def _verify_items(args: argparse.Namespace, catalog_table: Table) -> Iterator[dict[str, Any]]:
    from recording_processor import catalog

    if args.transaction is not None:
        yield from _records.load_call(catalog_table, args.transaction).recordings
        return
    since, until = _verify_range(args)
    yield from catalog.list_days(catalog_table, since, until)


def _verify_range(args: argparse.Namespace) -> tuple[date, date]:
    today = datetime.now(UTC).date()
    until: date = args.until or today
    since: date | None = args.since
    if since is None:
        if args.until is not None:
            raise CommandError(
                f"--until {until} needs --since: give the range's first day", EXIT_USAGE
            )
        since = today
    if since > until:
        raise CommandError(f"--since {since} is after --until {until}", EXIT_USAGE)
    days = (until - since).days + 1
    if days > MAX_VERIFY_DAYS:
        raise CommandError(
            f"--since {since} --until {until} spans {days} days; at most {MAX_VERIFY_DAYS} per "
            "run: split the range",
            EXIT_USAGE,
        )
    return since, until


def _run_verify(args: argparse.Namespace) -> int:
    # A bad range is a usage error before any request.
    if args.transaction is None:
        _verify_range(args)
    elif args.since is not None or args.until is not None:
        raise CommandError(
            f"--transaction {args.transaction} cannot be combined with --since/--until", EXIT_USAGE
        )
    where = Where()
    with aws_errors(where), needs(VERIFY_PERMISSIONS):
        clients = open_clients(args, where)
        by = _audit.caller_arn(clients.sts)
        results = list(checks(clients.s3, _verify_items(args, clients.table)))
        by_call: dict[str, list[Check]] = {}
        for result in results:
            by_call.setdefault(result.transactionId, []).append(result)
        now = datetime.now(UTC)
        for tx, checked in by_call.items():
            _audit.record(
                clients.table,
                tx,
                "verify",
                by,
                detail={
                    **summary(checked),
                    "findings": [_finding(c) for c in findings(checked)],
                },
                now=now,
            )
    found = findings(results)
    counts = summary(results)
    document = {**counts, "results": [result.as_json() for result in results]}
    line = f"checked {counts['checked']} recording(s): " + ", ".join(
        f"{counts[result]} {result}" for result in RESULTS
    )
    rows = (
        [
            c.transactionId,
            c.callId,
            c.key,
            c.versionId,
            c.result,
            c.expected,
            c.actual,
            c.currentVersionId,
        ]
        for c in found
    )
    text = (
        table(
            ["TRANSACTION", "CALL ID", "KEY", "VERSION", "RESULT", "CATALOG", "S3", "CURRENT"], rows
        )
        if found
        else ""
    )
    print_document(args, document, text + line + "\n")
    return EXIT_FAILURE if found else EXIT_OK


def _finding(check: Check) -> dict[str, Any]:
    finding = {"key": check.key, "versionId": check.versionId, "result": check.result}
    if check.currentVersionId is not None:
        finding["currentVersionId"] = check.currentVersionId
    return finding
