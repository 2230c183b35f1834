"""Phone numbers and SIP rules: chime-sdk-voice resources managed through the stack's provider."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any, Protocol, runtime_checkable

import aws_cdk as cdk
from constructs import Construct

from cdk_recording._provider import ChimeVoiceProvider
from cdk_recording._regions import PSTN_REGIONS, SMA_REGIONS
from cdk_recording._sma import ISipMediaApplication
from cdk_recording._validation import (
    Problems,
    check_e164,
    check_service_name,
    default_service_name,
    is_token,
)

__all__ = [
    "IPhoneNumber",
    "ISipRule",
    "PhoneNumber",
    "PhoneNumberSearch",
    "PhoneNumberType",
    "SipRule",
    "SipRuleTarget",
    "SipRuleTriggerType",
]

#: CreatePhoneNumberOrder ``Name`` (the same rule as the provider's, lambda/chime_provider).
_ORDER_NAME = re.compile(r"^[a-zA-Z0-9,._-]+( [a-zA-Z0-9,._-]+)*$")

#: SIP media applications per SIP rule (CreateSipRule ``TargetApplications``: 1-25).
MAX_TARGETS = 25


class PhoneNumberType(Enum):
    """SearchAvailablePhoneNumbers ``PhoneNumberType``."""

    LOCAL = "Local"
    TOLL_FREE = "TollFree"


@dataclass(frozen=True)
class PhoneNumberSearch:
    """Criteria for ordering a new number (SearchAvailablePhoneNumbers); the first match is ordered.

    Product type is always SIP media application dial-in.
    """

    country: str = "US"
    area_code: str | None = None
    state: str | None = None
    city: str | None = None
    toll_free_prefix: str | None = None
    number_type: PhoneNumberType | None = None

    def validate(self, problems: Problems, option: str) -> None:
        if not re.match(r"^[A-Z]{2}$", self.country):
            problems.add(f"{option}.country", self.country, "must be an ISO 3166-1 alpha-2 code")
        if self.area_code is not None and not re.match(r"^[2-9]\d{2}$", self.area_code):
            problems.add(
                f"{option}.area_code",
                self.area_code,
                "must be a three-digit North American area code (first digit 2-9)",
            )
        if self.toll_free_prefix is not None and not re.match(
            r"^8(00|33|44|55|66|77|88)$", self.toll_free_prefix
        ):
            problems.add(
                f"{option}.toll_free_prefix",
                self.toll_free_prefix,
                "must be one of 800, 833, 844, 855, 866, 877, 888",
            )
        if self.toll_free_prefix is not None and self.area_code is not None:
            problems.add(
                f"{option}.area_code",
                self.area_code,
                "cannot be combined with toll_free_prefix (a toll-free number has no area code)",
            )
        if self.toll_free_prefix is not None and self.number_type is PhoneNumberType.LOCAL:
            problems.add(
                f"{option}.number_type", "LOCAL", "cannot be combined with toll_free_prefix"
            )
        if self.state is not None and not re.match(r"^[A-Z]{2}$", self.state):
            problems.add(f"{option}.state", self.state, "must be a two-letter state code")
        if self.city is not None and not self.city.strip():
            problems.add(f"{option}.city", self.city, "must not be blank")

    def to_properties(self) -> dict[str, str]:
        props = {
            "Country": self.country,
            "AreaCode": self.area_code,
            "State": self.state,
            "City": self.city,
            "TollFreePrefix": self.toll_free_prefix,
            "PhoneNumberType": (
                PhoneNumberType.TOLL_FREE.value
                if self.toll_free_prefix is not None and self.number_type is None
                else (self.number_type.value if self.number_type else None)
            ),
        }
        return {k: v for k, v in props.items() if v is not None}


@runtime_checkable
class IPhoneNumber(Protocol):
    """A phone number in the account's inventory."""

    @property
    def e164_phone_number(self) -> str: ...

    @property
    def phone_number_id(self) -> str: ...


@runtime_checkable
class ISipRule(Protocol):
    """A SIP rule."""

    @property
    def sip_rule_id(self) -> str: ...


class _ImportedPhoneNumber(Construct):
    def __init__(self, scope: Construct, construct_id: str, number: str) -> None:
        super().__init__(scope, construct_id)
        self._number = number

    @property
    def e164_phone_number(self) -> str:
        return self._number

    @property
    def phone_number_id(self) -> str:
        return self._number


class _ImportedSipRule(Construct):
    def __init__(self, scope: Construct, construct_id: str, rule_id: str) -> None:
        super().__init__(scope, construct_id)
        self._id = rule_id

    @property
    def sip_rule_id(self) -> str:
        return self._id


def _check_pstn_region(problems: Problems, scope: Construct) -> None:
    region = cdk.Stack.of(scope).region
    if not is_token(region) and region not in PSTN_REGIONS:
        problems.add(
            "region (the stack's)",
            region,
            "phone numbers are provisioned only in " + ", ".join(PSTN_REGIONS),
        )


class PhoneNumber(Construct):
    """A phone number for SIP media application dial-in: an existing one, or one ordered on deploy.

    An existing number is only checked (it exists and has the SIP media application dial-in product
    type); nothing is ordered and it is never released. An ordered number is searched with ``search``,
    ordered, and polled until the order succeeds (every 30 s, for at most 30 minutes); a failed or
    partial order fails the deployment with the service's reason. Ordered numbers are retained when
    the stack is deleted unless ``removal_policy`` is ``DESTROY`` (released numbers sit in a 7-day
    deletion queue and may not be recoverable after it).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        e164_phone_number: str | None = None,
        search: PhoneNumberSearch | None = None,
        name: str | None = None,
        removal_policy: cdk.RemovalPolicy = cdk.RemovalPolicy.RETAIN,
    ) -> None:
        """
        :param e164_phone_number: a number the account already owns. Give this or ``search``.
        :param search: criteria to order a new number. Give this or ``e164_phone_number``.
        :param name: the order's name. Default: none.
        :param removal_policy: ``RETAIN`` keeps an ordered number when the stack is deleted or the
            number replaced; ``DESTROY`` releases it. Existing numbers are never released.
            Default: ``RETAIN``.
        """
        super().__init__(scope, construct_id)
        problems = Problems()
        if (e164_phone_number is None) == (search is None):
            problems.add(
                "e164_phone_number/search",
                (e164_phone_number, search),
                "give exactly one: an existing number, or search criteria to order one",
            )
        if e164_phone_number is not None:
            check_e164(problems, "e164_phone_number", e164_phone_number)
            if removal_policy is cdk.RemovalPolicy.DESTROY:
                problems.add(
                    "removal_policy",
                    "DESTROY",
                    "applies only to numbers this construct orders; existing numbers are never "
                    "released",
                )
        if search is not None:
            search.validate(problems, "search")
        if name is not None and not is_token(name) and not _ORDER_NAME.match(name):
            problems.add(
                "name", name, "must be words of letters, digits and , . _ - separated by spaces"
            )
        if removal_policy not in (cdk.RemovalPolicy.RETAIN, cdk.RemovalPolicy.DESTROY):
            problems.add("removal_policy", removal_policy.name, "must be RETAIN or DESTROY")
        _check_pstn_region(problems, self)
        problems.raise_if_any(self.node.path)

        self.ordered = e164_phone_number is None
        """Whether this number is ordered on deploy (false: an existing number)."""
        properties: dict[str, Any] = {}
        if e164_phone_number is not None:
            properties["E164PhoneNumber"] = e164_phone_number
        else:
            assert search is not None
            properties["Search"] = search.to_properties()
            properties["RemovalPolicy"] = (
                "destroy" if removal_policy is cdk.RemovalPolicy.DESTROY else "retain"
            )
            if name is not None:
                properties["Name"] = name
        # Retained numbers are also kept by CloudFormation itself (DeletionPolicy and
        # UpdateReplacePolicy Retain), so not even a provider fault can release one.
        self.resource = ChimeVoiceProvider.of(self).custom_resource(
            self,
            "Resource",
            resource_type="ChimePhoneNumber",
            properties=properties,
            removal_policy=(
                cdk.RemovalPolicy.DESTROY
                if removal_policy is cdk.RemovalPolicy.DESTROY and self.ordered
                else cdk.RemovalPolicy.RETAIN
            ),
        )
        self._number = (
            e164_phone_number
            if e164_phone_number is not None
            else self.resource.get_att_string("E164PhoneNumber")
        )
        self._id = self.resource.get_att_string("PhoneNumberId")

    @property
    def e164_phone_number(self) -> str:
        """The number in E.164 form (a token for ordered numbers)."""
        return self._number

    @property
    def phone_number_id(self) -> str:
        """The service's id of the number."""
        return self._id

    @staticmethod
    def from_e164_phone_number(scope: Construct, construct_id: str, number: str) -> IPhoneNumber:
        """Refer to a number made elsewhere without managing it."""
        problems = Problems()
        check_e164(problems, "number", number)
        problems.raise_if_any(f"{scope.node.path}/{construct_id}")
        return _ImportedPhoneNumber(scope, construct_id, number)


class SipRuleTriggerType(Enum):
    """What a SIP rule matches."""

    TO_PHONE_NUMBER = "ToPhoneNumber"
    REQUEST_URI_HOSTNAME = "RequestUriHostname"


@dataclass(frozen=True)
class SipRuleTarget:
    """A SIP media application a rule routes to, with its priority (1 is tried first)."""

    sip_media_application: ISipMediaApplication
    priority: int = 1


class SipRule(Construct):
    """A SIP rule routing a phone number or Voice Connector hostname to SIP media applications.

    A change of targets or enabled state updates the rule in place; a change of trigger replaces it.
    On delete the rule is disabled first, as the service requires.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        trigger_type: SipRuleTriggerType,
        trigger_value: str,
        targets: Sequence[SipRuleTarget],
        name: str | None = None,
        enabled: bool = True,
    ) -> None:
        """
        :param trigger_type: ``TO_PHONE_NUMBER`` or ``REQUEST_URI_HOSTNAME``.
        :param trigger_value: the E.164 number, or the Voice Connector's outbound hostname.
        :param targets: 1-25 SMAs, at most one per Region, with unique priorities.
        :param name: the rule's name. Default: derived from the construct path.
        :param enabled: whether the rule routes calls. Default: true.
        """
        super().__init__(scope, construct_id)
        resolved_name = name if name is not None else default_service_name(self)
        problems = Problems()
        check_service_name(problems, "name", resolved_name)
        if trigger_type is SipRuleTriggerType.TO_PHONE_NUMBER:
            check_e164(problems, "trigger_value", trigger_value)
        elif not is_token(trigger_value) and not re.match(r"^[A-Za-z0-9.-]{1,253}$", trigger_value):
            problems.add("trigger_value", trigger_value, "must be a Voice Connector hostname")
        _validate_targets(problems, targets)
        problems.raise_if_any(self.node.path)

        self.resource = ChimeVoiceProvider.of(self).custom_resource(
            self,
            "Resource",
            resource_type="ChimeSipRule",
            properties={
                "Name": resolved_name,
                "TriggerType": trigger_type.value,
                "TriggerValue": trigger_value,
                "Disabled": "false" if enabled else "true",
                "TargetApplications": [
                    {
                        "SipMediaApplicationId": t.sip_media_application.sip_media_application_id,
                        "Priority": str(t.priority),
                        "AwsRegion": t.sip_media_application.region,
                    }
                    for t in targets
                ],
            },
        )
        for target in targets:
            if isinstance(target.sip_media_application, Construct):
                self.resource.node.add_dependency(target.sip_media_application)
        self._id = self.resource.get_att_string("SipRuleId")

    @property
    def sip_rule_id(self) -> str:
        """The service's id of the rule."""
        return self._id

    @staticmethod
    def from_sip_rule_id(scope: Construct, construct_id: str, sip_rule_id: str) -> ISipRule:
        """Refer to a SIP rule made elsewhere."""
        return _ImportedSipRule(scope, construct_id, sip_rule_id)


def _validate_targets(problems: Problems, targets: Sequence[SipRuleTarget]) -> None:
    if not targets:
        problems.add("targets", [], "give 1 to 25 SIP media applications")
        return
    if len(targets) > MAX_TARGETS:
        problems.add("targets", f"<{len(targets)} targets>", f"at most {MAX_TARGETS} are allowed")
    seen_priorities: dict[int, int] = {}
    seen_regions: dict[str, int] = {}
    for index, target in enumerate(targets):
        option = f"targets[{index}]"
        if not 1 <= target.priority <= 1_000_000:
            problems.add(f"{option}.priority", target.priority, "must be a whole number >= 1")
        if target.priority in seen_priorities:
            problems.add(
                f"{option}.priority",
                target.priority,
                f"duplicates targets[{seen_priorities[target.priority]}]; priorities must be unique",
            )
        seen_priorities.setdefault(target.priority, index)
        region = target.sip_media_application.region
        if is_token(region):
            continue
        if region not in SMA_REGIONS:
            problems.add(
                f"{option}.region",
                region,
                "SIP media applications exist only in " + ", ".join(SMA_REGIONS),
            )
        if region in seen_regions:
            problems.add(
                f"{option}.region",
                region,
                f"targets[{seen_regions[region]}] is already in this Region; a rule takes at most "
                "one SIP media application per Region",
            )
        seen_regions.setdefault(region, index)
