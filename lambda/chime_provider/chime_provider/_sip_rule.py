"""``Custom::ChimeSipRule``: routes calls for a phone number or a Request-URI host to SMAs.

Properties: ``Name``, ``TriggerType`` (``ToPhoneNumber``|``RequestUriHostname``), ``TriggerValue``,
``Disabled`` (``"true"``|``"false"``, default false) and ``TargetApplications``
(``[{"SipMediaApplicationId", "Priority", "AwsRegion"}]``, 1 to 25, at most one per Region).
Physical id: the SipRuleId. Data: ``SipRuleId``.

A change of trigger replaces the rule; every other change is applied in place. A create that
conflicts with an existing rule for the same trigger adopts that rule only when its name is ours
(a retried create after a partial failure); otherwise it fails with the service's message. A create
whose outcome is unknown (5xx, read timeout) is not simply repeated: the rule for our trigger is
looked up first (ListSipRules) and adopted when it carries our name.
Delete disables the rule first, which the service requires, then deletes it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from chime_provider._chime import CONFLICT, NOT_FOUND, Chime, ChimeApiError, ChimeClients
from chime_provider._events import OnEventResult, ProviderError, ResourceEvent
from chime_provider._properties import E164_PATTERN, SERVICE_NAME_PATTERN, PropertyReader

if TYPE_CHECKING:
    from mypy_boto3_chime_sdk_voice.literals import SipRuleTriggerTypeType
    from mypy_boto3_chime_sdk_voice.type_defs import (
        CreateSipRuleResponseTypeDef,
        SipRuleTargetApplicationTypeDef,
        SipRuleTypeDef,
    )

__all__ = ["RESOURCE_TYPE", "SipRuleProps", "Target", "on_event"]

RESOURCE_TYPE = "Custom::ChimeSipRule"

_TRIGGER_TYPES: tuple[SipRuleTriggerTypeType, ...] = ("ToPhoneNumber", "RequestUriHostname")
_MAX_TARGETS = 25
_LIST_PAGE_SIZE = 100


@dataclass(frozen=True)
class Target:
    sip_media_application_id: str
    priority: int
    aws_region: str

    def to_api(self) -> SipRuleTargetApplicationTypeDef:
        return {
            "SipMediaApplicationId": self.sip_media_application_id,
            "Priority": self.priority,
            "AwsRegion": self.aws_region,
        }


@dataclass(frozen=True)
class SipRuleProps:
    name: str
    trigger_type: SipRuleTriggerTypeType
    trigger_value: str
    disabled: bool
    targets: tuple[Target, ...]

    @property
    def trigger(self) -> tuple[str, str]:
        """What the rule matches; changing it means a different rule."""
        return (self.trigger_type, self.trigger_value)

    @classmethod
    def parse(cls, properties: Mapping[str, object]) -> SipRuleProps:
        reader = PropertyReader(RESOURCE_TYPE, properties)
        reader.reject_unknown(
            {"Name", "TriggerType", "TriggerValue", "Disabled", "TargetApplications"}
        )
        name = reader.string("Name", SERVICE_NAME_PATTERN, "use 1-256 of a-z A-Z 0-9 space _ . -")
        trigger_type = reader.choice("TriggerType", _TRIGGER_TYPES)
        if trigger_type == "ToPhoneNumber":
            trigger_value = reader.string(
                "TriggerValue", E164_PATTERN, "expected an E.164 number such as +12065550100"
            )
        else:
            trigger_value = reader.string("TriggerValue")
        disabled = reader.boolean("Disabled", default=False)
        targets: list[Target] = []
        for index, item in enumerate(reader.objects("TargetApplications", 1, _MAX_TARGETS)):
            target = reader.child(item, f"TargetApplications[{index}].")
            target.reject_unknown({"SipMediaApplicationId", "Priority", "AwsRegion"})
            targets.append(
                Target(
                    sip_media_application_id=target.string("SipMediaApplicationId"),
                    priority=target.integer("Priority", minimum=1),
                    aws_region=target.string("AwsRegion"),
                )
            )
        regions = [target.aws_region for target in targets]
        duplicated = sorted({region for region in regions if regions.count(region) > 1})
        if duplicated:
            reader.problem(
                "TargetApplications",
                f"more than one SIP media application in {', '.join(duplicated)}; "
                "a SIP rule allows one per Region",
            )
        reader.raise_if_problems()
        return cls(
            name=name,
            trigger_type=trigger_type,
            trigger_value=trigger_value,
            disabled=disabled,
            targets=tuple(targets),
        )


def on_event(event: ResourceEvent, clients: ChimeClients) -> OnEventResult:
    chime = clients.region()
    if event.request_type == "Create":
        return _result(_create(SipRuleProps.parse(event.properties), chime, clients))
    if event.request_type == "Update":
        return _update(event, chime, clients)
    return _delete(event, chime, clients)


def _update(event: ResourceEvent, chime: Chime, clients: ChimeClients) -> OnEventResult:
    props = SipRuleProps.parse(event.properties)
    old_trigger = (
        event.old_properties.get("TriggerType"),
        event.old_properties.get("TriggerValue"),
    )
    if old_trigger != props.trigger:
        clients.log.info("replacing SIP rule: trigger changed", trigger_type=props.trigger_type)
        return _result(_create(props, chime, clients))
    rule_id = event.require_physical_id()
    _apply(rule_id, props, chime)
    return _result(rule_id)


def _create(props: SipRuleProps, chime: Chime, clients: ChimeClients) -> str:
    try:
        rule_id = chime.create(
            chime.client.create_sip_rule,
            result=_created_rule_id,
            find=lambda: _adopt_if_ours(props, chime, clients),
            Name=props.name,
            TriggerType=props.trigger_type,
            TriggerValue=props.trigger_value,
            Disabled=props.disabled,
            TargetApplications=[target.to_api() for target in props.targets],
        )
    except ChimeApiError as error:
        if error.code != CONFLICT:
            raise
        return _adopt(props, chime, clients, error)
    if not rule_id:
        raise ProviderError("chime-sdk-voice returned a SIP rule without an id")
    return rule_id


def _created_rule_id(response: CreateSipRuleResponseTypeDef) -> str:
    return response["SipRule"].get("SipRuleId", "")


def _adopt(
    props: SipRuleProps, chime: Chime, clients: ChimeClients, conflict: ChimeApiError
) -> str:
    """Take over the rule that already has our trigger if it carries our name, else fail."""
    existing = _rule_with_trigger(props, chime)
    if existing is None:
        raise conflict
    rule_id = existing.get("SipRuleId", "")
    if existing.get("Name") != props.name:
        raise ProviderError(
            f"{conflict} A SIP rule with this trigger already exists (SipRuleId {rule_id}, "
            f"Name {existing.get('Name')!r}) and is not this resource's rule {props.name!r}; "
            "delete it or choose another trigger."
        ) from conflict
    clients.log.info("adopting existing SIP rule with our name and trigger", sip_rule_id=rule_id)
    _apply(rule_id, props, chime)
    return rule_id


def _adopt_if_ours(props: SipRuleProps, chime: Chime, clients: ChimeClients) -> str | None:
    """After a create with an unknown outcome: the rule it made, if the service lists it.

    A rule for our trigger with another name is not ours: None, so the create is sent again and
    fails with the service's conflict, which :func:`_adopt` reports.
    """
    existing = _rule_with_trigger(props, chime)
    if existing is None or existing.get("Name") != props.name or not existing.get("SipRuleId"):
        return None
    rule_id = existing.get("SipRuleId", "")
    clients.log.warning("adopting the SIP rule the unanswered create made", sip_rule_id=rule_id)
    # The same call as the create's, so a no-op for the rule it made; it also sets our targets on
    # a rule with our name left by an earlier deployment.
    _apply(rule_id, props, chime)
    return rule_id


def _rule_with_trigger(props: SipRuleProps, chime: Chime) -> SipRuleTypeDef | None:
    return next(
        (
            rule
            for rule in _all_rules(chime)
            if (rule.get("TriggerType"), rule.get("TriggerValue")) == props.trigger
        ),
        None,
    )


def _all_rules(chime: Chime) -> Iterator[SipRuleTypeDef]:
    token: str | None = None
    while True:
        if token:
            page = chime.call(
                chime.client.list_sip_rules, MaxResults=_LIST_PAGE_SIZE, NextToken=token
            )
        else:
            page = chime.call(chime.client.list_sip_rules, MaxResults=_LIST_PAGE_SIZE)
        yield from page.get("SipRules", [])
        token = page.get("NextToken")
        if not token:
            return


def _apply(rule_id: str, props: SipRuleProps, chime: Chime) -> None:
    chime.call(
        chime.client.update_sip_rule,
        SipRuleId=rule_id,
        Name=props.name,
        Disabled=props.disabled,
        TargetApplications=[target.to_api() for target in props.targets],
    )


def _delete(event: ResourceEvent, chime: Chime, clients: ChimeClients) -> OnEventResult:
    rule_id = event.require_physical_id()
    try:
        name = _name_of(rule_id, event.properties, chime)
        chime.call(chime.client.update_sip_rule, SipRuleId=rule_id, Name=name, Disabled=True)
        # UpdateSipRule answers 202 Accepted: the disable may not have landed when the delete
        # arrives, and the service refuses to delete an enabled rule with a conflict.
        chime.call(chime.client.delete_sip_rule, retry_codes={CONFLICT}, SipRuleId=rule_id)
    except ChimeApiError as error:
        if error.code != NOT_FOUND:
            raise
        clients.log.info("SIP rule already gone", sip_rule_id=rule_id)
    return {"PhysicalResourceId": rule_id, "Data": {}}


def _name_of(rule_id: str, properties: Mapping[str, object], chime: Chime) -> str:
    """The name UpdateSipRule requires: ours from the properties, else the service's."""
    name = properties.get("Name")
    if isinstance(name, str) and SERVICE_NAME_PATTERN.fullmatch(name):
        return name
    return chime.call(chime.client.get_sip_rule, SipRuleId=rule_id)["SipRule"].get("Name", "")


def _result(rule_id: str) -> OnEventResult:
    return {"PhysicalResourceId": rule_id, "Data": {"SipRuleId": rule_id}}
