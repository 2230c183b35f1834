"""The built wheel carries the runtime code and synthesizes from a fresh virtual environment.

The constructs find their Lambda code from their own location, never the working directory, so an app
in another folder that pip-installed the library synthesizes too.
"""

from __future__ import annotations

import os
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent

APP = """
import json, os, sys
import aws_cdk as cdk
import cdk_recording
from cdk_recording import CallRecording, PhoneNumberSearch
assert "site-packages" in cdk_recording.__file__, cdk_recording.__file__
app = cdk.App(outdir="out")
stack = cdk.Stack(app, "Installed", env=cdk.Environment(account="123456789012", region="us-west-2"))
CallRecording(stack, "Recording", phone_numbers=[PhoneNumberSearch(area_code="206")])
app.synth()
from sma_recording.protocol import build_arguments
print(json.dumps(build_arguments("pause")))
from recording_processor import catalog, schema
assert "site-packages" in catalog.__file__, catalog.__file__
print(schema.NUMBER_INDEX, catalog.DAY_INDEX)
"""


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    dist = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--outdir", str(dist), str(ROOT)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    [built] = dist.glob("cdk_recording-*.whl")
    return built


def test_wheel_contains_runtime_code_and_typing_marker(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    for required in (
        "cdk_recording/py.typed",
        "cdk_recording/_lambda/recording/index.py",
        "cdk_recording/_lambda/layers/recording/python/sma_recording/protocol.py",
        "cdk_recording/_lambda/chime_provider/chime_provider/handler.py",
        "sma_recording/protocol.py",
        "sma_recording/telemetry.py",
        # The catalog read side `cdk-recording recordings` imports, and what it imports.
        "recording_processor/catalog.py",
        "recording_processor/schema.py",
        "recording_processor/_record.py",
        "recording_processor/py.typed",
        "cdk_recording/_lambda/recording_processor/recording_processor/handler.py",
    ):
        assert required in names, required
    assert not any("__pycache__" in n for n in names)
    assert not any(n.startswith("tests/") for n in names)


@pytest.mark.slow
def test_installed_wheel_synthesizes_an_app_outside_the_repository(
    wheel: Path, tmp_path: Path
) -> None:
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", str(wheel)],
        check=True,
        capture_output=True,
        timeout=600,
    )
    work = tmp_path / "elsewhere"
    work.mkdir()
    (work / "app.py").write_text(APP)
    env = {
        **os.environ,
        "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}",
        "JSII_NODE": str(BIN / "node"),
        "PYTHONPATH": "",
    }
    result = subprocess.run(
        [str(python), "app.py"],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert '{"recording": "pause"}' in result.stdout
    assert "byNumber byDay" in result.stdout
    # The console script reaches the catalog read side (imported when a recordings command runs)
    # and fails cleanly on the missing AWS configuration, without a traceback.
    no_aws = {name: value for name, value in env.items() if not name.startswith("AWS_")}
    no_aws |= {
        "AWS_CONFIG_FILE": str(tmp_path / "absent-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "absent-credentials"),
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    show = subprocess.run(
        [str(env_dir / "bin" / "cdk-recording"), "recordings", "show", "tx", "--table", "catalog"],
        cwd=work,
        env=no_aws,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert show.returncode == 2, show.stderr[-3000:]
    assert "no AWS Region is configured" in show.stderr
    assert "Traceback" not in show.stderr
    template = (work / "out" / "Installed.template.json").read_text()
    assert "Custom::ChimeSipMediaApplication" in template
    assets = list((work / "out").glob("asset.*/index.py"))
    assert assets, "the recording handler's code must be staged as an asset"
