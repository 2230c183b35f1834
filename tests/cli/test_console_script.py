"""The installed ``cdk-recording`` script, run as a user runs it (a child process)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli.conftest import DATA

SCRIPT = Path(sys.executable).parent / "cdk-recording"


@pytest.mark.skipif(not SCRIPT.exists(), reason="the package is not installed in this environment")
def test_script_exit_status_is_main_return_value() -> None:
    result = subprocess.run(
        [str(SCRIPT), "report", str(DATA / "findings-report.json")],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 1
    assert "AwsSolutions-SQS4" in result.stdout


def test_control_and_cli_do_not_load_the_cdk() -> None:
    probe = "import sys, cdk_recording.cli; print('aws_cdk' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120
    )
    assert result.stdout.strip() == "False"
