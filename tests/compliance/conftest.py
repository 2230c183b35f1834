"""The example app and a no-number variant, synthesized once per session per Region."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_s3 as s3

from app import example_stack
from cdk_recording import (
    SMA_REGIONS,
    CallRecording,
    RecordingEncryption,
    RecordingStorage,
    RetentionClass,
    TranscriptionOptions,
    apply_compliance,
)

EXAMPLE_REGIONS = ("us-east-1", "us-west-2")


def _synth(outdir: Path, build: Any) -> dict[str, Any]:
    app = cdk.App(
        outdir=str(outdir),
        context={"@aws-cdk/core:failSynthOnValidationErrors": False},
    )
    build(app)
    apply_compliance(app)
    app.synth()
    report: dict[str, Any] = json.loads((outdir / "validation-report.json").read_text())
    return {"outdir": outdir, "report": report}


@pytest.fixture(scope="session")
def example_synths(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    """The example app (one ordered number) in each PSTN Region."""
    return {
        region: _synth(
            tmp_path_factory.mktemp(f"example-{region}"),
            lambda app, region=region: example_stack(app, region),
        )
        for region in EXAMPLE_REGIONS
    }


@pytest.fixture(scope="session")
def sma_region_synth(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One stack per SMA Region (no phone numbers: those exist only in the PSTN Regions), a stack
    with SSE-KMS storage and the access trail, and two with post-call transcription (SSE-S3 and
    SSE-KMS storage; the SSE-KMS one also with Object Lock and retention classes)."""

    def build(app: cdk.App) -> None:
        for region in SMA_REGIONS:
            stack = cdk.Stack(
                app,
                f"Recording-{region}",
                env=cdk.Environment(account="123456789012", region=region),
            )
            CallRecording(stack, "CallRecording")
        kms_stack = cdk.Stack(
            app, "Recording-kms", env=cdk.Environment(account="123456789012", region="us-east-1")
        )
        storage = RecordingStorage(kms_stack, "Storage", encryption=RecordingEncryption.KMS)
        CallRecording(
            kms_stack,
            "CallRecording",
            storage=storage,
            phone_numbers=["+12065550100"],
            access_trail=True,
        )
        for name, encryption in (
            ("Recording-transcription", None),
            ("Recording-transcription-kms", RecordingEncryption.KMS),
        ):
            transcribed = cdk.Stack(
                app, name, env=cdk.Environment(account="123456789012", region="us-east-1")
            )
            # Records management in full on the KMS one: Object Lock applied at arrival, classes
            # by number with their lifecycle rules, legal hold at arrival, transcripts retained.
            lock: dict[str, Any] = (
                {
                    "object_lock_mode": s3.ObjectLockMode.GOVERNANCE,
                    "object_lock_retention": cdk.Duration.days(365),
                    "retention_classes": [
                        RetentionClass(
                            "trading",
                            ["+12065550100"],
                            retain_for=cdk.Duration.days(2555),
                            delete_after=cdk.Duration.days(2560),
                        ),
                        RetentionClass(
                            "support",
                            ["+12065550199"],
                            retain_for=cdk.Duration.days(90),
                            delete_after=cdk.Duration.days(90),
                        ),
                    ],
                }
                if encryption is RecordingEncryption.KMS
                else {}
            )
            CallRecording(
                transcribed,
                "CallRecording",
                storage=RecordingStorage(transcribed, "Storage", encryption=encryption, **lock),
                transcription=TranscriptionOptions(keep_unredacted=True, summarization=True),
            )

    return _synth(tmp_path_factory.mktemp("sma-regions"), build)


def template_path(outdir: Path, stack_name: str) -> Path:
    return outdir / f"{stack_name}.template.json"
