"""The example app through the real, pinned CDK CLI (what `make synth` runs), on the venv's Node."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


@pytest.mark.slow
def test_cdk_cli_synthesizes_the_example_in_us_west_2(tmp_path: Path) -> None:
    cdk = ROOT / "node_modules" / ".bin" / "cdk"
    if not cdk.exists():
        pytest.fail("node_modules is missing: run `make setup` (make test does) before pytest")
    env = {
        **os.environ,
        "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}",
        "JSII_NODE": str(BIN / "node"),
    }
    assert shutil.which("node", path=env["PATH"]) == str(BIN / "node")
    result = subprocess.run(
        [str(cdk), "synth", "--quiet", "-c", "region=us-west-2", "--output", str(tmp_path / "out")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Node 20 is end-of-life" not in result.stderr
    report = json.loads((tmp_path / "out" / "validation-report.json").read_text())
    assert all(p["conclusion"] == "success" for p in report["pluginReports"])
    template = json.loads((tmp_path / "out" / "CallRecordingExample.template.json").read_text())
    types = {r["Type"] for r in template["Resources"].values()}
    assert "Custom::ChimeSipMediaApplication" in types
