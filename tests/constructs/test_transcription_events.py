"""The rules that hand Transcribe's job state change events to the transcription function, and
the function's permission to return a waiting execution's task token."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from aws_cdk.assertions import Template
from recording_processor.transcription._wake import read_job_event

from cdk_recording import CallRecording, TranscriptionOptions
from tests.constructs.conftest import template_of

#: The two event shapes of post-call.md §2.5, as EventBridge delivers them.
STANDARD_EVENT = {
    "version": "0",
    "id": "1f0e2d3c-0000-4000-8000-000000000001",
    "detail-type": "Transcribe Job State Change",
    "source": "aws.transcribe",
    "account": "123456789012",
    "time": "2026-11-24T12:15:00Z",
    "region": "us-east-1",
    "resources": [],
    "detail": {"TranscriptionJobName": "a_0123456789abcdef", "TranscriptionJobStatus": "COMPLETED"},
}
CALL_ANALYTICS_EVENT = {
    **STANDARD_EVENT,
    "detail-type": "Call Analytics Job State Change",
    "detail": {
        "JobName": "b_0123456789abcdef",
        "JobStatus": "FAILED",
        "FailureReason": "Unsupported audio",
    },
}


@pytest.fixture(scope="module")
def template() -> Template:
    return template_of(
        lambda stack: CallRecording(stack, "CallRecording", transcription=TranscriptionOptions())
    )


def _rule(template: Template, fragment: str) -> dict[str, Any]:
    found = [r for k, r in template.find_resources("AWS::Events::Rule").items() if fragment in k]
    assert len(found) == 1, fragment
    return dict(found[0]["Properties"])


def _matches(pattern: dict[str, Any], event: dict[str, Any]) -> bool:
    """EventBridge's matching for the plain value lists these patterns use."""
    for field, allowed in pattern.items():
        value = event.get(field)
        if isinstance(allowed, dict):
            if not isinstance(value, dict) or not _matches(allowed, value):
                return False
        elif value not in allowed:
            return False
    return True


def _render(target: dict[str, Any], event: dict[str, Any]) -> dict[str, Any]:
    """The function's input: the target's input transformer applied to ``event``."""
    transformer = target["InputTransformer"]
    template = transformer["InputTemplate"]
    for name, path in transformer["InputPathsMap"].items():
        value: Any = event
        for part in path.removeprefix("$.").split("."):
            value = value[part]
        template = template.replace(f"<{name}>", json.dumps(value))
    return dict(json.loads(template))


@pytest.mark.parametrize(
    ("fragment", "detail_type", "status_field", "event"),
    [
        (
            "StandardJobEventRule",
            "Transcribe Job State Change",
            "TranscriptionJobStatus",
            STANDARD_EVENT,
        ),
        (
            "CallAnalyticsJobEventRule",
            "Call Analytics Job State Change",
            "JobStatus",
            CALL_ANALYTICS_EVENT,
        ),
    ],
)
def test_rule_matches_finished_jobs_of_its_type_on_the_default_bus(
    template: Template,
    fragment: str,
    detail_type: str,
    status_field: str,
    event: dict[str, Any],
) -> None:
    rule = _rule(template, fragment)
    assert "EventBusName" not in rule
    assert rule["EventPattern"] == {
        "source": ["aws.transcribe"],
        "detail-type": [detail_type],
        "detail": {status_field: ["FAILED", "COMPLETED"]},
    }
    assert _matches(rule["EventPattern"], event)
    running = {**event, "detail": {**event["detail"], status_field: "IN_PROGRESS"}}
    assert not _matches(rule["EventPattern"], running)
    other = {**event, "detail-type": "Vocabulary State Change"}
    assert not _matches(rule["EventPattern"], other)


@pytest.mark.parametrize(
    ("fragment", "event"),
    [("StandardJobEventRule", STANDARD_EVENT), ("CallAnalyticsJobEventRule", CALL_ANALYTICS_EVENT)],
)
def test_rule_invokes_the_function_with_a_job_event_the_runtime_reads(
    template: Template, fragment: str, event: dict[str, Any]
) -> None:
    (target,) = _rule(template, fragment)["Targets"]
    assert "TranscriptionFunction" in target["Arn"]["Fn::GetAtt"][0]
    assert "JobEventDeadLetters" in target["DeadLetterConfig"]["Arn"]["Fn::GetAtt"][0]
    assert target["RetryPolicy"] == {"MaximumEventAgeInSeconds": 3600, "MaximumRetryAttempts": 20}
    payload = _render(target, event)
    assert payload["action"] == "job-event"
    job = read_job_event(payload)
    assert job is not None
    name_field = "JobName" if "JobName" in event["detail"] else "TranscriptionJobName"
    assert job.job_name == event["detail"][name_field]


def test_eventbridge_may_invoke_the_function_for_these_rules_only(template: Template) -> None:
    permissions = [
        p["Properties"]
        for k, p in template.find_resources("AWS::Lambda::Permission").items()
        if "JobEventRule" in k
    ]
    assert len(permissions) == 2
    for permission in permissions:
        assert permission["Principal"] == "events.amazonaws.com"
        assert "JobEventRule" in permission["SourceArn"]["Fn::GetAtt"][0]


def test_dead_letter_queue_accepts_only_these_rules_and_is_kept(template: Template) -> None:
    queues = {
        k: q for k, q in template.find_resources("AWS::SQS::Queue").items() if "JobEventDead" in k
    }
    assert len(queues) == 1
    (queue,) = queues.values()
    assert queue["DeletionPolicy"] == "Retain"
    policy = next(
        p["Properties"]
        for k, p in template.find_resources("AWS::SQS::QueuePolicy").items()
        if "JobEventDeadLetters" in k
    )
    sends = [s for s in policy["PolicyDocument"]["Statement"] if s["Effect"] == "Allow"]
    sources = {s["Condition"]["ArnEquals"]["aws:SourceArn"]["Fn::GetAtt"][0] for s in sends}
    assert len(sources) == 3
    assert all(
        re.search("(Standard|CallAnalytics)JobEventRule|ExecutionEndedRule", s) for s in sources
    )


def test_function_may_send_task_success_on_the_recording_machine_only(template: Template) -> None:
    policies = {
        k: p["Properties"]
        for k, p in template.find_resources("AWS::IAM::ManagedPolicy").items()
        if "WakePolicy" in k
    }
    assert len(policies) == 1
    (policy,) = policies.values()
    assert "TranscriptionFunctionRole" in policy["Roles"][0]["Ref"]
    (statement,) = policy["PolicyDocument"]["Statement"]
    assert statement["Action"] == "states:SendTaskSuccess"
    assert "TranscriptionStateMachine" in statement["Resource"]["Ref"]
    assert "Backfill" not in statement["Resource"]["Ref"]
    every_action = json.dumps(template.find_resources("AWS::IAM::ManagedPolicy"))
    assert "states:SendTaskFailure" not in every_action
    assert "states:SendTaskHeartbeat" not in every_action


def test_rules_and_their_dead_letter_queue_are_exposed() -> None:
    from aws_cdk import aws_events as events
    from aws_cdk import aws_sqs as sqs

    from tests.constructs.conftest import make_stack

    stack = make_stack()
    recording = CallRecording(stack, "CallRecording", transcription=TranscriptionOptions())
    transcription = recording.transcription
    assert transcription is not None
    assert [rule.node.id for rule in transcription.job_event_rules] == [
        "StandardJobEventRule",
        "CallAnalyticsJobEventRule",
    ]
    assert all(isinstance(rule, events.Rule) for rule in transcription.job_event_rules)
    assert isinstance(transcription.job_event_dead_letter_queue, sqs.Queue)


def _execution_event(template: Template, status: str) -> dict[str, Any]:
    [machine] = [
        k
        for k, r in template.find_resources("AWS::StepFunctions::StateMachine").items()
        if k.startswith("CallRecordingTranscriptionStateMachine")
    ]
    recording = {"bucket": "recordings-bucket", "key": "recordings/2026/11/24/x.wav"}
    return {
        "source": "aws.states",
        "detail-type": "Step Functions Execution Status Change",
        "detail": {
            "executionArn": "arn:aws:states:us-east-1:123456789012:execution:m:e",
            "stateMachineArn": {"Ref": machine},
            "status": status,
            "input": json.dumps(recording),
        },
    }


@pytest.mark.parametrize(
    ("status", "matched"),
    [("TIMED_OUT", True), ("ABORTED", True), ("FAILED", True), ("SUCCEEDED", False)],
)
def test_an_execution_ended_outside_its_catches_is_recorded_as_failed(
    template: Template, status: str, matched: bool
) -> None:
    rule = _rule(template, "ExecutionEndedRule")
    assert "EventBusName" not in rule
    event = _execution_event(template, status)
    assert _matches(rule["EventPattern"], event) is matched
    # Only the per-recording machine's executions (the backfill's own end is not a recording's).
    other = {**event, "detail": {**event["detail"], "stateMachineArn": "arn:other"}}
    assert not _matches(rule["EventPattern"], other)
    [target] = rule["Targets"]
    rendered = _render(target, event)
    assert rendered == {
        "action": "fail",
        "ended": True,
        "recording": event["detail"]["input"],
        "error": {"Error": status, "Cause": event["detail"]["executionArn"]},
    }
    assert "DeadLetterConfig" in target
