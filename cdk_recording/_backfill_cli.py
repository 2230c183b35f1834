"""``cdk-recording recordings transcribe``: transcribe the recordings of past days (backfill).

Recordings that arrived before transcription was turned on are transcribed by the construct's
backfill state machine (output key prefix :data:`BACKFILL_OUTPUT_PREFIX`): its input is
``{"prefixes": ["<folder>/YYYY/MM/DD/", ...]}`` (1 to :data:`MAX_DAYS` day folders), a Distributed
Map lists each folder and runs the per-recording machine on every object, which skips what is not a
delivered recording or is already transcribed. This command builds that input from ``--since`` and
``--until`` (UTC days of the leg start, the day folder the service writes the recording under) and
the recording prefix (``--prefix``, default ``recordings`` as the construct's ``recording_prefix``).

It is a dry run unless ``--yes``: the input is printed with the number of delivered recordings the
catalog's day index holds for those days (an upper bound of what is transcribed: each is billed by
Amazon Transcribe), then StartExecution with ``--yes``.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Iterator
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any, Final

from botocore.config import Config
from botocore.exceptions import ClientError

from cdk_recording import _aws, _recordings_aws
from cdk_recording._command import (
    DAY_FORMAT,
    EXIT_OK,
    EXIT_USAGE,
    CommandError,
    non_empty,
    table_name,
    utc_day,
)
from cdk_recording._recordings_aws import (
    STACK_OUTPUT_PREFIX,
    Where,
    aws_errors,
    open_table,
    stack_output,
)
from cdk_recording._transcript_cli import add_aws_arguments

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table
    from mypy_boto3_stepfunctions import SFNClient

    from cdk_recording._command import Subcommands

__all__ = [
    "BACKFILL_OUTPUT_PREFIX",
    "DEFAULT_PREFIX",
    "MAX_DAYS",
    "add_transcribe",
    "backfill_input",
    "day_prefixes",
    "execution_name",
    "stepfunctions_client",
]

#: The stack output holding the backfill state machine's ARN starts with this.
BACKFILL_OUTPUT_PREFIX: Final = "TranscriptionBackfillStateMachineArn"
#: The recording prefix of the construct's default storage (``recording_prefix``).
DEFAULT_PREFIX: Final = "recordings"
#: Most day folders one execution takes (the backfill machine's input limit): a leap year.
MAX_DAYS: Final = 366

_STATE_MACHINE_ARN = re.compile(
    r"arn:aws[a-z-]*:states:(?P<region>[a-z0-9-]+):[0-9]{12}:stateMachine:[A-Za-z0-9_-]{1,80}"
)
_EXECUTION_NAME = re.compile(r"[A-Za-z0-9_-]{1,80}")
_PREFIX = re.compile(r"[A-Za-z0-9!_.*'()/-]*")
_PERMISSIONS = (
    "states:StartExecution on the backfill state machine; dynamodb:Query on the catalog table for "
    "the estimate; cloudformation:DescribeStacks with --stack"
)
_CLIENT_CONFIG = Config(retries={"mode": "standard", "max_attempts": 5})

_EPILOG = f"""\
The backfill state machine is --state-machine ARN, or the value of the --stack stack's output whose
key starts with {BACKFILL_OUTPUT_PREFIX}. The estimate reads the catalog's day index: the table
is --table NAME, or the --stack stack's {STACK_OUTPUT_PREFIX}* output. The caller needs
{_PERMISSIONS}.

Days are UTC days of the leg start: the service writes a recording under
<prefix>/YYYY/MM/DD/ of that day. Nothing starts without --yes. Transcription is billed per
second of audio by Amazon Transcribe; recordings already transcribed are skipped by the machine.

exit status: 0 dry run printed or execution started, 1 refused or failed (access denied, an
execution of that name exists), 2 invalid arguments, AWS configuration, stack or state machine."""


# -- argument types ----------------------------------------------------------------------------------


def _state_machine_arn(value: str) -> str:
    if not _STATE_MACHINE_ARN.fullmatch(value):
        raise argparse.ArgumentTypeError(
            f"{value!r} is not a state machine ARN: expected "
            "arn:aws:states:<region>:<account>:stateMachine:<name>"
        )
    return value


def _execution_name(value: str) -> str:
    if not _EXECUTION_NAME.fullmatch(value):
        raise argparse.ArgumentTypeError(
            f"{value!r} is not an execution name: expected 1 to 80 of A-Z a-z 0-9 _ -"
        )
    return value


def _prefix(value: str) -> str:
    folder = value.strip("/")
    if not _PREFIX.fullmatch(folder) or "//" in folder:
        raise argparse.ArgumentTypeError(
            f"{value!r} is not a recording prefix: expected the construct's recording_prefix, "
            "S3 key characters A-Z a-z 0-9 ! _ . * ' ( ) - and single slashes"
        )
    return folder


# -- the input ---------------------------------------------------------------------------------------


def days(since: date, until: date) -> Iterator[date]:
    """Every day from ``since`` through ``until``."""
    day = since
    while day <= until:
        yield day
        day += timedelta(days=1)


def day_prefixes(prefix: str, since: date, until: date) -> list[str]:
    """The day folders ``<folder>/YYYY/MM/DD/`` from ``since`` through ``until`` (both included).

    ``prefix`` is the construct's ``recording_prefix``; ``""`` is the service's default folder.

    :raises ValueError: ``since`` is after ``until``, or the range spans more than :data:`MAX_DAYS`.
    """
    from recording_processor._keys import recording_folder

    if since > until:
        raise ValueError(f"--since {since} is after --until {until}")
    count = (until - since).days + 1
    if count > MAX_DAYS:
        raise ValueError(
            f"--since {since} --until {until} spans {count} days; at most {MAX_DAYS} per "
            "execution: split the range"
        )
    folder = recording_folder(prefix)
    return [f"{folder}/{day:%Y/%m/%d}/" for day in days(since, until)]


def backfill_input(prefix: str, since: date, until: date) -> dict[str, list[str]]:
    """The backfill state machine's input: ``{"prefixes": [...]}``."""
    return {"prefixes": day_prefixes(prefix, since, until)}


def execution_name(since: date, until: date) -> str:
    """The default execution name: one per range, so a second start of the same range is refused
    (Step Functions keeps names unique per machine for 90 days) instead of transcribing twice."""
    return f"transcribe-{since:%Y%m%d}-{until:%Y%m%d}"


def stepfunctions_client(args: argparse.Namespace, region: str | None) -> SFNClient:
    """The Step Functions client the execution is started with (a seam for tests)."""
    return _aws.session(args.profile).client(
        "stepfunctions", region_name=region, config=_CLIENT_CONFIG
    )


# -- parser ------------------------------------------------------------------------------------------


def add_transcribe(actions: Subcommands) -> None:
    """Register ``recordings transcribe``."""
    parser = actions.add_parser(
        "transcribe",
        help="transcribe the recordings of past days (backfill; dry run unless --yes)",
        description="Start the transcription backfill state machine over the day folders from\n"
        "--since through --until. Without --yes, print its input and the number of delivered\n"
        "recordings of those days, and start nothing.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--since", type=utc_day, required=True, help=f"first UTC day, {DAY_FORMAT}")
    parser.add_argument("--until", type=utc_day, required=True, help=f"last UTC day, {DAY_FORMAT}")
    parser.add_argument(
        "--prefix",
        type=_prefix,
        default=DEFAULT_PREFIX,
        help=f"the construct's recording_prefix (default: {DEFAULT_PREFIX}; '' is the "
        "service's default folder)",
    )
    parser.add_argument("--yes", action="store_true", help="start the execution (default: dry run)")
    parser.add_argument(
        "--name",
        type=_execution_name,
        help="the execution's name (default: transcribe-<YYYYMMDD>-<YYYYMMDD> of --since and "
        "--until, so a range runs once)",
    )
    target = parser.add_argument_group("backfill state machine")
    source = target.add_mutually_exclusive_group(required=True)
    source.add_argument(
        "--stack",
        type=non_empty,
        help=f"a deployed stack with a {BACKFILL_OUTPUT_PREFIX}* output (and the catalog's "
        f"{STACK_OUTPUT_PREFIX}* output)",
    )
    source.add_argument(
        "--state-machine", type=_state_machine_arn, metavar="ARN", help="the backfill machine's ARN"
    )
    target.add_argument(
        "--table",
        type=table_name,
        help="the catalog table for the estimate (default: from --stack; none: no estimate)",
    )
    add_aws_arguments(parser)
    parser.set_defaults(run=_run_transcribe)


# -- run ---------------------------------------------------------------------------------------------


def _run_transcribe(args: argparse.Namespace) -> int:
    since: date = args.since
    until: date = args.until
    try:
        document = backfill_input(args.prefix, since, until)
    except ValueError as error:
        raise CommandError(str(error), EXIT_USAGE) from error
    name: str = args.name or execution_name(since, until)
    where = Where()
    with aws_errors(where):
        arn: str | None = args.state_machine
        if arn is None:
            where.stack = args.stack
            session = _aws.session(args.profile)
            arn = stack_output(
                _recordings_aws.cloudformation_client(session, args.region),
                args.stack,
                BACKFILL_OUTPUT_PREFIX,
                "a transcription backfill state machine",
                "--state-machine",
            )
        estimate = None
        if args.table is not None or args.stack is not None:
            estimate = _estimate(open_table(_in_region_of(args, arn), where), since, until)
    print(f"state machine: {arn}")
    print(f"execution name: {name}")
    print(f"input ({len(document['prefixes'])} day folders):")
    sys.stdout.write(json.dumps(document, indent=2) + "\n")
    if estimate is None:
        print("estimate: not read (pass --table, or --stack, to count the recordings)")
    else:
        total = sum(estimate.values())
        busiest = max(estimate.items(), key=lambda pair: pair[1], default=None)
        most = f"; busiest day {busiest[0]} with {busiest[1]}" if busiest and busiest[1] else ""
        print(
            f"estimate: {total} delivered recording(s) in the catalog's day index for "
            f"{since}..{until}{most}; those already transcribed are skipped"
        )
    if not args.yes:
        print("dry run: nothing started; pass --yes to start the execution")
        return EXIT_OK
    started = _start(args, arn, name, document)
    print(f"started: {started['executionArn']} at {started['startDate'].isoformat()}")
    return EXIT_OK


def _in_region_of(args: argparse.Namespace, arn: str) -> argparse.Namespace:
    """``args`` with ``--region`` defaulted to the Region of the machine named by ``--state-machine``:
    the catalog is in the machine's stack, so a table named by ``--table`` is read there too."""
    if args.state_machine is None:
        return args
    return argparse.Namespace(**{**vars(args), "region": _machine_region(args, arn)})


def _machine_region(args: argparse.Namespace, arn: str) -> str | None:
    """``--region``, else the Region in the machine's ARN."""
    match = _STATE_MACHINE_ARN.fullmatch(arn)
    return args.region or (match.group("region") if match else None)


def _estimate(catalog_table: Table, since: date, until: date) -> dict[date, int]:
    """Delivered recordings per UTC day of leg start (the day index), days without any left out."""
    from recording_processor import catalog

    counts: dict[date, int] = {}
    for day in days(since, until):
        count = sum(
            1 for item in catalog.list_day(catalog_table, day) if item.get("status") == "delivered"
        )
        if count:
            counts[day] = count
    return counts


def _start(
    args: argparse.Namespace, arn: str, name: str, document: dict[str, list[str]]
) -> dict[str, Any]:
    region = _machine_region(args, arn)
    where = Where(region=region)
    with aws_errors(where):
        client = stepfunctions_client(args, region)
        try:
            response = client.start_execution(
                stateMachineArn=arn, name=name, input=json.dumps(document)
            )
        except ClientError as error:
            raise _start_error(error, arn, name) from error
    return {"executionArn": response["executionArn"], "startDate": response["startDate"]}


def _start_error(error: ClientError, arn: str, name: str) -> CommandError:
    details = error.response.get("Error", {})
    code = str(details.get("Code") or "Unknown")
    said = f"({code}: {details.get('Message') or error})"
    if code == "ExecutionAlreadyExists":
        return CommandError(
            f"an execution named {name} of {arn} already exists {said}: this range was started "
            "before (see it in the Step Functions console); pass --name to start it again"
        )
    if code in {"StateMachineDoesNotExist", "InvalidArn", "StateMachineDeleting"}:
        return CommandError(
            f"state machine {arn} cannot be started {said}; check --state-machine or --stack, "
            "--region and --profile",
            EXIT_USAGE,
        )
    if code in {"AccessDeniedException", "AccessDenied"}:
        return CommandError(
            f"access denied {said}: the caller needs states:StartExecution on {arn}"
        )
    if code == "ExecutionLimitExceeded":
        return CommandError(
            f"too many running executions of {arn} {said}: wait for some to finish, then retry"
        )
    return CommandError(f"StartExecution failed {said}")
