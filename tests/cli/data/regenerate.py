"""Regenerate the validation-report fixtures from real synths (not a test; run it by hand).

    python tests/cli/data/regenerate.py

* ``example-report.json``: the example app (``app.py``) as it stood when the fixture was taken,
  synthesised with findings allowed.
* ``findings-report.json``: an SQS queue without TLS enforcement, some findings acknowledged (with
  reasons holding HTML-special characters) and some open, in three packs.
* ``empty-report.json``: a clean synth; CDK lists no pack that has nothing to report.

Review the diff before committing new fixtures: tests assert on rules and reasons they contain.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_sqs as sqs

from cdk_recording import CompliancePack, acknowledge, apply_compliance

DATA = Path(__file__).resolve().parent
ROOT = DATA.parents[2]
REPORT = "validation-report.json"
ALLOW_FINDINGS = {"@aws-cdk/core:failSynthOnValidationErrors": False}


def _queue_app(outdir: Path, packs: list[CompliancePack], *, clean: bool) -> None:
    app = cdk.App(outdir=str(outdir), context=ALLOW_FINDINGS)
    stack = cdk.Stack(
        app, "FixtureStack", env=cdk.Environment(account="111111111111", region="us-east-1")
    )
    queue = sqs.Queue(stack, "Queue", enforce_ssl=clean, encryption=sqs.QueueEncryption.SQS_MANAGED)
    if not clean:
        acknowledge(
            queue,
            ["AwsSolutions::AwsSolutions-SQS3"],
            'This queue is itself the dead-letter queue <for> the "handler" & has none of its own.',
        )
        acknowledge(
            queue,
            ["Serverless::Serverless-SQSRedrivePolicy"],
            "A dead-letter queue needs no redrive policy: messages end here <b>by design</b>.",
        )
    apply_compliance(app, packs=packs)
    app.synth()


def _example_app(outdir: Path) -> None:
    # A child process: the jsii runtime already running here read its environment at start-up.
    env = {
        **os.environ,
        "CDK_OUTDIR": str(outdir),
        "CDK_CONTEXT_JSON": json.dumps(ALLOW_FINDINGS),
    }
    subprocess.run([sys.executable, "app.py"], cwd=ROOT, env=env, check=True)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        _queue_app(
            work / "findings",
            [
                CompliancePack.AWS_SOLUTIONS,
                CompliancePack.SERVERLESS,
                CompliancePack.HIPAA_SECURITY,
            ],
            clean=False,
        )
        _queue_app(work / "empty", [CompliancePack.HIPAA_SECURITY], clean=True)
        _example_app(work / "example")
        for name in ("findings", "empty", "example"):
            shutil.copyfile(work / name / REPORT, DATA / f"{name}-report.json")


if __name__ == "__main__":
    main()
