"""``Custom::ChimeSipMediaApplication``: a SIP media application where CloudFormation has no type.

Properties: ``Name``, ``AwsRegion``, ``LambdaArn``, optional ``Tags`` (``[{"Key", "Value"}]``).
Physical id: the SipMediaApplicationId. Data: ``SipMediaApplicationId``, ``SipMediaApplicationArn``.

Calls go to the endpoint of ``AwsRegion``: an SMA lives in one Region, so creating or deleting it
through another Region's endpoint would miss it. A change of ``AwsRegion`` replaces the SMA;
``Name``, ``LambdaArn`` and ``Tags`` are updated in place.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from chime_provider._chime import CONFLICT, NOT_FOUND, ChimeApiError, ChimeClients
from chime_provider._events import OnEventResult, ProviderError, ResourceEvent
from chime_provider._properties import SERVICE_NAME_PATTERN, PropertyReader

if TYPE_CHECKING:
    from mypy_boto3_chime_sdk_voice.type_defs import SipMediaApplicationTypeDef, TagTypeDef

__all__ = ["RESOURCE_TYPE", "SipMediaApplicationProps", "on_event", "tag_changes"]

RESOURCE_TYPE = "Custom::ChimeSipMediaApplication"

_LAMBDA_ARN = re.compile(
    r"arn:(aws[a-zA-Z-]*)?:lambda:[a-z]{2}((-gov)|(-iso(b?)))?-[a-z]+-\d{1}:\d{12}:function:"
    r"[a-zA-Z0-9-_]+(:(\$LATEST|[a-zA-Z0-9-_]+))?"
)
_REGION = re.compile(r"[a-z]{2}(-[a-z]+)+-\d")
_MAX_TAGS = 50


@dataclass(frozen=True)
class SipMediaApplicationProps:
    name: str
    aws_region: str
    lambda_arn: str
    tags: Mapping[str, str]

    @classmethod
    def parse(cls, properties: Mapping[str, object]) -> SipMediaApplicationProps:
        reader = PropertyReader(RESOURCE_TYPE, properties)
        reader.reject_unknown({"Name", "AwsRegion", "LambdaArn", "Tags"})
        name = reader.string("Name", SERVICE_NAME_PATTERN, "use 1-256 of a-z A-Z 0-9 space _ . -")
        region = reader.string("AwsRegion", _REGION, "expected a Region name such as us-east-1")
        lambda_arn = reader.string(
            "LambdaArn", _LAMBDA_ARN, "expected a Lambda function, version or alias ARN"
        )
        tags: dict[str, str] = {}
        if reader.has("Tags"):
            for index, item in enumerate(reader.objects("Tags", 1, _MAX_TAGS)):
                tag = reader.child(item, f"Tags[{index}].")
                tags[tag.string("Key")] = tag.optional_string("Value") or ""
        reader.raise_if_problems()
        return cls(name=name, aws_region=region, lambda_arn=lambda_arn, tags=tags)


def tag_changes(old: Mapping[str, str], new: Mapping[str, str]) -> tuple[dict[str, str], list[str]]:
    """The tags to set (new or changed values) and the tag keys to remove."""
    to_set = {key: value for key, value in new.items() if old.get(key) != value}
    to_remove = sorted(set(old) - set(new))
    return to_set, to_remove


def on_event(event: ResourceEvent, clients: ChimeClients) -> OnEventResult:
    if event.request_type == "Create":
        return _create(SipMediaApplicationProps.parse(event.properties), clients)
    if event.request_type == "Update":
        return _update(event, clients)
    return _delete(event, clients)


def _create(props: SipMediaApplicationProps, clients: ChimeClients) -> OnEventResult:
    chime = clients.region(props.aws_region)
    if props.tags:
        response = chime.call(
            chime.client.create_sip_media_application,
            AwsRegion=props.aws_region,
            Name=props.name,
            Endpoints=[{"LambdaArn": props.lambda_arn}],
            Tags=_tag_list(props.tags),
        )
    else:
        response = chime.call(
            chime.client.create_sip_media_application,
            AwsRegion=props.aws_region,
            Name=props.name,
            Endpoints=[{"LambdaArn": props.lambda_arn}],
        )
    return _result(response["SipMediaApplication"])


def _update(event: ResourceEvent, clients: ChimeClients) -> OnEventResult:
    props = SipMediaApplicationProps.parse(event.properties)
    old_region = event.old_properties.get("AwsRegion")
    if old_region != props.aws_region:
        clients.log.info(
            "replacing SIP media application: AwsRegion changed",
            old_region=old_region,
            new_region=props.aws_region,
        )
        return _create(props, clients)

    chime = clients.region(props.aws_region)
    response = chime.call(
        chime.client.update_sip_media_application,
        SipMediaApplicationId=event.require_physical_id(),
        Name=props.name,
        Endpoints=[{"LambdaArn": props.lambda_arn}],
    )
    application = response["SipMediaApplication"]
    old_tags = _lenient_tags(event.old_properties.get("Tags"))
    to_set, to_remove = tag_changes(old_tags, props.tags)
    arn = application.get("SipMediaApplicationArn", "")
    if to_set:
        chime.call(chime.client.tag_resource, ResourceARN=arn, Tags=_tag_list(to_set))
    if to_remove:
        chime.call(chime.client.untag_resource, ResourceARN=arn, TagKeys=to_remove)
    return _result(application)


def _delete(event: ResourceEvent, clients: ChimeClients) -> OnEventResult:
    physical_id = event.require_physical_id()
    region = event.properties.get("AwsRegion")
    chime = clients.region(region if isinstance(region, str) and region else None)
    try:
        # A SIP rule deleted moments ago may still hold the SMA for a while: retry the conflict.
        chime.call(
            chime.client.delete_sip_media_application,
            retry_codes={CONFLICT},
            SipMediaApplicationId=physical_id,
        )
    except ChimeApiError as error:
        if error.code != NOT_FOUND:
            raise
        clients.log.info("SIP media application already gone", sip_media_application=physical_id)
    return {"PhysicalResourceId": physical_id, "Data": {}}


def _result(application: SipMediaApplicationTypeDef) -> OnEventResult:
    sma_id = application.get("SipMediaApplicationId", "")
    if not sma_id:
        raise ProviderError("chime-sdk-voice returned a SIP media application without an id")
    return {
        "PhysicalResourceId": sma_id,
        "Data": {
            "SipMediaApplicationId": sma_id,
            "SipMediaApplicationArn": application.get("SipMediaApplicationArn", ""),
        },
    }


def _tag_list(tags: Mapping[str, str]) -> list[TagTypeDef]:
    return [{"Key": key, "Value": value} for key, value in tags.items()]


def _lenient_tags(value: object) -> dict[str, str]:
    """The previous deployment's tags; they were valid then, so read them without judging."""
    if not isinstance(value, list):
        return {}
    return {
        str(item["Key"]): str(item.get("Value", ""))
        for item in value
        if isinstance(item, Mapping) and "Key" in item
    }
