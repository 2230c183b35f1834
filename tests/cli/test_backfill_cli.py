"""``cdk-recording recordings transcribe`` (backfill): the input it builds, dry run and ``--yes``.

Step Functions and CloudFormation are played with botocore Stubbers (the request is validated
against the real API model); the estimate reads moto's DynamoDB, seeded as docs/catalog.md
describes (``tests.cli.catalog_seed``: delivered recordings on 2026-12-03 and 2026-12-04).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from botocore.stub import Stubber
from hypothesis import given
from hypothesis import strategies as st
from moto import mock_aws
from recording_processor import schema
from recording_processor._keys import DEFAULT_FOLDER, parse_recording_key

from cdk_recording import _backfill_cli, _recordings_aws
from cdk_recording._backfill_cli import MAX_DAYS, backfill_input, day_prefixes, execution_name
from cdk_recording.cli import main
from tests.cli.catalog_seed import CALL_A1, TX_A, seed
from tests.cli.test_cli import assert_one_line_error

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

TABLE = "recording-catalog"
REGION = "us-east-1"
MACHINE = "arn:aws:states:us-east-1:123456789012:stateMachine:TranscriptionBackfill0A1B2C3D"
EXECUTION = MACHINE.replace(":stateMachine:", ":execution:") + ":transcribe-20261201-20261205"
RANGE = ["--since", "2026-12-01", "--until", "2026-12-05"]


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["recordings", "transcribe", *argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


# -- the input ------------------------------------------------------------------------------------------


def test_one_day_is_one_folder() -> None:
    assert day_prefixes("recordings", date(2026, 12, 3), date(2026, 12, 3)) == [
        "recordings/2026/12/03/"
    ]


def test_month_and_year_boundaries() -> None:
    assert day_prefixes("calls", date(2026, 12, 30), date(2027, 1, 2)) == [
        "calls/2026/12/30/",
        "calls/2026/12/31/",
        "calls/2027/01/01/",
        "calls/2027/01/02/",
    ]
    assert day_prefixes("calls", date(2026, 1, 31), date(2026, 2, 1)) == [
        "calls/2026/01/31/",
        "calls/2026/02/01/",
    ]


def test_leap_day_is_included() -> None:
    folders = day_prefixes("recordings", date(2028, 2, 28), date(2028, 3, 1))
    assert folders == ["recordings/2028/02/28/", "recordings/2028/02/29/", "recordings/2028/03/01/"]


def test_a_leap_year_fits_and_a_day_more_does_not() -> None:
    assert len(day_prefixes("recordings", date(2028, 1, 1), date(2028, 12, 31))) == MAX_DAYS == 366
    with pytest.raises(ValueError, match="spans 367 days; at most 366 per execution"):
        day_prefixes("recordings", date(2028, 1, 1), date(2029, 1, 1))


def test_since_after_until_is_refused() -> None:
    with pytest.raises(ValueError, match="--since 2026-12-05 is after --until 2026-12-04"):
        day_prefixes("recordings", date(2026, 12, 5), date(2026, 12, 4))


def test_empty_prefix_is_the_service_default_folder() -> None:
    assert day_prefixes("", date(2026, 12, 3), date(2026, 12, 3)) == [
        f"{DEFAULT_FOLDER}/2026/12/03/"
    ]


def test_input_is_the_backfill_machine_document() -> None:
    assert backfill_input("recordings", date(2026, 12, 3), date(2026, 12, 4)) == {
        "prefixes": ["recordings/2026/12/03/", "recordings/2026/12/04/"]
    }


@given(
    since=st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 1, 1)),
    span=st.integers(min_value=1, max_value=MAX_DAYS),
)
def test_every_day_has_the_folder_its_recordings_are_written_under(since: date, span: int) -> None:
    until = since + timedelta(days=span - 1)
    folders = day_prefixes("recordings", since, until)
    assert len(folders) == len(set(folders)) == span
    assert folders == sorted(folders)
    # A recording of the last day, keyed as the service writes it, lies under the last folder.
    tx, call = TX_A, CALL_A1
    key = f"{folders[-1]}{until:%Y-%m-%d}-23-59-59-999_{tx}_{call}.wav"
    assert parse_recording_key(key, "recordings").day == until.isoformat()


def test_default_execution_name_is_the_range() -> None:
    assert execution_name(date(2026, 1, 1), date(2026, 12, 31)) == "transcribe-20260101-20261231"


# -- AWS seams ------------------------------------------------------------------------------------------


@pytest.fixture
def catalog_table(aws_credentials: None) -> Iterator[Table]:
    with mock_aws():
        dynamodb = boto3.session.Session().resource("dynamodb", region_name=REGION)
        dynamodb.create_table(**schema.create_table_arguments(TABLE))
        table = dynamodb.Table(TABLE)
        seed(table)
        yield table


class Machine:
    """A Stubber-backed Step Functions client, and the Regions it was made for."""

    def __init__(self) -> None:
        self.client = boto3.session.Session().client("stepfunctions", region_name=REGION)
        self.stubber = Stubber(self.client)
        self.stubber.activate()
        self.regions: list[str | None] = []

    def starts(self, name: str, document: dict[str, Any], arn: str = MACHINE) -> None:
        self.stubber.add_response(
            "start_execution",
            {"executionArn": EXECUTION, "startDate": datetime(2026, 12, 6, 10, 0, tzinfo=UTC)},
            {"stateMachineArn": arn, "name": name, "input": json.dumps(document)},
        )

    def refuses(self, code: str, status: int = 400) -> None:
        self.stubber.add_client_error(
            "start_execution",
            service_error_code=code,
            service_message=code,
            http_status_code=status,
        )


@pytest.fixture
def machine(monkeypatch: pytest.MonkeyPatch, aws_credentials: None) -> Machine:
    stub = Machine()

    def factory(args: Any, region: str | None) -> Any:
        stub.regions.append(region)
        return stub.client

    monkeypatch.setattr(_backfill_cli, "stepfunctions_client", factory)
    return stub


def stub_stack(monkeypatch: pytest.MonkeyPatch, outputs: dict[str, str], calls: int) -> Stubber:
    client = boto3.session.Session().client("cloudformation", region_name=REGION)
    stubber = Stubber(client)
    stack = {
        "StackName": "Recording",
        "CreationTime": "2026-12-01T00:00:00Z",
        "StackStatus": "UPDATE_COMPLETE",
        "Outputs": [{"OutputKey": key, "OutputValue": value} for key, value in outputs.items()],
    }
    for _ in range(calls):
        stubber.add_response("describe_stacks", {"Stacks": [stack]}, {"StackName": "Recording"})
    stubber.activate()
    monkeypatch.setattr(_recordings_aws, "cloudformation_client", lambda _s, _r: client)
    return stubber


EXAMPLE_OUTPUTS = {
    "CallRecordingCatalogTableName0A1B2C3D": TABLE,
    "CallRecordingTranscriptionTranscriptionStateMachineArn1A2B3C4D": MACHINE + "x",
    "CallRecordingTranscriptionTranscriptionBackfillStateMachineArn5E6F7A8B": MACHINE,
}


# -- dry run --------------------------------------------------------------------------------------------


def test_dry_run_prints_the_input_and_the_estimate_and_starts_nothing(
    capsys: pytest.CaptureFixture[str], catalog_table: Table, machine: Machine
) -> None:
    code, out, err = run(
        capsys, *RANGE, "--state-machine", MACHINE, "--table", TABLE, "--region", REGION
    )
    assert (code, err) == (0, "")
    assert machine.regions == []  # no client, so no StartExecution
    lines = out.splitlines()
    assert lines[:3] == [
        f"state machine: {MACHINE}",
        "execution name: transcribe-20261201-20261205",
        "input (5 day folders):",
    ]
    start = out.index("{")
    document, end = json.JSONDecoder().raw_decode(out, start)
    assert document == {"prefixes": [f"recordings/2026/12/0{d}/" for d in range(1, 6)]}
    tail = out[end:].split("\n")[1:]
    assert tail[0] == (
        "estimate: 2 delivered recording(s) in the catalog's day index for "
        "2026-12-01..2026-12-05; busiest day 2026-12-03 with 1; those already transcribed are "
        "skipped"
    )
    assert tail[1] == "dry run: nothing started; pass --yes to start the execution"


def test_dry_run_without_a_table_says_there_is_no_estimate(
    capsys: pytest.CaptureFixture[str], machine: Machine
) -> None:
    code, out, _ = run(capsys, *RANGE, "--state-machine", MACHINE)
    assert code == 0
    assert "estimate: not read (pass --table, or --stack, to count the recordings)" in out
    assert "dry run: nothing started" in out


def test_table_is_read_in_the_region_of_the_machine_arn(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    catalog_table: Table,
    machine: Machine,
) -> None:
    # No Region configured anywhere: the table is opened in the machine's Region, from its ARN.
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    monkeypatch.delenv("AWS_REGION", raising=False)
    code, out, err = run(capsys, *RANGE, "--state-machine", MACHINE, "--table", TABLE)
    assert (code, err) == (0, "")
    assert "estimate: 2 delivered recording(s)" in out


def test_an_explicit_region_wins_over_the_machine_arn(
    capsys: pytest.CaptureFixture[str], catalog_table: Table, machine: Machine
) -> None:
    # The table exists only in us-east-1: reading it in eu-west-1 finds no such table.
    code, _, err = run(
        capsys, *RANGE, "--state-machine", MACHINE, "--table", TABLE, "--region", "eu-west-1"
    )
    assert code != 0
    assert TABLE in err


def test_estimate_counts_only_delivered_recordings(
    capsys: pytest.CaptureFixture[str], catalog_table: Table, machine: Machine
) -> None:
    # 2026-12-03 holds TX_A's delivered LEG-A and its missing LEG-B (the sweep indexes both).
    code, out, _ = run(
        capsys,
        "--since",
        "2026-12-03",
        "--until",
        "2026-12-03",
        "--state-machine",
        MACHINE,
        "--table",
        TABLE,
        "--region",
        REGION,
    )
    assert code == 0
    assert "estimate: 1 delivered recording(s)" in out


def test_stack_names_the_machine_and_the_table(
    capsys: pytest.CaptureFixture[str],
    catalog_table: Table,
    machine: Machine,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    stubber = stub_stack(monkeypatch, EXAMPLE_OUTPUTS, calls=2)
    code, out, err = run(capsys, *RANGE, "--stack", "Recording", "--region", REGION)
    assert (code, err) == (0, "")
    assert f"state machine: {MACHINE}" in out.splitlines()
    assert "estimate: 2 delivered recording(s)" in out
    stubber.assert_no_pending_responses()


def test_stack_without_a_backfill_output_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], machine: Machine, monkeypatch: pytest.MonkeyPatch
) -> None:
    stub_stack(monkeypatch, {"CatalogTableName": TABLE}, calls=1)
    code, out, err = run(capsys, *RANGE, "--stack", "Recording", "--region", REGION)
    assert (code, out) == (2, "")
    assert_one_line_error(
        err,
        "--stack Recording: no output key starts with TranscriptionBackfillStateMachineArn",
        "pass --state-machine",
    )


# -- --yes ----------------------------------------------------------------------------------------------


def test_yes_starts_the_execution_with_the_input(
    capsys: pytest.CaptureFixture[str], machine: Machine
) -> None:
    document = backfill_input("recordings", date(2026, 12, 1), date(2026, 12, 5))
    machine.starts("transcribe-20261201-20261205", document)
    code, out, err = run(capsys, *RANGE, "--state-machine", MACHINE, "--yes")
    assert (code, err) == (0, "")
    assert out.splitlines()[-1] == f"started: {EXECUTION} at 2026-12-06T10:00:00+00:00"
    assert "dry run" not in out
    assert machine.regions == ["us-east-1"]  # the machine's Region, from its ARN
    machine.stubber.assert_no_pending_responses()


def test_yes_with_a_name_prefix_and_region(
    capsys: pytest.CaptureFixture[str], machine: Machine
) -> None:
    arn = MACHINE.replace("us-east-1", "eu-west-1")
    document = backfill_input("calls", date(2026, 12, 31), date(2027, 1, 1))
    machine.starts("rerun-2", document, arn)
    code, _, err = run(
        capsys,
        "--since",
        "2026-12-31",
        "--until",
        "2027-01-01",
        "--prefix",
        "/calls/",
        "--state-machine",
        arn,
        "--name",
        "rerun-2",
        "--yes",
    )
    assert (code, err) == (0, "")
    assert machine.regions == ["eu-west-1"]
    machine.stubber.assert_no_pending_responses()


@pytest.mark.parametrize(
    ("error", "code", "says"),
    [
        ("ExecutionAlreadyExists", 1, "an execution named transcribe-20261201-20261205"),
        ("StateMachineDoesNotExist", 2, f"state machine {MACHINE} cannot be started"),
        ("AccessDeniedException", 1, "the caller needs states:StartExecution"),
        ("ExecutionLimitExceeded", 1, "too many running executions"),
        ("InvalidExecutionInput", 1, "StartExecution failed (InvalidExecutionInput"),
    ],
)
def test_start_errors_are_one_line(
    capsys: pytest.CaptureFixture[str], machine: Machine, error: str, code: int, says: str
) -> None:
    machine.refuses(error)
    exit_code, _, err = run(capsys, *RANGE, "--state-machine", MACHINE, "--yes")
    assert exit_code == code
    assert_one_line_error(err, says)


# -- arguments ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["--since", "2026-1-1", "--until", "2026-01-02"], "'2026-1-1' is not a day"),
        ([*RANGE, "--state-machine", "arn:aws:lambda:x"], "is not a state machine ARN"),
        ([*RANGE, "--state-machine", MACHINE, "--name", "a b"], "is not an execution name"),
        ([*RANGE, "--state-machine", MACHINE, "--prefix", "a//b"], "is not a recording prefix"),
        (RANGE, "one of the arguments --stack --state-machine is required"),
        (["--until", "2026-12-05", "--state-machine", MACHINE], "--since"),
    ],
)
def test_invalid_arguments_are_usage_errors(
    capsys: pytest.CaptureFixture[str], argv: list[str], says: str
) -> None:
    code, _, err = run(capsys, *argv)
    assert code == 2
    assert says in err


@pytest.mark.parametrize(
    ("since", "until", "says"),
    [
        ("2026-12-05", "2026-12-04", "--since 2026-12-05 is after --until 2026-12-04"),
        ("2028-01-01", "2029-01-01", "spans 367 days; at most 366 per execution"),
    ],
)
def test_bad_ranges_are_one_line_usage_errors(
    capsys: pytest.CaptureFixture[str], machine: Machine, since: str, until: str, says: str
) -> None:
    code, out, err = run(capsys, "--since", since, "--until", until, "--state-machine", MACHINE)
    assert (code, out) == (2, "")
    assert_one_line_error(err, says)
    assert machine.regions == []


def test_help_documents_dry_run_and_the_outputs(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--help")
    assert code == 0
    text = " ".join(out.split())
    for says in (
        "--since",
        "--until",
        "--yes",
        "--prefix",
        "--stack",
        "--state-machine",
        "--table",
        "TranscriptionBackfillStateMachineArn",
        "Nothing starts without --yes",
    ):
        assert says in text
