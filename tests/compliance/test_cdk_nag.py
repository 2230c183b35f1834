"""cdk-nag: zero open findings on every example stack, and every acknowledgement has a reason."""

from __future__ import annotations

from typing import Any

import pytest

from cdk_recording import CompliancePack
from tests.compliance.conftest import EXAMPLE_REGIONS

PACK_NAMES = {p.value for p in CompliancePack}


def _open_findings(report: dict[str, Any]) -> list[str]:
    return [
        f"{violation['ruleName']} at {construct['constructPath']}"
        for plugin in report["pluginReports"]
        for violation in plugin["violations"]
        for construct in violation["violatingConstructs"]
    ]


@pytest.mark.parametrize("region", EXAMPLE_REGIONS)
def test_example_stack_has_no_open_findings(
    region: str, example_synths: dict[str, dict[str, Any]]
) -> None:
    assert _open_findings(example_synths[region]["report"]) == []


@pytest.mark.parametrize("region", EXAMPLE_REGIONS)
def test_all_five_packs_ran(region: str, example_synths: dict[str, dict[str, Any]]) -> None:
    plugins = {p["pluginName"] for p in example_synths[region]["report"]["pluginReports"]}
    assert plugins == PACK_NAMES


def test_every_sma_region_has_no_open_findings(sma_region_synth: dict[str, Any]) -> None:
    assert _open_findings(sma_region_synth["report"]) == []


@pytest.mark.parametrize("region", EXAMPLE_REGIONS)
def test_every_acknowledgement_keeps_its_prefixed_id_and_reason(
    region: str, example_synths: dict[str, dict[str, Any]]
) -> None:
    suppressed = [
        s
        for plugin in example_synths[region]["report"]["pluginReports"]
        for s in plugin.get("suppressedViolations", [])
    ]
    assert suppressed, "the report should carry the audit trail of acknowledged findings"
    for finding in suppressed:
        assert "::" in finding["acknowledgedId"]
        assert len(finding["reason"].strip()) >= 40, finding["acknowledgedId"]


def test_acknowledgements_stay_on_library_constructs(
    example_synths: dict[str, dict[str, Any]],
) -> None:
    """The construct acknowledges only what it causes: nothing outside its own subtree."""
    for plugin in example_synths["us-east-1"]["report"]["pluginReports"]:
        for finding in plugin.get("suppressedViolations", []):
            for construct in finding["violatingConstructs"]:
                path = construct["constructPath"]
                assert path.startswith(
                    (
                        "CallRecordingExample/CallRecording/",
                        "CallRecordingExample/CdkRecordingChimeVoiceProvider/",
                    )
                ), path


@pytest.mark.parametrize("stack", ["Recording-transcription", "Recording-transcription-kms"])
def test_transcription_acknowledgements_stay_on_library_constructs_with_reasons(
    stack: str, sma_region_synth: dict[str, Any]
) -> None:
    suppressed = [
        (finding, construct["constructPath"])
        for plugin in sma_region_synth["report"]["pluginReports"]
        for finding in plugin.get("suppressedViolations", [])
        for construct in finding["violatingConstructs"]
        if construct["constructPath"].startswith(f"{stack}/")
    ]
    transcription = [p for _, p in suppressed if "/CallRecording/Transcription/" in p]
    assert transcription, "the transcription construct acknowledges the findings it causes"
    for finding, path in suppressed:
        assert path.startswith(
            (
                f"{stack}/CallRecording/",
                f"{stack}/Storage/",
                f"{stack}/CdkRecordingChimeVoiceProvider/",
            )
        ), path
        assert len(finding["reason"].strip()) >= 40, finding["acknowledgedId"]
