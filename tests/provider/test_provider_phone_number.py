"""Custom::ChimePhoneNumber: ordered numbers (Search) and existing numbers (E164PhoneNumber)."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

import pytest
from botocore.stub import Stubber
from chime_provider._events import ProviderError
from chime_provider._phone_number import GIVE_UP_AFTER_SECONDS
from chime_provider.handler import Runtime, is_complete, on_event

from tests.provider.conftest import NOW, Clock, lose_reply, throttled, unavailable

EventBuilder = Callable[..., dict[str, Any]]

TYPE = "Custom::ChimePhoneNumber"
NUMBER = "+12065550100"
OTHER_NUMBER = "+12065550142"
ORDER_ID = "3f2a1b0c-9d8e-4f7a-b6c5-d4e3f2a1b0c9"
NEW_ORDER_ID = "4a3b2c1d-0e9f-4a8b-c7d6-e5f4a3b2c1d0"
OLD_ORDER_ID = "5b4c3d2e-1f0a-4b9c-d8e7-f6a5b4c3d2e1"
SEARCH = {"Country": "US", "State": "WA", "PhoneNumberType": "Local"}
ORDERED = {"Search": SEARCH, "Name": "recording line", "RemovalPolicy": "destroy"}
EXISTING = {"E164PhoneNumber": NUMBER}
#: What on_event returns for a number in the account (existing, or kept on update).
ACQUIRED = {
    "PhysicalResourceId": NUMBER,
    "Data": {"E164PhoneNumber": NUMBER, "PhoneNumberId": NUMBER, "PhoneNumberOrderId": ORDER_ID},
}


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
        "PendingSince": NOW.timestamp(),
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


def test_order_whose_reply_was_lost_is_adopted_from_the_number_not_placed_again(
    cfn_event: EventBuilder, client: Any, stubber: Stubber, runtime: Runtime
) -> None:
    expect_search(stubber, [NUMBER])
    expect_order(stubber)
    lose_reply(client, "CreatePhoneNumberOrder")
    stubber.add_response(
        "get_phone_number", phone_number(status="AcquireInProgress"), {"PhoneNumberId": NUMBER}
    )
    event = cfn_event("Create", TYPE, ORDERED)

    result = on_event(event, runtime=runtime)

    assert result.get("PendingPhoneNumberOrderId") == ORDER_ID
    assert result["Data"]["PhoneNumberOrderId"] == ORDER_ID
    stubber.add_response(
        "get_phone_number_order", order("Successful", "Acquired"), {"PhoneNumberOrderId": ORDER_ID}
    )
    assert is_complete({**event, **result}, runtime=runtime)["IsComplete"] is True


def test_order_after_a_5xx_is_placed_again_only_when_the_number_did_not_come_in(
    cfn_event: EventBuilder, stubber: Stubber, runtime: Runtime, sleeps: list[float]
) -> None:
    expect_search(stubber, [NUMBER])
    unavailable(stubber, "create_phone_number_order")
    stubber.add_client_error(
        "get_phone_number",
        service_error_code="NotFoundException",
        service_message="Phone number not found",
        http_status_code=404,
    )
    expect_order(stubber)

    result = on_event(cfn_event("Create", TYPE, ORDERED), runtime=runtime)

    assert result.get("PendingPhoneNumberOrderId") == ORDER_ID
    assert sleeps == [1.0]


def test_order_whose_retry_is_refused_adopts_the_first_order_once_it_shows(
    cfn_event: EventBuilder, stubber: Stubber, runtime: Runtime
) -> None:
    """The reviewer's case: 503, then "number not available" because the first order took it."""
    expect_search(stubber, [NUMBER])
    unavailable(stubber, "create_phone_number_order")
    stubber.add_client_error(
        "get_phone_number",
        service_error_code="NotFoundException",
        service_message="Phone number not found",
        http_status_code=404,
    )
    stubber.add_client_error(
        "create_phone_number_order",
        service_error_code="BadRequestException",
        service_message="number not available",
        http_status_code=400,
    )
    stubber.add_response(
        "get_phone_number", phone_number(status="AcquireInProgress"), {"PhoneNumberId": NUMBER}
    )

    result = on_event(cfn_event("Create", TYPE, ORDERED), runtime=runtime)

    assert result["PhysicalResourceId"] == NUMBER
    assert result.get("PendingPhoneNumberOrderId") == ORDER_ID


def test_order_whose_retry_is_refused_and_nothing_landed_fails_with_the_service_message(
    cfn_event: EventBuilder, stubber: Stubber, runtime: Runtime
) -> None:
    expect_search(stubber, [NUMBER])
    unavailable(stubber, "create_phone_number_order")
    not_found = {
        "service_error_code": "NotFoundException",
        "service_message": "Phone number not found",
        "http_status_code": 404,
    }
    stubber.add_client_error("get_phone_number", **not_found)
    stubber.add_client_error(
        "create_phone_number_order",
        service_error_code="BadRequestException",
        service_message="number not available",
        http_status_code=400,
    )
    stubber.add_client_error("get_phone_number", **not_found)

    with pytest.raises(
        ProviderError, match=r"CreatePhoneNumberOrder failed with BadRequestException"
    ):
        on_event(cfn_event("Create", TYPE, ORDERED), runtime=runtime)


def test_order_whose_landing_cannot_be_checked_fails_naming_the_doubt(
    cfn_event: EventBuilder, stubber: Stubber, runtime: Runtime
) -> None:
    expect_search(stubber, [NUMBER])
    stubber.add_client_error(
        "create_phone_number_order",
        service_error_code="ServiceFailureException",
        service_message="internal error",
        http_status_code=500,
    )
    stubber.add_client_error(
        "get_phone_number",
        service_error_code="AccessDeniedException",
        service_message="denied",
        http_status_code=403,
    )

    with pytest.raises(
        ProviderError,
        match=r"CreatePhoneNumberOrder failed with ServiceFailureException: internal error\. The "
        r"request may have been carried out",
    ):
        on_event(cfn_event("Create", TYPE, ORDERED), runtime=runtime)


def test_a_number_in_the_deletion_queue_is_not_taken_for_a_landed_order(
    cfn_event: EventBuilder, stubber: Stubber, runtime: Runtime
) -> None:
    expect_search(stubber, [NUMBER])
    unavailable(stubber, "create_phone_number_order")
    stubber.add_response(
        "get_phone_number",
        phone_number(status="DeleteInProgress", order_id=OLD_ORDER_ID),
        {"PhoneNumberId": NUMBER},
    )
    expect_order(stubber)

    result = on_event(cfn_event("Create", TYPE, ORDERED), runtime=runtime)

    assert result.get("PendingPhoneNumberOrderId") == ORDER_ID


def test_order_without_an_id_is_followed_through_the_number_itself(
    cfn_event: EventBuilder, client: Any, stubber: Stubber, runtime: Runtime
) -> None:
    expect_search(stubber, [NUMBER])
    expect_order(stubber)
    lose_reply(client, "CreatePhoneNumberOrder")
    stubber.add_response(
        "get_phone_number",
        phone_number(status="AcquireInProgress", order_id=None),
        {"PhoneNumberId": NUMBER},
    )
    event = cfn_event("Create", TYPE, ORDERED)
    result = on_event(event, runtime=runtime)
    assert result.get("PendingPhoneNumberOrderId") == ""
    waiting = {**event, **result}

    stubber.add_response(
        "get_phone_number",
        phone_number(status="AcquireInProgress", order_id=None),
        {"PhoneNumberId": NUMBER},
    )
    assert is_complete(waiting, runtime=runtime) == {"IsComplete": False, "Data": {}}
    stubber.add_response("get_phone_number", phone_number(), {"PhoneNumberId": NUMBER})
    assert is_complete(waiting, runtime=runtime) == {
        "IsComplete": True,
        "Data": {
            "E164PhoneNumber": NUMBER,
            "PhoneNumberId": NUMBER,
            "PhoneNumberOrderId": ORDER_ID,
        },
    }


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


def test_order_still_pending_near_the_framework_timeout_fails_naming_order_number_and_status(
    cfn_event: EventBuilder, stubber: Stubber, runtime: Runtime, clock: Clock
) -> None:
    event = ordered_event(cfn_event, runtime, stubber)
    clock.advance(GIVE_UP_AFTER_SECONDS - 30)
    stubber.add_response(
        "get_phone_number_order", order("PendingDocuments"), {"PhoneNumberOrderId": ORDER_ID}
    )
    assert is_complete(event, runtime=runtime) == {"IsComplete": False, "Data": {}}
    clock.advance(30)
    stubber.add_response(
        "get_phone_number_order", order("PendingDocuments"), {"PhoneNumberOrderId": ORDER_ID}
    )

    with pytest.raises(ProviderError) as raised:
        is_complete(event, runtime=runtime)

    message = str(raised.value)
    assert f"Phone number order {ORDER_ID} for +*******0100 is still PendingDocuments" in message
    assert "after 28 minutes" in message
    assert "releases the number whatever the RemovalPolicy" in message
    assert NUMBER not in message


def test_order_that_succeeds_at_the_deadline_still_completes(
    cfn_event: EventBuilder, stubber: Stubber, runtime: Runtime, clock: Clock
) -> None:
    event = ordered_event(cfn_event, runtime, stubber)
    clock.advance(GIVE_UP_AFTER_SECONDS + 60)
    stubber.add_response(
        "get_phone_number_order", order("Successful", "Acquired"), {"PhoneNumberOrderId": ORDER_ID}
    )

    assert is_complete(event, runtime=runtime)["IsComplete"] is True


def test_give_up_time_leaves_polls_to_spare_before_the_construct_s_timeout() -> None:
    # The construct's Provider settings; the Lambda cannot read them, so check they agree here.
    from cdk_recording._provider import ORDER_POLL_INTERVAL, ORDER_TIMEOUT

    spare = ORDER_TIMEOUT.to_seconds() - GIVE_UP_AFTER_SECONDS

    assert spare >= 2 * ORDER_POLL_INTERVAL.to_seconds()


def test_order_poll_that_fails_transiently_waits_for_the_next_poll(
    cfn_event: EventBuilder, stubber: Stubber, runtime: Runtime
) -> None:
    event = ordered_event(cfn_event, runtime, stubber)
    for _ in range(runtime.retry.max_attempts):
        throttled(stubber, "get_phone_number_order")

    assert is_complete(event, runtime=runtime) == {"IsComplete": False, "Data": {}}


def test_order_poll_that_fails_transiently_at_the_deadline_gives_up_naming_the_order(
    cfn_event: EventBuilder, stubber: Stubber, runtime: Runtime, clock: Clock
) -> None:
    event = ordered_event(cfn_event, runtime, stubber)
    clock.advance(GIVE_UP_AFTER_SECONDS)
    for _ in range(runtime.retry.max_attempts):
        unavailable(stubber, "get_phone_number_order")

    with pytest.raises(
        ProviderError,
        match=rf"order {ORDER_ID} for \+\*{{7}}0100 is still unknown \(the last poll failed with "
        r"ServiceUnavailableException\)",
    ):
        is_complete(event, runtime=runtime)


def test_order_poll_refused_for_good_fails_naming_the_order(
    cfn_event: EventBuilder, stubber: Stubber, runtime: Runtime
) -> None:
    event = ordered_event(cfn_event, runtime, stubber)
    stubber.add_client_error(
        "get_phone_number_order",
        service_error_code="ForbiddenException",
        service_message="not allowed",
        http_status_code=403,
    )

    with pytest.raises(
        ProviderError,
        match=rf"ForbiddenException: not allowed \(while waiting for phone number order {ORDER_ID} "
        r"for \+\*{7}0100\)",
    ):
        is_complete(event, runtime=runtime)


def test_order_from_before_the_deadline_was_kept_waits_for_the_framework(
    cfn_event: EventBuilder, stubber: Stubber, runtime: Runtime, clock: Clock
) -> None:
    event = ordered_event(cfn_event, runtime, stubber)
    del event["PendingSince"]
    clock.advance(GIVE_UP_AFTER_SECONDS * 2)
    stubber.add_response(
        "get_phone_number_order", order("Processing"), {"PhoneNumberOrderId": ORDER_ID}
    )

    assert is_complete(event, runtime=runtime) == {"IsComplete": False, "Data": {}}


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

    assert result == ACQUIRED
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

    assert result == ACQUIRED
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


@pytest.mark.parametrize("status", ["Unassigned", "Assigned"])
def test_delete_of_an_acquired_number_with_retain_policy_keeps_it(
    status: str, cfn_event: EventBuilder, stubber: Stubber, runtime: Runtime
) -> None:
    stubber.add_response("get_phone_number", phone_number(status=status), {"PhoneNumberId": NUMBER})
    props = {**ORDERED, "RemovalPolicy": "retain"}

    result = on_event(cfn_event("Delete", TYPE, props, physical_id=NUMBER), runtime=runtime)

    assert result == {"PhysicalResourceId": NUMBER, "Data": {}}


def test_delete_of_an_acquired_number_without_removal_policy_keeps_it(
    cfn_event: EventBuilder, stubber: Stubber, runtime: Runtime
) -> None:
    stubber.add_response("get_phone_number", phone_number(), {"PhoneNumberId": NUMBER})
    props = {"Search": SEARCH}

    on_event(cfn_event("Delete", TYPE, props, physical_id=NUMBER), runtime=runtime)


def test_delete_with_retain_policy_keeps_the_number_when_the_check_fails(
    cfn_event: EventBuilder, stubber: Stubber, runtime: Runtime, caplog: pytest.LogCaptureFixture
) -> None:
    stubber.add_client_error(
        "get_phone_number",
        service_error_code="ForbiddenException",
        service_message="not allowed",
        http_status_code=403,
    )
    props = {"Search": SEARCH}

    with caplog.at_level(logging.WARNING, logger="chime_provider"):
        result = on_event(cfn_event("Delete", TYPE, props, physical_id=NUMBER), runtime=runtime)

    assert result == {"PhysicalResourceId": NUMBER, "Data": {}}
    assert "could not check whether it was ever acquired" in caplog.text


@pytest.mark.parametrize("status", ["AcquireInProgress", "AcquireFailed"])
def test_delete_releases_a_number_whose_order_never_completed_even_with_retain_policy(
    status: str,
    cfn_event: EventBuilder,
    stubber: Stubber,
    runtime: Runtime,
    caplog: pytest.LogCaptureFixture,
) -> None:
    stubber.add_response("get_phone_number", phone_number(status=status), {"PhoneNumberId": NUMBER})
    stubber.add_response("delete_phone_number", {}, {"PhoneNumberId": NUMBER})
    event = cfn_event("Delete", TYPE, {"Search": SEARCH}, physical_id=NUMBER)

    with caplog.at_level(logging.INFO, logger="chime_provider"):
        result = on_event(event, runtime=runtime)

    assert result == {"PhysicalResourceId": NUMBER, "Data": {}}
    assert is_complete({**event, **result}, runtime=runtime) == {"IsComplete": True, "Data": {}}
    warning = next(
        json.loads(record.getMessage())
        for record in caplog.records
        if "despite the RemovalPolicy" in record.getMessage()
    )
    assert warning["removal_policy"] == "retain"
    assert warning["phone_number_order_id"] == ORDER_ID
    assert warning["e164_phone_number"] == "+*******0100"


def test_delete_waits_for_an_order_the_service_will_not_release_yet_then_releases_it(
    cfn_event: EventBuilder, stubber: Stubber, runtime: Runtime, clock: Clock
) -> None:
    acquiring = phone_number(status="AcquireInProgress")
    stubber.add_response("get_phone_number", acquiring, {"PhoneNumberId": NUMBER})
    stubber.add_client_error(
        "delete_phone_number",
        service_error_code="BadRequestException",
        service_message="Phone number is being acquired",
        http_status_code=400,
    )
    stubber.add_response("get_phone_number", acquiring, {"PhoneNumberId": NUMBER})
    event = cfn_event("Delete", TYPE, {"Search": SEARCH}, physical_id=NUMBER)

    result = on_event(event, runtime=runtime)

    assert result == {
        "PhysicalResourceId": NUMBER,
        "Data": {},
        "PendingPhoneNumberRelease": NUMBER,
        "PendingSince": NOW.timestamp(),
    }
    waiting = {**event, **result}
    stubber.add_response("get_phone_number", acquiring, {"PhoneNumberId": NUMBER})
    assert is_complete(waiting, runtime=runtime) == {"IsComplete": False, "Data": {}}
    clock.advance(600)
    stubber.add_response("get_phone_number", phone_number(), {"PhoneNumberId": NUMBER})
    stubber.add_response("delete_phone_number", {}, {"PhoneNumberId": NUMBER})
    assert is_complete(waiting, runtime=runtime) == {"IsComplete": True, "Data": {}}


def test_delete_waiting_for_an_order_gives_up_before_the_framework_naming_number_and_order(
    cfn_event: EventBuilder, stubber: Stubber, runtime: Runtime, clock: Clock
) -> None:
    event = {
        **cfn_event("Delete", TYPE, {"Search": SEARCH}, physical_id=NUMBER),
        "PendingPhoneNumberRelease": NUMBER,
        "PendingSince": NOW.timestamp(),
    }
    clock.advance(GIVE_UP_AFTER_SECONDS)
    stubber.add_response(
        "get_phone_number", phone_number(status="AcquireInProgress"), {"PhoneNumberId": NUMBER}
    )

    with pytest.raises(
        ProviderError,
        match=rf"Phone number \+\*{{7}}0100 \(order {ORDER_ID}\) is still AcquireInProgress after 28 "
        r"minutes.*release it with DeletePhoneNumber once the order settles",
    ):
        is_complete(event, runtime=runtime)


def test_delete_waiting_for_an_order_ends_when_the_number_is_gone(
    cfn_event: EventBuilder, stubber: Stubber, runtime: Runtime
) -> None:
    event = {
        **cfn_event("Delete", TYPE, {"Search": SEARCH}, physical_id=NUMBER),
        "PendingPhoneNumberRelease": NUMBER,
        "PendingSince": NOW.timestamp(),
    }
    stubber.add_client_error(
        "get_phone_number",
        service_error_code="NotFoundException",
        service_message="Phone number not found",
        http_status_code=404,
    )

    assert is_complete(event, runtime=runtime) == {"IsComplete": True, "Data": {}}


def test_delete_with_retain_policy_does_not_fail_when_a_failed_order_s_number_is_refused(
    cfn_event: EventBuilder, stubber: Stubber, runtime: Runtime, caplog: pytest.LogCaptureFixture
) -> None:
    failed = phone_number(status="AcquireFailed")
    stubber.add_response("get_phone_number", failed, {"PhoneNumberId": NUMBER})
    stubber.add_client_error(
        "delete_phone_number",
        service_error_code="BadRequestException",
        service_message="Phone number cannot be deleted",
        http_status_code=400,
    )
    stubber.add_response("get_phone_number", failed, {"PhoneNumberId": NUMBER})
    event = cfn_event("Delete", TYPE, {"Search": SEARCH}, physical_id=NUMBER)

    with caplog.at_level(logging.WARNING, logger="chime_provider"):
        result = on_event(event, runtime=runtime)

    assert result == {"PhysicalResourceId": NUMBER, "Data": {}}
    assert "could not be released; it stays in the account" in caplog.text


def test_delete_with_destroy_policy_fails_on_a_refusal_for_an_acquired_number(
    cfn_event: EventBuilder, stubber: Stubber, runtime: Runtime
) -> None:
    stubber.add_client_error(
        "delete_phone_number",
        service_error_code="BadRequestException",
        service_message="Phone number is associated with a SIP rule",
        http_status_code=400,
    )
    stubber.add_response(
        "get_phone_number", phone_number(status="Assigned"), {"PhoneNumberId": NUMBER}
    )

    with pytest.raises(ProviderError, match=r"DeletePhoneNumber failed with BadRequestException"):
        on_event(cfn_event("Delete", TYPE, ORDERED, physical_id=NUMBER), runtime=runtime)


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
