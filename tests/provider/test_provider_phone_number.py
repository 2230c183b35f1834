"""Custom::ChimePhoneNumber: ordered numbers (Search) and existing numbers (E164PhoneNumber)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.stub import Stubber
from chime_provider._events import ProviderError
from chime_provider.handler import Runtime, is_complete, on_event

EventBuilder = Callable[..., dict[str, Any]]

TYPE = "Custom::ChimePhoneNumber"
NUMBER = "+12065550100"
OTHER_NUMBER = "+12065550142"
ORDER_ID = "3f2a1b0c-9d8e-4f7a-b6c5-d4e3f2a1b0c9"
NEW_ORDER_ID = "4a3b2c1d-0e9f-4a8b-c7d6-e5f4a3b2c1d0"
SEARCH = {"Country": "US", "State": "WA", "PhoneNumberType": "Local"}
ORDERED = {"Search": SEARCH, "Name": "recording line", "RemovalPolicy": "destroy"}
EXISTING = {"E164PhoneNumber": NUMBER}
NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


def order(
    status: str, number_status: str = "Processing", order_id: str = ORDER_ID
) -> dict[str, Any]:
    return {
        "PhoneNumberOrder": {
            "PhoneNumberOrderId": order_id,
            "ProductType": "SipMediaApplicationDialIn",
            "Status": status,
            "OrderType": "New",
            "OrderedPhoneNumbers": [{"E164PhoneNumber": NUMBER, "Status": number_status}],
            "CreatedTimestamp": NOW,
            "UpdatedTimestamp": NOW,
        }
    }


def phone_number(
    product_type: str = "SipMediaApplicationDialIn",
    status: str = "Unassigned",
    order_id: str | None = ORDER_ID,
) -> dict[str, Any]:
    phone: dict[str, Any] = {
        "PhoneNumberId": NUMBER,
        "E164PhoneNumber": NUMBER,
        "PhoneNumberArn": f"arn:aws:chime:us-east-1:123456789012:phone-number/{NUMBER}",
        "Country": "US",
        "Type": "Local",
        "ProductType": product_type,
        "Status": status,
        "CreatedTimestamp": NOW,
        "UpdatedTimestamp": NOW,
    }
    if order_id is not None:
        phone["OrderId"] = order_id
    return {"PhoneNumber": phone}


def expect_search(stubber: Stubber, numbers: list[str], **criteria: Any) -> None:
    stubber.add_response(
        "search_available_phone_numbers",
        {"E164PhoneNumbers": numbers},
        {**(criteria or SEARCH), "MaxResults": 5},
    )


def expect_order(stubber: Stubber, number: str = NUMBER, order_id: str = ORDER_ID) -> None:
    stubber.add_response(
        "create_phone_number_order",
        order("Processing", order_id=order_id),
        {
            "ProductType": "SipMediaApplicationDialIn",
            "E164PhoneNumbers": [number],
            "Name": "recording line",
        },
    )


def ordered_event(cfn_event: EventBuilder, runtime: Runtime, stubber: Stubber) -> dict[str, Any]:
    """A Create that placed an order, merged with its result as is_complete receives it."""
    expect_search(stubber, [NUMBER])
    expect_order(stubber)
    event = cfn_event("Create", TYPE, ORDERED)
    return {**event, **on_event(event, runtime=runtime)}


def test_create_orders_the_first_number_matching_the_search(
    cfn_event: EventBuilder, stubber: Stubber, runtime: Runtime
) -> None:
    expect_search(stubber, [NUMBER, OTHER_NUMBER])
    expect_order(stubber)

    result = on_event(cfn_event("Create", TYPE, ORDERED), runtime=runtime)

    assert result == {
        "PhysicalResourceId": NUMBER,
        "Data": {
            "E164PhoneNumber": NUMBER,
            "PhoneNumberId": NUMBER,
            "PhoneNumberOrderId": ORDER_ID,
        },
        "PendingPhoneNumberOrderId": ORDER_ID,
    }


def test_create_with_empty_search_orders_any_number_without_a_name(
    cfn_event: EventBuilder, stubber: Stubber, runtime: Runtime
) -> None:
    stubber.add_response(
        "search_available_phone_numbers", {"E164PhoneNumbers": [NUMBER]}, {"MaxResults": 5}
    )
    stubber.add_response(
        "create_phone_number_order",
        order("Processing"),
        {"ProductType": "SipMediaApplicationDialIn", "E164PhoneNumbers": [NUMBER]},
    )

    on_event(cfn_event("Create", TYPE, {"Search": {}}), runtime=runtime)


def test_create_fails_naming_the_criteria_when_the_search_finds_nothing(
    cfn_event: EventBuilder, stubber: Stubber, runtime: Runtime
) -> None:
    expect_search(stubber, [])

    with pytest.raises(
        ProviderError,
        match=r"No available phone numbers match the Search criteria: "
        r"Country=US, State=WA, PhoneNumberType=Local",
    ):
        on_event(cfn_event("Create", TYPE, ORDERED), runtime=runtime)


def test_create_rejects_both_an_existing_number_and_a_search(
    cfn_event: EventBuilder, runtime: Runtime
) -> None:
    with pytest.raises(ProviderError, match=r"set exactly one"):
        on_event(cfn_event("Create", TYPE, {**ORDERED, **EXISTING}), runtime=runtime)


def test_create_rejects_an_invalid_toll_free_prefix(
    cfn_event: EventBuilder, runtime: Runtime
) -> None:
    props = {"Search": {"TollFreePrefix": "899", "PhoneNumberType": "TollFree"}}

    with pytest.raises(ProviderError, match=r"Search\.TollFreePrefix: got '899'"):
        on_event(cfn_event("Create", TYPE, props), runtime=runtime)


def test_order_completes_after_several_polls(
    cfn_event: EventBuilder, stubber: Stubber, runtime: Runtime
) -> None:
    event = ordered_event(cfn_event, runtime, stubber)
    for status in ("Submitted", "Processing", "FOC"):
        stubber.add_response(
            "get_phone_number_order", order(status), {"PhoneNumberOrderId": ORDER_ID}
        )
    stubber.add_response(
        "get_phone_number_order", order("Successful", "Acquired"), {"PhoneNumberOrderId": ORDER_ID}
    )

    polls = [is_complete(event, runtime=runtime) for _ in range(4)]

    assert polls[:3] == [{"IsComplete": False, "Data": {}}] * 3
    assert polls[3] == {
        "IsComplete": True,
        "Data": {
            "E164PhoneNumber": NUMBER,
            "PhoneNumberId": NUMBER,
            "PhoneNumberOrderId": ORDER_ID,
        },
    }


@pytest.mark.parametrize(
    "status", ["Failed", "Partial", "Exception", "Cancelled", "CancelRequested"]
)
def test_order_ending_in_a_terminal_status_fails_with_order_and_number_statuses(
    status: str, cfn_event: EventBuilder, stubber: Stubber, runtime: Runtime
) -> None:
    event = ordered_event(cfn_event, runtime, stubber)
    stubber.add_response(
        "get_phone_number_order", order(status, "Failed"), {"PhoneNumberOrderId": ORDER_ID}
    )

    with pytest.raises(
        ProviderError,
        match=rf"order {ORDER_ID} ended with status {status} "
        r"\(ordered numbers: \+\*{7}0100: Failed\)",
    ):
        is_complete(event, runtime=runtime)


def test_order_with_an_unknown_status_keeps_waiting(
    cfn_event: EventBuilder, stubber: Stubber, runtime: Runtime
) -> None:
    event = ordered_event(cfn_event, runtime, stubber)
    response = order("Processing")
    response["PhoneNumberOrder"]["Status"] = "Validating"
    stubber.add_response("get_phone_number_order", response, {"PhoneNumberOrderId": ORDER_ID})

    assert is_complete(event, runtime=runtime) == {"IsComplete": False, "Data": {}}


def test_existing_number_is_adopted_without_an_order(
    cfn_event: EventBuilder, stubber: Stubber, runtime: Runtime
) -> None:
    stubber.add_response("get_phone_number", phone_number(), {"PhoneNumberId": NUMBER})
    event = cfn_event("Create", TYPE, EXISTING)

    result = on_event(event, runtime=runtime)

    assert result == {
        "PhysicalResourceId": NUMBER,
        "Data": {
            "E164PhoneNumber": NUMBER,
            "PhoneNumberId": NUMBER,
            "PhoneNumberOrderId": ORDER_ID,
        },
    }
    assert is_complete({**event, **result}, runtime=runtime)["IsComplete"] is True


def test_existing_number_with_another_product_type_fails(
    cfn_event: EventBuilder, stubber: Stubber, runtime: Runtime
) -> None:
    stubber.add_response(
        "get_phone_number", phone_number(product_type="VoiceConnector"), {"PhoneNumberId": NUMBER}
    )

    with pytest.raises(
        ProviderError,
        match=r"\+\*{7}0100 has product type 'VoiceConnector'; a SIP rule needs "
        r"'SipMediaApplicationDialIn'",
    ):
        on_event(cfn_event("Create", TYPE, EXISTING), runtime=runtime)


def test_existing_number_that_the_account_does_not_own_fails(
    cfn_event: EventBuilder, stubber: Stubber, runtime: Runtime
) -> None:
    stubber.add_client_error(
        "get_phone_number",
        service_error_code="NotFoundException",
        service_message="Phone number not found",
        http_status_code=404,
    )

    with pytest.raises(
        ProviderError,
        match=r"is not in this account's phone number inventory "
        r"\(chime-sdk-voice GetPhoneNumber failed with NotFoundException: Phone number not found\)",
    ):
        on_event(cfn_event("Create", TYPE, EXISTING), runtime=runtime)


def test_existing_number_in_the_deletion_queue_fails(
    cfn_event: EventBuilder, stubber: Stubber, runtime: Runtime
) -> None:
    stubber.add_response(
        "get_phone_number", phone_number(status="DeleteInProgress"), {"PhoneNumberId": NUMBER}
    )

    with pytest.raises(ProviderError, match=r"has status 'DeleteInProgress'"):
        on_event(cfn_event("Create", TYPE, EXISTING), runtime=runtime)


def test_update_of_removal_policy_only_keeps_the_number(
    cfn_event: EventBuilder, stubber: Stubber, runtime: Runtime
) -> None:
    stubber.add_response("get_phone_number", phone_number(), {"PhoneNumberId": NUMBER})
    event = cfn_event(
        "Update",
        TYPE,
        {**ORDERED, "RemovalPolicy": "retain", "Name": "renamed"},
        physical_id=NUMBER,
        old_properties=ORDERED,
    )

    result = on_event(event, runtime=runtime)

    assert result == {
        "PhysicalResourceId": NUMBER,
        "Data": {
            "E164PhoneNumber": NUMBER,
            "PhoneNumberId": NUMBER,
            "PhoneNumberOrderId": ORDER_ID,
        },
    }
    assert is_complete({**event, **result}, runtime=runtime)["IsComplete"] is True


def test_update_of_search_criteria_orders_a_replacement_number(
    cfn_event: EventBuilder, stubber: Stubber, runtime: Runtime
) -> None:
    new_search = {**SEARCH, "City": "Seattle"}
    expect_search(stubber, [OTHER_NUMBER], **new_search)
    expect_order(stubber, OTHER_NUMBER, NEW_ORDER_ID)
    event = cfn_event(
        "Update",
        TYPE,
        {**ORDERED, "Search": new_search},
        physical_id=NUMBER,
        old_properties=ORDERED,
    )

    result = on_event(event, runtime=runtime)

    assert result["PhysicalResourceId"] == OTHER_NUMBER
    assert result.get("PendingPhoneNumberOrderId") == NEW_ORDER_ID


def test_update_to_an_existing_number_adopts_it_as_a_replacement(
    cfn_event: EventBuilder, stubber: Stubber, runtime: Runtime
) -> None:
    stubber.add_response("get_phone_number", phone_number(), {"PhoneNumberId": NUMBER})
    event = cfn_event("Update", TYPE, EXISTING, physical_id=OTHER_NUMBER, old_properties=ORDERED)

    result = on_event(event, runtime=runtime)

    assert result["PhysicalResourceId"] == NUMBER
    assert "PendingPhoneNumberOrderId" not in result


def test_delete_of_an_ordered_number_with_destroy_policy_releases_it(
    cfn_event: EventBuilder, stubber: Stubber, runtime: Runtime
) -> None:
    stubber.add_response("delete_phone_number", {}, {"PhoneNumberId": NUMBER})

    result = on_event(cfn_event("Delete", TYPE, ORDERED, physical_id=NUMBER), runtime=runtime)

    assert result == {"PhysicalResourceId": NUMBER, "Data": {}}


def test_delete_of_an_already_released_number_succeeds(
    cfn_event: EventBuilder, stubber: Stubber, runtime: Runtime
) -> None:
    stubber.add_client_error(
        "delete_phone_number",
        service_error_code="NotFoundException",
        service_message="Phone number not found",
        http_status_code=404,
    )

    on_event(cfn_event("Delete", TYPE, ORDERED, physical_id=NUMBER), runtime=runtime)


def test_delete_of_an_ordered_number_with_retain_policy_keeps_it(
    cfn_event: EventBuilder, stubber: Stubber, runtime: Runtime
) -> None:
    props = {**ORDERED, "RemovalPolicy": "retain"}

    result = on_event(cfn_event("Delete", TYPE, props, physical_id=NUMBER), runtime=runtime)

    assert result == {"PhysicalResourceId": NUMBER, "Data": {}}


def test_delete_of_an_ordered_number_without_removal_policy_keeps_it(
    cfn_event: EventBuilder, stubber: Stubber, runtime: Runtime
) -> None:
    props = {"Search": SEARCH}

    on_event(cfn_event("Delete", TYPE, props, physical_id=NUMBER), runtime=runtime)


def test_delete_never_releases_an_existing_number(
    cfn_event: EventBuilder, stubber: Stubber, runtime: Runtime
) -> None:
    props = {**EXISTING, "RemovalPolicy": "destroy"}

    on_event(cfn_event("Delete", TYPE, props, physical_id=NUMBER), runtime=runtime)


def test_is_complete_of_a_delete_is_immediate(
    cfn_event: EventBuilder, stubber: Stubber, runtime: Runtime
) -> None:
    stubber.add_response("delete_phone_number", {}, {"PhoneNumberId": NUMBER})
    event = cfn_event("Delete", TYPE, ORDERED, physical_id=NUMBER)

    result = on_event(event, runtime=runtime)

    assert is_complete({**event, **result}, runtime=runtime) == {"IsComplete": True, "Data": {}}
