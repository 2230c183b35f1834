"""SipMediaApplication and RecordingHandler: native vs custom resource, permission, logs, function."""

from __future__ import annotations

import json
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_lambda as lambda_
from aws_cdk.assertions import Match, Template

from cdk_recording import (
    BridgeDestination,
    CallRecording,
    ConsentAnnouncement,
    DtmfControl,
    RecordingConfigurationError,
    RecordingLeg,
    RecordingTrack,
    SipMediaApplication,
    SmaImplementation,
)
from tests.constructs.conftest import make_stack


def _recording(region: str | None, **options: Any) -> Template:
    stack = make_stack(region)
    CallRecording(stack, "Recording", **options)
    return Template.from_stack(stack)


@pytest.fixture(scope="module")
def east() -> Template:
    return _recording("us-east-1", consent=ConsentAnnouncement.speak("This call is recorded."))


@pytest.fixture(scope="module")
def west() -> Template:
    return _recording("us-west-2")


def _handler(template: Template) -> dict[str, Any]:
    functions = template.find_resources(
        "AWS::Lambda::Function", {"Properties": {"Handler": "index.handler"}}
    )
    assert len(functions) == 1
    result: dict[str, Any] = next(iter(functions.values()))
    return result


def _config(template: Template) -> dict[str, Any]:
    raw = _handler(template)["Properties"]["Environment"]["Variables"]["SMA_RECORDING_CONFIG"]
    # The bucket name is a Ref, so the JSON is an Fn::Join; put the pieces back together.
    if isinstance(raw, dict):
        parts = raw["Fn::Join"][1]
        raw = "".join(p if isinstance(p, str) else "BUCKET" for p in parts)
    result: dict[str, Any] = json.loads(raw)
    return result


def test_native_sma_in_regions_where_cloudformation_has_it(east: Template) -> None:
    east.resource_count_is("AWS::Chime::SipMediaApplication", 1)
    east.resource_count_is("Custom::ChimeSipMediaApplication", 0)
    east.has_resource_properties(
        "AWS::Chime::SipMediaApplication",
        {
            "AwsRegion": "us-east-1",
            "Endpoints": [
                {"LambdaArn": {"Fn::GetAtt": [Match.string_like_regexp("Handler"), "Arn"]}}
            ],
        },
    )


def test_custom_resource_sma_in_us_west_2(west: Template) -> None:
    west.resource_count_is("AWS::Chime::SipMediaApplication", 0)
    west.has_resource_properties(
        "Custom::ChimeSipMediaApplication",
        {
            "AwsRegion": "us-west-2",
            "Name": Match.string_like_regexp("^TestStack-SipMediaApplication-"),
            "LambdaArn": {"Fn::GetAtt": [Match.string_like_regexp("Handler"), "Arn"]},
        },
    )


def test_environment_agnostic_stack_uses_the_custom_resource() -> None:
    template = _recording(None)
    template.resource_count_is("AWS::Chime::SipMediaApplication", 0)
    template.has_resource_properties(
        "Custom::ChimeSipMediaApplication", {"AwsRegion": {"Ref": "AWS::Region"}}
    )


def test_implementation_can_be_forced_to_custom_resource() -> None:
    template = _recording("eu-west-1", sma_implementation=SmaImplementation.CUSTOM_RESOURCE)
    template.resource_count_is("AWS::Chime::SipMediaApplication", 0)
    template.resource_count_is("Custom::ChimeSipMediaApplication", 1)


def test_fails_when_native_forced_where_cloudformation_lacks_it() -> None:
    stack = make_stack("us-west-2")
    with pytest.raises(RecordingConfigurationError, match="implementation='NATIVE'"):
        CallRecording(stack, "Recording", sma_implementation=SmaImplementation.NATIVE)


def test_fails_in_a_region_without_pstn_audio_and_lists_supported_ones() -> None:
    stack = make_stack("sa-east-1")
    with pytest.raises(RecordingConfigurationError) as raised:
        CallRecording(stack, "Recording")
    message = str(raised.value)
    assert "'sa-east-1'" in message
    assert "us-east-1, us-west-2, ca-central-1" in message


@pytest.mark.parametrize("template_name", ["east", "west"])
def test_invoke_permission_is_scoped_to_this_account_and_sma(
    template_name: str, request: pytest.FixtureRequest
) -> None:
    template: Template = request.getfixturevalue(template_name)
    [permission] = template.find_resources(
        "AWS::Lambda::Permission",
        {"Properties": {"Principal": "voiceconnector.chime.amazonaws.com"}},
    ).values()
    props = permission["Properties"]
    assert props["Principal"] == "voiceconnector.chime.amazonaws.com"
    assert props["Action"] == "lambda:InvokeFunction"
    assert props["SourceAccount"] == "123456789012"
    assert "SipMediaApplication" in json.dumps(props["SourceArn"])


def test_message_logging_is_on_by_default(east: Template) -> None:
    east.has_resource_properties(
        "Custom::ChimeSmaLogging",
        {
            "EnableSipMediaApplicationMessageLogs": "true",
            "SipMediaApplicationId": {
                "Fn::GetAtt": [
                    Match.string_like_regexp("SipMediaApplication"),
                    "SipMediaApplicationId",
                ]
            },
        },
    )


def test_message_logging_can_be_turned_off() -> None:
    template = _recording("us-east-1", message_logs=False)
    template.resource_count_is("Custom::ChimeSmaLogging", 0)


def test_handler_runs_newest_python_on_arm_with_a_short_timeout(east: Template) -> None:
    props = _handler(east)["Properties"]
    assert props["Runtime"] == "python3.14"
    assert props["Architectures"] == ["arm64"]
    assert props["Timeout"] == 4
    assert props["MemorySize"] == 256
    assert props["TracingConfig"] == {"Mode": "Active"}
    assert len(props["Layers"]) == 1


def test_handler_logs_to_an_encrypted_retained_log_group(east: Template) -> None:
    log_ref = _handler(east)["Properties"]["LoggingConfig"]["LogGroup"]["Ref"]
    group = east.to_json()["Resources"][log_ref]
    assert group["Properties"]["RetentionInDays"] == 365
    assert "KmsKeyId" in group["Properties"]
    assert group["DeletionPolicy"] == "Retain"


def test_handler_role_has_no_s3_permission(east: Template) -> None:
    role_ref = _handler(east)["Properties"]["Role"]["Fn::GetAtt"][0]
    role = east.to_json()["Resources"][role_ref]
    assert "ManagedPolicyArns" in role["Properties"]
    assert "Policies" not in role["Properties"]
    policy_refs = [arn["Ref"] for arn in role["Properties"]["ManagedPolicyArns"]]
    resources = east.to_json()["Resources"]
    rendered = json.dumps([resources[ref]["Properties"]["PolicyDocument"] for ref in policy_refs])
    assert "xray:PutTraceSegments" in rendered
    assert "s3:" not in rendered
    for policy in east.find_resources("AWS::IAM::Policy").values():
        assert role_ref not in json.dumps(policy["Properties"].get("Roles", []))


def test_handler_config_records_both_tracks_of_leg_a_into_the_storage_prefix(
    east: Template,
) -> None:
    config = _config(east)
    assert config["destination"] == {"bucket": "BUCKET", "prefix": "recordings"}
    assert config["track"] == "BOTH"
    assert config["leg"] == "LEG-A"
    assert config["autoStart"] is True
    assert config["consent"]["speak"]["text"] == "This call is recorded."
    assert config["metricsNamespace"] == "CdkRecording"


def test_handler_config_carries_every_flow_option() -> None:
    template = _recording(
        "us-east-1",
        recording_prefix="calls",
        track=RecordingTrack.INCOMING,
        leg=RecordingLeg.LEG_B,
        auto_start=False,
        consent=ConsentAnnouncement.audio("consent.wav"),
        announce_to_callee=True,
        bridge=BridgeDestination.pstn("+12065550100", timeout_seconds=20),
        dtmf=DtmfControl(pause="*7", resume="*8"),
    )
    config = _config(template)
    assert config["destination"]["prefix"] == "calls"
    assert config["track"] == "INCOMING"
    assert config["leg"] == "LEG-B"
    assert config["autoStart"] is False
    assert config["consent"] == {"audio": {"bucket": "BUCKET", "key": "prompts/consent.wav"}}
    assert config["announceToCallee"] is True
    # Unset options (arn, callerId) are left out of the JSON; the handler defaults them.
    assert config["bridge"] == {"endpointType": "PSTN", "uri": "+12065550100", "timeoutSeconds": 20}
    assert config["dtmf"] == {"pause": "*7", "resume": "*8"}


def test_brought_function_gets_layer_and_configuration() -> None:
    stack = make_stack()
    mine = lambda_.Function(
        stack,
        "Mine",
        runtime=lambda_.Runtime.PYTHON_3_14,
        handler="app.handler",
        code=lambda_.Code.from_inline("def handler(event, context): return {}"),
    )
    recording = CallRecording(stack, "Recording", handler=mine)
    template = Template.from_stack(stack)
    template.resource_count_is("AWS::Lambda::LayerVersion", 1)
    template.has_resource_properties(
        "AWS::Lambda::Function",
        {
            "Handler": "app.handler",
            "Layers": [{"Ref": Match.string_like_regexp("RecordingLayer")}],
            "Environment": {"Variables": {"SMA_RECORDING_CONFIG": Match.any_value()}},
        },
    )
    assert recording.recording_handler is None
    assert recording.handler is mine
    assert "SMA_RECORDING_CONFIG" in recording.handler_environment


def test_sma_outputs_id_and_destination(east: Template) -> None:
    outputs = east.to_json()["Outputs"]
    assert any("SipMediaApplicationId" in name for name in outputs)
    assert any("RecordingDestination" in name for name in outputs)


def test_grant_call_control_is_scoped_to_the_sma() -> None:
    from aws_cdk import aws_iam as iam

    stack = make_stack()
    recording = CallRecording(stack, "Recording")
    role = iam.Role(stack, "Desk", assumed_by=iam.AccountRootPrincipal())
    recording.grant_call_control(role)
    template = Template.from_stack(stack)
    template.has_resource_properties(
        "AWS::IAM::Policy",
        {
            "PolicyDocument": {
                "Statement": [
                    {
                        "Action": "chime:UpdateSipMediaApplicationCall",
                        "Effect": "Allow",
                        "Resource": {
                            "Fn::GetAtt": [
                                Match.string_like_regexp("SipMediaApplication"),
                                "SipMediaApplicationArn",
                            ]
                        },
                    }
                ]
            },
            "Roles": [{"Ref": Match.string_like_regexp("Desk")}],
        },
    )


def test_imported_sma_builds_its_arn() -> None:
    stack = make_stack()
    sma = SipMediaApplication.from_sip_media_application_id(stack, "Existing", "abc-123")
    assert sma.sip_media_application_id == "abc-123"
    assert stack.resolve(sma.sip_media_application_arn) == {
        "Fn::Join": [
            "",
            ["arn:", {"Ref": "AWS::Partition"}, ":chime:us-east-1:123456789012:sma/abc-123"],
        ]
    }
    assert sma.region == "us-east-1"


# -- bad input ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({"consent": ConsentAnnouncement.speak("")}, "consent.text=''"),
        ({"consent": ConsentAnnouncement.speak("x" * 1001)}, "must be 1-1,000 characters"),
        ({"consent": ConsentAnnouncement.audio("consent.mp3")}, "must name a .wav file"),
        ({"consent": ConsentAnnouncement.speak("hi", engine="fast")}, "consent.engine='fast'"),
        ({"bridge": BridgeDestination.pstn("555-0100")}, "bridge.uri='555-0100'"),
        ({"bridge": BridgeDestination.pstn("+12065550100", timeout_seconds=0)}, "1-120"),
        (
            {"bridge": BridgeDestination("AWS", "sip:agent@example.com")},
            "a Voice Connector ARN is required",
        ),
        ({"announce_to_callee": True}, "needs both consent"),
        ({"dtmf": DtmfControl(pause="*1", resume="*1")}, "must differ"),
        ({"dtmf": DtmfControl(pause="*1", resume="*12")}, "prefix"),
        ({"dtmf": DtmfControl(pause="A", resume="#")}, "dtmf.pause='A'"),
        ({"metrics_namespace": "bad namespace!"}, "metrics_namespace="),
        ({"sma_name": "no/slashes"}, "name='no/slashes'"),
        ({"phone_numbers": ["2065550100"]}, "phone_numbers[0]='2065550100'"),
        (
            {"phone_numbers": ["+12065550100", "+12065550100"]},
            "duplicates phone_numbers[0]",
        ),
    ],
)
def test_fails_on_bad_flow_options(options: dict[str, Any], expected: str) -> None:
    stack = make_stack()
    with pytest.raises(RecordingConfigurationError) as raised:
        CallRecording(stack, "Recording", **options)
    assert expected in str(raised.value)


def test_fails_when_numbers_would_exceed_the_stack_resource_limit() -> None:
    stack = make_stack()
    numbers = [f"+1206555{n:04d}" for n in range(300)]
    with pytest.raises(RecordingConfigurationError) as raised:
        CallRecording(stack, "Recording", phone_numbers=numbers)
    assert "over CloudFormation's 500 per stack" in str(raised.value)


def test_token_region_is_not_validated_at_synth() -> None:
    stack = make_stack(None)
    recording = CallRecording(stack, "Recording")
    assert cdk.Token.is_unresolved(recording.sip_media_application.region)


def test_warns_when_the_stack_nears_the_resource_limit() -> None:
    from aws_cdk.assertions import Annotations

    stack = make_stack()
    # 31 + 26 (catalog) + 10 (alarms and dashboard) + 2 * 197 = 461
    numbers = [f"+1206555{n:04d}" for n in range(197)]
    CallRecording(stack, "Recording", phone_numbers=numbers)
    warnings = Annotations.from_stack(stack).find_warning(
        "/TestStack", Match.string_like_regexp("defines 461 resources")
    )
    assert len(warnings) == 1


def test_synth_fails_clearly_when_other_resources_push_the_stack_over_the_limit() -> None:
    """aws-cdk-lib refuses the stack itself; the message names the count and the types."""
    from aws_cdk import aws_sns as sns

    stack = make_stack()
    CallRecording(stack, "Recording", phone_numbers=[f"+1206555{n:04d}" for n in range(200)])
    for index in range(80):
        sns.Topic(stack, f"Topic{index}")
    with pytest.raises(
        RuntimeError, match=r"TooManyResourcesInStack.*547.*Custom::ChimeSipRule \(200\)"
    ):
        Template.from_stack(stack)


def test_tags_reach_the_native_sma() -> None:
    template = _recording("us-east-1", sma_tags={"cost-centre": "calls"})
    template.has_resource_properties(
        "AWS::Chime::SipMediaApplication", {"Tags": [{"Key": "cost-centre", "Value": "calls"}]}
    )


def test_tags_and_stack_tags_reach_the_custom_resource_sma() -> None:
    stack = make_stack("us-west-2")
    cdk.Tags.of(stack).add("owner", "contact-centre")
    CallRecording(stack, "Recording", sma_tags={"cost-centre": "calls"})
    Template.from_stack(stack).has_resource_properties(
        "Custom::ChimeSipMediaApplication",
        {
            "Tags": [
                {"Key": "cost-centre", "Value": "calls"},
                {"Key": "owner", "Value": "contact-centre"},
            ]
        },
    )


def test_imported_sma_grants_call_control_on_its_arn() -> None:
    from aws_cdk import aws_iam as iam

    stack = make_stack()
    sma = SipMediaApplication.from_sip_media_application_id(stack, "Existing", "abc-123")
    role = iam.Role(stack, "Desk", assumed_by=iam.AccountRootPrincipal())
    sma.grant_call_control(role)
    [policy] = Template.from_stack(stack).find_resources("AWS::IAM::Policy").values()
    [statement] = policy["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Action"] == "chime:UpdateSipMediaApplicationCall"
    assert json.dumps(statement["Resource"]).endswith(
        ':chime:us-east-1:123456789012:sma/abc-123"]]}'
    )


def test_metric_helpers_match_what_the_handler_emits() -> None:
    """Names, namespace and the Application dimension are the handler's EMF contract."""
    from sma_recording.core import MetricName

    stack = make_stack()
    recording = CallRecording(stack, "Recording", metrics_namespace="Calls")
    handler = recording.recording_handler
    assert handler is not None
    emitted = {m.value for m in MetricName}
    for metric in (
        handler.metric_recording_started(),
        handler.metric_recording_paused(),
        handler.metric_recording_resumed(),
        handler.metric_recording_stopped(),
        recording.metric_recording_failed(),
    ):
        assert metric.namespace == "Calls"
        assert metric.metric_name in emitted
        assert metric.dimensions == {"Application": handler.application_name}
        assert metric.statistic == "Sum"
    assert handler.config["application"] == handler.application_name
