"""PhoneNumber, SipRule and the one provider per stack."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Template

from cdk_recording import (
    CallRecording,
    PhoneNumber,
    PhoneNumberSearch,
    PhoneNumberType,
    RecordingConfigurationError,
    SipMediaApplication,
    SipRule,
    SipRuleTarget,
    SipRuleTriggerType,
)
from tests.constructs.conftest import make_stack


def _count_functions(numbers: list[str | PhoneNumberSearch]) -> tuple[int, int, int]:
    stack = make_stack()
    CallRecording(stack, "Recording", phone_numbers=numbers)
    template = Template.from_stack(stack)
    return (
        len(template.find_resources("AWS::Lambda::Function")),
        len(template.find_resources("Custom::ChimePhoneNumber")),
        len(template.find_resources("Custom::ChimeSipRule")),
    )


def test_one_provider_however_many_numbers() -> None:
    one = _count_functions([PhoneNumberSearch(area_code="206")])
    three = _count_functions([PhoneNumberSearch(area_code="206"), "+12065550100", "+12065550101"])
    # handler + provider's on_event and is_complete + CDK's three framework functions + the
    # catalog's arrival, facts and sweep functions
    assert one == (9, 1, 1)
    assert three == (9, 3, 3)


def test_ordered_number_is_searched_ordered_and_retained() -> None:
    stack = make_stack()
    PhoneNumber(
        stack,
        "Number",
        search=PhoneNumberSearch(country="US", area_code="206", state="WA", city="Seattle"),
    )
    template = Template.from_stack(stack)
    template.has_resource(
        "Custom::ChimePhoneNumber",
        {
            "Properties": {
                "Search": {"Country": "US", "AreaCode": "206", "State": "WA", "City": "Seattle"},
                "RemovalPolicy": "retain",
            },
            "DeletionPolicy": "Retain",
            "UpdateReplacePolicy": "Retain",
        },
    )


def test_ordered_number_released_only_with_explicit_destroy() -> None:
    stack = make_stack()
    PhoneNumber(
        stack,
        "Number",
        search=PhoneNumberSearch(toll_free_prefix="888"),
        removal_policy=cdk.RemovalPolicy.DESTROY,
    )
    template = Template.from_stack(stack)
    template.has_resource(
        "Custom::ChimePhoneNumber",
        {
            "Properties": {
                "Search": {"Country": "US", "TollFreePrefix": "888", "PhoneNumberType": "TollFree"},
                "RemovalPolicy": "destroy",
            },
            "DeletionPolicy": "Delete",
        },
    )


def test_existing_number_is_checked_not_ordered() -> None:
    stack = make_stack()
    number = PhoneNumber(stack, "Number", e164_phone_number="+12065550100")
    template = Template.from_stack(stack)
    template.has_resource(
        "Custom::ChimePhoneNumber",
        {"Properties": {"E164PhoneNumber": "+12065550100"}, "DeletionPolicy": "Retain"},
    )
    assert number.e164_phone_number == "+12065550100"


def test_composed_construct_routes_each_number_through_its_own_rule() -> None:
    stack = make_stack()
    recording = CallRecording(
        stack, "Recording", phone_numbers=["+12065550100", PhoneNumberSearch(area_code="312")]
    )
    template = Template.from_stack(stack)
    rules = template.find_resources("Custom::ChimeSipRule")
    assert len(rules) == 2
    values = sorted(str(r["Properties"]["TriggerValue"]) for r in rules.values())
    assert "+12065550100" in values
    for rule in rules.values():
        assert rule["Properties"]["TriggerType"] == "ToPhoneNumber"
        assert rule["Properties"]["Disabled"] == "false"
        [target] = rule["Properties"]["TargetApplications"]
        assert target["Priority"] == "1"
        assert target["AwsRegion"] == "us-east-1"
        sma_ref, attribute = target["SipMediaApplicationId"]["Fn::GetAtt"]
        assert sma_ref.startswith("RecordingSipMediaApplication")
        assert attribute == "SipMediaApplicationId"
        assert any("PhoneNumber" in d for d in rule["DependsOn"])
    assert len(recording.sip_rules) == 2


def test_rule_with_failover_targets_in_two_regions() -> None:
    stack = make_stack()
    primary = SipMediaApplication.from_sip_media_application_id(stack, "East", "sma-east")
    backup = SipMediaApplication.from_sip_media_application_id(
        stack, "West", "sma-west", region="us-west-2"
    )
    SipRule(
        stack,
        "Rule",
        trigger_type=SipRuleTriggerType.REQUEST_URI_HOSTNAME,
        trigger_value="abcdef.voiceconnector.chime.aws",
        targets=[SipRuleTarget(primary, 1), SipRuleTarget(backup, 2)],
        enabled=False,
    )
    Template.from_stack(stack).has_resource_properties(
        "Custom::ChimeSipRule",
        {
            "TriggerType": "RequestUriHostname",
            "Disabled": "true",
            "TargetApplications": [
                {"SipMediaApplicationId": "sma-east", "Priority": "1", "AwsRegion": "us-east-1"},
                {"SipMediaApplicationId": "sma-west", "Priority": "2", "AwsRegion": "us-west-2"},
            ],
        },
    )


def test_imports_by_id() -> None:
    stack = make_stack()
    assert SipRule.from_sip_rule_id(stack, "Rule", "rule-1").sip_rule_id == "rule-1"
    number = PhoneNumber.from_e164_phone_number(stack, "Number", "+12065550100")
    assert number.e164_phone_number == "+12065550100"
    Template.from_stack(stack).resource_count_is("Custom::ChimePhoneNumber", 0)


# -- bad input ------------------------------------------------------------------------------------


def _number_error(**options: Any) -> str:
    stack = make_stack()
    with pytest.raises(RecordingConfigurationError) as raised:
        PhoneNumber(stack, "Number", **options)
    return str(raised.value)


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({"e164_phone_number": "+0123"}, "e164_phone_number='+0123'"),
        ({"search": PhoneNumberSearch(area_code="106")}, "search.area_code='106'"),
        ({"search": PhoneNumberSearch(toll_free_prefix="899")}, "search.toll_free_prefix='899'"),
        ({"search": PhoneNumberSearch(country="usa")}, "search.country='usa'"),
        (
            {
                "search": PhoneNumberSearch(
                    toll_free_prefix="800", number_type=PhoneNumberType.LOCAL
                )
            },
            "search.number_type='LOCAL'",
        ),
        ({}, "give exactly one"),
        (
            {"e164_phone_number": "+12065550100", "removal_policy": cdk.RemovalPolicy.DESTROY},
            "existing numbers are never released",
        ),
    ],
)
def test_phone_number_fails_on_bad_input(options: dict[str, Any], expected: str) -> None:
    assert expected in _number_error(**options)


def test_phone_number_fails_outside_pstn_regions() -> None:
    stack = make_stack("eu-west-1")
    with pytest.raises(RecordingConfigurationError, match="us-east-1, us-west-2"):
        PhoneNumber(stack, "Number", e164_phone_number="+12065550100")


def _rule_error(targets: list[SipRuleTarget], **options: Any) -> str:
    stack = make_stack()
    with pytest.raises(RecordingConfigurationError) as raised:
        SipRule(
            stack,
            "Rule",
            trigger_type=options.pop("trigger_type", SipRuleTriggerType.TO_PHONE_NUMBER),
            trigger_value=options.pop("trigger_value", "+12065550100"),
            targets=targets,
            **options,
        )
    return str(raised.value)


def _sma(stack: cdk.Stack, name: str, region: str) -> SipMediaApplication:
    return SipMediaApplication.from_sip_media_application_id(stack, name, name, region=region)  # type: ignore[return-value]


def test_rule_fails_on_duplicate_priorities() -> None:
    stack = make_stack()
    targets = [
        SipRuleTarget(_sma(stack, "a", "us-east-1"), 1),
        SipRuleTarget(_sma(stack, "b", "us-west-2"), 1),
    ]
    assert "targets[1].priority=1: duplicates targets[0]" in _rule_error(targets)


def test_rule_fails_on_two_targets_in_one_region() -> None:
    stack = make_stack()
    targets = [
        SipRuleTarget(_sma(stack, "a", "us-east-1"), 1),
        SipRuleTarget(_sma(stack, "b", "us-east-1"), 2),
    ]
    assert "targets[1].region='us-east-1'" in _rule_error(targets)


def test_rule_fails_on_target_region_without_smas() -> None:
    stack = make_stack()
    assert "targets[0].region='sa-east-1'" in _rule_error(
        [SipRuleTarget(_sma(stack, "a", "sa-east-1"))]
    )


def test_rule_fails_on_priority_out_of_range() -> None:
    stack = make_stack()
    assert "targets[0].priority=0" in _rule_error([SipRuleTarget(_sma(stack, "a", "us-east-1"), 0)])


def test_rule_fails_on_too_many_targets() -> None:
    stack = make_stack()
    targets = [SipRuleTarget(_sma(stack, f"s{i}", "us-east-1"), i + 1) for i in range(26)]
    assert "at most 25 are allowed" in _rule_error(targets)


def test_rule_fails_without_targets() -> None:
    assert "give 1 to 25" in _rule_error([])


def test_rule_fails_on_malformed_trigger_number() -> None:
    stack = make_stack()
    message = _rule_error(
        [SipRuleTarget(_sma(stack, "a", "us-east-1"))], trigger_value="12065550100"
    )
    assert "trigger_value='12065550100'" in message


def test_orders_are_polled_every_30_seconds_for_at_most_30_minutes() -> None:
    """The deployment fails (onTimeout) once 60 polls 30 s apart have not seen the order complete."""
    stack = make_stack()
    PhoneNumber(stack, "Number", search=PhoneNumberSearch(area_code="206"))
    [machine] = (
        Template.from_stack(stack).find_resources("AWS::StepFunctions::StateMachine").values()
    )
    definition = "".join(
        p for p in machine["Properties"]["DefinitionString"]["Fn::Join"][1] if isinstance(p, str)
    )
    assert '"IntervalSeconds":30,"MaxAttempts":60,"BackoffRate":1' in definition
    assert '"Next":"framework-onTimeout-task"' in definition
