"""The ``cdk-recording`` console script, run through ``main(argv)``.

``call`` talks to a local endpoint that answers like chime-sdk-voice (``--endpoint-url``), so the
request on the wire, its signature and the one-line outcome are all real.
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from cdk_recording import cli
from cdk_recording.cli import CommandError, main
from tests.cli.conftest import CALL_ID, DATA, SMA_ID, TRANSACTION_ID, FakeChime

if TYPE_CHECKING:
    from cdk_recording.cli import Subcommands

CALL = ["--sma-id", SMA_ID, "--transaction-id", TRANSACTION_ID]


def call(fake: FakeChime, action: str, *extra: str) -> list[str]:
    return ["call", action, *CALL, "--region", "us-east-1", "--endpoint-url", fake.url, *extra]


def assert_one_line_error(err: str, *fragments: str) -> None:
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("cdk-recording: error: ")
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment in lines[0]


# -- help ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["--help"], "report"),
        (["call", "--help"], "pause"),
        (["call", "start", "--help"], "Start recording the call."),
        (["call", "pause", "--help"], "audio is not captured until resume"),
        (["call", "resume", "--help"], "Resume a paused recording."),
        (["call", "stop", "--help"], "Stop the recording."),
        (["report", "--help"], "1 open findings"),
    ],
)
def test_help_for_each_subcommand_exits_0(
    capsys: pytest.CaptureFixture[str], argv: list[str], says: str
) -> None:
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: cdk-recording")
    assert says in " ".join(out.split())


@pytest.mark.parametrize("action", ["start", "pause", "resume", "stop"])
def test_call_help_documents_flags_and_asynchrony(
    capsys: pytest.CaptureFixture[str], action: str
) -> None:
    main(["call", action, "--help"])
    out = " ".join(capsys.readouterr().out.split())
    for flag in ("--sma-id", "--transaction-id", "--call-id", "--region", "--profile"):
        assert flag in out
    assert "--endpoint-url" in out
    assert "asynchronous" in out
    assert "chime:UpdateSipMediaApplicationCall" in out


def test_no_subcommand_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert "required: COMMAND" in capsys.readouterr().err


def test_a_subcommand_is_one_function_and_one_registration(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def run(args: argparse.Namespace) -> int:
        if args.fail:
            raise CommandError("it went\nwrong", exit_code=3)
        print("ran")
        return 0

    def add_probe(subcommands: Subcommands) -> None:
        parser = subcommands.add_parser("probe", help="a subcommand added by a test")
        parser.add_argument("--fail", action="store_true")
        parser.set_defaults(run=run)

    monkeypatch.setattr(cli, "SUBCOMMANDS", (*cli.SUBCOMMANDS, add_probe))
    assert main(["probe"]) == 0
    assert capsys.readouterr().out == "ran\n"
    assert main(["probe", "--fail"]) == 3
    assert_one_line_error(capsys.readouterr().err, "it went wrong")


# -- call ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("action", ["start", "pause", "resume", "stop"])
def test_call_accepted_prints_one_line_and_exits_0(
    capsys: pytest.CaptureFixture[str], aws_credentials: None, fake_chime: FakeChime, action: str
) -> None:
    assert main(call(fake_chime, action)) == 0
    captured = capsys.readouterr()
    assert captured.out == (
        f"accepted: {action} recording for transaction {TRANSACTION_ID} "
        "(asynchronous: the handler runs shortly)\n"
    )
    assert captured.err == ""
    (request,) = fake_chime.requests
    assert request.path == f"/sip-media-applications/{SMA_ID}/calls/{TRANSACTION_ID}"
    assert request.body == {"Arguments": {"recording": action}}


def test_call_id_is_sent_and_reported(
    capsys: pytest.CaptureFixture[str], aws_credentials: None, fake_chime: FakeChime
) -> None:
    assert main(call(fake_chime, "pause", "--call-id", CALL_ID)) == 0
    assert f"pause recording of call {CALL_ID} for transaction" in capsys.readouterr().out
    assert fake_chime.requests[0].body == {"Arguments": {"recording": "pause", "callId": CALL_ID}}


def test_region_flag_scopes_the_signature(
    aws_credentials: None, fake_chime: FakeChime, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["call", "stop", *CALL, "--region", "eu-west-2", "--endpoint-url", fake_chime.url]
    assert main(argv) == 0
    authorization = fake_chime.requests[0].headers["Authorization"]
    assert "/eu-west-2/chime/aws4_request" in authorization


def test_profile_flag_selects_the_profile(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    fake_chime: FakeChime,
    capsys: pytest.CaptureFixture[str],
) -> None:
    config = tmp_path / "config"
    config.write_text(
        "[profile agent]\nregion = us-west-2\n"
        "aws_access_key_id = AKIDAGENT\naws_secret_access_key = agent-secret\n"
    )
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    argv = ["call", "start", *CALL, "--profile", "agent", "--endpoint-url", fake_chime.url]
    assert main(argv) == 0
    assert "Credential=AKIDAGENT/" in fake_chime.requests[0].headers["Authorization"]


def test_endpoint_from_the_environment_is_used(
    monkeypatch: pytest.MonkeyPatch,
    aws_credentials: None,
    fake_chime: FakeChime,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_CHIME_SDK_VOICE", fake_chime.url)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    assert main(["call", "resume", *CALL]) == 0
    assert len(fake_chime.requests) == 1


def test_call_that_ended_is_a_one_line_error_exit_1(
    capsys: pytest.CaptureFixture[str], aws_credentials: None, fake_chime: FakeChime
) -> None:
    fake_chime.fail(404, "NotFoundException", "Call not found")
    assert main(call(fake_chime, "pause")) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert_one_line_error(
        captured.err, "call not found", "the call has ended, or the ids are wrong"
    )


def test_access_denied_is_a_one_line_error_naming_the_action(
    capsys: pytest.CaptureFixture[str], aws_credentials: None, fake_chime: FakeChime
) -> None:
    fake_chime.fail(
        403, "ForbiddenException", "User: arn:aws:iam::111111111111:user/x is not\nallowed"
    )
    assert main(call(fake_chime, "stop")) == 1
    assert_one_line_error(capsys.readouterr().err, "chime:UpdateSipMediaApplicationCall")


def test_other_service_error_is_a_one_line_error_with_code_and_message(
    capsys: pytest.CaptureFixture[str], aws_credentials: None, fake_chime: FakeChime
) -> None:
    fake_chime.fail(400, "BadRequestException", "Invalid transaction")
    assert main(call(fake_chime, "start")) == 1
    assert_one_line_error(capsys.readouterr().err, "BadRequestException: Invalid transaction")


def test_missing_credentials_is_a_one_line_error_exit_2(
    capsys: pytest.CaptureFixture[str], fake_chime: FakeChime
) -> None:
    assert main(call(fake_chime, "start")) == 2
    assert_one_line_error(capsys.readouterr().err, "no usable AWS credentials")
    assert fake_chime.requests == []


def test_missing_region_is_a_one_line_error_exit_2(
    capsys: pytest.CaptureFixture[str], aws_credentials: None
) -> None:
    assert main(["call", "start", *CALL]) == 2
    assert_one_line_error(capsys.readouterr().err, "no AWS Region is configured")


def test_unknown_profile_is_a_one_line_error_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["call", "start", *CALL, "--profile", "nobody"]) == 2
    assert_one_line_error(capsys.readouterr().err, "profile nobody was not found")


def test_unreachable_endpoint_is_a_one_line_error_exit_1(
    capsys: pytest.CaptureFixture[str],
    aws_credentials: None,
    closed_port_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    delays: list[float] = []
    monkeypatch.setattr("time.sleep", delays.append)
    argv = ["call", "start", *CALL, "--region", "us-east-1", "--endpoint-url", closed_port_url]
    assert main(argv) == 1
    assert_one_line_error(capsys.readouterr().err, "could not reach", "after 5 attempt(s)")
    assert len(delays) == 4


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["call", "start", "--sma-id", "", "--transaction-id", TRANSACTION_ID], "--sma-id"),
        (["call", "start", "--sma-id", SMA_ID, "--transaction-id", " "], "--transaction-id"),
        (["call", "start", *CALL, "--call-id", ""], "--call-id"),
        (["call", "start", "--sma-id", SMA_ID], "--transaction-id"),
        (["call", "rewind", *CALL], "invalid choice: 'rewind'"),
    ],
)
def test_bad_call_arguments_are_usage_errors(
    capsys: pytest.CaptureFixture[str], argv: list[str], says: str
) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert says in err
    assert "Traceback" not in err


# -- report -------------------------------------------------------------------------------------------


def test_report_with_open_findings_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", str(DATA / "findings-report.json")]) == 1
    out = capsys.readouterr().out
    assert out.startswith("# Validation Report")
    assert "AwsSolutions-SQS4" in out


@pytest.mark.parametrize("name", ["example", "empty"])
def test_report_without_open_findings_exits_0(
    capsys: pytest.CaptureFixture[str], name: str
) -> None:
    assert main(["report", str(DATA / f"{name}-report.json")]) == 0
    assert "Passed" in capsys.readouterr().out


def test_report_reads_cdk_out_by_default(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "cdk.out").mkdir()
    shutil.copy(DATA / "findings-report.json", tmp_path / "cdk.out" / "validation-report.json")
    monkeypatch.chdir(tmp_path)
    assert main(["report"]) == 1
    assert "Source: `cdk.out/validation-report.json`" in capsys.readouterr().out


def test_report_accepts_the_cloud_assembly_directory(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    shutil.copy(DATA / "example-report.json", tmp_path / "validation-report.json")
    assert main(["report", str(tmp_path)]) == 0
    assert "HIPAA.Security" in capsys.readouterr().out


def test_report_html_to_a_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    output = tmp_path / "report.html"
    argv = [
        "report",
        str(DATA / "findings-report.json"),
        "--format",
        "html",
        "--output",
        str(output),
    ]
    assert main(argv) == 1
    assert output.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert capsys.readouterr().out == (f"wrote {output}: 1 open finding(s) in 2 rule pack(s)\n")


def test_report_missing_file_is_a_one_line_error_exit_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert main(["report", str(tmp_path / "absent.json")]) == 2
    assert_one_line_error(capsys.readouterr().err, "absent.json: no such file", "cdk synth")


def test_report_default_path_missing_is_a_one_line_error_exit_2(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["report"]) == 2
    assert_one_line_error(capsys.readouterr().err, "cdk.out/validation-report.json: no such file")


def test_report_malformed_json_is_a_one_line_error_exit_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    broken = tmp_path / "validation-report.json"
    broken.write_text(
        (DATA / "findings-report.json").read_text(encoding="utf-8")[:200], encoding="utf-8"
    )
    assert main(["report", str(broken)]) == 2
    assert_one_line_error(capsys.readouterr().err, "not valid JSON (line")


def test_report_wrong_shape_is_a_one_line_error_naming_the_field(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    data = json.loads((DATA / "findings-report.json").read_text(encoding="utf-8"))
    del data["pluginReports"][0]["violations"][0]["ruleName"]
    wrong = tmp_path / "validation-report.json"
    wrong.write_text(json.dumps(data), encoding="utf-8")
    assert main(["report", str(wrong)]) == 2
    assert_one_line_error(
        capsys.readouterr().err,
        "not a validation report",
        "report.pluginReports[0].violations[0].ruleName: expected a string, got null",
    )


def test_report_unwritable_output_is_a_one_line_error_exit_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    output = tmp_path / "no-such-dir" / "report.md"
    assert main(["report", str(DATA / "example-report.json"), "--output", str(output)]) == 2
    assert_one_line_error(capsys.readouterr().err, "cannot write")


def test_report_unknown_format_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", "--format", "pdf"]) == 2
    assert "invalid choice: 'pdf'" in capsys.readouterr().err
