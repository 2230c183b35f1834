"""Custom::ChimeSmaLogging."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from botocore.stub import Stubber
from chime_provider._events import ProviderError
from chime_provider.handler import Runtime, on_event

EventBuilder = Callable[..., dict[str, Any]]

TYPE = "Custom::ChimeSmaLogging"
SMA_ID = "0f3a7c1e-5b2d-4e8f-9a6b-1c2d3e4f5a6b"
NEW_SMA_ID = "7d9e1f20-3a4b-4c5d-8e6f-7a8b9c0d1e2f"
PROPS = {"SipMediaApplicationId": SMA_ID, "EnableSipMediaApplicationMessageLogs": "true"}


def put_params(sma_id: str, enabled: bool) -> dict[str, Any]:
    return {
        "SipMediaApplicationId": sma_id,
        "SipMediaApplicationLoggingConfiguration": {
            "EnableSipMediaApplicationMessageLogs": enabled
        },
    }


def put_response(enabled: bool) -> dict[str, Any]:
    return {
        "SipMediaApplicationLoggingConfiguration": {"EnableSipMediaApplicationMessageLogs": enabled}
    }


def test_create_enables_message_logs_under_an_sma_scoped_physical_id(
    cfn_event: EventBuilder, stubber: Stubber, runtime: Runtime
) -> None:
    stubber.add_response(
        "put_sip_media_application_logging_configuration",
        put_response(True),
        put_params(SMA_ID, True),
    )

    result = on_event(cfn_event("Create", TYPE, PROPS), runtime=runtime)

    assert result == {
        "PhysicalResourceId": f"{SMA_ID}/logging",
        "Data": {"SipMediaApplicationId": SMA_ID, "EnableSipMediaApplicationMessageLogs": "true"},
    }


def test_create_coerces_the_string_false_to_a_boolean(
    cfn_event: EventBuilder, stubber: Stubber, runtime: Runtime
) -> None:
    stubber.add_response(
        "put_sip_media_application_logging_configuration",
        put_response(False),
        put_params(SMA_ID, False),
    )

    result = on_event(
        cfn_event("Create", TYPE, {**PROPS, "EnableSipMediaApplicationMessageLogs": "False"}),
        runtime=runtime,
    )

    assert result["Data"]["EnableSipMediaApplicationMessageLogs"] == "false"


def test_create_rejects_a_flag_that_is_not_a_boolean(
    cfn_event: EventBuilder, runtime: Runtime
) -> None:
    props = {**PROPS, "EnableSipMediaApplicationMessageLogs": "yes"}

    with pytest.raises(
        ProviderError,
        match=r"EnableSipMediaApplicationMessageLogs: got 'yes'; expected 'true' or 'false'",
    ):
        on_event(cfn_event("Create", TYPE, props), runtime=runtime)


def test_update_to_another_sma_returns_a_new_physical_id(
    cfn_event: EventBuilder, stubber: Stubber, runtime: Runtime
) -> None:
    stubber.add_response(
        "put_sip_media_application_logging_configuration",
        put_response(True),
        put_params(NEW_SMA_ID, True),
    )
    event = cfn_event(
        "Update",
        TYPE,
        {**PROPS, "SipMediaApplicationId": NEW_SMA_ID},
        physical_id=f"{SMA_ID}/logging",
        old_properties=PROPS,
    )

    result = on_event(event, runtime=runtime)

    assert result["PhysicalResourceId"] == f"{NEW_SMA_ID}/logging"


def test_delete_turns_message_logs_off_for_the_sma_in_the_physical_id(
    cfn_event: EventBuilder, stubber: Stubber, runtime: Runtime
) -> None:
    stubber.add_response(
        "put_sip_media_application_logging_configuration",
        put_response(False),
        put_params(SMA_ID, False),
    )

    result = on_event(
        cfn_event("Delete", TYPE, PROPS, physical_id=f"{SMA_ID}/logging"), runtime=runtime
    )

    assert result == {"PhysicalResourceId": f"{SMA_ID}/logging", "Data": {}}


def test_delete_when_the_sma_is_gone_succeeds(
    cfn_event: EventBuilder, stubber: Stubber, runtime: Runtime
) -> None:
    stubber.add_client_error(
        "put_sip_media_application_logging_configuration",
        service_error_code="NotFoundException",
        service_message="SIP media application not found",
        http_status_code=404,
    )

    result = on_event(
        cfn_event("Delete", TYPE, PROPS, physical_id=f"{SMA_ID}/logging"), runtime=runtime
    )

    assert result["PhysicalResourceId"] == f"{SMA_ID}/logging"


def test_delete_fails_on_any_other_service_error(
    cfn_event: EventBuilder, stubber: Stubber, runtime: Runtime
) -> None:
    stubber.add_client_error(
        "put_sip_media_application_logging_configuration",
        service_error_code="ForbiddenException",
        service_message="not allowed",
        http_status_code=403,
    )

    with pytest.raises(
        ProviderError,
        match=r"PutSipMediaApplicationLoggingConfiguration failed with ForbiddenException",
    ):
        on_event(cfn_event("Delete", TYPE, PROPS, physical_id=f"{SMA_ID}/logging"), runtime=runtime)
