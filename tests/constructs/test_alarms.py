"""RecordingAlarms: every alarm says what it means and what to do, and notifies where told."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import aws_sns as sns
from aws_cdk.assertions import Template

from cdk_recording import CallRecording, RecordingConfigurationError, TranscriptionOptions
from cdk_recording._alarms import ALARMS
from tests.constructs.conftest import make_stack

README = Path(__file__).resolve().parents[2] / "README.md"


def _template(**options: Any) -> Template:
    stack = make_stack()
    CallRecording(stack, "Recording", **options)
    return Template.from_stack(stack)


@pytest.fixture(scope="module")
def default() -> Template:
    return _template()


def _alarms(template: Template) -> dict[str, dict[str, Any]]:
    return {
        logical_id: alarm["Properties"]
        for logical_id, alarm in template.find_resources("AWS::CloudWatch::Alarm").items()
    }


_TRANSCRIPTION_ALARMS = ("TranscriptionFailed", "TranscriptionDeadLetters")
#: Only with Object Lock (object_lock_mode): the default template has none.
_OBJECT_LOCK_ALARMS = ("RetentionFailed",)


def test_every_alarm_is_defined_with_its_meaning_and_first_action(default: Template) -> None:
    alarms = _alarms(default)
    assert len(ALARMS) == 12
    assert len(alarms) == 9
    descriptions = sorted(a["AlarmDescription"] for a in alarms.values())
    assert descriptions == sorted(
        spec.description
        for spec in ALARMS.values()
        if spec.id not in _TRANSCRIPTION_ALARMS + _OBJECT_LOCK_ALARMS
    )
    for alarm in alarms.values():
        assert "First action:" in alarm["AlarmDescription"]
        assert alarm["Threshold"] == 1
        assert alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
        assert alarm["TreatMissingData"] == "notBreaching"
        assert "AlarmActions" not in alarm


def test_alarms_watch_the_application_metrics(default: Template) -> None:
    by_metric = {a.get("MetricName"): a for a in _alarms(default).values()}
    for name in ("RecordingFailed", "InvalidLambdaResponse", "FactsFailed", "RecordingMissing"):
        alarm = by_metric[name]
        assert alarm["Namespace"] == "CdkRecording"
        assert alarm["Dimensions"] == [
            {"Name": "Application", "Value": "TestStack/Recording/Handler"}
        ]
    assert by_metric["ProcessorFailed"]["EvaluationPeriods"] == 3
    assert by_metric["ApproximateNumberOfMessagesVisible"]["Namespace"] == "AWS/SQS"
    assert by_metric["Errors"]["Namespace"] == "AWS/Lambda"
    assert by_metric["Throttles"]["Namespace"] == "AWS/Lambda"


def test_without_the_catalog_only_the_call_path_alarms_remain() -> None:
    alarms = _alarms(_template(catalog=False))
    names = sorted(a["MetricName"] for a in alarms.values())
    assert names == ["Errors", "InvalidLambdaResponse", "RecordingFailed", "Throttles"]


def test_alarms_can_be_turned_off() -> None:
    template = _template(alarms=False)
    assert not template.find_resources("AWS::CloudWatch::Alarm")
    assert not template.find_resources("AWS::CloudWatch::Dashboard")


def test_dashboard_shows_recordings_minutes_and_latency(default: Template) -> None:
    [board] = default.find_resources("AWS::CloudWatch::Dashboard").values()
    body = str(board["Properties"]["DashboardBody"])
    for metric in ("RecordingStarted", "RecordingDelivered", "RecordingMissing", "RecordedMinutes"):
        assert metric in body
    assert "DeliveryLatency" in body
    assert "p99" in body


def test_created_topic_is_encrypted_tls_only_and_notified() -> None:
    template = _template(create_alarm_topic=True)
    [(topic_id, topic)] = template.find_resources("AWS::SNS::Topic").items()
    assert "KmsMasterKeyId" in topic["Properties"]
    [policy] = template.find_resources("AWS::SNS::TopicPolicy").values()
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    assert any(
        s["Effect"] == "Deny" and s.get("Condition") == {"Bool": {"aws:SecureTransport": "false"}}
        for s in statements
    )
    for alarm in _alarms(template).values():
        assert alarm["AlarmActions"] == [{"Ref": topic_id}]
        assert alarm["OKActions"] == [{"Ref": topic_id}]
    keys = template.find_resources("AWS::KMS::Key")
    assert any(
        "cloudwatch.amazonaws.com" in str(k["Properties"]["KeyPolicy"]) for k in keys.values()
    )


def test_a_topic_given_is_notified() -> None:
    stack = make_stack()
    topic = sns.Topic(stack, "OnCall")
    CallRecording(stack, "Recording", alarm_topic=topic)
    template = Template.from_stack(stack)
    topic_id = next(iter(template.find_resources("AWS::SNS::Topic")))
    for alarm in _alarms(template).values():
        assert alarm["AlarmActions"] == [{"Ref": topic_id}]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"alarms": False, "create_alarm_topic": True}, "create_alarm_topic.*alarms=True"),
        ({"create_alarm_topic": True, "alarm_topic": "topic"}, "conflicts with alarm_topic"),
    ],
    ids=["topic-without-alarms", "both-topics"],
)
def test_topic_options_are_checked(options: dict[str, Any], message: str) -> None:
    stack = make_stack()
    if options.get("alarm_topic") == "topic":
        options["alarm_topic"] = sns.Topic(stack, "OnCall")
    with pytest.raises(RecordingConfigurationError, match=message):
        CallRecording(stack, "Recording", **options)


def test_readme_documents_every_alarm() -> None:
    text = README.read_text(encoding="utf-8")
    for spec in ALARMS.values():
        assert f"`{spec.id}`" in text, spec.id
        assert spec.first_action in text, spec.id


def test_transcription_adds_its_two_alarms_and_a_dashboard_row() -> None:
    template = _template(transcription=TranscriptionOptions())
    alarms = _alarms(template)
    assert len(alarms) == len(ALARMS) - len(_OBJECT_LOCK_ALARMS)
    failed = next(
        a
        for a in alarms.values()
        if a["AlarmDescription"] == ALARMS["TranscriptionFailed"].description
    )
    expressions = {m["Id"]: m for m in failed["Metrics"]}
    assert expressions["expr_1"]["Expression"] == "failed + timedOut"
    assert {
        expressions[k]["MetricStat"]["Metric"]["MetricName"] for k in ("failed", "timedOut")
    } == {
        "ExecutionsFailed",
        "ExecutionsTimedOut",
    }
    dead = next(
        a
        for a in alarms.values()
        if a["AlarmDescription"] == ALARMS["TranscriptionDeadLetters"].description
    )
    assert dead["MetricName"] == "ApproximateNumberOfMessagesVisible"
    body = json.dumps(template.find_resources("AWS::CloudWatch::Dashboard"))
    assert "Transcriptions started, succeeded and failed" in body
