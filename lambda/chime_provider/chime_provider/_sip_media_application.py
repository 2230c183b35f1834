"""``Custom::ChimeSipMediaApplication``: a SIP media application where CloudFormation has no type.

Properties: ``Name``, ``AwsRegion``, ``LambdaArn``, optional ``Tags`` (``[{"Key", "Value"}]``).
Physical id: the SipMediaApplicationId. Data: ``SipMediaApplicationId``, ``SipMediaApplicationArn``.

Calls go to the endpoint of ``AwsRegion``: an SMA lives in one Region, so creating or deleting it
through another Region's endpoint would miss it. A change of ``AwsRegion`` replaces the SMA;
``Name``, ``LambdaArn`` and ``Tags`` are updated in place.

CreateSipMediaApplication is not idempotent and SMA names are not unique, so a create whose outcome
is unknown (5xx, read timeout) is never simply repeated: ListSipMediaApplications is checked first,
and an SMA with this resource's ``Name``, ``AwsRegion`` and ``LambdaArn`` created since the first
attempt (allowing for clock skew) is adopted instead of making a second one nothing would manage.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from chime_provider._chime import CONFLICT, NOT_FOUND, Chime, ChimeApiError, ChimeClients
from chime_provider._events import OnEventResult, ProviderError, ResourceEvent
from chime_provider._properties import SERVICE_NAME_PATTERN, PropertyReader

if TYPE_CHECKING:
    from mypy_boto3_chime_sdk_voice.type_defs import SipMediaApplicationTypeDef, TagTypeDef

__all__ = [
    "CLOCK_SKEW_SECONDS",
    "RESOURCE_TYPE",
    "SipMediaApplicationProps",
    "on_event",
    "tag_changes",
]

RESOURCE_TYPE = "Custom::ChimeSipMediaApplication"
#: How much earlier than the Lambda's clock the service may stamp an SMA that the create made.
CLOCK_SKEW_SECONDS = 300.0
_LIST_PAGE_SIZE = 100

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
    since = clients.clock() - CLOCK_SKEW_SECONDS
    params: dict[str, Any] = {
        "AwsRegion": props.aws_region,
        "Name": props.name,
        "Endpoints": [{"LambdaArn": props.lambda_arn}],
    }
    if props.tags:
        params["Tags"] = _tag_list(props.tags)
    application = chime.create(
        chime.client.create_sip_media_application,
        result=lambda response: response["SipMediaApplication"],
        find=lambda: _find_created(props, since, chime, clients),
        **params,
    )
    return _result(application)


def _find_created(
    props: SipMediaApplicationProps, since: float, chime: Chime, clients: ChimeClients
) -> SipMediaApplicationTypeDef | None:
    """The SMA an attempt whose reply was lost created, if the service lists one."""
    matches = sorted(
        (
            application
            for application in _all_applications(chime)
            if application.get("Name") == props.name
            and application.get("AwsRegion") == props.aws_region
            and [endpoint.get("LambdaArn") for endpoint in application.get("Endpoints", [])]
            == [props.lambda_arn]
            and _created_since(application, since)
        ),
        key=_created_at,
    )
    if not matches:
        return None
    adopted = matches[0]
    clients.log.warning(
        "adopting the SIP media application the unanswered create made",
        sip_media_application=adopted.get("SipMediaApplicationId"),
        # More than one means earlier attempts landed too; they are left for an operator to delete.
        other_matches=[application.get("SipMediaApplicationId") for application in matches[1:]],
    )
    return adopted


def _all_applications(chime: Chime) -> Iterator[SipMediaApplicationTypeDef]:
    token: str | None = None
    while True:
        if token:
            page = chime.call(
                chime.client.list_sip_media_applications,
                MaxResults=_LIST_PAGE_SIZE,
                NextToken=token,
            )
        else:
            page = chime.call(chime.client.list_sip_media_applications, MaxResults=_LIST_PAGE_SIZE)
        yield from page.get("SipMediaApplications", [])
        token = page.get("NextToken")
        if not token:
            return


def _created_at(application: SipMediaApplicationTypeDef) -> float:
    created = application.get("CreatedTimestamp")
    return created.timestamp() if isinstance(created, datetime) else 0.0


def _created_since(application: SipMediaApplicationTypeDef, since: float) -> bool:
    # An SMA without a creation time cannot be told apart from someone else's: never adopt it.
    return isinstance(application.get("CreatedTimestamp"), datetime) and (
        _created_at(application) >= since
    )


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
