"""Custom::ChimeSipMediaApplication."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.stub import Stubber
from chime_provider._events import ProviderError
from chime_provider.handler import Runtime, is_complete, on_event

from tests.provider.conftest import NOW, lose_reply, throttled, unavailable

EventBuilder = Callable[..., dict[str, Any]]

TYPE = "Custom::ChimeSipMediaApplication"
SMA_ID = "0f3a7c1e-5b2d-4e8f-9a6b-1c2d3e4f5a6b"
NEW_SMA_ID = "7d9e1f20-3a4b-4c5d-8e6f-7a8b9c0d1e2f"
LAMBDA_ARN = "arn:aws:lambda:us-east-1:123456789012:function:recording-handler"
NEW_LAMBDA_ARN = "arn:aws:lambda:us-east-1:123456789012:function:recording-handler:live"
PROPS = {"Name": "recording-sma", "AwsRegion": "us-east-1", "LambdaArn": LAMBDA_ARN}


def sma_arn(sma_id: str, region: str = "us-east-1") -> str:
    return f"arn:aws:chime:{region}:123456789012:sma/{sma_id}"


def sma_response(
    sma_id: str = SMA_ID,
    name: str = "recording-sma",
    region: str = "us-east-1",
    lambda_arn: str = LAMBDA_ARN,
) -> dict[str, Any]:
    now = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
    return {
        "SipMediaApplication": {
            "SipMediaApplicationId": sma_id,
            "AwsRegion": region,
            "Name": name,
            "Endpoints": [{"LambdaArn": lambda_arn}],
            "CreatedTimestamp": now,
            "UpdatedTimestamp": now,
            "SipMediaApplicationArn": sma_arn(sma_id, region),
        }
    }


def test_create_returns_sma_id_as_physical_id_and_arn_in_data(
    cfn_event: EventBuilder, stubber: Stubber, runtime: Runtime
) -> None:
    stubber.add_response(
        "create_sip_media_application",
        sma_response(),
        {
            "AwsRegion": "us-east-1",
            "Name": "recording-sma",
            "Endpoints": [{"LambdaArn": LAMBDA_ARN}],
        },
    )

    result = on_event(cfn_event("Create", TYPE, PROPS), runtime=runtime)

    assert result == {
        "PhysicalResourceId": SMA_ID,
        "Data": {"SipMediaApplicationId": SMA_ID, "SipMediaApplicationArn": sma_arn(SMA_ID)},
    }


def test_create_passes_tags(cfn_event: EventBuilder, stubber: Stubber, runtime: Runtime) -> None:
    stubber.add_response(
        "create_sip_media_application",
        sma_response(),
        {
            "AwsRegion": "us-east-1",
            "Name": "recording-sma",
            "Endpoints": [{"LambdaArn": LAMBDA_ARN}],
            "Tags": [{"Key": "team", "Value": "voice"}],
        },
    )

    on_event(
        cfn_event("Create", TYPE, {**PROPS, "Tags": [{"Key": "team", "Value": "voice"}]}),
        runtime=runtime,
    )


def test_create_calls_the_endpoint_of_the_sma_region(
    cfn_event: EventBuilder, stubber: Stubber, runtime: Runtime, regions: list[str]
) -> None:
    arn = "arn:aws:lambda:us-west-2:123456789012:function:recording-handler"
    stubber.add_response(
        "create_sip_media_application",
        sma_response(region="us-west-2", lambda_arn=arn),
        {"AwsRegion": "us-west-2", "Name": "recording-sma", "Endpoints": [{"LambdaArn": arn}]},
    )

    on_event(
        cfn_event("Create", TYPE, {**PROPS, "AwsRegion": "us-west-2", "LambdaArn": arn}),
        runtime=runtime,
    )

    assert regions == ["us-west-2"]


def test_create_rejects_a_lambda_arn_that_is_not_a_function(
    cfn_event: EventBuilder, runtime: Runtime
) -> None:
    props = {**PROPS, "LambdaArn": "arn:aws:s3:::bucket"}

    with pytest.raises(ProviderError, match=r"LambdaArn: got 'arn:aws:s3:::bucket'"):
        on_event(cfn_event("Create", TYPE, props), runtime=runtime)


def test_create_rejects_unknown_properties(cfn_event: EventBuilder, runtime: Runtime) -> None:
    with pytest.raises(ProviderError, match=r"LambdaARN: unknown property"):
        on_event(cfn_event("Create", TYPE, {**PROPS, "LambdaARN": LAMBDA_ARN}), runtime=runtime)


def test_create_failure_names_operation_code_and_service_message(
    cfn_event: EventBuilder, stubber: Stubber, runtime: Runtime
) -> None:
    stubber.add_client_error(
        "create_sip_media_application",
        service_error_code="ResourceLimitExceededException",
        service_message="SIP media application limit reached",
        http_status_code=400,
    )

    with pytest.raises(
        ProviderError,
        match=r"CreateSipMediaApplication failed with ResourceLimitExceededException: "
        r"SIP media application limit reached",
    ):
        on_event(cfn_event("Create", TYPE, PROPS), runtime=runtime)


CREATE_PARAMS = {
    "AwsRegion": "us-east-1",
    "Name": "recording-sma",
    "Endpoints": [{"LambdaArn": LAMBDA_ARN}],
}


def listed(sma_id: str, created: datetime = NOW, **overrides: Any) -> dict[str, Any]:
    application = sma_response(sma_id, **overrides)["SipMediaApplication"]
    application["CreatedTimestamp"] = created
    return application


def test_create_whose_reply_was_lost_adopts_the_sma_it_made_instead_of_making_another(
    cfn_event: EventBuilder,
    client: Any,
    stubber: Stubber,
    runtime: Runtime,
    sleeps: list[float],
) -> None:
    stubber.add_response("create_sip_media_application", sma_response(), CREATE_PARAMS)
    lose_reply(client, "CreateSipMediaApplication")
    stubber.add_response(
        "list_sip_media_applications",
        {"SipMediaApplications": [listed(SMA_ID)]},
        {"MaxResults": 100},
    )

    result = on_event(cfn_event("Create", TYPE, PROPS), runtime=runtime)

    assert result == {
        "PhysicalResourceId": SMA_ID,
        "Data": {"SipMediaApplicationId": SMA_ID, "SipMediaApplicationArn": sma_arn(SMA_ID)},
    }
    assert sleeps == [1.0]


def test_create_after_a_5xx_adopts_only_an_sma_that_is_new_and_fully_ours(
    cfn_event: EventBuilder, stubber: Stubber, runtime: Runtime
) -> None:
    stubber.add_client_error(
        "create_sip_media_application",
        service_error_code="ServiceFailureException",
        service_message="internal error",
        http_status_code=500,
    )
    other_lambda = "arn:aws:lambda:us-east-1:123456789012:function:other"
    stubber.add_response(
        "list_sip_media_applications",
        {
            "SipMediaApplications": [
                # Same name, made long before this deployment: someone else's.
                listed("1a1a1a1a-0000-4000-8000-000000000001", NOW - timedelta(days=3)),
                # New, but for another handler.
                listed("1a1a1a1a-0000-4000-8000-000000000002", lambda_arn=other_lambda),
                # New, but another name.
                listed("1a1a1a1a-0000-4000-8000-000000000003", name="recording-sma-2"),
            ],
            "NextToken": "page-2",
        },
        {"MaxResults": 100},
    )
    stubber.add_response(
        "list_sip_media_applications",
        {"SipMediaApplications": [listed(SMA_ID, NOW + timedelta(seconds=2))]},
        {"MaxResults": 100, "NextToken": "page-2"},
    )

    result = on_event(cfn_event("Create", TYPE, PROPS), runtime=runtime)

    assert result["PhysicalResourceId"] == SMA_ID


def test_create_after_a_5xx_sends_again_when_nothing_landed(
    cfn_event: EventBuilder, stubber: Stubber, runtime: Runtime, sleeps: list[float]
) -> None:
    unavailable(stubber, "create_sip_media_application")
    stubber.add_response(
        "list_sip_media_applications",
        {"SipMediaApplications": [listed(NEW_SMA_ID, NOW - timedelta(hours=1))]},
        {"MaxResults": 100},
    )
    stubber.add_response("create_sip_media_application", sma_response(), CREATE_PARAMS)

    result = on_event(cfn_event("Create", TYPE, PROPS), runtime=runtime)

    assert result["PhysicalResourceId"] == SMA_ID
    assert sleeps == [1.0]


def test_create_whose_retry_is_refused_looks_again_for_the_first_attempt(
    cfn_event: EventBuilder, stubber: Stubber, runtime: Runtime
) -> None:
    unavailable(stubber, "create_sip_media_application")
    stubber.add_response(
        "list_sip_media_applications", {"SipMediaApplications": []}, {"MaxResults": 100}
    )
    stubber.add_client_error(
        "create_sip_media_application",
        service_error_code="ResourceLimitExceededException",
        service_message="SIP media application limit reached",
        http_status_code=400,
    )
    stubber.add_response(
        "list_sip_media_applications",
        {"SipMediaApplications": [listed(SMA_ID)]},
        {"MaxResults": 100},
    )

    result = on_event(cfn_event("Create", TYPE, PROPS), runtime=runtime)

    assert result["PhysicalResourceId"] == SMA_ID


def test_throttled_create_is_retried_without_looking_for_a_landed_sma(
    cfn_event: EventBuilder, stubber: Stubber, runtime: Runtime, sleeps: list[float]
) -> None:
    throttled(stubber, "create_sip_media_application")
    stubber.add_response("create_sip_media_application", sma_response(), CREATE_PARAMS)

    on_event(cfn_event("Create", TYPE, PROPS), runtime=runtime)

    assert sleeps == [1.0]


def test_update_of_name_and_endpoint_is_applied_in_place(
    cfn_event: EventBuilder, stubber: Stubber, runtime: Runtime
) -> None:
    stubber.add_response(
        "update_sip_media_application",
        sma_response(name="renamed", lambda_arn=NEW_LAMBDA_ARN),
        {
            "SipMediaApplicationId": SMA_ID,
            "Name": "renamed",
            "Endpoints": [{"LambdaArn": NEW_LAMBDA_ARN}],
        },
    )
    event = cfn_event(
        "Update",
        TYPE,
        {**PROPS, "Name": "renamed", "LambdaArn": NEW_LAMBDA_ARN},
        physical_id=SMA_ID,
        old_properties=PROPS,
    )

    result = on_event(event, runtime=runtime)

    assert result["PhysicalResourceId"] == SMA_ID
    assert result["Data"]["SipMediaApplicationArn"] == sma_arn(SMA_ID)


def test_update_sets_changed_tags_and_removes_dropped_ones(
    cfn_event: EventBuilder, stubber: Stubber, runtime: Runtime
) -> None:
    stubber.add_response(
        "update_sip_media_application",
        sma_response(),
        {
            "SipMediaApplicationId": SMA_ID,
            "Name": "recording-sma",
            "Endpoints": [{"LambdaArn": LAMBDA_ARN}],
        },
    )
    stubber.add_response(
        "tag_resource",
        {},
        {
            "ResourceARN": sma_arn(SMA_ID),
            "Tags": [{"Key": "team", "Value": "media"}, {"Key": "env", "Value": "prod"}],
        },
    )
    stubber.add_response(
        "untag_resource", {}, {"ResourceARN": sma_arn(SMA_ID), "TagKeys": ["cost-centre"]}
    )
    old = {
        **PROPS,
        "Tags": [{"Key": "team", "Value": "voice"}, {"Key": "cost-centre", "Value": "42"}],
    }
    new = {**PROPS, "Tags": [{"Key": "team", "Value": "media"}, {"Key": "env", "Value": "prod"}]}

    on_event(
        cfn_event("Update", TYPE, new, physical_id=SMA_ID, old_properties=old), runtime=runtime
    )


def test_update_of_region_creates_a_replacement_with_a_new_physical_id(
    cfn_event: EventBuilder, stubber: Stubber, runtime: Runtime, regions: list[str]
) -> None:
    arn = "arn:aws:lambda:us-west-2:123456789012:function:recording-handler"
    stubber.add_response(
        "create_sip_media_application",
        sma_response(NEW_SMA_ID, region="us-west-2", lambda_arn=arn),
        {"AwsRegion": "us-west-2", "Name": "recording-sma", "Endpoints": [{"LambdaArn": arn}]},
    )
    new = {**PROPS, "AwsRegion": "us-west-2", "LambdaArn": arn}

    result = on_event(
        cfn_event("Update", TYPE, new, physical_id=SMA_ID, old_properties=PROPS), runtime=runtime
    )

    assert result["PhysicalResourceId"] == NEW_SMA_ID
    assert result["Data"]["SipMediaApplicationArn"] == sma_arn(NEW_SMA_ID, "us-west-2")
    assert regions == ["us-west-2"]


def test_delete_deletes_the_sma_in_its_region(
    cfn_event: EventBuilder, stubber: Stubber, runtime: Runtime, regions: list[str]
) -> None:
    stubber.add_response("delete_sip_media_application", {}, {"SipMediaApplicationId": SMA_ID})

    result = on_event(cfn_event("Delete", TYPE, PROPS, physical_id=SMA_ID), runtime=runtime)

    assert result == {"PhysicalResourceId": SMA_ID, "Data": {}}
    assert regions == ["us-east-1"]


def test_delete_of_a_missing_sma_succeeds(
    cfn_event: EventBuilder, stubber: Stubber, runtime: Runtime
) -> None:
    stubber.add_client_error(
        "delete_sip_media_application",
        service_error_code="NotFoundException",
        service_message="SIP media application not found",
        http_status_code=404,
    )

    result = on_event(cfn_event("Delete", TYPE, PROPS, physical_id=SMA_ID), runtime=runtime)

    assert result["PhysicalResourceId"] == SMA_ID


def test_delete_retries_while_a_deleted_sip_rule_still_holds_the_sma(
    cfn_event: EventBuilder, stubber: Stubber, runtime: Runtime, sleeps: list[float]
) -> None:
    stubber.add_client_error(
        "delete_sip_media_application",
        service_error_code="ConflictException",
        service_message="SIP media application is in use by a SIP rule",
        http_status_code=409,
    )
    stubber.add_response("delete_sip_media_application", {}, {"SipMediaApplicationId": SMA_ID})

    on_event(cfn_event("Delete", TYPE, PROPS, physical_id=SMA_ID), runtime=runtime)

    assert sleeps == [1.0]


def test_delete_fails_when_the_sma_stays_in_use(
    cfn_event: EventBuilder, stubber: Stubber, runtime: Runtime
) -> None:
    for _ in range(runtime.retry.max_attempts):
        stubber.add_client_error(
            "delete_sip_media_application",
            service_error_code="ConflictException",
            service_message="SIP media application is in use by a SIP rule",
            http_status_code=409,
        )

    with pytest.raises(ProviderError, match=r"DeleteSipMediaApplication failed with Conflict"):
        on_event(cfn_event("Delete", TYPE, PROPS, physical_id=SMA_ID), runtime=runtime)


def test_is_complete_is_immediate(cfn_event: EventBuilder, runtime: Runtime) -> None:
    event = {**cfn_event("Create", TYPE, PROPS), "PhysicalResourceId": SMA_ID, "Data": {}}

    assert is_complete(event, runtime=runtime) == {"IsComplete": True, "Data": {}}
