"""Entry points: dispatch on ResourceType, the framework contract, throttling and logging."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.exceptions import (
    ConnectionClosedError,
    EndpointConnectionError,
    ReadTimeoutError,
    SSLError,
)
from botocore.stub import Stubber
from chime_provider import handler
from chime_provider._chime import Chime, ChimeApiError, ChimeClients, RetryPolicy
from chime_provider._events import ProviderError
from chime_provider._logging import EventLogger
from chime_provider.handler import RESOURCE_TYPES, Runtime, is_complete, on_event

from tests.provider.conftest import fail_before_send

EventBuilder = Callable[..., dict[str, Any]]

RULE_ID = "5c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f"
SMA_ID = "0f3a7c1e-5b2d-4e8f-9a6b-1c2d3e4f5a6b"
NUMBER = "+12065550100"
RULE_PROPS: dict[str, Any] = {
    "Name": "recording-rule",
    "TriggerType": "ToPhoneNumber",
    "TriggerValue": NUMBER,
    "TargetApplications": [
        {"SipMediaApplicationId": SMA_ID, "Priority": "1", "AwsRegion": "us-east-1"}
    ],
}
CREATE_PARAMS = {
    "Name": "recording-rule",
    "TriggerType": "ToPhoneNumber",
    "TriggerValue": NUMBER,
    "Disabled": False,
    "TargetApplications": [
        {"SipMediaApplicationId": SMA_ID, "Priority": 1, "AwsRegion": "us-east-1"}
    ],
}
RULE_RESPONSE = {
    "SipRule": {
        "SipRuleId": RULE_ID,
        "Name": "recording-rule",
        "Disabled": False,
        "TriggerType": "ToPhoneNumber",
        "TriggerValue": NUMBER,
        "TargetApplications": CREATE_PARAMS["TargetApplications"],
        "CreatedTimestamp": datetime(2026, 11, 24, tzinfo=UTC),
    }
}


def chime_for(runtime: Runtime) -> Chime:
    return ChimeClients(
        runtime.client_for, runtime.default_region, runtime.retry, EventLogger({})
    ).region()


def throttle(stubber: Stubber, code: str = "ThrottledClientException", status: int = 429) -> None:
    stubber.add_client_error(
        "create_sip_rule",
        service_error_code=code,
        service_message="Rate exceeded",
        http_status_code=status,
    )


def test_serves_the_four_chime_resource_types() -> None:
    assert RESOURCE_TYPES == (
        "Custom::ChimePhoneNumber",
        "Custom::ChimeSipMediaApplication",
        "Custom::ChimeSipRule",
        "Custom::ChimeSmaLogging",
    )


def test_unknown_resource_type_fails_naming_it_and_the_supported_types(
    cfn_event: EventBuilder, runtime: Runtime
) -> None:
    with pytest.raises(
        ProviderError,
        match=r"Unsupported ResourceType 'Custom::ChimeVoiceConnector': this provider serves "
        r"Custom::ChimePhoneNumber, ",
    ):
        on_event(cfn_event("Create", "Custom::ChimeVoiceConnector", {}), runtime=runtime)


def test_is_complete_of_an_unknown_resource_type_fails(
    cfn_event: EventBuilder, runtime: Runtime
) -> None:
    with pytest.raises(ProviderError, match=r"Unsupported ResourceType 'Custom::Other'"):
        is_complete(cfn_event("Create", "Custom::Other", {}), runtime=runtime)


def test_unknown_request_type_fails(cfn_event: EventBuilder, runtime: Runtime) -> None:
    event = {**cfn_event("Create", "Custom::ChimeSipRule", RULE_PROPS), "RequestType": "Import"}

    with pytest.raises(ProviderError, match=r"Unsupported RequestType 'Import'"):
        on_event(event, runtime=runtime)


def test_is_complete_is_immediate_for_a_sip_rule(
    cfn_event: EventBuilder, stubber: Stubber, runtime: Runtime
) -> None:
    stubber.add_response("create_sip_rule", RULE_RESPONSE, CREATE_PARAMS)
    event = cfn_event("Create", "Custom::ChimeSipRule", RULE_PROPS)
    result = on_event(event, runtime=runtime)

    assert is_complete({**event, **result}, runtime=runtime) == {"IsComplete": True, "Data": {}}


def test_throttling_is_retried_with_growing_delays_then_succeeds(
    cfn_event: EventBuilder, stubber: Stubber, runtime: Runtime, sleeps: list[float]
) -> None:
    for _ in range(3):
        throttle(stubber)
    stubber.add_response("create_sip_rule", RULE_RESPONSE, CREATE_PARAMS)

    result = on_event(cfn_event("Create", "Custom::ChimeSipRule", RULE_PROPS), runtime=runtime)

    assert result["PhysicalResourceId"] == RULE_ID
    assert sleeps == [1.0, 2.0, 4.0]


def test_service_unavailable_on_a_create_is_retried_once_nothing_landed(
    cfn_event: EventBuilder, stubber: Stubber, runtime: Runtime, sleeps: list[float]
) -> None:
    throttle(stubber, "ServiceUnavailableException", 503)
    stubber.add_response("list_sip_rules", {"SipRules": []}, {"MaxResults": 100})
    stubber.add_response("create_sip_rule", RULE_RESPONSE, CREATE_PARAMS)

    on_event(cfn_event("Create", "Custom::ChimeSipRule", RULE_PROPS), runtime=runtime)

    assert sleeps == [1.0]


def test_a_create_whose_outcome_stays_unknown_fails_after_the_last_attempt(
    cfn_event: EventBuilder, stubber: Stubber, runtime: Runtime, sleeps: list[float]
) -> None:
    for _ in range(runtime.retry.max_attempts):
        throttle(stubber, "ServiceFailureException", 500)
        stubber.add_response("list_sip_rules", {"SipRules": []}, {"MaxResults": 100})

    with pytest.raises(
        ProviderError,
        match=r"CreateSipRule failed with ServiceFailureException: Rate exceeded \(after 5 "
        r"attempts, none of which created the resource as far as the service shows\)",
    ):
        on_event(cfn_event("Create", "Custom::ChimeSipRule", RULE_PROPS), runtime=runtime)
    assert sleeps == [1.0, 2.0, 4.0, 8.0, 16.0]


def test_a_create_whose_outcome_cannot_be_checked_fails_saying_so(
    cfn_event: EventBuilder, stubber: Stubber, runtime: Runtime
) -> None:
    throttle(stubber, "ServiceUnavailableException", 503)
    stubber.add_client_error(
        "list_sip_rules",
        service_error_code="ForbiddenException",
        service_message="not allowed",
        http_status_code=403,
    )

    with pytest.raises(
        ProviderError,
        match=r"CreateSipRule failed with ServiceUnavailableException: Rate exceeded\. The request "
        r"may have been carried out, and checking whether it was failed too \(chime-sdk-voice "
        r"ListSipRules failed with ForbiddenException: not allowed\)",
    ):
        on_event(cfn_event("Create", "Custom::ChimeSipRule", RULE_PROPS), runtime=runtime)


def test_a_create_that_never_left_the_client_is_retried_without_a_check(
    cfn_event: EventBuilder, client: Any, stubber: Stubber, runtime: Runtime, sleeps: list[float]
) -> None:
    fail_before_send(
        client,
        "CreateSipRule",
        EndpointConnectionError(endpoint_url="https://voice-chime.us-east-1.amazonaws.com"),
    )
    stubber.add_response("create_sip_rule", RULE_RESPONSE, CREATE_PARAMS)

    result = on_event(cfn_event("Create", "Custom::ChimeSipRule", RULE_PROPS), runtime=runtime)

    assert result["PhysicalResourceId"] == RULE_ID
    assert sleeps == [1.0]


@pytest.mark.parametrize(
    "error",
    [
        ReadTimeoutError(endpoint_url="https://voice-chime.us-east-1.amazonaws.com"),
        ConnectionClosedError(endpoint_url="https://voice-chime.us-east-1.amazonaws.com"),
        EndpointConnectionError(endpoint_url="https://voice-chime.us-east-1.amazonaws.com"),
    ],
    ids=type,
)
def test_reads_are_retried_after_network_failures(
    error: Exception,
    client: Any,
    stubber: Stubber,
    runtime: Runtime,
    sleeps: list[float],
) -> None:
    fail_before_send(client, "GetSipRule", error)
    stubber.add_response("get_sip_rule", RULE_RESPONSE, {"SipRuleId": RULE_ID})
    chime = chime_for(runtime)

    response = chime.call(chime.client.get_sip_rule, SipRuleId=RULE_ID)

    assert response["SipRule"].get("SipRuleId") == RULE_ID
    assert sleeps == [1.0]


def test_tls_failures_are_not_retried(client: Any, runtime: Runtime, sleeps: list[float]) -> None:
    fail_before_send(
        client,
        "GetSipRule",
        SSLError(endpoint_url="https://voice-chime.us-east-1.amazonaws.com", error="bad cert"),
    )
    chime = chime_for(runtime)

    with pytest.raises(ChimeApiError, match=r"GetSipRule failed with SSLError") as raised:
        chime.call(chime.client.get_sip_rule, SipRuleId=RULE_ID)
    assert raised.value.transient is False
    assert sleeps == []


def test_the_lambda_client_leaves_all_retries_to_the_provider() -> None:
    client = handler._boto3_client("us-west-2")

    assert client.meta.config.retries == {"mode": "standard", "total_max_attempts": 1}


def test_throttling_gives_up_after_the_last_attempt_with_the_service_message(
    cfn_event: EventBuilder, stubber: Stubber, runtime: Runtime, sleeps: list[float]
) -> None:
    for _ in range(runtime.retry.max_attempts):
        throttle(stubber)

    with pytest.raises(
        ProviderError, match=r"CreateSipRule failed with ThrottledClientException: Rate exceeded"
    ):
        on_event(cfn_event("Create", "Custom::ChimeSipRule", RULE_PROPS), runtime=runtime)
    assert len(sleeps) == runtime.retry.max_attempts - 1


def test_client_errors_are_not_retried(
    cfn_event: EventBuilder, stubber: Stubber, runtime: Runtime, sleeps: list[float]
) -> None:
    throttle(stubber, "BadRequestException", 400)

    with pytest.raises(ProviderError, match=r"CreateSipRule failed with BadRequestException"):
        on_event(cfn_event("Create", "Custom::ChimeSipRule", RULE_PROPS), runtime=runtime)
    assert sleeps == []


def test_service_error_messages_mask_phone_numbers(
    cfn_event: EventBuilder, stubber: Stubber, runtime: Runtime
) -> None:
    stubber.add_client_error(
        "create_sip_rule",
        service_error_code="BadRequestException",
        service_message=f"Phone number {NUMBER} is not a SIP media application dial-in number",
        http_status_code=400,
    )

    with pytest.raises(ProviderError) as raised:
        on_event(cfn_event("Create", "Custom::ChimeSipRule", RULE_PROPS), runtime=runtime)

    assert "Phone number +*******0100 is not a SIP media application" in str(raised.value)
    assert NUMBER not in str(raised.value)


def test_backoff_delay_doubles_up_to_its_cap() -> None:
    policy = RetryPolicy(base_delay=1.0, max_delay=20.0, jitter=lambda upper: upper)

    assert [policy.delay(retry) for retry in range(7)] == [1, 2, 4, 8, 16, 20, 20]


def test_backoff_delay_is_jittered_below_its_bound() -> None:
    policy = RetryPolicy()

    assert all(0 <= policy.delay(3) <= 8 for _ in range(50))


def test_each_call_is_logged_as_one_json_line_with_the_number_masked(
    cfn_event: EventBuilder,
    stubber: Stubber,
    runtime: Runtime,
    caplog: pytest.LogCaptureFixture,
) -> None:
    stubber.add_response("create_sip_rule", RULE_RESPONSE, CREATE_PARAMS)
    event = cfn_event("Create", "Custom::ChimeSipRule", RULE_PROPS)

    with caplog.at_level(logging.INFO, logger="chime_provider"):
        on_event(event, runtime=runtime)

    calls = [json.loads(r.getMessage()) for r in caplog.records if "chime call" in r.getMessage()]
    assert calls == [
        {
            "level": "INFO",
            "message": "chime call",
            "request_id": event["RequestId"],
            "request_type": "Create",
            "resource_type": "Custom::ChimeSipRule",
            "logical_resource_id": "Resource",
            "operation": "CreateSipRule",
            "outcome": "ok",
            "attempts": 1,
            "duration_ms": calls[0]["duration_ms"],
            "params": {
                "Name": "<redacted>",
                "TriggerType": "ToPhoneNumber",
                "TriggerValue": "+*******0100",
                "Disabled": False,
                "TargetApplications": "<1 items>",
            },
        }
    ]
    assert NUMBER not in caplog.text
