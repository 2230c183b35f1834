"""``Custom::ChimeSmaLogging``: message logging of a SIP media application.

Properties: ``SipMediaApplicationId``, ``EnableSipMediaApplicationMessageLogs`` (``"true"`` or
``"false"``), and optionally ``AwsRegion``, the SMA's Region (default: the provider's Region).
Physical id: ``<SipMediaApplicationId>/logging`` (the service has no id for the setting).
Data: ``SipMediaApplicationId``, ``EnableSipMediaApplicationMessageLogs`` (``"true"``/``"false"``).

Updates are applied in place; pointing at another SMA yields a new physical id, so CloudFormation
then deletes the old setting. Delete turns message logs off; an SMA that is already gone counts as
success.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from chime_provider._chime import NOT_FOUND, ChimeApiError, ChimeClients
from chime_provider._events import OnEventResult, ResourceEvent
from chime_provider._properties import PropertyReader

__all__ = ["RESOURCE_TYPE", "SmaLoggingProps", "on_event", "physical_id_for"]

RESOURCE_TYPE = "Custom::ChimeSmaLogging"
_SUFFIX = "/logging"


@dataclass(frozen=True)
class SmaLoggingProps:
    sip_media_application_id: str
    enable_message_logs: bool
    aws_region: str | None

    @classmethod
    def parse(cls, properties: Mapping[str, object]) -> SmaLoggingProps:
        reader = PropertyReader(RESOURCE_TYPE, properties)
        reader.reject_unknown(
            {"SipMediaApplicationId", "EnableSipMediaApplicationMessageLogs", "AwsRegion"}
        )
        props = cls(
            sip_media_application_id=reader.string("SipMediaApplicationId"),
            enable_message_logs=reader.boolean("EnableSipMediaApplicationMessageLogs"),
            aws_region=reader.optional_string("AwsRegion"),
        )
        reader.raise_if_problems()
        return props


def physical_id_for(sip_media_application_id: str) -> str:
    return f"{sip_media_application_id}{_SUFFIX}"


def on_event(event: ResourceEvent, clients: ChimeClients) -> OnEventResult:
    if event.request_type == "Delete":
        return _delete(event, clients)
    props = SmaLoggingProps.parse(event.properties)
    chime = clients.region(props.aws_region)
    chime.call(
        chime.client.put_sip_media_application_logging_configuration,
        SipMediaApplicationId=props.sip_media_application_id,
        SipMediaApplicationLoggingConfiguration={
            "EnableSipMediaApplicationMessageLogs": props.enable_message_logs
        },
    )
    return {
        "PhysicalResourceId": physical_id_for(props.sip_media_application_id),
        "Data": {
            "SipMediaApplicationId": props.sip_media_application_id,
            "EnableSipMediaApplicationMessageLogs": str(props.enable_message_logs).lower(),
        },
    }


def _delete(event: ResourceEvent, clients: ChimeClients) -> OnEventResult:
    physical_id = event.require_physical_id()
    # The physical id names the SMA this setting was applied to, whatever the properties say now.
    sma_id = physical_id.removesuffix(_SUFFIX)
    region = event.properties.get("AwsRegion")
    chime = clients.region(region if isinstance(region, str) and region else None)
    try:
        chime.call(
            chime.client.put_sip_media_application_logging_configuration,
            SipMediaApplicationId=sma_id,
            SipMediaApplicationLoggingConfiguration={"EnableSipMediaApplicationMessageLogs": False},
        )
    except ChimeApiError as error:
        if error.code != NOT_FOUND:
            raise
        clients.log.info("SIP media application already gone; nothing to turn off")
    return {"PhysicalResourceId": physical_id, "Data": {}}
