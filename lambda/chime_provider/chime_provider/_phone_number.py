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

Ordering. CreatePhoneNumberOrder is not idempotent: after a failure whose outcome is unknown (5xx,
read timeout) GetPhoneNumber tells whether the chosen number came into the account anyway; if it
did, that order is adopted (its id is the number's ``OrderId``) instead of ordering again, which
would fail and leave the first order's number behind. ``on_event`` places the order and returns at
once, with the order id and its start time in fields of its own (``PendingPhoneNumberOrderId``,
``PendingSince``) that the Provider framework passes on to ``is_complete`` but never to
CloudFormation. ``is_complete`` polls the order (or, if the service gave no order id, the number).
The framework calls it every ``query_interval`` and fails with a bare "Operation timed out" after
``total_timeout`` (the construct sets 30 s and 30 minutes). So ``is_complete`` gives up by itself
:data:`GIVE_UP_AFTER_SECONDS` (28 minutes) after ``on_event`` started, with a reason that names the
order id, the masked number and the order's last status. A poll that fails transiently (throttling,
5xx) is not fatal: the next poll tries again, until that deadline.

Update: a different number or different search criteria replace the resource (a new order, or
adopting the other existing number); a change of ``Name`` or ``RemovalPolicy`` alone keeps it.

Delete releases the number (DeletePhoneNumber: a 7-day deletion queue) when it was ordered and
``RemovalPolicy`` is ``destroy``. With ``retain`` it is kept, except when its order never completed
(GetPhoneNumber reports ``AcquireInProgress`` or ``AcquireFailed``). That is the rollback of a
create that failed or gave up: the number was never handed to the user, and keeping it would leave
a billed number, counted against the quota of 5, that no stack knows about. A warning in the log
says so. Any doubt still keeps the number: if GetPhoneNumber fails, or the service refuses to
release an ``AcquireFailed`` leftover, the delete succeeds and logs it. An order that completes
between ``is_complete`` giving up and the rollback's delete counts as acquired and is kept under
``retain``; the give-up reason tells the operator to check. A number still being acquired may not
be deletable yet. If the service refuses, the delete waits in ``is_complete`` for the order to
settle and releases the number then. After the same deadline it fails with a reason naming the
number and its order, so that someone releases the number by hand instead of it being left behind
unnoticed. The physical id cannot carry "never acquired": the documented ``is_complete`` result
cannot change it, and a Delete event carries no ``Data``. So the delete asks the service instead.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

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
    from mypy_boto3_chime_sdk_voice.type_defs import (
        CreatePhoneNumberOrderResponseTypeDef,
        PhoneNumberOrderTypeDef,
        PhoneNumberTypeDef,
    )

__all__ = [
    "GIVE_UP_AFTER_SECONDS",
    "PENDING_ORDER_KEY",
    "PENDING_RELEASE_KEY",
    "PENDING_SINCE_KEY",
    "RESOURCE_TYPE",
    "PhoneNumberProps",
    "SearchCriteria",
    "is_complete",
    "on_event",
]

RESOURCE_TYPE = "Custom::ChimePhoneNumber"
#: Custom field of the on_event result naming the order is_complete has to wait for; ``""`` when
#: the service gave no order id, and is_complete then watches the number itself.
PENDING_ORDER_KEY = "PendingPhoneNumberOrderId"
#: Custom field of a Delete's on_event result: the number to release once its order settles.
PENDING_RELEASE_KEY = "PendingPhoneNumberRelease"
#: Custom field: when on_event started the wait, in epoch seconds.
PENDING_SINCE_KEY = "PendingSince"
#: How long is_complete waits before failing by itself. The construct's Provider has a 30-minute
#: total_timeout and polls every 30 s; this leaves a few polls' margin so the failure is ours.
GIVE_UP_AFTER_SECONDS = 28 * 60

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
ACQUIRING = "AcquireInProgress"
#: Number statuses of a number whose order never completed: never the user's.
NOT_ACQUIRED_STATUSES = frozenset({ACQUIRING, "AcquireFailed"})
#: Statuses in which a number our unanswered order chose shows that the order landed.
ORDER_LANDED_STATUSES = frozenset({ACQUIRING, "AcquireFailed", "Unassigned"})
#: Number statuses of a number already on its way out of the account.
RELEASING_STATUSES = frozenset({"DeleteInProgress", "ReleaseInProgress"})

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
    if event.request_type == "Delete":
        return _release_is_complete(event, clients)
    order_id = event.raw.get(PENDING_ORDER_KEY)
    if not isinstance(order_id, str):
        return complete()
    number = event.physical_resource_id or ""
    chime = clients.region()
    try:
        poll = _poll_order(order_id, chime, clients) if order_id else _poll_number(number, chime)
        if poll.done:
            return complete({**{key: str(value) for key, value in event.data.items()}, **poll.data})
        status = poll.status
    except ChimeApiError as error:
        if not error.transient:
            raise ProviderError(
                f"{error} (while waiting for phone number order {order_id or '(no id)'} for "
                f"{mask_phone_number(number)})"
            ) from error
        # Throttled or a 5xx: the order is no worse for it; the next poll asks again.
        clients.log.warning("phone number order poll failed; polling again", error_code=error.code)
        status = f"unknown (the last poll failed with {error.code})"
    elapsed = _elapsed(event, clients)
    if elapsed is not None and elapsed >= GIVE_UP_AFTER_SECONDS:
        raise ProviderError(
            f"Phone number order {order_id or '(no id)'} for {mask_phone_number(number)} is still "
            f"{status} after {elapsed / 60:.0f} minutes; giving up before the provider's own "
            "timeout. The number was never acquired: when the rollback deletes this resource, it "
            "releases the number whatever the RemovalPolicy if the order is still unfinished. If "
            "the order completes later and the number stays in the account, release it with "
            "DeletePhoneNumber."
        )
    return {"IsComplete": False, "Data": {}}


@dataclass(frozen=True)
class _Poll:
    """What one poll found: the status, and whether the order is done (with attributes to add)."""

    status: str
    done: bool = False
    data: Mapping[str, str] = field(default_factory=dict)


def _poll_order(order_id: str, chime: Chime, clients: ChimeClients) -> _Poll:
    """Ask for the order's status; raises when the order failed."""
    order = chime.call(chime.client.get_phone_number_order, PhoneNumberOrderId=order_id)[
        "PhoneNumberOrder"
    ]
    status = order.get("Status", "")
    clients.log.info("phone number order polled", phone_number_order_id=order_id, status=status)
    if status in ORDER_SUCCEEDED:
        return _Poll(status, done=True)
    if status in ORDER_FAILED:
        raise ProviderError(_order_failure(order_id, status, order))
    if status not in ORDER_IN_PROGRESS:
        # A status newer than this code: keep waiting, up to the deadline.
        clients.log.warning("unknown phone number order status; still waiting", status=status)
    return _Poll(status)


def _poll_number(number: str, chime: Chime) -> _Poll:
    """Like :func:`_poll_order` for an order without an id: the number's own status tells."""
    phone = chime.call(chime.client.get_phone_number, PhoneNumberId=number)["PhoneNumber"]
    status = phone.get("Status", "")
    if status in USABLE_NUMBER_STATUSES:
        return _Poll(status, done=True, data={"PhoneNumberOrderId": phone.get("OrderId", "")})
    if status != ACQUIRING:
        raise ProviderError(
            f"Phone number {mask_phone_number(number)} (order "
            f"{phone.get('OrderId') or 'id unknown'}) ended with status {status}. Search again "
            "with other criteria, or check the number in the Amazon Chime SDK console."
        )
    return _Poll(status)


def _elapsed(event: ResourceEvent, clients: ChimeClients) -> float | None:
    """Seconds since on_event started the wait; None for an event from before this was kept."""
    since = event.raw.get(PENDING_SINCE_KEY)
    if isinstance(since, bool) or not isinstance(since, int | float):
        return None
    return clients.clock() - since


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
    started = clients.clock()
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
    params: dict[str, Any] = {"ProductType": PRODUCT_TYPE, "E164PhoneNumbers": [number]}
    if props.name:
        params["Name"] = props.name
    order_id = chime.create(
        chime.client.create_phone_number_order,
        result=_order_id,
        find=lambda: _landed_order(number, chime, clients),
        **params,
    )
    if not order_id:
        # Failing here would leak the number: a failed Create gets no Delete. Watch the number.
        clients.log.warning("phone number order has no id; waiting on the number's own status")
    return {
        "PhysicalResourceId": number,
        "Data": {
            "E164PhoneNumber": number,
            "PhoneNumberId": number,
            "PhoneNumberOrderId": order_id,
        },
        "PendingPhoneNumberOrderId": order_id,
        "PendingSince": started,
    }


def _order_id(response: CreatePhoneNumberOrderResponseTypeDef) -> str:
    return response["PhoneNumberOrder"].get("PhoneNumberOrderId", "")


def _landed_order(number: str, chime: Chime, clients: ChimeClients) -> str | None:
    """After an order whose outcome is unknown: its id if the number came into the account."""
    phone = _lookup(number, chime)
    status = phone.get("Status") if phone is not None else None
    if phone is None or status not in ORDER_LANDED_STATUSES:
        return None
    order_id = phone.get("OrderId", "")
    clients.log.warning(
        "adopting the phone number order the unanswered request placed",
        e164_phone_number=number,
        status=status,
        phone_number_order_id=order_id,
    )
    return order_id


def _lookup(number: str, chime: Chime) -> PhoneNumberTypeDef | None:
    """The number as the account's inventory has it; None when it is not there."""
    try:
        return chime.call(chime.client.get_phone_number, PhoneNumberId=number)["PhoneNumber"]
    except ChimeApiError as error:
        if error.code != NOT_FOUND:
            raise
        return None


def _delete(event: ResourceEvent, chime: Chime, clients: ChimeClients) -> OnEventResult:
    number = event.require_physical_id()
    result: OnEventResult = {"PhysicalResourceId": number, "Data": {}}
    reason = _not_ours_reason(event.properties, number)
    if reason is not None:
        clients.log.info("phone number retained", reason=reason, e164_phone_number=number)
        return result
    policy = event.properties.get("RemovalPolicy")
    if policy == "destroy":
        return _release(number, chime, clients)
    retained = f"RemovalPolicy is {policy or 'retain'!r}"
    try:
        phone = _lookup(number, chime)
    except ChimeApiError as error:
        # Any doubt keeps the number, as the policy asks; a delete must not fail on a check.
        clients.log.warning(
            "phone number retained; could not check whether it was ever acquired",
            reason=retained,
            e164_phone_number=number,
            error=str(error),
        )
        return result
    if phone is None:
        clients.log.info(
            "phone number not in the account; nothing to keep", e164_phone_number=number
        )
        return result
    status = phone.get("Status", "")
    if status not in NOT_ACQUIRED_STATUSES:
        clients.log.info("phone number retained", reason=retained, e164_phone_number=number)
        return result
    clients.log.warning(
        "releasing phone number despite the RemovalPolicy: its order never completed, so it "
        "never became the user's number",
        removal_policy=policy or "retain",
        e164_phone_number=number,
        status=status,
        phone_number_order_id=phone.get("OrderId", ""),
    )
    return _release(number, chime, clients, best_effort=True)


def _release(
    number: str, chime: Chime, clients: ChimeClients, *, best_effort: bool = False
) -> OnEventResult:
    """Release ``number``, or wait in is_complete while the service is still acquiring it.

    ``best_effort``: the release is our initiative, not the RemovalPolicy's, so a refusal for a
    number no longer being acquired (an ``AcquireFailed`` leftover) is logged, not fatal.
    """
    result: OnEventResult = {"PhysicalResourceId": number, "Data": {}}
    try:
        chime.call(chime.client.delete_phone_number, PhoneNumberId=number)
    except ChimeApiError as error:
        if error.code == NOT_FOUND:
            clients.log.info("phone number already released", e164_phone_number=number)
            return result
        try:
            phone = _lookup(number, chime)
            status = phone.get("Status", "") if phone is not None else None
        except ChimeApiError:
            status = "unknown"
        if status is None:
            clients.log.info("phone number already released", e164_phone_number=number)
            return result
        if status != ACQUIRING:
            if not best_effort:
                raise
            clients.log.warning(
                "phone number could not be released; it stays in the account",
                e164_phone_number=number,
                status=status,
                error=str(error),
            )
            return result
        # The service may refuse to release a number it is still acquiring: wait for the order.
        clients.log.warning(
            "phone number still being acquired; releasing it once its order settles",
            e164_phone_number=number,
            error_code=error.code,
        )
        return {**result, "PendingPhoneNumberRelease": number, "PendingSince": clients.clock()}
    clients.log.info("phone number released", e164_phone_number=number)
    return result


def _release_is_complete(event: ResourceEvent, clients: ChimeClients) -> IsCompleteResult:
    number = event.raw.get(PENDING_RELEASE_KEY)
    if not isinstance(number, str) or not number:
        return complete()
    chime = clients.region()
    order_id = ""
    try:
        phone = _lookup(number, chime)
        status = phone.get("Status", "") if phone is not None else "gone"
        order_id = phone.get("OrderId", "") if phone is not None else ""
        if phone is None or status in RELEASING_STATUSES:
            clients.log.info("phone number released", e164_phone_number=number, status=status)
            return complete()
        if status != ACQUIRING:
            _release_now(number, chime)
            clients.log.info(
                "phone number released after its order settled",
                e164_phone_number=number,
                status=status,
                phone_number_order_id=order_id,
            )
            return complete()
    except ChimeApiError as error:
        if not error.transient:
            raise ProviderError(
                f"{error} (while releasing {mask_phone_number(number)}, whose order never "
                "completed; release it with DeletePhoneNumber once the order settles)"
            ) from error
        clients.log.warning(
            "phone number release check failed; trying again", error_code=error.code
        )
        status = f"unknown (the last check failed with {error.code})"
    elapsed = _elapsed(event, clients)
    if elapsed is not None and elapsed >= GIVE_UP_AFTER_SECONDS:
        raise ProviderError(
            f"Phone number {mask_phone_number(number)} (order {order_id or 'id unknown'}) is still "
            f"{status} after {elapsed / 60:.0f} minutes and the service will not release it yet. "
            "It was never acquired for this stack; release it with DeletePhoneNumber once the "
            "order settles, then retry the stack operation."
        )
    return {"IsComplete": False, "Data": {}}


def _release_now(number: str, chime: Chime) -> None:
    try:
        chime.call(chime.client.delete_phone_number, PhoneNumberId=number)
    except ChimeApiError as error:
        if error.code != NOT_FOUND:
            raise


def _not_ours_reason(properties: Mapping[str, object], number: str) -> str | None:
    """Why a deleted resource's number is never released, or None if it was ordered here.

    Read leniently: a delete must not fail on properties, and any doubt keeps the number.
    """
    if properties.get("E164PhoneNumber") not in (None, ""):
        return "existing number (E164PhoneNumber): never released"
    if properties.get("Search") is None:
        return "not a number this resource ordered"
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
