"""``Custom::ChimePhoneNumber``: a phone number for SIP media application dial-in.

Two modes, decided by the properties:

* ``E164PhoneNumber``: an existing number the account owns. It must exist with product type
  ``SipMediaApplicationDialIn``; it is never released.
* ``Search`` (``Country``, ``AreaCode``, ``State``, ``City``, ``TollFreePrefix``,
  ``PhoneNumberType``, all optional) with optional ``Name`` and ``RemovalPolicy``
  (``retain``, the default, or ``destroy``): the first available number that matches is ordered.

Physical id: the E.164 number. Data: ``E164PhoneNumber``, ``PhoneNumberId`` (in chime-sdk-voice,
the E.164 number itself) and ``PhoneNumberOrderId`` (``""`` for an existing number the service
reports no order for).

``on_event`` places the order and returns at once; ``is_complete`` polls the order. The Provider
framework calls it every ``query_interval`` until ``total_timeout`` (the construct sets 30 s and
30 minutes) and then fails the deployment with "Operation timed out".

Update: a different number or different search criteria replace the resource (a new order, or
adopting the other existing number); a change of ``Name`` or ``RemovalPolicy`` alone keeps it.
Delete releases the number (DeletePhoneNumber: a 7-day deletion queue) only when it was ordered and
``RemovalPolicy`` is ``destroy``; otherwise the number is kept and the log says so.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from chime_provider._chime import NOT_FOUND, Chime, ChimeApiError, ChimeClients
from chime_provider._events import (
    IsCompleteResult,
    OnEventResult,
    ProviderError,
    ResourceEvent,
    complete,
)
from chime_provider._logging import mask_phone_number
from chime_provider._properties import E164_PATTERN, PropertyReader

if TYPE_CHECKING:
    from mypy_boto3_chime_sdk_voice.literals import PhoneNumberTypeType
    from mypy_boto3_chime_sdk_voice.type_defs import PhoneNumberOrderTypeDef

__all__ = [
    "PENDING_ORDER_KEY",
    "RESOURCE_TYPE",
    "PhoneNumberProps",
    "SearchCriteria",
    "is_complete",
    "on_event",
]

RESOURCE_TYPE = "Custom::ChimePhoneNumber"
#: Custom field of the on_event result naming the order is_complete has to wait for.
PENDING_ORDER_KEY = "PendingPhoneNumberOrderId"

PRODUCT_TYPE: Literal["SipMediaApplicationDialIn"] = "SipMediaApplicationDialIn"
#: Only the first match is ordered; a few more are fetched to log how scarce numbers are.
SEARCH_MAX_RESULTS = 5

ORDER_SUCCEEDED = frozenset({"Successful"})
ORDER_IN_PROGRESS = frozenset(
    {"Processing", "Submitted", "FOC", "PendingDocuments", "ChangeRequested"}
)
ORDER_FAILED = frozenset({"Failed", "Partial", "Exception", "Cancelled", "CancelRequested"})
#: Number statuses in which an existing number can take calls through a SIP rule.
USABLE_NUMBER_STATUSES = frozenset({"Unassigned", "Assigned"})

RemovalPolicy = Literal["retain", "destroy"]
_REMOVAL_POLICIES: tuple[RemovalPolicy, ...] = ("retain", "destroy")
_PHONE_NUMBER_TYPES: tuple[PhoneNumberTypeType, ...] = ("Local", "TollFree")
_COUNTRY = re.compile(r"[A-Z]{2}")
_TOLL_FREE_PREFIX = re.compile(r"8(00|33|44|55|66|77|88)")
_ORDER_NAME = re.compile(r"^$|^[a-zA-Z0-9,._-]+(\s+[a-zA-Z0-9,._-]+)*$")


@dataclass(frozen=True)
class SearchCriteria:
    country: str | None = None
    area_code: str | None = None
    state: str | None = None
    city: str | None = None
    toll_free_prefix: str | None = None
    phone_number_type: PhoneNumberTypeType | None = None

    @classmethod
    def parse(cls, reader: PropertyReader) -> SearchCriteria:
        reader.reject_unknown(
            {"Country", "AreaCode", "State", "City", "TollFreePrefix", "PhoneNumberType"}
        )
        number_type = None
        if reader.has("PhoneNumberType"):
            number_type = reader.choice("PhoneNumberType", _PHONE_NUMBER_TYPES)
        return cls(
            country=reader.optional_string("Country", _COUNTRY, "expected ISO 3166 alpha-2 (US)"),
            area_code=reader.optional_string("AreaCode"),
            state=reader.optional_string("State"),
            city=reader.optional_string("City"),
            toll_free_prefix=reader.optional_string(
                "TollFreePrefix", _TOLL_FREE_PREFIX, "expected 800, 833, 844, 855, 866, 877 or 888"
            ),
            phone_number_type=number_type,
        )

    def as_params(self) -> dict[str, str]:
        params = {
            "Country": self.country,
            "AreaCode": self.area_code,
            "State": self.state,
            "City": self.city,
            "TollFreePrefix": self.toll_free_prefix,
            "PhoneNumberType": self.phone_number_type,
        }
        return {name: value for name, value in params.items() if value is not None}

    def describe(self) -> str:
        params = self.as_params()
        if not params:
            return "no criteria (any number)"
        return ", ".join(f"{name}={value}" for name, value in params.items())


@dataclass(frozen=True)
class PhoneNumberProps:
    existing: str | None
    search: SearchCriteria | None
    name: str | None
    removal_policy: RemovalPolicy

    @property
    def identity(self) -> tuple[str, object]:
        """Which number this is; a change means a different number (a replacement)."""
        if self.existing is not None:
            return ("existing", self.existing)
        return ("search", self.search)

    @classmethod
    def parse(cls, properties: Mapping[str, object]) -> PhoneNumberProps:
        reader = PropertyReader(RESOURCE_TYPE, properties)
        reader.reject_unknown({"E164PhoneNumber", "Search", "Name", "RemovalPolicy"})
        existing = reader.optional_string(
            "E164PhoneNumber", E164_PATTERN, "expected an E.164 number such as +12065550100"
        )
        search_object = reader.optional_object("Search")
        if reader.has("E164PhoneNumber") == (search_object is not None):
            reader.problem(
                "E164PhoneNumber/Search", "set exactly one: an existing number or search criteria"
            )
        search = None
        if search_object is not None:
            search = SearchCriteria.parse(reader.child(search_object, "Search."))
        name = reader.optional_string(
            "Name", _ORDER_NAME, "use letters, digits and , . _ - separated by single spaces"
        )
        policy = reader.choice("RemovalPolicy", _REMOVAL_POLICIES, default="retain")
        reader.raise_if_problems()
        return cls(existing=existing, search=search, name=name, removal_policy=policy)


def on_event(event: ResourceEvent, clients: ChimeClients) -> OnEventResult:
    chime = clients.region()
    if event.request_type == "Delete":
        return _delete(event, chime, clients)
    props = PhoneNumberProps.parse(event.properties)
    if event.request_type == "Update":
        physical_id = event.require_physical_id()
        if _identity_unchanged(event.old_properties, props):
            clients.log.info("phone number kept: only Name or RemovalPolicy changed")
            return _describe(physical_id, chime)
        clients.log.info("replacing phone number: number or search criteria changed")
    if props.existing is not None:
        return _adopt_existing(props.existing, chime)
    return _order(props, chime, clients)


def is_complete(event: ResourceEvent, clients: ChimeClients) -> IsCompleteResult:
    order_id = event.raw.get(PENDING_ORDER_KEY)
    if event.request_type == "Delete" or not isinstance(order_id, str) or not order_id:
        return complete()
    chime = clients.region()
    order = chime.call(chime.client.get_phone_number_order, PhoneNumberOrderId=order_id)[
        "PhoneNumberOrder"
    ]
    status = order.get("Status", "")
    clients.log.info("phone number order polled", phone_number_order_id=order_id, status=status)
    if status in ORDER_SUCCEEDED:
        return complete({key: str(value) for key, value in event.data.items()})
    if status in ORDER_FAILED:
        raise ProviderError(_order_failure(order_id, status, order))
    if status not in ORDER_IN_PROGRESS:
        # A status newer than this code: keep waiting; the framework's total timeout bounds it.
        clients.log.warning("unknown phone number order status; still waiting", status=status)
    return {"IsComplete": False, "Data": {}}


def _identity_unchanged(old_properties: Mapping[str, object], new: PhoneNumberProps) -> bool:
    try:
        old = PhoneNumberProps.parse(old_properties)
    except ProviderError:
        return False
    return old.identity == new.identity


def _adopt_existing(number: str, chime: Chime) -> OnEventResult:
    try:
        phone = chime.call(chime.client.get_phone_number, PhoneNumberId=number)["PhoneNumber"]
    except ChimeApiError as error:
        if error.code != NOT_FOUND:
            raise
        raise ProviderError(
            f"E164PhoneNumber {mask_phone_number(number)} is not in this account's phone number "
            f"inventory ({error}). Order it first, or use Search to have this resource order one."
        ) from error
    product_type = phone.get("ProductType")
    if product_type != PRODUCT_TYPE:
        raise ProviderError(
            f"E164PhoneNumber {mask_phone_number(number)} has product type {product_type!r}; "
            f"a SIP rule needs {PRODUCT_TYPE!r}. Change its product type or use another number."
        )
    status = phone.get("Status")
    if status not in USABLE_NUMBER_STATUSES:
        raise ProviderError(
            f"E164PhoneNumber {mask_phone_number(number)} has status {status!r}; it can take calls "
            f"only when {' or '.join(sorted(USABLE_NUMBER_STATUSES))}."
        )
    return {
        "PhysicalResourceId": number,
        "Data": {
            "E164PhoneNumber": number,
            "PhoneNumberId": phone.get("PhoneNumberId", number),
            "PhoneNumberOrderId": phone.get("OrderId", ""),
        },
    }


def _describe(number: str, chime: Chime) -> OnEventResult:
    """The attributes of a number kept across an update (CloudFormation needs them again)."""
    phone = chime.call(chime.client.get_phone_number, PhoneNumberId=number)["PhoneNumber"]
    return {
        "PhysicalResourceId": number,
        "Data": {
            "E164PhoneNumber": number,
            "PhoneNumberId": phone.get("PhoneNumberId", number),
            "PhoneNumberOrderId": phone.get("OrderId", ""),
        },
    }


def _order(props: PhoneNumberProps, chime: Chime, clients: ChimeClients) -> OnEventResult:
    criteria = props.search or SearchCriteria()
    found = chime.call(
        chime.client.search_available_phone_numbers,
        MaxResults=SEARCH_MAX_RESULTS,
        **criteria.as_params(),
    ).get("E164PhoneNumbers", [])
    if not found:
        raise ProviderError(
            f"No available phone numbers match the Search criteria: {criteria.describe()}. "
            "Widen the criteria (drop City or AreaCode, or try another State)."
        )
    number = found[0]
    clients.log.info("phone numbers found", candidates=len(found), chosen=number)
    if props.name:
        response = chime.call(
            chime.client.create_phone_number_order,
            ProductType=PRODUCT_TYPE,
            E164PhoneNumbers=[number],
            Name=props.name,
        )
    else:
        response = chime.call(
            chime.client.create_phone_number_order,
            ProductType=PRODUCT_TYPE,
            E164PhoneNumbers=[number],
        )
    order_id = response["PhoneNumberOrder"].get("PhoneNumberOrderId", "")
    if not order_id:
        raise ProviderError("chime-sdk-voice returned a phone number order without an id")
    return {
        "PhysicalResourceId": number,
        "Data": {
            "E164PhoneNumber": number,
            "PhoneNumberId": number,
            "PhoneNumberOrderId": order_id,
        },
        "PendingPhoneNumberOrderId": order_id,
    }


def _delete(event: ResourceEvent, chime: Chime, clients: ChimeClients) -> OnEventResult:
    number = event.require_physical_id()
    result: OnEventResult = {"PhysicalResourceId": number, "Data": {}}
    reason = _retain_reason(event.properties, number)
    if reason is not None:
        clients.log.info("phone number retained", reason=reason, e164_phone_number=number)
        return result
    try:
        chime.call(chime.client.delete_phone_number, PhoneNumberId=number)
    except ChimeApiError as error:
        if error.code != NOT_FOUND:
            raise
        clients.log.info("phone number already released", e164_phone_number=number)
    return result


def _retain_reason(properties: Mapping[str, object], number: str) -> str | None:
    """Why a deleted resource keeps its number, or None to release it.

    Read leniently: a delete must not fail on properties, and any doubt keeps the number.
    """
    if properties.get("E164PhoneNumber") not in (None, ""):
        return "existing number (E164PhoneNumber): never released"
    if properties.get("Search") is None:
        return "not a number this resource ordered"
    policy = properties.get("RemovalPolicy")
    if policy != "destroy":
        return f"RemovalPolicy is {policy or 'retain'!r}"
    if not E164_PATTERN.fullmatch(number):
        return "physical id is not an E.164 number"
    return None


def _order_failure(order_id: str, status: str, order: PhoneNumberOrderTypeDef) -> str:
    numbers = "; ".join(
        f"{mask_phone_number(item.get('E164PhoneNumber', '?'))}: {item.get('Status', '?')}"
        for item in order.get("OrderedPhoneNumbers", [])
    )
    return (
        f"Phone number order {order_id} ended with status {status} "
        f"(ordered numbers: {numbers or 'none listed'}). Search again with other criteria, or "
        "check the order in the Amazon Chime SDK console."
    )
