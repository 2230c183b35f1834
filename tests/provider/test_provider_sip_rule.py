"""Custom::ChimeSipRule."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.stub import Stubber
from chime_provider._events import ProviderError
from chime_provider.handler import Runtime, on_event

from tests.provider.conftest import lose_reply, unavailable

EventBuilder = Callable[..., dict[str, Any]]

TYPE = "Custom::ChimeSipRule"
RULE_ID = "5c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f"
NEW_RULE_ID = "6d2e3f4a-5b6c-4d7e-8f9a-0b1c2d3e4f5a"
SMA_ID = "0f3a7c1e-5b2d-4e8f-9a6b-1c2d3e4f5a6b"
BACKUP_SMA_ID = "7d9e1f20-3a4b-4c5d-8e6f-7a8b9c0d1e2f"
NUMBER = "+12065550100"
PROPS: dict[str, Any] = {
    "Name": "recording-rule",
    "TriggerType": "ToPhoneNumber",
    "TriggerValue": NUMBER,
    "Disabled": "false",
    "TargetApplications": [
        {"SipMediaApplicationId": SMA_ID, "Priority": "1", "AwsRegion": "us-east-1"}
    ],
}
TARGETS = [{"SipMediaApplicationId": SMA_ID, "Priority": 1, "AwsRegion": "us-east-1"}]


def rule(
    rule_id: str = RULE_ID,
    name: str = "recording-rule",
    trigger_type: str = "ToPhoneNumber",
    trigger_value: str = NUMBER,
    disabled: bool = False,
) -> dict[str, Any]:
    now = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
    return {
        "SipRuleId": rule_id,
        "Name": name,
        "Disabled": disabled,
        "TriggerType": trigger_type,
        "TriggerValue": trigger_value,
        "TargetApplications": TARGETS,
        "CreatedTimestamp": now,
        "UpdatedTimestamp": now,
    }


def create_params(**overrides: Any) -> dict[str, Any]:
    return {
        "Name": "recording-rule",
        "TriggerType": "ToPhoneNumber",
        "TriggerValue": NUMBER,
        "Disabled": False,
        "TargetApplications": TARGETS,
        **overrides,
    }


def conflict(stubber: Stubber) -> None:
    stubber.add_client_error(
        "create_sip_rule",
        service_error_code="ConflictException",
        service_message="A SIP rule already exists for this phone number",
        http_status_code=409,
    )


def test_create_coerces_priority_and_disabled_and_returns_the_rule_id(
    cfn_event: EventBuilder, stubber: Stubber, runtime: Runtime
) -> None:
    stubber.add_response("create_sip_rule", {"SipRule": rule()}, create_params())

    result = on_event(cfn_event("Create", TYPE, PROPS), runtime=runtime)

    assert result == {"PhysicalResourceId": RULE_ID, "Data": {"SipRuleId": RULE_ID}}


def test_create_accepts_a_fallback_sma_in_another_region(
    cfn_event: EventBuilder, stubber: Stubber, runtime: Runtime
) -> None:
    targets = [
        {"SipMediaApplicationId": SMA_ID, "Priority": "1", "AwsRegion": "us-east-1"},
        {"SipMediaApplicationId": BACKUP_SMA_ID, "Priority": "2", "AwsRegion": "us-west-2"},
    ]
    expected = [
        *TARGETS,
        {"SipMediaApplicationId": BACKUP_SMA_ID, "Priority": 2, "AwsRegion": "us-west-2"},
    ]
    stubber.add_response(
        "create_sip_rule", {"SipRule": rule()}, create_params(TargetApplications=expected)
    )

    on_event(cfn_event("Create", TYPE, {**PROPS, "TargetApplications": targets}), runtime=runtime)


def test_create_rejects_two_targets_in_one_region(
    cfn_event: EventBuilder, runtime: Runtime
) -> None:
    targets = [
        {"SipMediaApplicationId": SMA_ID, "Priority": "1", "AwsRegion": "us-east-1"},
        {"SipMediaApplicationId": BACKUP_SMA_ID, "Priority": "2", "AwsRegion": "us-east-1"},
    ]

    with pytest.raises(ProviderError, match=r"more than one SIP media application in us-east-1"):
        on_event(
            cfn_event("Create", TYPE, {**PROPS, "TargetApplications": targets}), runtime=runtime
        )


def test_create_rejects_a_priority_that_is_not_a_positive_number(
    cfn_event: EventBuilder, runtime: Runtime
) -> None:
    targets = [{"SipMediaApplicationId": SMA_ID, "Priority": "first", "AwsRegion": "us-east-1"}]

    with pytest.raises(ProviderError, match=r"TargetApplications\[0\]\.Priority: got 'first'"):
        on_event(
            cfn_event("Create", TYPE, {**PROPS, "TargetApplications": targets}), runtime=runtime
        )


def test_create_conflict_adopts_the_rule_with_our_name_and_trigger(
    cfn_event: EventBuilder, stubber: Stubber, runtime: Runtime
) -> None:
    conflict(stubber)
    stubber.add_response(
        "list_sip_rules",
        {
            "SipRules": [rule(NEW_RULE_ID, "other", trigger_value="+12065550199")],
            "NextToken": "page-2",
        },
        {"MaxResults": 100},
    )
    stubber.add_response(
        "list_sip_rules", {"SipRules": [rule()]}, {"MaxResults": 100, "NextToken": "page-2"}
    )
    stubber.add_response(
        "update_sip_rule",
        {"SipRule": rule()},
        {
            "SipRuleId": RULE_ID,
            "Name": "recording-rule",
            "Disabled": False,
            "TargetApplications": TARGETS,
        },
    )

    result = on_event(cfn_event("Create", TYPE, PROPS), runtime=runtime)

    assert result["PhysicalResourceId"] == RULE_ID


def test_create_conflict_with_a_rule_of_another_name_fails_with_the_service_message(
    cfn_event: EventBuilder, stubber: Stubber, runtime: Runtime
) -> None:
    conflict(stubber)
    stubber.add_response(
        "list_sip_rules", {"SipRules": [rule(name="someone-elses-rule")]}, {"MaxResults": 100}
    )

    with pytest.raises(
        ProviderError,
        match=r"CreateSipRule failed with ConflictException: A SIP rule already exists for this "
        r"phone number.*someone-elses-rule",
    ):
        on_event(cfn_event("Create", TYPE, PROPS), runtime=runtime)


def test_create_conflict_without_a_rule_for_our_trigger_fails_with_the_service_message(
    cfn_event: EventBuilder, stubber: Stubber, runtime: Runtime
) -> None:
    conflict(stubber)
    stubber.add_response("list_sip_rules", {"SipRules": []}, {"MaxResults": 100})

    with pytest.raises(ProviderError, match=r"CreateSipRule failed with ConflictException"):
        on_event(cfn_event("Create", TYPE, PROPS), runtime=runtime)


def expect_apply(stubber: Stubber, rule_id: str = RULE_ID) -> None:
    stubber.add_response(
        "update_sip_rule",
        {"SipRule": rule(rule_id)},
        {
            "SipRuleId": rule_id,
            "Name": "recording-rule",
            "Disabled": False,
            "TargetApplications": TARGETS,
        },
    )


def test_create_whose_reply_was_lost_adopts_the_rule_it_made(
    cfn_event: EventBuilder, client: Any, stubber: Stubber, runtime: Runtime
) -> None:
    stubber.add_response("create_sip_rule", {"SipRule": rule()}, create_params())
    lose_reply(client, "CreateSipRule")
    stubber.add_response("list_sip_rules", {"SipRules": [rule()]}, {"MaxResults": 100})
    expect_apply(stubber)

    result = on_event(cfn_event("Create", TYPE, PROPS), runtime=runtime)

    assert result == {"PhysicalResourceId": RULE_ID, "Data": {"SipRuleId": RULE_ID}}


def test_create_after_a_5xx_does_not_adopt_another_name_and_reports_the_conflict(
    cfn_event: EventBuilder, stubber: Stubber, runtime: Runtime
) -> None:
    stubber.add_client_error(
        "create_sip_rule",
        service_error_code="ServiceFailureException",
        service_message="internal error",
        http_status_code=500,
    )
    others = {"SipRules": [rule(name="someone-elses-rule")]}
    stubber.add_response("list_sip_rules", others, {"MaxResults": 100})
    conflict(stubber)
    # Looked for once more after the refusal, then once by the conflict handling.
    stubber.add_response("list_sip_rules", others, {"MaxResults": 100})
    stubber.add_response("list_sip_rules", others, {"MaxResults": 100})

    with pytest.raises(
        ProviderError, match=r"ConflictException.*is not this resource's rule 'recording-rule'"
    ):
        on_event(cfn_event("Create", TYPE, PROPS), runtime=runtime)


def test_create_after_a_5xx_sends_again_when_no_rule_has_our_trigger(
    cfn_event: EventBuilder, stubber: Stubber, runtime: Runtime, sleeps: list[float]
) -> None:
    unavailable(stubber, "create_sip_rule")
    stubber.add_response(
        "list_sip_rules",
        {"SipRules": [rule(NEW_RULE_ID, trigger_value="+12065550199")]},
        {"MaxResults": 100},
    )
    stubber.add_response("create_sip_rule", {"SipRule": rule()}, create_params())

    result = on_event(cfn_event("Create", TYPE, PROPS), runtime=runtime)

    assert result["PhysicalResourceId"] == RULE_ID
    assert sleeps == [1.0]


def test_update_of_targets_name_and_disabled_is_applied_in_place(
    cfn_event: EventBuilder, stubber: Stubber, runtime: Runtime
) -> None:
    new_targets = [
        {"SipMediaApplicationId": BACKUP_SMA_ID, "Priority": 1, "AwsRegion": "us-east-1"}
    ]
    stubber.add_response(
        "update_sip_rule",
        {"SipRule": rule(name="renamed", disabled=True)},
        {
            "SipRuleId": RULE_ID,
            "Name": "renamed",
            "Disabled": True,
            "TargetApplications": new_targets,
        },
    )
    new = {
        **PROPS,
        "Name": "renamed",
        "Disabled": "true",
        "TargetApplications": [
            {"SipMediaApplicationId": BACKUP_SMA_ID, "Priority": "1", "AwsRegion": "us-east-1"}
        ],
    }

    result = on_event(
        cfn_event("Update", TYPE, new, physical_id=RULE_ID, old_properties=PROPS), runtime=runtime
    )

    assert result == {"PhysicalResourceId": RULE_ID, "Data": {"SipRuleId": RULE_ID}}


def test_update_of_the_trigger_creates_a_replacement_rule(
    cfn_event: EventBuilder, stubber: Stubber, runtime: Runtime
) -> None:
    stubber.add_response(
        "create_sip_rule",
        {"SipRule": rule(NEW_RULE_ID, trigger_value="+12065550199")},
        create_params(TriggerValue="+12065550199"),
    )
    new = {**PROPS, "TriggerValue": "+12065550199"}

    result = on_event(
        cfn_event("Update", TYPE, new, physical_id=RULE_ID, old_properties=PROPS), runtime=runtime
    )

    assert result == {"PhysicalResourceId": NEW_RULE_ID, "Data": {"SipRuleId": NEW_RULE_ID}}


def test_delete_disables_the_rule_then_deletes_it(
    cfn_event: EventBuilder, stubber: Stubber, runtime: Runtime
) -> None:
    stubber.add_response(
        "update_sip_rule",
        {"SipRule": rule(disabled=True)},
        {"SipRuleId": RULE_ID, "Name": "recording-rule", "Disabled": True},
    )
    stubber.add_response("delete_sip_rule", {}, {"SipRuleId": RULE_ID})

    result = on_event(cfn_event("Delete", TYPE, PROPS, physical_id=RULE_ID), runtime=runtime)

    assert result == {"PhysicalResourceId": RULE_ID, "Data": {}}


def test_delete_without_a_name_property_reads_the_name_from_the_service(
    cfn_event: EventBuilder, stubber: Stubber, runtime: Runtime
) -> None:
    stubber.add_response("get_sip_rule", {"SipRule": rule()}, {"SipRuleId": RULE_ID})
    stubber.add_response(
        "update_sip_rule",
        {"SipRule": rule(disabled=True)},
        {"SipRuleId": RULE_ID, "Name": "recording-rule", "Disabled": True},
    )
    stubber.add_response("delete_sip_rule", {}, {"SipRuleId": RULE_ID})
    props = {key: value for key, value in PROPS.items() if key != "Name"}

    on_event(cfn_event("Delete", TYPE, props, physical_id=RULE_ID), runtime=runtime)


def test_delete_of_a_missing_rule_succeeds(
    cfn_event: EventBuilder, stubber: Stubber, runtime: Runtime
) -> None:
    stubber.add_client_error(
        "update_sip_rule",
        service_error_code="NotFoundException",
        service_message="SIP rule not found",
        http_status_code=404,
    )

    result = on_event(cfn_event("Delete", TYPE, PROPS, physical_id=RULE_ID), runtime=runtime)

    assert result["PhysicalResourceId"] == RULE_ID


def test_delete_succeeds_when_the_rule_vanishes_after_being_disabled(
    cfn_event: EventBuilder, stubber: Stubber, runtime: Runtime
) -> None:
    stubber.add_response(
        "update_sip_rule",
        {"SipRule": rule(disabled=True)},
        {"SipRuleId": RULE_ID, "Name": "recording-rule", "Disabled": True},
    )
    stubber.add_client_error(
        "delete_sip_rule",
        service_error_code="NotFoundException",
        service_message="SIP rule not found",
        http_status_code=404,
    )

    on_event(cfn_event("Delete", TYPE, PROPS, physical_id=RULE_ID), runtime=runtime)


def test_delete_retries_while_the_disable_is_still_being_applied(
    cfn_event: EventBuilder, stubber: Stubber, runtime: Runtime, sleeps: list[float]
) -> None:
    stubber.add_response(
        "update_sip_rule",
        {"SipRule": rule(disabled=True)},
        {"SipRuleId": RULE_ID, "Name": "recording-rule", "Disabled": True},
    )
    stubber.add_client_error(
        "delete_sip_rule",
        service_error_code="ConflictException",
        service_message="SIP rule must be disabled before it can be deleted",
        http_status_code=409,
    )
    stubber.add_response("delete_sip_rule", {}, {"SipRuleId": RULE_ID})

    on_event(cfn_event("Delete", TYPE, PROPS, physical_id=RULE_ID), runtime=runtime)

    assert sleeps == [1.0]


def test_delete_fails_on_any_other_service_error(
    cfn_event: EventBuilder, stubber: Stubber, runtime: Runtime
) -> None:
    stubber.add_client_error(
        "update_sip_rule",
        service_error_code="BadRequestException",
        service_message="Invalid SIP rule",
        http_status_code=400,
    )

    with pytest.raises(
        ProviderError, match=r"UpdateSipRule failed with BadRequestException: Invalid SIP rule"
    ):
        on_event(cfn_event("Delete", TYPE, PROPS, physical_id=RULE_ID), runtime=runtime)
