"""The provider's lambda:GetPolicy/AddPermission grant names only the handlers of custom-resource SMAs."""

from __future__ import annotations

import json
from collections import deque
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_lambda as lambda_
from aws_cdk.assertions import Template

from cdk_recording import (
    CallRecording,
    ChimeVoiceProvider,
    SipMediaApplication,
    SmaImplementation,
)
from tests.constructs.conftest import make_stack

_PROVIDER_POLICY_PREFIX = "CdkRecordingChimeVoiceProviderRolePolicy"


def _function(stack: cdk.Stack, construct_id: str) -> lambda_.Function:
    return lambda_.Function(
        stack,
        construct_id,
        runtime=lambda_.Runtime.PYTHON_3_14,
        handler="app.handler",
        code=lambda_.Code.from_inline("def handler(event, context): return {}"),
    )


def _provider_policy(template: Template) -> tuple[str, dict[str, Any]]:
    policies: dict[str, Any] = dict(template.find_resources("AWS::IAM::ManagedPolicy"))
    found = [(k, v) for k, v in policies.items() if k.startswith(_PROVIDER_POLICY_PREFIX)]
    assert len(found) == 1
    return found[0]


def _statements_with(template: Template, action: str) -> list[dict[str, Any]]:
    """Every statement of every IAM policy in the template that allows ``action``."""
    found = []
    for resource_type in ("AWS::IAM::ManagedPolicy", "AWS::IAM::Policy"):
        for resource in template.find_resources(resource_type).values():
            for statement in resource["Properties"]["PolicyDocument"]["Statement"]:
                actions = statement["Action"]
                if action in (actions if isinstance(actions, list) else [actions]):
                    found.append(statement)
    return found


def _get_att_arn(stack: cdk.Stack, function: lambda_.Function) -> dict[str, Any]:
    cfn = function.node.default_child
    assert isinstance(cfn, cdk.CfnElement)
    return {"Fn::GetAtt": [stack.get_logical_id(cfn), "Arn"]}


def _depends_on(template: Template, source: str, target: str) -> bool:
    """Whether ``source`` reaches ``target`` through DependsOn, Ref or Fn::GetAtt."""
    resources = template.to_json()["Resources"]

    def edges(logical_id: str) -> set[str]:
        resource = resources[logical_id]
        found: set[str] = set(resource.get("DependsOn", []))
        pending: list[Any] = [resource.get("Properties", {})]
        while pending:
            node = pending.pop()
            if isinstance(node, dict):
                if isinstance(node.get("Ref"), str):
                    found.add(node["Ref"])
                if isinstance(node.get("Fn::GetAtt"), list):
                    found.add(node["Fn::GetAtt"][0])
                pending.extend(node.values())
            elif isinstance(node, list):
                pending.extend(node)
        return {logical_id for logical_id in found if logical_id in resources}

    seen = {source}
    queue = deque([source])
    while queue:
        for next_id in edges(queue.popleft()):
            if next_id == target:
                return True
            if next_id not in seen:
                seen.add(next_id)
                queue.append(next_id)
    return False


@pytest.fixture(scope="module")
def west() -> tuple[cdk.Stack, CallRecording, Template]:
    stack = make_stack("us-west-2")
    recording = CallRecording(stack, "Recording")
    return stack, recording, Template.from_stack(stack)


def test_custom_resource_sma_grants_only_its_handler(
    west: tuple[cdk.Stack, CallRecording, Template],
) -> None:
    stack, recording, template = west
    template.resource_count_is("Custom::ChimeSipMediaApplication", 1)
    handler = recording.handler
    assert isinstance(handler, lambda_.Function)
    [statement] = _statements_with(template, "lambda:AddPermission")
    assert statement == {
        "Sid": "HandlerInvokePermission",
        "Effect": "Allow",
        "Action": ["lambda:GetPolicy", "lambda:AddPermission"],
        "Resource": _get_att_arn(stack, handler),
    }
    _, policy = _provider_policy(template)
    assert statement in policy["Properties"]["PolicyDocument"]["Statement"]
    assert ":function:*" not in json.dumps(template.to_json())


def test_custom_resource_sma_waits_for_the_grant(
    west: tuple[cdk.Stack, CallRecording, Template],
) -> None:
    _, _, template = west
    policy_id, _ = _provider_policy(template)
    [sma_id] = template.find_resources("Custom::ChimeSipMediaApplication")
    [handler_id] = template.find_resources(
        "AWS::Lambda::Function", {"Properties": {"Handler": "index.handler"}}
    )
    # SMA -> provider framework -> OnEvent function -(DependsOn)-> provider policy -> handler.
    assert _depends_on(template, sma_id, policy_id)
    assert _depends_on(template, policy_id, handler_id)
    assert not _depends_on(template, handler_id, policy_id)


def test_native_sma_stack_has_no_add_permission_grant() -> None:
    stack = make_stack("us-east-1")
    CallRecording(stack, "Recording")
    template = Template.from_stack(stack)
    template.resource_count_is("AWS::Chime::SipMediaApplication", 1)
    # The provider is still there (message logs), but its policy grants nothing on functions.
    _provider_policy(template)
    assert _statements_with(template, "lambda:AddPermission") == []
    assert _statements_with(template, "lambda:GetPolicy") == []
    assert "HandlerInvokePermission" not in json.dumps(template.to_json())


def test_two_custom_resource_smas_list_exactly_both_handlers() -> None:
    stack = make_stack("us-west-2")
    first = _function(stack, "First")
    second = _function(stack, "Second")
    SipMediaApplication(stack, "SmaA", handler=first)
    SipMediaApplication(stack, "SmaB", handler=second)
    # A third SMA on the first handler adds nothing: the grant is per function.
    SipMediaApplication(stack, "SmaC", handler=first)
    template = Template.from_stack(stack)
    template.resource_count_is("Custom::ChimeSipMediaApplication", 3)
    [statement] = _statements_with(template, "lambda:AddPermission")
    assert statement["Sid"] == "HandlerInvokePermission"
    assert statement["Action"] == ["lambda:GetPolicy", "lambda:AddPermission"]
    assert statement["Resource"] == [_get_att_arn(stack, first), _get_att_arn(stack, second)]


def test_only_the_custom_resource_smas_of_a_mixed_stack_are_granted() -> None:
    stack = make_stack("us-east-1")
    native = _function(stack, "Native")
    custom = _function(stack, "Custom")
    SipMediaApplication(stack, "NativeSma", handler=native)
    SipMediaApplication(
        stack, "CustomSma", handler=custom, implementation=SmaImplementation.CUSTOM_RESOURCE
    )
    template = Template.from_stack(stack)
    [statement] = _statements_with(template, "lambda:AddPermission")
    assert statement["Resource"] == _get_att_arn(stack, custom)


def test_allow_invoke_permission_is_idempotent() -> None:
    stack = make_stack("us-east-1")
    function = _function(stack, "Fn")
    provider = ChimeVoiceProvider.of(stack)
    provider.allow_invoke_permission(function)
    provider.allow_invoke_permission(function)
    template = Template.from_stack(stack)
    [statement] = _statements_with(template, "lambda:AddPermission")
    assert statement["Resource"] == _get_att_arn(stack, function)
