"""``cdk-recording recordings transcript``: print a call's transcripts with speaker roles and times.

The catalog's ``TRANSCRIPT#<callId>`` items of the call (``docs/catalog.md``) say where each
transcript is (``transcriptKey``: the redacted one when redaction is on; ``unredactedTranscriptKey``
when both were kept) and how its channels map to roles (``channelRoles``). The transcript JSON is then
read from the recording bucket (the ``bucket`` of the item, else of the call's ``REC#<callId>`` item)
and rendered by :mod:`cdk_recording._transcript_format`. A transcript is call content, so a
``transcript`` entry is written to the call's audit trail (:mod:`cdk_recording._audit`) before any
is read; if it cannot be written, nothing is read.

``--redacted`` and ``--unredacted`` follow IAM: the construct's ``grant_read_transcripts`` lets a
reader get the served (redacted) transcripts only, ``grant_read_unredacted`` the originals too; an
``AccessDenied`` from S3 says which grant is missing.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, Any, Final

from botocore.config import Config
from botocore.exceptions import ClientError

from cdk_recording import _audit, _aws
from cdk_recording._command import EXIT_FAILURE, EXIT_OK, CommandError, non_empty, table_name
from cdk_recording._recordings_aws import STACK_OUTPUT_PREFIX, Where, aws_errors, open_table
from cdk_recording._recordings_output import presented, to_json
from cdk_recording._transcript_format import (
    TranscriptFormatError,
    Turn,
    format_turns,
    parse_transcript,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table
    from mypy_boto3_s3 import S3Client

    from cdk_recording._command import Subcommands

__all__ = [
    "COMPLETED",
    "TRANSCRIPT_PERMISSIONS",
    "add_aws_arguments",
    "add_transcript",
    "s3_client",
    "table_name",
]

#: The status of a TRANSCRIPT# item whose transcript can be read.
COMPLETED: Final = "completed"
#: What the caller's identity needs.
TRANSCRIPT_PERMISSIONS: Final = (
    "dynamodb:Query and dynamodb:PutItem (the audit entry) on the catalog table "
    "(cloudformation:DescribeStacks with --stack), sts:GetCallerIdentity, and s3:GetObject (with "
    "kms:Decrypt) on transcripts/* of the recording bucket"
)

_ACCESS_DENIED = frozenset({"AccessDenied", "AccessDeniedException", "KMS.AccessDeniedException"})
_NOT_FOUND = frozenset({"NoSuchKey", "NoSuchBucket", "404", "NotFound"})
_CLIENT_CONFIG = Config(retries={"mode": "standard", "max_attempts": 5})

_EPILOG = f"""\
The catalog table is --table NAME, or the value of the --stack stack's output whose key starts with
{STACK_OUTPUT_PREFIX}. The Region, credentials and endpoint come from the standard AWS
configuration unless given as options. The caller needs {TRANSCRIPT_PERMISSIONS}.

Without --redacted or --unredacted, the transcript the deployment serves is printed: the redacted
one when redaction is on. --unredacted needs what the construct's grant_read_unredacted gives.
Times are offsets from the start of the recording. Phone numbers (runs of 7 to 15 digits) are
masked in both outputs unless --unmask. Before any transcript is read, an AUDIT# entry (action
transcript: the caller's ARN, the bucket and keys read) is written to the catalog; if it cannot
be written, nothing is read.

exit status: 0 printed, 1 no transcript, not completed, access denied or failed, 2 invalid
arguments or AWS configuration."""


# -- shared with ``recordings transcribe`` -----------------------------------------------------------


def add_aws_arguments(parser: argparse.ArgumentParser) -> None:
    """``--region`` and ``--profile``, as every ``recordings`` action has them."""
    aws = parser.add_argument_group("AWS")
    aws.add_argument("--region", help="the Region of the stack, table and bucket")
    aws.add_argument("--profile", help="the shared-config profile to use")


def s3_client(args: argparse.Namespace) -> S3Client:
    """The S3 client transcripts are read with (a seam for tests)."""
    return _aws.session(args.profile).client("s3", region_name=args.region, config=_CLIENT_CONFIG)


# -- parser ------------------------------------------------------------------------------------------


def add_transcript(actions: Subcommands) -> None:
    """Register ``recordings transcript``."""
    parser = actions.add_parser(
        "transcript",
        help="a call's transcript with speaker roles and timestamps",
        description="Print the transcripts of a call (one per transcribed recording), a line per\n"
        "turn: [hh:mm:ss.mmm] ROLE: text.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "transaction_id", metavar="TRANSACTION_ID", type=non_empty, help="the call's transaction id"
    )
    parser.add_argument(
        "--call", metavar="CALL_ID", type=non_empty, help="only the recording of this call id (leg)"
    )
    which = parser.add_mutually_exclusive_group()
    which.add_argument(
        "--redacted",
        action="store_true",
        help="the redacted transcript (an error when the call was transcribed without redaction)",
    )
    which.add_argument(
        "--unredacted",
        action="store_true",
        help="the unredacted transcript (needs grant_read_unredacted)",
    )
    where = parser.add_argument_group("catalog")
    source = where.add_mutually_exclusive_group(required=True)
    source.add_argument("--table", type=table_name, help="the catalog table's name (or ARN)")
    source.add_argument(
        "--stack",
        type=non_empty,
        help=f"a deployed stack whose {STACK_OUTPUT_PREFIX}* output names the catalog table",
    )
    add_aws_arguments(parser)
    output = parser.add_argument_group("output")
    output.add_argument(
        "--output",
        choices=("text", "json"),
        default="text",
        help="a line per turn, or one JSON document (default: text)",
    )
    output.add_argument(
        "--unmask", action="store_true", help="print phone numbers in full (default: masked)"
    )
    parser.set_defaults(run=_run_transcript)


# -- run ---------------------------------------------------------------------------------------------


def _run_transcript(args: argparse.Namespace) -> int:
    from recording_processor import catalog

    where = Where()
    with aws_errors(where):
        catalog_table = open_table(args, where)
        items = catalog.list_transcripts(catalog_table, args.transaction_id)
        transaction_id = args.transaction_id.strip().lower()
        selected = _select(items, args.call, transaction_id, where)
        buckets: dict[str, str] = {}
        if any(not item.get("bucket") for item in selected):
            recordings = catalog.get_call(catalog_table, transaction_id).recordings
            buckets = {
                str(r.get("callId")): str(r["bucket"]) for r in recordings if r.get("bucket")
            }
    documents: list[dict[str, Any]] = []
    unfinished: list[str] = []
    # Where every completed transcript is, worked out (and refused) before anything is read.
    located: dict[int, tuple[str, str, bool]] = {}
    for index, item in enumerate(selected):
        call_id = str(item.get("callId"))
        status = str(item.get("status"))
        if status != COMPLETED:
            reason = f": {item['failureReason']}" if item.get("failureReason") else ""
            unfinished.append(f"call {call_id} is {status}{reason}")
            continue
        key, redacted = _key(item, args)
        # Every recording of a deployment, and its transcripts, is in one bucket: a leg whose
        # recording item names none (missing, erased) takes its sibling's.
        only = next(iter(buckets.values())) if len(set(buckets.values())) == 1 else None
        bucket = str(item.get("bucket") or buckets.get(call_id) or only or "")
        if not bucket:
            raise CommandError(
                f"transcript of call {call_id}: the catalog names no bucket (no delivered "
                "REC# item in the call); the transcript cannot be located"
            )
        located[index] = (bucket, key, redacted)
    with aws_errors(where):
        if located:
            _audit_reads(args, catalog_table, transaction_id, selected, located)
        s3 = s3_client(args)
        for index, item in enumerate(selected):
            status = str(item.get("status"))
            if index not in located:
                documents.append(_summary(item, status=status))
                continue
            bucket, key, redacted = located[index]
            turns = _turns(s3, bucket, key, item, unredacted=args.unredacted)
            documents.append(
                _summary(
                    item, status=status, bucket=bucket, key=key, redacted=redacted, turns=turns
                )
            )
    shown = presented(documents, unmask=args.unmask)
    if args.output == "json":
        sys.stdout.write(to_json({"transactionId": transaction_id, "transcripts": shown}))
    else:
        sys.stdout.write(
            "\n".join(_text(document) for document in shown if document["turns"] is not None)
        )
    if unfinished:
        raise CommandError(
            f"transaction {transaction_id}: no completed transcript for "
            + "; ".join(unfinished)
            + " (started: wait for the job; failed: see the Transcription Failed event)",
            EXIT_FAILURE,
        )
    return EXIT_OK


def _audit_reads(
    args: argparse.Namespace,
    catalog_table: Table,
    transaction_id: str,
    selected: list[dict[str, Any]],
    located: dict[int, tuple[str, str, bool]],
) -> None:
    """Write the ``transcript`` entry of the transcripts about to be read."""
    nothing = "no transcript was read"
    sts = _aws.session(args.profile).client("sts", region_name=args.region)
    _audit.record_access(
        catalog_table,
        transaction_id,
        "transcript",
        _audit.access_caller(sts, nothing),
        detail={
            "buckets": sorted({bucket for bucket, _, _ in located.values()}),
            "keys": [key for _, key, _ in located.values()],
            "callIds": [str(selected[index].get("callId")) for index in located],
            "redacted": [redacted for _, _, redacted in located.values()],
        },
        nothing=nothing,
    )


def _select(
    items: list[dict[str, Any]], call_id: str | None, transaction_id: str, where: Where
) -> list[dict[str, Any]]:
    if not items:
        raise CommandError(
            f"transaction {transaction_id} has no transcript in catalog table {where.table}: "
            "transcription may be off for the deployment, not yet done for this call, or the id "
            "is wrong (recordings show lists the call)"
        )
    items = sorted(items, key=lambda item: str(item.get("sk")))
    if call_id is None:
        return items
    wanted = call_id.strip().lower()
    chosen = [item for item in items if str(item.get("callId", "")).lower() == wanted]
    if not chosen:
        known = ", ".join(str(item.get("callId")) for item in items)
        raise CommandError(
            f"--call {call_id}: transaction {transaction_id} has no transcript of that call id "
            f"(transcribed: {known})"
        )
    return chosen


def _key(item: dict[str, Any], args: argparse.Namespace) -> tuple[str, bool]:
    """The object key to read and whether it is redacted."""
    call_id = item.get("callId")
    redaction = item.get("redaction")
    served = str(item.get("transcriptKey") or "")
    if not served:
        raise CommandError(f"transcript of call {call_id}: the catalog item has no transcriptKey")
    if not isinstance(redaction, dict):
        if args.redacted:
            raise CommandError(
                f"--redacted: call {call_id} was transcribed without redaction; there is no "
                "redacted transcript (leave out --redacted to read the one there is)"
            )
        return served, False
    if not args.unredacted:
        return served, True
    unredacted = item.get("unredactedTranscriptKey")
    if not unredacted:
        raise CommandError(
            f"--unredacted: call {call_id} was transcribed with redaction output "
            f"{redaction.get('output')!r}: no unredacted transcript was kept (only "
            "'redacted_and_unredacted' keeps one)"
        )
    return str(unredacted), False


def _turns(
    s3: S3Client, bucket: str, key: str, item: dict[str, Any], *, unredacted: bool
) -> list[Turn]:
    uri = f"s3://{bucket}/{key}"
    try:
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    except ClientError as error:
        raise _s3_error(error, uri, unredacted=unredacted) from error
    try:
        document = json.loads(body)
    except ValueError as error:
        raise CommandError(f"{uri} is not JSON ({error}): not a Transcribe output") from error
    roles = item.get("channelRoles")
    try:
        return parse_transcript(document, roles if isinstance(roles, dict) else None)
    except TranscriptFormatError as error:
        raise CommandError(f"{uri}: {error}") from error


def _s3_error(error: ClientError, uri: str, *, unredacted: bool) -> CommandError:
    details = error.response.get("Error", {})
    code = str(details.get("Code") or "Unknown")
    said = f"({code}: {details.get('Message') or error})"
    if code in _ACCESS_DENIED:
        if unredacted:
            return CommandError(
                f"access denied reading the unredacted transcript {uri} {said}: the caller lacks "
                "grant_read_unredacted (s3:GetObject on transcripts/* and kms:Decrypt with the "
                "bucket's key); read the redacted transcript without --unredacted"
            )
        return CommandError(
            f"access denied reading the transcript {uri} {said}: the caller lacks "
            "grant_read_transcripts (s3:GetObject on the served transcripts and kms:Decrypt with "
            "the bucket's key)"
        )
    if code in _NOT_FOUND:
        return CommandError(
            f"transcript {uri} not found {said}: it was erased or moved, or the catalog is ahead "
            "of the bucket"
        )
    return CommandError(f"reading {uri} failed {said}")


def _summary(
    item: dict[str, Any],
    *,
    status: str,
    bucket: str | None = None,
    key: str | None = None,
    redacted: bool | None = None,
    turns: list[Turn] | None = None,
) -> dict[str, Any]:
    return {
        "callId": item.get("callId"),
        "status": status,
        "jobName": item.get("jobName"),
        "jobType": item.get("jobType"),
        "languageCode": item.get("languageCode"),
        "fallbackReason": item.get("fallbackReason"),
        "channelRoles": item.get("channelRoles"),
        "failureReason": item.get("failureReason"),
        "redacted": redacted,
        "s3Uri": f"s3://{bucket}/{key}" if bucket and key else None,
        "turns": None
        if turns is None
        else [
            {
                "at": turn.at,
                "beginMillis": turn.begin_ms,
                "speaker": turn.speaker,
                "text": turn.text,
            }
            for turn in turns
        ],
    }


def _text(document: dict[str, Any]) -> str:
    facts = [document["jobType"], document["languageCode"]]
    facts.append("redacted" if document["redacted"] else "unredacted")
    header = (
        f"call {document['callId']} ({', '.join(str(fact) for fact in facts if fact)}) "
        f"{document['s3Uri']}\n"
    )
    turns = [Turn(turn["beginMillis"], turn["speaker"], turn["text"]) for turn in document["turns"]]
    return header + (format_turns(turns) or "(no speech)\n")
