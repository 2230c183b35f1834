"""``cdk-recording recordings transcript`` through ``main(argv)``, against moto's DynamoDB and S3.

The catalog is seeded as docs/catalog.md describes (``tests.cli.catalog_seed``), plus the
``TRANSCRIPT#<callId>`` items of the transcription contract; the transcripts are the fixtures under
tests/cli/data (constructed from the documented output schema). S3 access denials are played with
a botocore Stubber (moto does not enforce IAM by default).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber
from moto import mock_aws
from recording_processor import catalog, schema

from cdk_recording import _audit, _recordings_aws, _transcript_cli
from cdk_recording.cli import main
from tests.cli.catalog_seed import BUCKET, CALL_A1, CALL_B1, TX_A, TX_B, TX_C, TX_D, seed
from tests.cli.conftest import DATA
from tests.cli.test_cli import assert_one_line_error

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table
    from mypy_boto3_s3 import S3Client

TABLE = "recording-catalog"
REGION = "us-east-1"
WHERE = ["--table", TABLE, "--region", REGION]
JOB_A = "2026-12-03-20-27-09-123_5b1a6c2e_0c9e8d7f-a1b2c3d4e5f6"
JOB_B = "2026-12-04-09-00-00-500_1e2d3c4b_4a5b6c7d-0a1b2c3d4e5f"
REDACTED_A = f"transcripts/{TX_A}/redacted-analytics/{JOB_A}.json"
UNREDACTED_A = f"transcripts/{TX_A}/analytics/{JOB_A}.json"
KEY_B = f"transcripts/{TX_B}/{JOB_B}.json"
PCI_TYPES = ["CREDIT_DEBIT_NUMBER", "CREDIT_DEBIT_CVV", "CREDIT_DEBIT_EXPIRY", "PIN"]


def transcript_item(tx: str, call_id: str, **fields: Any) -> dict[str, Any]:
    return {
        "pk": f"TX#{tx}",
        "sk": f"TRANSCRIPT#{call_id}",
        "transactionId": tx,
        "callId": call_id,
        **fields,
    }


def item_a(**changes: Any) -> dict[str, Any]:
    """TX_A's LEG-A (inbound): Call Analytics, redacted and unredacted kept."""
    fields: dict[str, Any] = {
        "recordingKey": f"calls/2026/12/03/{TX_A}_{CALL_A1}.wav",
        "status": "completed",
        "jobName": JOB_A,
        "jobType": "call-analytics",
        "fallbackReason": None,
        "languageCode": "en-US",
        "channelRoles": {"0": "CUSTOMER", "1": "AGENT"},
        "redaction": {"entityTypes": PCI_TYPES, "output": "redacted_and_unredacted"},
        "transcriptKey": REDACTED_A,
        "unredactedTranscriptKey": UNREDACTED_A,
        "startedAt": "2026-12-03T20:30:00.000Z",
        "completedAt": "2026-12-03T20:34:00.000Z",
    }
    fields.update(changes)
    return transcript_item(TX_A, CALL_A1, **{k: v for k, v in fields.items() if v is not None})


def item_b(**changes: Any) -> dict[str, Any]:
    """TX_B's LEG-A (outbound: roles reversed): a standard job (language fallback), no redaction."""
    fields: dict[str, Any] = {
        "recordingKey": f"calls/2026/12/04/{TX_B}_{CALL_B1}.wav",
        "status": "completed",
        "jobName": JOB_B,
        "jobType": "standard",
        "fallbackReason": "language",
        "languageCode": "en-GB",
        "channelRoles": {"0": "AGENT", "1": "CUSTOMER"},
        "transcriptKey": KEY_B,
        "startedAt": "2026-12-04T09:10:00.000Z",
        "completedAt": "2026-12-04T09:12:00.000Z",
    }
    fields.update(changes)
    return transcript_item(TX_B, CALL_B1, **{k: v for k, v in fields.items() if v is not None})


@pytest.fixture
def aws(aws_credentials: None) -> Iterator[tuple[Table, S3Client]]:
    with mock_aws():
        session = boto3.session.Session()
        dynamodb = session.resource("dynamodb", region_name=REGION)
        dynamodb.create_table(**schema.create_table_arguments(TABLE))
        table = dynamodb.Table(TABLE)
        seed(table)
        table.put_item(Item=item_a())
        table.put_item(Item=item_b())
        s3 = session.client("s3", region_name=REGION)
        s3.create_bucket(Bucket=BUCKET)
        for key, name in (
            (REDACTED_A, "call-analytics-redacted"),
            (UNREDACTED_A, "call-analytics"),
            (KEY_B, "standard-segments"),
        ):
            body = (DATA / f"transcribe-{name}.json").read_bytes()
            s3.put_object(Bucket=BUCKET, Key=key, Body=body)
        yield table, s3


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["recordings", "transcript", *argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


# -- catalog read ---------------------------------------------------------------------------------------


def test_list_transcripts_reads_only_the_transcript_items(aws: tuple[Table, S3Client]) -> None:
    table, _ = aws
    items = catalog.list_transcripts(table, TX_A.upper())
    assert [item["sk"] for item in items] == [f"TRANSCRIPT#{CALL_A1}"]
    assert catalog.list_transcripts(table, TX_D) == []


# -- text -----------------------------------------------------------------------------------------------


def test_serves_the_redacted_transcript_by_default(
    capsys: pytest.CaptureFixture[str], aws: tuple[Table, S3Client]
) -> None:
    code, out, err = run(capsys, TX_A, *WHERE)
    assert (code, err) == (0, "")
    assert out == (
        f"call {CALL_A1} (call-analytics, en-US, redacted) s3://{BUCKET}/{REDACTED_A}\n"
        "[00:00:01.230] AGENT: Thank you for calling, how can I help?\n"
        "[00:00:04.100] CUSTOMER: I want to pay my bill, card [PII].\n"
        "[00:01:02.300] AGENT: Call me back on [PII], please.\n"
        "[01:02:05.040] CUSTOMER: Thanks, bye.\n"
    )


def test_redacted_flag_reads_the_same_served_transcript(
    capsys: pytest.CaptureFixture[str], aws: tuple[Table, S3Client]
) -> None:
    served = run(capsys, TX_A, *WHERE)
    assert served[0] == 0
    assert run(capsys, TX_A, "--redacted", *WHERE) == served


def test_unredacted_reads_the_original_and_masks_phone_numbers(
    capsys: pytest.CaptureFixture[str], aws: tuple[Table, S3Client]
) -> None:
    code, out, err = run(capsys, TX_A, "--unredacted", *WHERE)
    assert (code, err) == (0, "")
    assert out.splitlines()[0] == (
        f"call {CALL_A1} (call-analytics, en-US, unredacted) s3://{BUCKET}/{UNREDACTED_A}"
    )
    assert "[00:01:02.300] AGENT: Call me back on ******0100, please." in out.splitlines()
    assert "2065550100" not in out


def test_unmask_prints_numbers_in_full(
    capsys: pytest.CaptureFixture[str], aws: tuple[Table, S3Client]
) -> None:
    _, out, _ = run(capsys, TX_A, "--unredacted", "--unmask", *WHERE)
    assert "[00:01:02.300] AGENT: Call me back on 2065550100, please." in out.splitlines()


def test_standard_job_maps_channels_with_the_catalog_roles(
    capsys: pytest.CaptureFixture[str], aws: tuple[Table, S3Client]
) -> None:
    code, out, err = run(capsys, TX_B, *WHERE)
    assert (code, err) == (0, "")
    assert out == (
        f"call {CALL_B1} (standard, en-GB, unredacted) s3://{BUCKET}/{KEY_B}\n"
        "[00:00:04.860] AGENT: I've been on hold for an hour.\n"
        "[00:00:08.500] CUSTOMER: Sorry about that.\n"
    )


def test_every_transcribed_leg_is_printed_and_call_selects_one(
    capsys: pytest.CaptureFixture[str], aws: tuple[Table, S3Client]
) -> None:
    table, _ = aws
    second = "2f3e4d5c-6b7a-4899-8a1b-2c3d4e5f6a7b"  # CALL_A2, LEG-B: its REC# item names no bucket
    table.put_item(Item={**item_a(), "sk": f"TRANSCRIPT#{second}", "callId": second})
    _, both, _ = run(capsys, TX_A, *WHERE)
    headers = [line for line in both.splitlines() if line.startswith("call ")]
    assert [header.split()[1] for header in headers] == sorted([CALL_A1, second])
    assert "\n\ncall " in both  # a blank line between calls
    code, one, _ = run(capsys, TX_A, "--call", CALL_A1.upper(), *WHERE)
    assert code == 0
    assert [line.split()[1] for line in one.splitlines() if line.startswith("call ")] == [CALL_A1]


# -- json -----------------------------------------------------------------------------------------------


def test_json_output_carries_the_turns_and_the_job(
    capsys: pytest.CaptureFixture[str], aws: tuple[Table, S3Client]
) -> None:
    code, out, err = run(capsys, TX_B, "--output", "json", *WHERE)
    assert (code, err) == (0, "")
    document = json.loads(out)
    assert document["transactionId"] == TX_B
    (transcript,) = document["transcripts"]
    assert transcript == {
        "callId": CALL_B1,
        "status": "completed",
        "jobName": JOB_B,
        "jobType": "standard",
        "languageCode": "en-GB",
        "fallbackReason": "language",
        "channelRoles": {"0": "AGENT", "1": "CUSTOMER"},
        "failureReason": None,
        "redacted": False,
        "s3Uri": f"s3://{BUCKET}/{KEY_B}",
        "turns": [
            {
                "at": "00:00:04.860",
                "beginMillis": 4860,
                "speaker": "AGENT",
                "text": "I've been on hold for an hour.",
            },
            {
                "at": "00:00:08.500",
                "beginMillis": 8500,
                "speaker": "CUSTOMER",
                "text": "Sorry about that.",
            },
        ],
    }


def test_json_masks_phone_numbers_unless_unmask(
    capsys: pytest.CaptureFixture[str], aws: tuple[Table, S3Client]
) -> None:
    def agent_line(*flags: str) -> str:
        code, out, _ = run(capsys, TX_A, "--unredacted", "--output", "json", *flags, *WHERE)
        assert code == 0
        return str(json.loads(out)["transcripts"][0]["turns"][2]["text"])

    assert agent_line() == "Call me back on ******0100, please."
    assert agent_line("--unmask") == "Call me back on 2065550100, please."


def test_stack_output_names_the_catalog_table(
    capsys: pytest.CaptureFixture[str],
    aws: tuple[Table, S3Client],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    client = boto3.session.Session().client("cloudformation", region_name=REGION)
    stubber = Stubber(client)
    stack = {
        "StackName": "Recording",
        "CreationTime": "2026-12-01T00:00:00Z",
        "StackStatus": "UPDATE_COMPLETE",
        "Outputs": [{"OutputKey": "CallRecordingCatalogTableName0A1B2C3D", "OutputValue": TABLE}],
    }
    stubber.add_response("describe_stacks", {"Stacks": [stack]}, {"StackName": "Recording"})
    stubber.activate()
    monkeypatch.setattr(_recordings_aws, "cloudformation_client", lambda _s, _r: client)
    code, out, err = run(capsys, TX_B, "--stack", "Recording", "--region", REGION)
    assert (code, err) == (0, "")
    assert out.startswith(f"call {CALL_B1} (standard, en-GB, unredacted)")
    stubber.assert_no_pending_responses()


# -- not there, not finished ----------------------------------------------------------------------------


def test_no_transcript_is_exit_1(
    capsys: pytest.CaptureFixture[str], aws: tuple[Table, S3Client]
) -> None:
    code, out, err = run(capsys, TX_D, *WHERE)
    assert (code, out) == (1, "")
    assert_one_line_error(err, f"transaction {TX_D} has no transcript in catalog table {TABLE}")


def test_unknown_call_lists_the_transcribed_ones(
    capsys: pytest.CaptureFixture[str], aws: tuple[Table, S3Client]
) -> None:
    code, _, err = run(capsys, TX_A, "--call", TX_C, *WHERE)
    assert code == 1
    assert_one_line_error(err, f"--call {TX_C}", f"(transcribed: {CALL_A1})")


@pytest.mark.parametrize(
    ("status", "extra", "says"),
    [
        ("started", {}, f"call {CALL_B1} is started"),
        (
            "failed",
            {"failureReason": "The media format provided does not match the detected format."},
            f"call {CALL_B1} is failed: The media format provided",
        ),
    ],
)
def test_a_transcript_not_completed_is_exit_1(
    capsys: pytest.CaptureFixture[str],
    aws: tuple[Table, S3Client],
    status: str,
    extra: dict[str, str],
    says: str,
) -> None:
    table, _ = aws
    table.put_item(Item=item_b(status=status, transcriptKey=None, completedAt=None, **extra))
    code, out, err = run(capsys, TX_B, *WHERE)
    assert (code, out) == (1, "")
    assert_one_line_error(err, f"transaction {TX_B}: no completed transcript for", says)


def test_json_lists_an_unfinished_transcript_and_still_fails(
    capsys: pytest.CaptureFixture[str], aws: tuple[Table, S3Client]
) -> None:
    table, _ = aws
    table.put_item(Item=item_b(status="started", transcriptKey=None))
    code, out, err = run(capsys, TX_B, "--output", "json", *WHERE)
    assert code == 1
    (transcript,) = json.loads(out)["transcripts"]
    assert (transcript["status"], transcript["turns"]) == ("started", None)
    assert_one_line_error(err, "is started")


@pytest.mark.parametrize("output", ["text", "json"])
def test_the_task_token_of_a_waiting_execution_is_never_printed(
    capsys: pytest.CaptureFixture[str], aws: tuple[Table, S3Client], output: str
) -> None:
    table, _ = aws
    token = "AQCEAAAAKgAAAAMAAAAAAAAAAexample-task-token"
    table.put_item(
        Item=item_b(
            status="started",
            transcriptKey=None,
            taskToken=token,
            taskTokenAt="2026-12-04T09:05:00.000Z",
        )
    )
    code, out, err = run(capsys, TX_B, "--output", output, *WHERE)
    assert code == 1
    assert token not in out + err
    assert "taskToken" not in out + err


def test_redacted_without_redaction_is_exit_1(
    capsys: pytest.CaptureFixture[str], aws: tuple[Table, S3Client]
) -> None:
    code, out, err = run(capsys, TX_B, "--redacted", *WHERE)
    assert (code, out) == (1, "")
    assert_one_line_error(err, f"--redacted: call {CALL_B1} was transcribed without redaction")


def test_unredacted_when_only_the_redacted_was_kept_is_exit_1(
    capsys: pytest.CaptureFixture[str], aws: tuple[Table, S3Client]
) -> None:
    table, _ = aws
    redaction = {"entityTypes": PCI_TYPES, "output": "redacted"}
    table.put_item(Item=item_a(redaction=redaction, unredactedTranscriptKey=None))
    code, _, err = run(capsys, TX_A, "--unredacted", *WHERE)
    assert code == 1
    assert_one_line_error(err, "redaction output 'redacted': no unredacted transcript was kept")


def test_unredacted_of_a_transcript_never_redacted_is_the_transcript(
    capsys: pytest.CaptureFixture[str], aws: tuple[Table, S3Client]
) -> None:
    code, out, _ = run(capsys, TX_B, "--unredacted", *WHERE)
    assert code == 0
    assert "(standard, en-GB, unredacted)" in out


def test_redacted_and_unredacted_together_is_a_usage_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, _, err = run(capsys, TX_A, "--redacted", "--unredacted", *WHERE)
    assert code == 2
    assert "not allowed with argument" in err


# -- the audit entry ------------------------------------------------------------------------------------


def test_reading_a_transcript_is_audited_first(
    capsys: pytest.CaptureFixture[str], aws: tuple[Table, S3Client]
) -> None:
    table, _ = aws
    code, _, _ = run(capsys, TX_A, "--unredacted", *WHERE)
    assert code == 0
    [entry] = _audit.audit_entries(table, TX_A)
    assert entry.action == "transcript"
    assert entry.by.startswith("arn:aws:")
    assert entry.detail == {
        "buckets": [BUCKET],
        "keys": [UNREDACTED_A],
        "callIds": [CALL_A1],
        "redacted": [False],
    }


def test_a_refused_audit_write_reads_no_transcript(
    capsys: pytest.CaptureFixture[str],
    aws: tuple[Table, S3Client],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise ClientError(
            {"Error": {"Code": "AccessDeniedException", "Message": "no PutItem"}}, "PutItem"
        )

    def no_s3(args: Any) -> Any:
        raise AssertionError("nothing may be read without the audit entry")

    monkeypatch.setattr(_audit, "record", refuse)
    monkeypatch.setattr(_transcript_cli, "s3_client", no_s3)

    code, out, err = run(capsys, TX_A, *WHERE)

    assert (code, out) == (1, "")
    assert_one_line_error(
        err, "could not write the audit entry", "AccessDeniedException", "no transcript was read"
    )


def test_nothing_to_read_writes_no_entry(
    capsys: pytest.CaptureFixture[str], aws: tuple[Table, S3Client]
) -> None:
    table, _ = aws
    table.put_item(Item=item_a(status="started", completedAt=None))
    code, _, _ = run(capsys, TX_A, *WHERE)
    assert code == 1
    code, _, _ = run(capsys, TX_B, "--redacted", *WHERE)  # refused: never redacted
    assert code == 1
    assert _audit.audit_entries(table, TX_A) == []
    assert _audit.audit_entries(table, TX_B) == []


# -- S3 errors ------------------------------------------------------------------------------------------


def stub_s3_error(monkeypatch: pytest.MonkeyPatch, key: str, code: str, status: int) -> Stubber:
    client = boto3.session.Session().client("s3", region_name=REGION)
    stubber = Stubber(client)
    stubber.add_client_error(
        "get_object",
        service_error_code=code,
        service_message="Access Denied" if status == 403 else "The specified key does not exist.",
        http_status_code=status,
        expected_params={"Bucket": BUCKET, "Key": key},
    )
    stubber.activate()
    monkeypatch.setattr(_transcript_cli, "s3_client", lambda _args: client)
    return stubber


def test_unredacted_access_denied_names_the_missing_grant(
    capsys: pytest.CaptureFixture[str],
    aws: tuple[Table, S3Client],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    stubber = stub_s3_error(monkeypatch, UNREDACTED_A, "AccessDenied", 403)
    code, out, err = run(capsys, TX_A, "--unredacted", *WHERE)
    assert (code, out) == (1, "")
    assert_one_line_error(
        err,
        f"access denied reading the unredacted transcript s3://{BUCKET}/{UNREDACTED_A}",
        "the caller lacks grant_read_unredacted",
        "without --unredacted",
    )
    stubber.assert_no_pending_responses()


def test_served_transcript_access_denied_names_grant_read_transcripts(
    capsys: pytest.CaptureFixture[str],
    aws: tuple[Table, S3Client],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    stub_s3_error(monkeypatch, REDACTED_A, "AccessDenied", 403)
    code, _, err = run(capsys, TX_A, *WHERE)
    assert code == 1
    assert_one_line_error(err, "the caller lacks grant_read_transcripts")
    assert "grant_read_unredacted" not in err


def test_missing_transcript_object_is_exit_1(
    capsys: pytest.CaptureFixture[str], aws: tuple[Table, S3Client]
) -> None:
    _, s3 = aws
    s3.delete_object(Bucket=BUCKET, Key=REDACTED_A)
    code, _, err = run(capsys, TX_A, *WHERE)
    assert code == 1
    assert_one_line_error(err, f"transcript s3://{BUCKET}/{REDACTED_A} not found (NoSuchKey")


@pytest.mark.parametrize(
    ("body", "says"),
    [(b"<html/>", "is not JSON"), (b'{"jobName": "x"}', "not an Amazon Transcribe")],
)
def test_an_object_that_is_not_a_transcript_is_exit_1(
    capsys: pytest.CaptureFixture[str], aws: tuple[Table, S3Client], body: bytes, says: str
) -> None:
    _, s3 = aws
    s3.put_object(Bucket=BUCKET, Key=REDACTED_A, Body=body)
    code, _, err = run(capsys, TX_A, *WHERE)
    assert code == 1
    assert_one_line_error(err, f"s3://{BUCKET}/{REDACTED_A}", says)


def test_bucket_comes_from_the_transcript_item_when_it_names_one(
    capsys: pytest.CaptureFixture[str], aws: tuple[Table, S3Client]
) -> None:
    table, s3 = aws
    s3.create_bucket(Bucket="elsewhere")
    s3.put_object(
        Bucket="elsewhere",
        Key=KEY_B,
        Body=(DATA / "transcribe-standard-channels.json").read_bytes(),
    )
    table.put_item(Item=item_b(bucket="elsewhere"))
    code, out, _ = run(capsys, TX_B, *WHERE)
    assert code == 0
    assert f"s3://elsewhere/{KEY_B}" in out


# -- help -----------------------------------------------------------------------------------------------


def test_no_bucket_anywhere_is_exit_1(
    capsys: pytest.CaptureFixture[str], aws: tuple[Table, S3Client]
) -> None:
    table, _ = aws
    table.delete_item(Key={"pk": f"TX#{TX_B}", "sk": f"REC#{CALL_B1}"})
    code, _, err = run(capsys, TX_B, *WHERE)
    assert code == 1
    assert_one_line_error(err, f"transcript of call {CALL_B1}: the catalog names no bucket")


def test_help_documents_the_options(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--help")
    assert code == 0
    text = " ".join(out.split())
    for flag in (
        "TRANSACTION_ID",
        "--call",
        "--redacted",
        "--unredacted",
        "--output",
        "--unmask",
        "--table",
        "--stack",
        "--region",
        "--profile",
        "grant_read_unredacted",
    ):
        assert flag in text


def test_table_or_stack_is_required(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, TX_A)
    assert code == 2
    assert "one of the arguments --table --stack is required" in err
