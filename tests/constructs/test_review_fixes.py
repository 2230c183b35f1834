"""Deploy-time and runtime failures caught at synth instead (each from a review finding)."""

from __future__ import annotations

import json
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Template
from sma_recording.config import parse_config

from cdk_recording import (
    BridgeDestination,
    CallRecording,
    ConsentAnnouncement,
    PhoneNumber,
    PhoneNumberSearch,
    RecordingConfigurationError,
    RecordingEncryption,
    RecordingStorage,
    RecordingTransition,
)
from tests.constructs.conftest import make_stack


def _config_json(template: Template) -> str:
    [function] = template.find_resources(
        "AWS::Lambda::Function", {"Properties": {"Handler": "index.handler"}}
    ).values()
    raw = function["Properties"]["Environment"]["Variables"]["SMA_RECORDING_CONFIG"]
    if isinstance(raw, dict):  # the bucket name is a Ref inside an Fn::Join
        raw = "".join(p if isinstance(p, str) else "bucket-name" for p in raw["Fn::Join"][1])
    return str(raw)


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"consent": ConsentAnnouncement.speak("Recorded.", voice_id="Joanna", engine="neural")},
        {
            "consent": ConsentAnnouncement.audio("consent.wav"),
            "bridge": BridgeDestination.pstn("+12065550100"),
        },
        {
            "bridge": BridgeDestination.voice_connector(
                "+12065550100", "arn:aws:chime:us-east-1:123456789012:vc/abc"
            )
        },
    ],
)
def test_deployed_configuration_is_accepted_by_the_handler(options: dict[str, Any]) -> None:
    stack = make_stack()
    CallRecording(stack, "Recording", **options)
    config = parse_config(_config_json(Template.from_stack(stack)))
    assert config.recording_enabled


def test_long_construct_paths_still_give_a_valid_application_name() -> None:
    app = cdk.App()
    stack = cdk.Stack(
        app, "S" * 120, env=cdk.Environment(account="123456789012", region="us-east-1")
    )
    CallRecording(stack, "R" * 150)
    config = parse_config(_config_json(Template.from_stack(stack)))
    assert len(config.application) <= 255


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({"metrics_namespace": "AWS/Chime"}, "not starting with AWS/"),
        ({"consent": ConsentAnnouncement.speak("hi", voice_id="")}, "consent.voice_id=''"),
        (
            {"bridge": BridgeDestination.voice_connector("sip:x@example.com", "vc-123")},
            "bridge.arn='vc-123'",
        ),
    ],
)
def test_fails_on_values_the_handler_would_reject(options: dict[str, Any], expected: str) -> None:
    stack = make_stack()
    with pytest.raises(RecordingConfigurationError, match=expected):
        CallRecording(stack, "Recording", **options)


def test_fails_on_zero_reserved_concurrency() -> None:
    from cdk_recording import RecordingHandler

    stack = make_stack()
    storage = RecordingStorage(stack, "Storage")
    with pytest.raises(RecordingConfigurationError, match="reserved_concurrent_executions=0"):
        RecordingHandler(stack, "Handler", storage=storage, reserved_concurrent_executions=0)


def test_kms_storage_has_no_dependency_cycle() -> None:
    """The key policy admits this account's SMAs by pattern, so the key never depends on the SMA."""
    stack = make_stack()
    storage = RecordingStorage(stack, "Storage", encryption=RecordingEncryption.KMS)
    CallRecording(stack, "Recording", storage=storage)
    template = Template.from_stack(stack)
    [key] = [
        k
        for k in template.find_resources("AWS::KMS::Key").values()
        if "ChimeSmaEncryptsRecordings" in json.dumps(k)
    ]
    [statement] = [
        s
        for s in key["Properties"]["KeyPolicy"]["Statement"]
        if s.get("Sid") == "ChimeSmaEncryptsRecordings"
    ]
    assert "SipMediaApplication" not in json.dumps(statement)
    assert statement["Condition"]["StringEquals"]["kms:ViaService"] == "s3.us-east-1.amazonaws.com"
    assert json.dumps(statement["Condition"]["ArnLike"]["aws:SourceArn"]).endswith(':sma/*"]]}')


def test_sip_rules_wait_for_the_bucket_policy() -> None:
    stack = make_stack()
    CallRecording(stack, "Recording", phone_numbers=["+12065550100"])
    template = Template.from_stack(stack)
    [rule] = template.find_resources("Custom::ChimeSipRule").values()
    [policy_id] = [
        logical_id
        for logical_id in template.find_resources("AWS::S3::BucketPolicy")
        if logical_id.startswith("RecordingStorageBucketPolicy")
    ]
    assert policy_id in rule["DependsOn"]


def test_provider_may_set_up_message_log_delivery() -> None:
    stack = make_stack()
    CallRecording(stack, "Recording")
    rendered = json.dumps(Template.from_stack(stack).find_resources("AWS::IAM::ManagedPolicy"))
    # lambda:AddPermission only with a custom-resource SMA: see test_provider_invoke_grant.py.
    for action in ("logs:CreateLogDelivery", "iam:CreateServiceLinkedRole"):
        assert action in rendered
    assert "voiceconnector.chime.amazonaws.com" in rendered


def test_fails_when_glacier_follows_infrequent_access_too_soon() -> None:
    stack = make_stack()
    with pytest.raises(RecordingConfigurationError, match=r"transitions\[1\].after='45 days'"):
        RecordingStorage(
            stack,
            "Storage",
            transitions=[
                RecordingTransition(s3.StorageClass.INFREQUENT_ACCESS, cdk.Duration.days(30)),
                RecordingTransition(s3.StorageClass.GLACIER, cdk.Duration.days(45)),
            ],
        )


def test_fails_when_log_expiry_meets_a_brought_log_bucket() -> None:
    stack = make_stack()
    logs = s3.Bucket(stack, "Logs")
    with pytest.raises(RecordingConfigurationError, match="access_logs_retention"):
        RecordingStorage(
            stack,
            "Storage",
            access_logs_bucket=logs,
            access_logs_retention=cdk.Duration.days(30),
        )


def test_fails_on_an_order_name_the_service_rejects() -> None:
    stack = make_stack()
    with pytest.raises(RecordingConfigurationError, match="name='  Sales  '"):
        PhoneNumber(stack, "Number", search=PhoneNumberSearch(area_code="206"), name="  Sales  ")
