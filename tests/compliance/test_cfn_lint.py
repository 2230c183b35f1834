"""cfn-lint over every synthesized template, in the Region it targets.

W3005 (a DependsOn that is also implied by a Ref/GetAtt) is ignored: aws-cdk-lib emits it for custom
resources and it changes nothing about the deployment.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from cdk_recording import SMA_REGIONS
from tests.compliance.conftest import EXAMPLE_REGIONS, template_path

IGNORED = "W3005"
CFN_LINT = Path(sys.executable).parent / "cfn-lint"


def _lint(template: Path, region: str) -> list[dict[str, Any]]:
    result = subprocess.run(
        [
            str(CFN_LINT),
            "--format",
            "json",
            "--regions",
            region,
            "--ignore-checks",
            IGNORED,
            "--",
            str(template),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode in (0, 2, 4, 6, 8, 10, 12, 14), result.stderr
    findings: list[dict[str, Any]] = json.loads(result.stdout or "[]")
    return findings


@pytest.mark.parametrize("region", EXAMPLE_REGIONS)
def test_example_template_lints_clean(
    region: str, example_synths: dict[str, dict[str, Any]]
) -> None:
    path = template_path(example_synths[region]["outdir"], "CallRecordingExample")
    assert _lint(path, region) == []


@pytest.mark.parametrize("region", SMA_REGIONS)
def test_template_lints_clean_in_every_sma_region(
    region: str, sma_region_synth: dict[str, Any]
) -> None:
    path = template_path(sma_region_synth["outdir"], f"Recording-{region}")
    errors = [f for f in _lint(path, region) if f["Level"] == "Error"]
    assert errors == []


def test_kms_storage_template_lints_clean(sma_region_synth: dict[str, Any]) -> None:
    """SSE-KMS storage must not close a dependency cycle (E3004) through the key policy."""
    path = template_path(sma_region_synth["outdir"], "Recording-kms")
    findings = _lint(path, "us-east-1")
    assert [f for f in findings if f["Level"] == "Error"] == []


def test_native_sma_type_in_us_west_2_is_what_cfn_lint_rejects(
    example_synths: dict[str, dict[str, Any]], tmp_path: Path
) -> None:
    """The lint can fail: the native SMA type moved into a us-west-2 template is an E3006 error."""
    east = template_path(example_synths["us-east-1"]["outdir"], "CallRecordingExample")
    moved = tmp_path / "moved.template.json"
    moved.write_text(east.read_text())
    rules = {f["Rule"]["Id"] for f in _lint(moved, "us-west-2")}
    assert "E3006" in rules


@pytest.mark.parametrize("stack", ["Recording-transcription", "Recording-transcription-kms"])
def test_transcription_templates_lint_clean(stack: str, sma_region_synth: dict[str, Any]) -> None:
    """The state machines, roles and rule of post-call transcription, with both encryptions."""
    path = template_path(sma_region_synth["outdir"], stack)
    assert [f for f in _lint(path, "us-east-1") if f["Level"] == "Error"] == []
