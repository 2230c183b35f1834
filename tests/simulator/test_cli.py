"""``cdk-recording simulate``: the console script around the simulator."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import wave
from pathlib import Path

import pytest

from cdk_recording.cli import main


def one_line_error(err: str, *fragments: str) -> None:
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("cdk-recording: error: ")
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def test_default_call_writes_a_stereo_wav_under_the_documented_layout(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """§3.4: ``simulate --out DIR`` writes DIR/<bucket>/<prefix>/YYYY/MM/DD/<stamp>_<tx>_<call>.wav
    (stereo, §3.2) with a metadata sidecar, and prints the billable minutes (§9)."""
    assert main(["simulate", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    [wav] = list(tmp_path.rglob("*.wav"))
    relative = wav.relative_to(tmp_path).as_posix()
    assert relative.startswith(
        "callrecordingexample-recordings/recordings/2026/11/24/2026-11-24-09-30-00-000_"
    )
    with wave.open(str(wav)) as reader:
        assert (reader.getnchannels(), reader.getsampwidth(), reader.getframerate()) == (2, 2, 8000)
    sidecar = json.loads(wav.with_name(wav.name + ".metadata.json").read_text())
    assert sidecar["Metadata"]["recording-audio-file-format"] == "audio/wav"
    assert "LEG-A: 2 min (90.180 s)" in out
    assert "total: 2 min" in out
    assert f"written to: {wav}" in out
    assert "problems: none" in out


def test_without_out_nothing_is_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without --out the recordings are listed, not rendered or written."""
    monkeypatch.chdir(tmp_path)
    assert main(["simulate"]) == 0
    assert "(not written: no output folder)" in capsys.readouterr().out
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("name", ["busy-callee", "no-access-to-destination"])
def test_builtin_scenario_by_name(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    """A built-in scenario runs by its name."""
    assert main(["simulate", name]) == 0
    assert f"scenario:    {name}" in capsys.readouterr().out


def test_scenario_file_and_config_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A scenario file and ``--config @file`` (here: DTMF control, recording LEG-B only)."""
    scenario = tmp_path / "call.json"
    scenario.write_text(
        json.dumps(
            {
                "version": 1,
                "steps": [
                    {"at": 0, "inboundCall": {"from": "+14255550199", "to": "+12065550100"}},
                    {"at": 20, "digits": {"leg": "LEG-B", "keys": "*1"}},
                    {"at": 70, "hangup": {"leg": "LEG-B"}},
                ],
            }
        )
    )
    config = tmp_path / "config.json"
    config.write_text(
        json.dumps(
            {
                "version": 1,
                "application": "test",
                "destination": {"bucket": "my-recordings"},
                "leg": "LEG-B",
                "bridge": {"uri": "+12065550142"},
                "dtmf": {"pause": "*1", "resume": "*2"},
            }
        )
    )
    assert main(["simulate", str(scenario), "--config", f"@{config}"]) == 0
    out = capsys.readouterr().out
    assert "s3://my-recordings/Amazon-Chime-SMA-Call-Recordings/2026/11/24/" in out
    assert "LEG-B: 2 min (67.000 s)" in out
    assert "DIGITS_RECEIVED '*1' -> PauseCallRecording" in out


def test_json_report(capsys: pytest.CaptureFixture[str]) -> None:
    """``--json`` prints the whole report, every event and response included."""
    assert main(["simulate", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["billableMinutes"] == 2
    assert report["invocations"][0]["event"]["InvocationEventType"] == "NEW_INBOUND_CALL"


def test_custom_handler_gets_the_config_in_its_environment(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``--handler module:function`` runs from the current directory; ``--config`` is its
    SMA_RECORDING_CONFIG for the run. A handler whose responses are rejected exits 1."""
    (tmp_path / "my_sma.py").write_text(
        "import os\n"
        "def handler(event, context):\n"
        "    assert os.environ['SMA_RECORDING_CONFIG'] == '{\"x\": 1}'\n"
        "    return {'SchemaVersion': '1.0', 'Actions': [{'Type': 'Dance'}]}\n"
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.delitem(sys.modules, "my_sma", raising=False)
    assert main(["simulate", "--handler", "my_sma:handler", "--config", '{"x": 1}']) == 1
    out = capsys.readouterr().out
    assert "handler:     my_sma:handler" in out
    assert "invalid-response" in out
    assert "InvalidActionType" in out


@pytest.mark.parametrize(
    ("argv", "fragments"),
    [
        (["simulate", "absent.json"], ("invalid scenario absent.json", "cannot read the file")),
        (["simulate", "--config", "{nope"], ("--config is not valid JSON",)),
        (
            ["simulate", "--config", "@absent.json"],
            ("cannot read the configuration file absent.json",),
        ),
        (
            ["simulate", "--config", '{"version": 1}'],
            ("application is required", "destination is required"),
        ),
        (
            ["simulate", "--handler", "nowhere_at_all:handler"],
            ("cannot import module 'nowhere_at_all'",),
        ),
        (["simulate", "--handler", "json"], ("handler must be 'module:function'",)),
        (["simulate", "--handler", "json:nothing"], ("'json' has no attribute 'nothing'",)),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    argv: list[str],
    fragments: tuple[str, ...],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Bad input: exit 2 with one line on stderr saying what is wrong."""
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    one_line_error(capsys.readouterr().err, *fragments)


def test_invalid_scenario_names_the_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An invalid scenario file is reported naming the field."""
    scenario = tmp_path / "bad.json"
    scenario.write_text(
        json.dumps(
            {
                "version": 1,
                "steps": [{"at": 0, "inboundCall": {"from": "123", "to": "+12065550100"}}],
            }
        )
    )
    assert main(["simulate", str(scenario)]) == 2
    one_line_error(capsys.readouterr().err, "steps[0].inboundCall.from must be an E.164 number")


def test_unwritable_output_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An --out that is not a folder is bad input (exit 2), not a crash."""
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    assert main(["simulate", "--out", str(blocker)]) == 2
    one_line_error(capsys.readouterr().err, "cannot write the recordings")


def test_help_lists_simulate(capsys: pytest.CaptureFixture[str]) -> None:
    """The subcommand is registered and documents its exit status."""
    assert main(["--help"]) == 0
    assert "simulate" in capsys.readouterr().out
    assert main(["simulate", "--help"]) == 0
    out = capsys.readouterr().out
    assert "--handler MODULE:FUNCTION" in out
    assert "exit status: 0 the call ran without problems" in out


def test_console_script(tmp_path: Path) -> None:
    """The installed ``cdk-recording`` script runs the simulator end to end."""
    script = shutil.which("cdk-recording", path=str(Path(sys.executable).parent))
    assert script is not None
    result = subprocess.run(
        [script, "simulate", "--out", str(tmp_path)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert "total: 2 min" in result.stdout
    assert len(list(tmp_path.rglob("*.wav"))) == 1
