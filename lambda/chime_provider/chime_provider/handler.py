"""Lambda entry points of the chime-sdk-voice custom-resource provider.

``on_event`` and ``is_complete`` implement the CDK ``custom_resources.Provider`` contract; the
framework speaks the CloudFormation protocol. An exception is how a handler reports FAILED, with
its message as the reason, so invalid input and service errors are raised, never swallowed.

This is the only module that reads the environment (``AWS_REGION``, ``LOG_LEVEL``) or builds boto3
clients; tests pass a :class:`Runtime` with a stubbed client instead.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config

from chime_provider import _phone_number, _sip_media_application, _sip_rule, _sma_logging
from chime_provider._chime import ChimeClients, RetryPolicy
from chime_provider._events import (
    IsCompleteResult,
    OnEventResult,
    ProviderError,
    ResourceEvent,
    complete,
)
from chime_provider._logging import LOGGER, EventLogger

if TYPE_CHECKING:
    from mypy_boto3_chime_sdk_voice import ChimeSDKVoiceClient

__all__ = ["RESOURCE_TYPES", "Runtime", "is_complete", "on_event"]

OnEvent = Callable[[ResourceEvent, ChimeClients], OnEventResult]
IsComplete = Callable[[ResourceEvent, ChimeClients], IsCompleteResult]

_ON_EVENT: Mapping[str, OnEvent] = {
    _sip_media_application.RESOURCE_TYPE: _sip_media_application.on_event,
    _sma_logging.RESOURCE_TYPE: _sma_logging.on_event,
    _phone_number.RESOURCE_TYPE: _phone_number.on_event,
    _sip_rule.RESOURCE_TYPE: _sip_rule.on_event,
}
_IS_COMPLETE: Mapping[str, IsComplete] = {
    _phone_number.RESOURCE_TYPE: _phone_number.is_complete,
}
#: Every ResourceType this provider serves.
RESOURCE_TYPES = tuple(sorted(_ON_EVENT))

#: botocore's retries off (one attempt per call): :class:`RetryPolicy` is the only retry layer, so
#: a create is never repeated without first checking whether it landed (see ``_chime``).
_CLIENT_CONFIG = Config(
    retries={"mode": "standard", "total_max_attempts": 1},
    connect_timeout=5,
    read_timeout=30,
)


@cache
def _boto3_client(region: str) -> ChimeSDKVoiceClient:
    return boto3.client("chime-sdk-voice", region_name=region, config=_CLIENT_CONFIG)


@dataclass(frozen=True)
class Runtime:
    """What the handlers need from the outside world.

    :param client_for: builds the chime-sdk-voice client for a Region. Default: a cached boto3
        client per Region.
    :param default_region: Region for phone numbers, SIP rules and SMA logging, and for SMAs
        without ``AwsRegion``. Default: the Lambda's ``AWS_REGION``.
    :param retry: backoff for throttled and failed calls. Default: :class:`RetryPolicy` ``()``.
    :param clock: the wall clock, in epoch seconds, for the phone-number order deadline.
        Default: :func:`time.time`.
    """

    client_for: Callable[[str], ChimeSDKVoiceClient]
    default_region: str
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    clock: Callable[[], float] = time.time


@cache
def _lambda_runtime() -> Runtime:
    LOGGER.setLevel(os.environ.get("LOG_LEVEL", "INFO").upper())
    region = os.environ.get("AWS_REGION")
    if not region:
        raise ProviderError("AWS_REGION is not set; the provider cannot tell which Region to use")
    return Runtime(client_for=_boto3_client, default_region=region)


def on_event(
    event: Mapping[str, Any], _context: object = None, *, runtime: Runtime | None = None
) -> OnEventResult:
    """Create, update or delete the resource; returns its physical id and attributes."""
    parsed = ResourceEvent.parse(event)
    handle = _ON_EVENT.get(parsed.resource_type)
    if handle is None:
        raise _unknown(parsed.resource_type)
    clients = _clients(parsed, runtime)
    clients.log.info("custom resource event", physical_resource_id=parsed.physical_resource_id)
    result = handle(parsed, clients)
    clients.log.info(
        "custom resource event handled",
        physical_resource_id=result["PhysicalResourceId"],
        data_keys=sorted(result["Data"]),
    )
    return result


def is_complete(
    event: Mapping[str, Any], _context: object = None, *, runtime: Runtime | None = None
) -> IsCompleteResult:
    """Whether the work ``on_event`` started is done; only phone-number orders take time."""
    parsed = ResourceEvent.parse(event)
    if parsed.resource_type not in _ON_EVENT:
        raise _unknown(parsed.resource_type)
    check = _IS_COMPLETE.get(parsed.resource_type)
    if check is None:
        return complete()
    return check(parsed, _clients(parsed, runtime))


def _clients(event: ResourceEvent, runtime: Runtime | None) -> ChimeClients:
    runtime = runtime or _lambda_runtime()
    return ChimeClients(
        client_for=runtime.client_for,
        default_region=runtime.default_region,
        retry=runtime.retry,
        log=EventLogger(event.log_context),
        clock=runtime.clock,
    )


def _unknown(resource_type: str) -> ProviderError:
    return ProviderError(
        f"Unsupported ResourceType {resource_type!r}: this provider serves "
        f"{', '.join(RESOURCE_TYPES)}"
    )
