"""``cdk-recording recordings list|show|minutes`` through ``main(argv)``, against moto's DynamoDB.

The table is created with ``schema.create_table_arguments`` and seeded as docs/catalog.md describes
(``tests.cli.catalog_seed``). ``--stack`` is resolved through a Stubber-backed CloudFormation client
(moto's CloudFormation is not installed here).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws
from recording_processor import schema

from cdk_recording import _recordings_aws, _recordings_cli
from cdk_recording.cli import main
from tests.cli.catalog_seed import (
    AGENT,
    CALL_A1,
    CALL_A2,
    CALL_B1,
    CALLER,
    FACTS_A,
    TX_A,
    TX_B,
    TX_C,
    TX_D,
    seed,
    seed_many_delivered,
)
from tests.cli.test_cli import assert_one_line_error

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

TABLE = "recording-catalog"
REGION = "us-east-1"
WHERE = ["--table", TABLE, "--region", REGION]
CALLER_MASKED = "+*******0100"
AGENT_MASKED = "+*******0199"


@pytest.fixture
def catalog_table(aws_credentials: None) -> Iterator[Table]:
    with mock_aws():
        dynamodb = boto3.session.Session().resource("dynamodb", region_name=REGION)
        dynamodb.create_table(**schema.create_table_arguments(TABLE))
        table = dynamodb.Table(TABLE)
        seed(table)
        yield table


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> Any:
    code, out, err = run(capsys, *argv, "--output", "json")
    assert (code, err) == (0, "")
    return json.loads(out)


def lines_with(out: str, text: str) -> list[str]:
    return [line for line in out.splitlines() if text in line]


# -- help ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["recordings", "--help"], "minutes"),
        (["recordings", "list", "--help"], "--number"),
        (["recordings", "show", "--help"], "TRANSACTION_ID"),
        (["recordings", "minutes", "--help"], "--since"),
    ],
)
def test_help_documents_the_commands(
    capsys: pytest.CaptureFixture[str], argv: list[str], says: str
) -> None:
    code, out, _ = run(capsys, *argv)
    assert code == 0
    text = " ".join(out.split())
    assert says in text
    if argv[-2] != "recordings":
        for flag in ("--table", "--stack", "--region", "--profile", "--output", "--unmask"):
            assert flag in text
        assert "masked" in text


def test_recordings_is_listed_in_the_top_level_help(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = run(capsys, "--help")
    assert "recordings" in out


# -- list ---------------------------------------------------------------------------------------------


def test_list_a_day_as_a_table_masks_numbers(
    capsys: pytest.CaptureFixture[str], catalog_table: Table
) -> None:
    code, out, err = run(capsys, "recordings", "list", "--day", "2026-12-04", *WHERE)

    assert (code, err) == (0, "")
    header, *rows = out.splitlines()
    assert header.split() == [
        "STARTED",
        "TRANSACTION",
        "LEG",
        "DIRECTION",
        "FROM",
        "TO",
        "STATUS",
        "SECONDS",
        "MINUTES",
    ]
    # TX_C's recording is only started: the day index does not hold it.
    assert len(rows) == 1
    assert rows[0].split() == [
        "2026-12-04T09:00:00.500Z",
        TX_B,
        "LEG-A",
        "outbound",
        AGENT_MASKED,
        CALLER_MASKED,
        "delivered",
        "150",
        "3",
    ]
    assert CALLER not in out
    assert AGENT not in out


def test_list_a_range_as_json(capsys: pytest.CaptureFixture[str], catalog_table: Table) -> None:
    document = run_json(
        capsys, "recordings", "list", "--since", "2026-12-01", "--until", "2026-12-31", *WHERE
    )

    assert document["truncated"] is False
    first, missing, second = document["recordings"]
    assert (first["transactionId"], first["callId"]) == (TX_A, CALL_A1)
    # A recording the sweep marked missing is listed in its day next to the delivered ones.
    assert (missing["transactionId"], missing["callId"], missing["status"]) == (
        TX_A,
        CALL_A2,
        "missing",
    )
    assert (second["transactionId"], second["callId"]) == (TX_B, CALL_B1)
    # Decimals: whole numbers stay integers, fractions become JSON numbers.
    assert first["durationSeconds"] == 61.25
    assert first["billedMinutes"] == 2
    assert isinstance(first["billedMinutes"], int)
    assert first["fromNumber"] == CALLER_MASKED
    assert not {"pk", "sk", "gsi2pk", "gsi2sk"} & set(first)
    assert first["s3Uri"].startswith("s3://recordings-123456789012/calls/2026/12/03/")
    assert first["sha256"].startswith("9f86d081")


@pytest.mark.parametrize("output", ["table", "json"])
def test_unmask_prints_full_numbers(
    capsys: pytest.CaptureFixture[str], catalog_table: Table, output: str
) -> None:
    argv = ["recordings", "list", "--day", "2026-12-04", *WHERE, "--output", output]
    _, masked, _ = run(capsys, *argv)
    code, unmasked, _ = run(capsys, *argv, "--unmask")

    assert code == 0
    assert CALLER in unmasked
    assert AGENT in unmasked
    assert CALLER not in masked
    assert CALLER_MASKED in masked


def test_list_defaults_to_today(
    capsys: pytest.CaptureFixture[str], catalog_table: Table, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_recordings_cli, "_today", lambda: date(2026, 12, 3))
    document = run_json(capsys, "recordings", "list", *WHERE)
    assert [(r["transactionId"], r["callId"]) for r in document["recordings"]] == [
        (TX_A, CALL_A1),
        (TX_A, CALL_A2),
    ]

    monkeypatch.setattr(_recordings_cli, "_today", lambda: date(2026, 12, 5))
    document = run_json(capsys, "recordings", "list", "--since", "2026-12-04", *WHERE)
    assert [r["transactionId"] for r in document["recordings"]] == [TX_B]


def test_list_an_empty_day_says_so(
    capsys: pytest.CaptureFixture[str], catalog_table: Table
) -> None:
    code, out, _ = run(capsys, "recordings", "list", "--day", "2026-12-05", *WHERE)
    assert (code, out) == (0, "no recordings found\n")
    assert run_json(capsys, "recordings", "list", "--day", "2026-12-05", *WHERE) == {
        "recordings": [],
        "truncated": False,
    }


def test_list_by_number_lists_every_call_of_the_number(
    capsys: pytest.CaptureFixture[str], catalog_table: Table
) -> None:
    document = run_json(capsys, "recordings", "list", "--number", CALLER, *WHERE)

    rows = [
        (r["transactionId"], r.get("callId"), r["status"], r["role"])
        for r in document["recordings"]
    ]
    assert rows == [
        (TX_A, CALL_A1, "delivered", "from"),
        (TX_A, CALL_A2, "missing", "from"),
        (TX_B, CALL_B1, "delivered", "to"),
        (TX_D, None, "none", "from"),
    ]
    assert TX_C not in json.dumps(document)


def test_list_by_number_as_a_table(
    capsys: pytest.CaptureFixture[str], catalog_table: Table
) -> None:
    code, out, _ = run(capsys, "recordings", "list", "--number", CALLER, *WHERE)

    assert code == 0
    assert len(out.splitlines()) == 5
    (none_row,) = lines_with(out, TX_D)
    assert none_row.split()[-3:] == ["none", "-", "-"]
    assert CALLER not in out


@pytest.mark.parametrize(
    ("dates", "expected"),
    [
        (["--day", "2026-12-04"], [TX_B]),
        (["--since", "2026-12-04", "--until", "2026-12-05"], [TX_B, TX_D]),
        # A number may be searched over any span: one Query, not one per day.
        (["--since", "2020-01-01", "--until", "2026-12-03"], [TX_A, TX_A]),
    ],
    ids=["day", "range", "long-range"],
)
def test_list_by_number_in_a_range(
    capsys: pytest.CaptureFixture[str], catalog_table: Table, dates: list[str], expected: list[str]
) -> None:
    document = run_json(capsys, "recordings", "list", "--number", CALLER, *dates, *WHERE)
    assert [r["transactionId"] for r in document["recordings"]] == expected


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--number", CALLER, "--status", "missing"], [(TX_A, CALL_A2)]),
        (["--number", CALLER, "--status", "none"], [(TX_D, None)]),
        (
            ["--number", AGENT, "--status", "started"],
            [(TX_C, "6c7d8e9f-0a1b-4c2d-8e3f-4a5b6c7d8e9f")],
        ),
        (
            ["--since", "2026-12-01", "--until", "2026-12-31", "--status", "delivered"],
            [(TX_A, CALL_A1), (TX_B, CALL_B1)],
        ),
        (
            ["--since", "2026-12-01", "--until", "2026-12-31", "--status", "missing"],
            [(TX_A, CALL_A2)],
        ),
    ],
    ids=["number-missing", "number-none", "number-started", "days-delivered", "days-missing"],
)
def test_list_filters_by_status(
    capsys: pytest.CaptureFixture[str],
    catalog_table: Table,
    argv: list[str],
    expected: list[tuple[str, str | None]],
) -> None:
    document = run_json(capsys, "recordings", "list", *argv, *WHERE)
    assert [(r["transactionId"], r.get("callId")) for r in document["recordings"]] == expected


def test_list_limit_truncates_and_says_so(
    capsys: pytest.CaptureFixture[str], catalog_table: Table
) -> None:
    code, out, err = run(capsys, "recordings", "list", "--number", CALLER, "--limit", "2", *WHERE)
    assert code == 0
    assert len(out.splitlines()) == 3
    assert err == "cdk-recording: note: showing the first 2 rows; more with --limit\n"

    code, out, err = run(
        capsys, "recordings", "list", "--number", CALLER, "--limit", "2", *WHERE, "--output", "json"
    )
    assert json.loads(out)["truncated"] is True
    assert len(json.loads(out)["recordings"]) == 2

    _, _, err = run(capsys, "recordings", "list", "--number", CALLER, "--limit", "4", *WHERE)
    assert err == ""


def test_list_reads_every_page_of_a_day(
    capsys: pytest.CaptureFixture[str], catalog_table: Table
) -> None:
    # 30 items of 40 kB: more than the 1 MB a Query page holds.
    seed_many_delivered(catalog_table, "2026-11-02", 30)

    document = run_json(capsys, "recordings", "list", "--day", "2026-11-02", *WHERE)

    assert len(document["recordings"]) == 30
    starts = [r["legStartTime"] for r in document["recordings"]]
    assert starts == sorted(starts)
    code, out, _ = run(
        capsys, "recordings", "minutes", "--since", "2026-11-02", "--until", "2026-11-02", *WHERE
    )
    assert code == 0
    assert out.splitlines()[1].split() == ["2026-11-02", "30", "30"]


# -- show ---------------------------------------------------------------------------------------------


def test_show_as_a_table_prints_call_numbers_recordings_and_facts(
    capsys: pytest.CaptureFixture[str], catalog_table: Table
) -> None:
    code, out, err = run(capsys, "recordings", "show", TX_A, *WHERE)

    assert (code, err) == (0, "")
    assert f"transaction     {TX_A}" in out
    assert "direction       inbound" in out
    assert f"from            {CALLER_MASKED}" in out
    assert "billed minutes  2" in out
    for section in ("\nnumbers\n", "\nrecordings\n", "\nfacts\n"):
        assert section in out
    facts = out.split("\nfacts\n", 1)[1].splitlines()[1:]
    assert [line.split()[2] for line in facts] == [kind for _, _, _, kind, _ in FACTS_A]
    (joined,) = lines_with(out, "leg-joined")
    assert f'"from":"{CALLER_MASKED}"' in joined
    assert len(lines_with(out, "REC")) == 0
    assert len(lines_with(out, CALL_A1)) == 1
    assert len(lines_with(out, CALL_A2)) == 1
    assert CALLER not in out


def test_show_as_json(capsys: pytest.CaptureFixture[str], catalog_table: Table) -> None:
    document = run_json(capsys, "recordings", "show", TX_A.upper(), *WHERE, "--unmask")

    assert document["transactionId"] == TX_A
    assert document["call"]["recordings"] == [CALL_A1]
    assert document["call"]["fromNumber"] == CALLER
    assert document["call"]["consent"] == {
        "playedAt": "2026-12-03T20:27:09.123Z",
        "legs": ["LEG-A"],
    }
    assert sorted(n["number"] for n in document["numbers"]) == sorted([CALLER, AGENT])
    assert sorted(r["status"] for r in document["recordings"]) == ["delivered", "missing"]
    assert [(f["at"], f["sequence"], f["kind"]) for f in document["facts"]] == [
        (at, sequence, kind) for at, sequence, _, kind, _ in FACTS_A
    ]
    assert document["facts"][2]["detail"] == {"from": CALLER, "to": AGENT}
    assert "sk" not in document["facts"][0]


def test_show_json_masks_by_default(
    capsys: pytest.CaptureFixture[str], catalog_table: Table
) -> None:
    document = run_json(capsys, "recordings", "show", TX_A, *WHERE)
    text = json.dumps(document)
    assert CALLER not in text
    assert AGENT not in text
    assert document["facts"][2]["detail"] == {"from": CALLER_MASKED, "to": AGENT_MASKED}
    # Ids, hashes and object keys are not mistaken for numbers.
    recording = next(r for r in document["recordings"] if r["status"] == "delivered")
    assert recording["sha256"].startswith("9f86d081884c7d659a2feaa0c55ad015")
    assert (
        recording["s3Uri"] == f"s3://recordings-123456789012/calls/2026/12/03/{TX_A}_{CALL_A1}.wav"
    )


def test_show_a_call_without_recordings(
    capsys: pytest.CaptureFixture[str], catalog_table: Table
) -> None:
    document = run_json(capsys, "recordings", "show", TX_D, *WHERE)
    assert document["recordings"] == []
    assert len(document["numbers"]) == 2


def test_show_unknown_transaction_is_a_one_line_error_exit_1(
    capsys: pytest.CaptureFixture[str], catalog_table: Table
) -> None:
    code, out, err = run(
        capsys, "recordings", "show", "00000000-0000-4000-8000-000000000000", *WHERE
    )
    assert (code, out) == (1, "")
    assert_one_line_error(
        err, "transaction 00000000-0000-4000-8000-000000000000 not found", f"catalog table {TABLE}"
    )


# -- minutes ------------------------------------------------------------------------------------------


def test_minutes_as_a_table(capsys: pytest.CaptureFixture[str], catalog_table: Table) -> None:
    code, out, err = run(
        capsys, "recordings", "minutes", "--since", "2026-12-01", "--until", "2026-12-31", *WHERE
    )

    assert (code, err) == (0, "")
    assert [line.split() for line in out.splitlines()] == [
        ["DAY", "RECORDINGS", "BILLED", "MINUTES"],
        ["2026-12-03", "1", "2"],
        ["2026-12-04", "1", "3"],
        ["total", "2026-12-01..2026-12-31", "2", "5"],
    ]


def test_minutes_as_json_until_today_by_default(
    capsys: pytest.CaptureFixture[str], catalog_table: Table, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_recordings_cli, "_today", lambda: date(2026, 12, 3))
    document = run_json(capsys, "recordings", "minutes", "--since", "2026-12-01", *WHERE)

    assert document == {
        "since": "2026-12-01",
        "until": "2026-12-03",
        "days": [{"day": "2026-12-03", "recordings": 1, "billedMinutes": 2}],
        "recordings": 1,
        "billedMinutes": 2,
    }


def test_minutes_of_days_without_recordings_is_zero(
    capsys: pytest.CaptureFixture[str], catalog_table: Table
) -> None:
    document = run_json(
        capsys, "recordings", "minutes", "--since", "2026-01-01", "--until", "2026-01-31", *WHERE
    )
    assert (document["days"], document["recordings"], document["billedMinutes"]) == ([], 0, 0)


# -- --stack ------------------------------------------------------------------------------------------


def stub_stack(
    monkeypatch: pytest.MonkeyPatch, outputs: list[dict[str, str]] | None, error: str | None = None
) -> Stubber:
    client = boto3.session.Session().client("cloudformation", region_name=REGION)
    stubber = Stubber(client)
    if error:
        stubber.add_client_error(
            "describe_stacks",
            service_error_code=error,
            service_message="Stack with id Recording does not exist"
            if error == "ValidationError"
            else "User is not authorized",
            http_status_code=400 if error == "ValidationError" else 403,
            expected_params={"StackName": "Recording"},
        )
    else:
        stack: dict[str, Any] = {
            "StackName": "Recording",
            "CreationTime": "2026-12-01T00:00:00Z",
            "StackStatus": "UPDATE_COMPLETE",
        }
        if outputs is not None:
            stack["Outputs"] = outputs
        stubber.add_response("describe_stacks", {"Stacks": [stack]}, {"StackName": "Recording"})
    stubber.activate()
    seen: list[str | None] = []

    def factory(session: Any, region: str | None) -> Any:
        seen.append(region)
        return client

    monkeypatch.setattr(_recordings_aws, "cloudformation_client", factory)
    return stubber


STACK = ["--stack", "Recording", "--region", REGION]


def _example_outputs() -> list[str]:
    """The output keys of the example stack as synthesized (the compliance snapshot)."""
    snapshot = (
        Path(__file__).resolve().parents[1]
        / "compliance/__snapshots__/test_snapshots/test_example_stack_template[us-east-1].json"
    )
    return sorted(json.loads(snapshot.read_text(encoding="utf-8"))["Outputs"])


@pytest.mark.parametrize(
    "key",
    [
        "CatalogTableName",
        "CatalogTableNameB1C2D3E4",
        "CallRecordingCatalogTableName0A1B2C3D",
        *[k for k in _example_outputs() if "CatalogTableName" in k],
    ],
)
def test_stack_output_names_the_table(
    capsys: pytest.CaptureFixture[str],
    catalog_table: Table,
    monkeypatch: pytest.MonkeyPatch,
    key: str,
) -> None:
    stubber = stub_stack(
        monkeypatch,
        [{"OutputKey": "BucketName", "OutputValue": "b"}, {"OutputKey": key, "OutputValue": TABLE}],
    )
    document = run_json(
        capsys, "recordings", "minutes", "--since", "2026-12-03", "--until", "2026-12-03", *STACK
    )
    assert document["billedMinutes"] == 2
    stubber.assert_no_pending_responses()


@pytest.mark.parametrize(
    ("outputs", "says"),
    [
        (None, "no output key starts with CatalogTableName (outputs: none)"),
        ([{"OutputKey": "BucketName", "OutputValue": "b"}], "(outputs: BucketName)"),
        (
            [
                {"OutputKey": "CatalogTableNameA", "OutputValue": "one"},
                {"OutputKey": "CatalogTableNameB", "OutputValue": "two"},
            ],
            "2 outputs name a catalog table (CatalogTableNameA, CatalogTableNameB)",
        ),
    ],
    ids=["no-outputs", "no-catalog-output", "ambiguous"],
)
def test_stack_without_one_catalog_output_is_a_usage_error(
    capsys: pytest.CaptureFixture[str],
    aws_credentials: None,
    monkeypatch: pytest.MonkeyPatch,
    outputs: list[dict[str, str]] | None,
    says: str,
) -> None:
    stub_stack(monkeypatch, outputs)
    code, out, err = run(capsys, "recordings", "show", TX_A, *STACK)
    assert (code, out) == (2, "")
    assert_one_line_error(err, "--stack Recording", says)


def test_unknown_stack_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], aws_credentials: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    stub_stack(monkeypatch, None, error="ValidationError")
    code, _, err = run(capsys, "recordings", "list", *STACK)
    assert code == 2
    assert_one_line_error(
        err, "--stack Recording: no such stack in Region us-east-1", "does not exist"
    )


def test_access_denied_is_a_one_line_error_exit_1_naming_the_permissions(
    capsys: pytest.CaptureFixture[str], aws_credentials: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    stub_stack(monkeypatch, None, error="AccessDenied")
    code, _, err = run(capsys, "recordings", "list", *STACK)
    assert code == 1
    assert_one_line_error(err, "access denied", "cloudformation:DescribeStacks", "dynamodb:Query")


# -- errors -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (
            ["list", "--day", "2026-13-01"],
            "argument --day: '2026-13-01' is not a day: expected YYYY-MM-DD",
        ),
        (["list", "--since", "12/03/2026"], "argument --since: '12/03/2026' is not a day"),
        (["list", "--since", "20261203"], "argument --since: '20261203' is not a day"),
        (
            ["minutes", "--since", "2026-12-01", "--until", "2026-02-30"],
            "argument --until: '2026-02-30'",
        ),
        (
            ["list", "--number", "12065550100"],
            "argument --number: '12065550100' is not an E.164 number",
        ),
        (["list", "--number", "+0206555"], "expected + then the country code"),
        (["list", "--number", "+1206555010012345"], "2 to 15 digits"),
        (["list", "--status", "lost"], "argument --status: invalid choice: 'lost'"),
        # No writer sets it: transcripts are TRANSCRIPT# items, the recording stays delivered.
        (["list", "--status", "transcribed"], "argument --status: invalid choice: 'transcribed'"),
        (
            ["list", "--limit", "0"],
            "argument --limit: '0' is not a row count: expected a whole number from 1 to 10000",
        ),
        (["list", "--limit", "ten"], "argument --limit: 'ten'"),
        (["list", "--output", "csv"], "argument --output: invalid choice: 'csv'"),
        (["show", " "], "must not be empty"),
        (["show"], "TRANSACTION_ID"),
        (["minutes"], "--since"),
        (
            ["list", "--day", "2026-12-03", "--table", "ab"],
            "argument --table: 'ab' is not a DynamoDB table name",
        ),
    ],
    ids=lambda value: value if isinstance(value, str) else " ".join(value),
)
def test_bad_arguments_are_usage_errors_naming_the_option(
    capsys: pytest.CaptureFixture[str], argv: list[str], says: str
) -> None:
    where = [] if "--table" in argv else WHERE
    code, out, err = run(capsys, "recordings", *argv, *where)
    assert (code, out) == (2, "")
    assert says in err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (
            ["list", "--since", "2026-12-05", "--until", "2026-12-04"],
            "--since 2026-12-05 is after --until 2026-12-04",
        ),
        (
            ["list", "--number", CALLER, "--since", "2026-12-05", "--until", "2026-12-04"],
            "is after --until",
        ),
        (["minutes", "--since", "2026-12-05", "--until", "2026-12-04"], "is after --until"),
        (
            ["list", "--since", "2026-01-01", "--until", "2026-04-03"],
            "spans 93 days; at most 92 without --number",
        ),
        (
            ["minutes", "--since", "2025-01-01", "--until", "2026-01-02"],
            "spans 367 days; at most 366 per run",
        ),
        (
            ["list", "--day", "2026-12-03", "--since", "2026-12-01"],
            "--day 2026-12-03 cannot be combined with --since/--until",
        ),
        (["list", "--until", "2026-12-03"], "--until 2026-12-03 needs --since"),
    ],
    ids=[
        "reversed",
        "reversed-number",
        "reversed-minutes",
        "93-days",
        "367-days",
        "day-and-since",
        "until-alone",
    ],
)
def test_bad_ranges_are_one_line_usage_errors(
    capsys: pytest.CaptureFixture[str], catalog_table: Table, argv: list[str], says: str
) -> None:
    code, out, err = run(capsys, "recordings", *argv, *WHERE)
    assert (code, out) == (2, "")
    assert_one_line_error(err, says)


@pytest.mark.parametrize(
    "argv",
    [
        ["list", "--since", "2026-01-01", "--until", "2026-04-02"],
        ["minutes", "--since", "2025-01-01", "--until", "2026-01-01"],
    ],
    ids=["list-92-days", "minutes-366-days"],
)
def test_the_widest_ranges_are_allowed(
    capsys: pytest.CaptureFixture[str], catalog_table: Table, argv: list[str]
) -> None:
    code, _, err = run(capsys, "recordings", *argv, *WHERE)
    assert (code, err) == (0, "")


def test_table_or_stack_is_required(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "recordings", "list", "--region", REGION)
    assert code == 2
    assert "one of the arguments --table --stack is required" in err
    code, _, err = run(capsys, "recordings", "list", "--table", TABLE, "--stack", "Recording")
    assert code == 2
    assert "not allowed with argument" in err


def test_table_not_found_is_a_one_line_usage_error(
    capsys: pytest.CaptureFixture[str], catalog_table: Table
) -> None:
    code, out, err = run(
        capsys, "recordings", "show", TX_A, "--table", "no-such-table", "--region", REGION
    )
    assert (code, out) == (2, "")
    assert_one_line_error(
        err,
        "catalog table no-such-table not found in Region us-east-1",
        "ResourceNotFoundException",
    )


@pytest.mark.parametrize(
    "argv",
    [
        ["list", "--day", "2026-12-03"],
        ["show", TX_A],
        ["minutes", "--since", "2026-12-03", "--until", "2026-12-03"],
    ],
    ids=["list", "show", "minutes"],
)
def test_missing_credentials_is_a_one_line_usage_error(
    capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    code, out, err = run(capsys, "recordings", *argv, *WHERE)
    assert (code, out) == (2, "")
    assert_one_line_error(err, "no usable AWS credentials", "dynamodb:Query")


def test_missing_region_is_a_one_line_usage_error(
    capsys: pytest.CaptureFixture[str], aws_credentials: None
) -> None:
    code, _, err = run(capsys, "recordings", "list", "--table", TABLE)
    assert code == 2
    assert_one_line_error(err, "no AWS Region is configured")


def test_unknown_profile_is_a_one_line_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "recordings", "list", *WHERE, "--profile", "nobody")
    assert code == 2
    assert_one_line_error(err, "AWS profile nobody was not found")


def test_profile_supplies_region_and_credentials(
    capsys: pytest.CaptureFixture[str],
    catalog_table: Table,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    config = tmp_path / "config"
    config.write_text(
        "[profile operator]\nregion = us-east-1\n"
        "aws_access_key_id = AKIDOPERATOR\naws_secret_access_key = operator-secret\n"
    )
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)

    document = run_json(
        capsys,
        "recordings",
        "list",
        "--day",
        "2026-12-03",
        "--table",
        TABLE,
        "--profile",
        "operator",
    )
    assert [r["transactionId"] for r in document["recordings"]] == [TX_A, TX_A]
