"""Transcripts are records too: the transcription function locks and tags transcripts like the
recordings when retention is configured, and nothing more when it is not."""

from __future__ import annotations

import json
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Annotations, Match, Template

from cdk_recording import CallRecording, RetentionClass, TranscriptionOptions, apply_compliance
from tests.constructs.conftest import make_stack

SUPPORT = RetentionClass("support", ["+12065550199"], cdk.Duration.days(90), cdk.Duration.days(90))
LOCK: dict[str, Any] = {
    "object_lock_mode": s3.ObjectLockMode.GOVERNANCE,
    "object_lock_retention": cdk.Duration.days(365),
}
RETAIN_ACTIONS = [
    "s3:GetObjectRetention",
    "s3:PutObjectRetention",
    "s3:GetObjectTagging",
    "s3:GetObjectVersionTagging",
    "s3:PutObjectTagging",
    "s3:PutObjectVersionTagging",
]


def _build(**options: Any) -> tuple[cdk.Stack, Template]:
    stack = make_stack()
    CallRecording(stack, "Recording", transcription=TranscriptionOptions(), **options)
    return stack, Template.from_stack(stack)


@pytest.fixture(scope="module")
def locked() -> tuple[cdk.Stack, Template]:
    return _build(retention_classes=[SUPPORT], **LOCK)


def _function(template: Template, fragment: str) -> dict[str, Any]:
    [function] = [
        f["Properties"]
        for name, f in template.find_resources("AWS::Lambda::Function").items()
        if fragment in name
    ]
    return function


def _statements(template: Template, fragment: str) -> dict[str, dict[str, Any]]:
    [policy] = [
        p["Properties"]["PolicyDocument"]["Statement"]
        for name, p in template.find_resources("AWS::IAM::ManagedPolicy").items()
        if fragment in name
    ]
    return {s.get("Sid", ""): s for s in policy}


def test_the_function_gets_the_arrival_processors_retention_policy(
    locked: tuple[cdk.Stack, Template],
) -> None:
    template = locked[1]
    transcription = _function(template, "TranscriptionFunction")["Environment"]["Variables"]
    arrival = _function(template, "ArrivalFunction")["Environment"]["Variables"]
    assert transcription["RETENTION"] == arrival["RETENTION"]
    assert json.loads(transcription["RETENTION"])["mode"] == "GOVERNANCE"


def test_the_function_may_lock_and_tag_transcripts_only(
    locked: tuple[cdk.Stack, Template],
) -> None:
    statements = _statements(locked[1], "TranscriptionFunctionRolePolicy")
    retain = statements["RetainTranscripts"]
    assert retain["Action"] == RETAIN_ACTIONS
    assert retain["Resource"]["Fn::Join"][1][-1] == "/transcripts/*"
    s3_statements = [
        s for s in statements.values() if any(a.startswith("s3:") for a in _actions(s))
    ]
    assert s3_statements == [retain]
    assert "s3:BypassGovernanceRetention" not in json.dumps(statements)


def _actions(statement: dict[str, Any]) -> list[str]:
    actions = statement["Action"]
    return [actions] if isinstance(actions, str) else list(actions)


def test_without_object_lock_the_function_has_no_retention() -> None:
    _, template = _build()
    variables = _function(template, "TranscriptionFunction")["Environment"]["Variables"]
    assert "RETENTION" not in variables
    assert "RetainTranscripts" not in _statements(template, "TranscriptionFunctionRolePolicy")


def test_transcripts_follow_the_recordings_lifecycle_and_class_rules(
    locked: tuple[cdk.Stack, Template],
) -> None:
    locked[1].has_resource_properties(
        "AWS::S3::Bucket",
        {
            "LifecycleConfiguration": {
                "Rules": Match.array_with(
                    [
                        Match.object_like({"Id": "Transcripts", "Prefix": "transcripts/"}),
                        Match.object_like(
                            {
                                "Id": "TranscriptsRetentionClass-support",
                                "Prefix": "transcripts/",
                                "TagFilters": [{"Key": "retention-class", "Value": "support"}],
                                "ExpirationInDays": 90,
                            }
                        ),
                    ]
                )
            }
        },
    )


def test_the_transcripts_wildcard_is_acknowledged_on_the_function_role() -> None:
    app = cdk.App()
    stack = cdk.Stack(app, "Nag", env=cdk.Environment(account="123456789012", region="us-east-1"))
    CallRecording(
        stack,
        "Recording",
        transcription=TranscriptionOptions(),
        retention_classes=[SUPPORT],
        **LOCK,
    )
    apply_compliance(app)
    app.synth()
    errors = Annotations.from_stack(stack).find_error(
        "/Nag/Recording/Transcription/FunctionRole/*", Match.string_like_regexp("IAM5")
    )
    assert errors == []
