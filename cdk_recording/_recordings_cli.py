"""``cdk-recording recordings list|show|minutes``: find recordings in the catalog table.

The other actions of ``recordings`` live in their own modules and register here: ``hold``,
``release``, ``erase``, ``verify`` (:mod:`cdk_recording._records_cli`), ``get``
(:mod:`cdk_recording._retrieval_cli`), ``transcript`` (:mod:`cdk_recording._transcript_cli`),
``transcribe`` (:mod:`cdk_recording._backfill_cli`); ``show --html`` draws the call
(:mod:`cdk_recording._playback_page`).

The catalog (see ``docs/catalog.md``) is read with :mod:`recording_processor.catalog`, shipped in
the wheel as a top-level package, with Queries only (never a Scan):

* ``list --number`` reads the number index, then each call of the number;
* ``list`` by day (``--day``, ``--since``/``--until``, default today, UTC) reads the day index one
  day at a time, so a range is capped at :data:`MAX_LIST_DAYS` days;
* ``show`` reads one call's partition: the call, its numbers, recordings and facts (``--html
  FILE`` also writes the playback page, :mod:`cdk_recording._playback_page`);
* ``minutes`` sums billed minutes of delivered recordings over the day index.

The table comes from ``--table`` or from the ``CatalogTableName`` output of ``--stack``
(:mod:`cdk_recording._recordings_aws`). Phone numbers are masked in both outputs unless
``--unmask`` (see :mod:`cdk_recording._recordings_output`).
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any, Final

from cdk_recording import _playback_page
from cdk_recording._backfill_cli import add_transcribe
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
    REQUIRED_PERMISSIONS,
    STACK_OUTPUT_PREFIX,
    Where,
    aws_errors,
    open_table,
)
from cdk_recording._recordings_output import clean, presented, table, to_json
from cdk_recording._records_cli import add_records
from cdk_recording._retrieval_cli import add_get
from cdk_recording._transcript_cli import add_transcript

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

    from cdk_recording._command import Subcommands

__all__ = [
    "DEFAULT_LIMIT",
    "MAX_LIST_DAYS",
    "MAX_MINUTES_DAYS",
    "STATUSES",
    "add_recordings",
]

#: Widest day range ``list`` reads without ``--number`` (one day-index Query per day): a quarter.
MAX_LIST_DAYS: Final = 92
#: Widest day range ``minutes`` sums: a (leap) year.
MAX_MINUTES_DAYS: Final = 366
#: Rows ``list`` prints unless ``--limit`` says otherwise.
DEFAULT_LIMIT: Final = 100
_MAX_LIMIT = 10_000
#: Recording statuses (``docs/catalog.md``), and ``none``: a call of ``--number`` with no recording.
STATUSES: Final = ("started", "delivered", "missing", "failed", "not-started", "erased", "none")

_E164 = re.compile(r"\+[1-9][0-9]{1,14}")

_EPILOG = f"""\
The catalog table is --table NAME, or the value of the --stack stack's output whose key starts with
{STACK_OUTPUT_PREFIX}. The Region, credentials and endpoint come from the standard AWS
configuration (AWS_DEFAULT_REGION, AWS_PROFILE, AWS_ENDPOINT_URL_DYNAMODB, shared config files)
unless given as options. The caller needs {REQUIRED_PERMISSIONS}.

Days are UTC. Phone numbers are masked (all digits but the last four) in both table and JSON output;
--unmask prints them in full.

exit status: 0 success, 1 not found or failed (unknown transaction, access denied, unreachable),
2 invalid arguments or AWS configuration (no Region, no credentials, unknown profile, table or stack
not found)."""


# -- argument types ----------------------------------------------------------------------------------


def _number(value: str) -> str:
    if not _E164.fullmatch(value):
        raise argparse.ArgumentTypeError(
            f"{value!r} is not an E.164 number: expected + then the country code and number, "
            "2 to 15 digits (e.g. +12065550100)"
        )
    return value


def _limit(value: str) -> int:
    try:
        limit = int(value)
    except ValueError:
        limit = 0
    if not 1 <= limit <= _MAX_LIMIT:
        raise argparse.ArgumentTypeError(
            f"{value!r} is not a row count: expected a whole number from 1 to {_MAX_LIMIT}"
        )
    return limit


# -- parser ------------------------------------------------------------------------------------------


def add_recordings(subcommands: Subcommands) -> None:
    """Register ``recordings list|show|minutes`` and the actions of the other modules."""
    common = argparse.ArgumentParser(add_help=False)
    where = common.add_argument_group("catalog")
    source = where.add_mutually_exclusive_group(required=True)
    source.add_argument("--table", type=table_name, help="the catalog table's name (or ARN)")
    source.add_argument(
        "--stack",
        type=non_empty,
        help=f"a deployed stack whose {STACK_OUTPUT_PREFIX}* output names the catalog table",
    )
    aws = common.add_argument_group("AWS")
    aws.add_argument("--region", help="the table's Region")
    aws.add_argument("--profile", help="the shared-config profile to use")
    output = common.add_argument_group("output")
    output.add_argument(
        "--output",
        choices=("table", "json"),
        default="table",
        help="text columns, or one JSON document (default: table)",
    )
    output.add_argument(
        "--unmask", action="store_true", help="print phone numbers in full (default: masked)"
    )

    parser = subcommands.add_parser(
        "recordings",
        help="the catalog and the records: find, show, hold, erase, verify, get, transcripts",
        description="Read the recording catalog (DynamoDB): recordings by day or phone number, a\n"
        "call with its recordings and facts, billed minutes; manage records (legal hold, erasure,\n"
        "verification), retrieve recordings with an audit entry, read and backfill transcripts.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    _add_list(actions, common)
    _add_show(actions, common)
    _add_minutes(actions, common)
    add_records(actions, common)
    add_get(actions, common)
    add_transcript(actions)
    add_transcribe(actions)


def _add_list(actions: Subcommands, common: argparse.ArgumentParser) -> None:
    parser = actions.add_parser(
        "list",
        parents=[common],
        help="recordings of a day, a range of days or a phone number",
        description="List recordings: of the calls of --number (by call start), or delivered on\n"
        "--day or from --since through --until (by leg start; default: today, UTC).",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--number", type=_number, help="an E.164 number that took part in the call")
    parser.add_argument("--day", type=utc_day, help=f"one UTC day, {DAY_FORMAT}")
    parser.add_argument("--since", type=utc_day, help=f"first UTC day, {DAY_FORMAT}")
    parser.add_argument(
        "--until", type=utc_day, help=f"last UTC day, {DAY_FORMAT} (default: today)"
    )
    parser.add_argument(
        "--status",
        choices=STATUSES,
        help="only recordings in this status ('none': calls of --number without a recording)",
    )
    parser.add_argument(
        "--limit",
        type=_limit,
        default=DEFAULT_LIMIT,
        help=f"print at most N rows (default: {DEFAULT_LIMIT})",
        metavar="N",
    )
    parser.set_defaults(run=_run_list)


def _add_show(actions: Subcommands, common: argparse.ArgumentParser) -> None:
    parser = actions.add_parser(
        "show",
        parents=[common],
        help="a call: its parties, recordings and facts timeline",
        description="Show one call: the call, the numbers that took part, its recordings and the\n"
        "timeline of facts (consent, recording started, paused, stopped...).",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "transaction_id", metavar="TRANSACTION_ID", type=non_empty, help="the call's transaction id"
    )
    page = parser.add_argument_group("playback page")
    page.add_argument(
        "--html",
        metavar="FILE",
        type=non_empty,
        help="also write the call as a self-contained HTML page: timeline of legs, consent and "
        "recording marks, and the waveform of each channel of each delivered recording (reading "
        "the recordings writes a playback entry to the call's audit trail first; needs "
        f"{_playback_page.PLAYBACK_PERMISSIONS})",
    )
    page.add_argument(
        "--no-audio",
        action="store_true",
        help="with --html: read no recording object and write no audit entry (timeline only)",
    )
    parser.set_defaults(run=_run_show)


def _add_minutes(actions: Subcommands, common: argparse.ArgumentParser) -> None:
    parser = actions.add_parser(
        "minutes",
        parents=[common],
        help="billed minutes of delivered recordings, per day and in total",
        description="Sum the billed minutes of delivered recordings by UTC day of leg start.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--since", type=utc_day, required=True, help=f"first UTC day, {DAY_FORMAT}")
    parser.add_argument(
        "--until", type=utc_day, help=f"last UTC day, {DAY_FORMAT} (default: today)"
    )
    parser.set_defaults(run=_run_minutes)


def _today() -> date:
    return datetime.now(UTC).date()


# -- list --------------------------------------------------------------------------------------------


def _list_range(args: argparse.Namespace) -> tuple[date | None, date | None]:
    day: date | None = args.day
    since: date | None = args.since
    until: date | None = args.until
    if day is not None and (since is not None or until is not None):
        raise CommandError(
            f"--day {day} cannot be combined with --since/--until: give one day, or a range",
            EXIT_USAGE,
        )
    if day is not None:
        return day, day
    if since is None and until is not None:
        raise CommandError(f"--until {until} needs --since: give the range's first day", EXIT_USAGE)
    if since is None:
        return (None, None) if args.number else (_today(), _today())
    until = until or _today()
    _check_range(since, until, None if args.number else MAX_LIST_DAYS, "without --number")
    return since, until


def _check_range(since: date, until: date, max_days: int | None, context: str) -> None:
    if since > until:
        raise CommandError(f"--since {since} is after --until {until}", EXIT_USAGE)
    days = (until - since).days + 1
    if max_days is not None and days > max_days:
        raise CommandError(
            f"--since {since} --until {until} spans {days} days; at most {max_days} {context}: "
            "split the range",
            EXIT_USAGE,
        )


def _number_rows(
    table: Table, number: str, since: date | None, until: date | None
) -> Iterator[dict[str, Any]]:
    from recording_processor import catalog

    for entry in catalog.list_number(table, number, since, until):
        call = catalog.get_call(table, str(entry.get("transactionId", "")))
        recordings = sorted(
            call.recordings,
            key=lambda r: (str(r.get("legStartTime") or r.get("startedAt") or ""), str(r["sk"])),
        )
        for recording in recordings:
            yield {**clean(recording), "role": entry.get("role")}
        if not recordings:
            parties = call.item or {}
            yield {
                "transactionId": call.transaction_id,
                "startedAt": parties.get("startedAt") or str(entry.get("gsi1sk", "")).split("#")[0],
                "direction": parties.get("direction"),
                "fromNumber": parties.get("fromNumber"),
                "toNumber": parties.get("toNumber"),
                "status": "none",
                "role": entry.get("role"),
            }


def _day_rows(table: Table, since: date, until: date) -> Iterator[dict[str, Any]]:
    from recording_processor import catalog

    for item in catalog.list_days(table, since, until):
        yield clean(item)


def _first(
    rows: Iterable[dict[str, Any]], status: str | None, limit: int
) -> tuple[list[Any], bool]:
    """The first ``limit`` rows in ``status``, and whether more followed."""
    kept: list[dict[str, Any]] = []
    for row in rows:
        if status is not None and row.get("status") != status:
            continue
        if len(kept) == limit:
            return kept, True
        kept.append(row)
    return kept, False


_LIST_COLUMNS: tuple[tuple[str, Callable[[dict[str, Any]], Any]], ...] = (
    ("STARTED", lambda r: r.get("legStartTime") or r.get("startedAt")),
    ("TRANSACTION", lambda r: r.get("transactionId")),
    ("LEG", lambda r: r.get("leg")),
    ("DIRECTION", lambda r: r.get("direction")),
    ("FROM", lambda r: r.get("fromNumber")),
    ("TO", lambda r: r.get("toNumber")),
    ("STATUS", lambda r: r.get("status")),
    ("SECONDS", lambda r: r.get("durationSeconds")),
    ("MINUTES", lambda r: r.get("billedMinutes")),
)


def _run_list(args: argparse.Namespace) -> int:
    since, until = _list_range(args)
    where = Where()
    with aws_errors(where):
        catalog_table = open_table(args, where)
        if args.number:
            rows = _number_rows(catalog_table, args.number, since, until)
        elif since is not None and until is not None:
            rows = _day_rows(catalog_table, since, until)
        else:  # _list_range gives a day range whenever --number is absent
            raise CommandError("a day range is needed without --number", EXIT_USAGE)
        kept, truncated = _first(rows, args.status, args.limit)
    shown = presented(kept, unmask=args.unmask)
    if args.output == "json":
        sys.stdout.write(to_json({"recordings": shown, "truncated": truncated}))
    elif shown:
        sys.stdout.write(
            table(
                [title for title, _ in _LIST_COLUMNS],
                ([value(row) for _, value in _LIST_COLUMNS] for row in shown),
            )
        )
    else:
        print("no recordings found")
    if truncated:
        print(
            f"cdk-recording: note: showing the first {args.limit} rows; more with --limit",
            file=sys.stderr,
        )
    return EXIT_OK


# -- show --------------------------------------------------------------------------------------------


def _run_show(args: argparse.Namespace) -> int:
    from recording_processor import catalog

    _playback_page.check_options(args)
    where = Where()
    with aws_errors(where):
        catalog_table = open_table(args, where)
        call = catalog.get_call(catalog_table, args.transaction_id)
    if not call.found:
        raise CommandError(
            f"transaction {call.transaction_id} not found in catalog table {where.table}: check "
            "the id (recordings list shows them) and --table/--stack"
        )
    document = presented(
        {
            "transactionId": call.transaction_id,
            "call": clean(call.item) if call.item else None,
            "numbers": [clean(item) for item in call.numbers],
            "recordings": [clean(item) for item in call.recordings],
            "facts": [clean(item) for item in call.facts],
        },
        unmask=args.unmask,
    )
    if args.output == "json":
        sys.stdout.write(to_json(document))
    else:
        sys.stdout.write(_show_text(document))
    if args.html:
        with aws_errors(where):
            _playback_page.write_page(args, document, call.recordings, catalog_table)
    return EXIT_OK


def _show_text(document: dict[str, Any]) -> str:
    call = document["call"] or {}
    consent = call.get("consent") or {}
    header = [
        ("transaction", document["transactionId"]),
        ("direction", call.get("direction")),
        ("from", call.get("fromNumber")),
        ("to", call.get("toNumber")),
        ("started", call.get("startedAt") or call.get("firstStart")),
        ("ended", call.get("endedAt")),
        ("sma", call.get("smaId")),
        ("billed minutes", call.get("billedMinutes")),
        ("consent played", consent.get("playedAt")),
        ("consent legs", ", ".join(consent.get("legs") or []) or None),
    ]
    parts = [table(["CALL", ""], header)]
    parts.append(
        "\nnumbers\n"
        + table(
            ["NUMBER", "ROLE", "LEG"],
            ([n.get("number"), n.get("role"), n.get("leg")] for n in document["numbers"]),
        )
    )
    parts.append(
        "\nrecordings\n"
        + table(
            ["CALL ID", "LEG", "TRACK", "STATUS", "STARTED", "STOPPED", "SECONDS", "MINUTES", "S3"],
            (
                [
                    r.get("callId"),
                    r.get("leg"),
                    r.get("track"),
                    r.get("status"),
                    r.get("legStartTime") or r.get("startedAt"),
                    r.get("stoppedAt"),
                    r.get("durationSeconds"),
                    r.get("billedMinutes"),
                    r.get("s3Uri"),
                ]
                for r in document["recordings"]
            ),
        )
    )
    parts.append(
        "\nfacts\n"
        + table(
            ["AT", "SEQUENCE", "KIND", "LEG", "DETAIL"],
            (
                [f.get("at"), f.get("sequence"), f.get("kind"), f.get("leg"), f.get("detail")]
                for f in document["facts"]
            ),
        )
    )
    return "".join(parts)


# -- minutes -----------------------------------------------------------------------------------------


def _run_minutes(args: argparse.Namespace) -> int:
    from recording_processor import catalog

    since: date = args.since
    until: date = args.until or _today()
    _check_range(since, until, MAX_MINUTES_DAYS, "per run")
    where = Where()
    with aws_errors(where):
        catalog_table = open_table(args, where)
        by_day = catalog.billed_minutes_by_day(catalog_table, since, until)
    days: list[dict[str, Any]] = [
        {"day": day.isoformat(), "recordings": count, "billedMinutes": minutes}
        for day, (count, minutes) in sorted(by_day.items())
    ]
    total = {
        "recordings": sum(row["recordings"] for row in days),
        "billedMinutes": sum(row["billedMinutes"] for row in days),
    }
    if args.output == "json":
        document = {"since": since.isoformat(), "until": until.isoformat(), "days": days, **total}
        sys.stdout.write(to_json(document))
        return EXIT_OK
    rows = [[row["day"], row["recordings"], row["billedMinutes"]] for row in days]
    rows.append([f"total {since}..{until}", total["recordings"], total["billedMinutes"]])
    sys.stdout.write(table(["DAY", "RECORDINGS", "BILLED MINUTES"], rows))
    return EXIT_OK
