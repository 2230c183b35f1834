"""Typed, read-only views over the CDK Provider framework's events and results."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, NotRequired, TypedDict, cast

__all__ = [
    "IsCompleteResult",
    "OnEventResult",
    "ProviderError",
    "RequestType",
    "ResourceEvent",
    "complete",
]

RequestType = Literal["Create", "Update", "Delete"]
_REQUEST_TYPES: tuple[RequestType, ...] = ("Create", "Update", "Delete")

# Properties CloudFormation or the CDK add to every custom resource; none of them is ours to read.
_FRAMEWORK_PROPERTIES = frozenset({"ServiceToken", "ServiceTimeout"})


class ProviderError(Exception):
    """A failure to report to CloudFormation; its message becomes the stack event's reason."""


class OnEventResult(TypedDict):
    """What ``on_event`` returns to the Provider framework.

    The ``Pending*`` fields are custom: the framework passes them on to ``is_complete`` (merged
    into its event) but never sends them to CloudFormation. ``PendingSince`` is the epoch second
    the wait started, for ``is_complete``'s own deadline.
    """

    PhysicalResourceId: str
    Data: dict[str, str]
    PendingPhoneNumberOrderId: NotRequired[str]
    PendingPhoneNumberRelease: NotRequired[str]
    PendingSince: NotRequired[float]


class IsCompleteResult(TypedDict):
    """What ``is_complete`` returns. ``Data`` must stay empty while ``IsComplete`` is false."""

    IsComplete: bool
    Data: dict[str, str]


def complete(data: Mapping[str, str] | None = None) -> IsCompleteResult:
    """The operation is done; ``data`` is merged into the attributes ``on_event`` returned."""
    return {"IsComplete": True, "Data": dict(data or {})}


@dataclass(frozen=True)
class ResourceEvent:
    """A custom-resource event as the Provider framework hands it to ``on_event``/``is_complete``.

    For ``is_complete`` the framework has already merged the ``on_event`` result into the event, so
    ``physical_resource_id`` and ``data`` are the ones ``on_event`` returned.
    """

    request_type: RequestType
    resource_type: str
    logical_resource_id: str
    request_id: str
    stack_id: str
    physical_resource_id: str | None
    properties: Mapping[str, Any]
    old_properties: Mapping[str, Any]
    data: Mapping[str, Any]
    raw: Mapping[str, Any]

    @classmethod
    def parse(cls, raw: Mapping[str, Any]) -> ResourceEvent:
        request_type = raw.get("RequestType")
        if request_type not in _REQUEST_TYPES:
            raise ProviderError(
                f"Unsupported RequestType {request_type!r}: expected one of "
                f"{', '.join(_REQUEST_TYPES)}"
            )
        resource_type = raw.get("ResourceType")
        if not isinstance(resource_type, str) or not resource_type:
            raise ProviderError("The event has no ResourceType")
        physical = raw.get("PhysicalResourceId")
        return cls(
            request_type=cast(RequestType, request_type),
            resource_type=resource_type,
            logical_resource_id=str(raw.get("LogicalResourceId", "")),
            request_id=str(raw.get("RequestId", "")),
            stack_id=str(raw.get("StackId", "")),
            physical_resource_id=physical if isinstance(physical, str) and physical else None,
            properties=_own_properties(raw.get("ResourceProperties")),
            old_properties=_own_properties(raw.get("OldResourceProperties")),
            data=_mapping(raw.get("Data")),
            raw=raw,
        )

    def require_physical_id(self) -> str:
        """The physical id CloudFormation sends with every Update and Delete."""
        if self.physical_resource_id is None:
            raise ProviderError(
                f"{self.request_type} of {self.resource_type} {self.logical_resource_id} arrived "
                "without a PhysicalResourceId"
            )
        return self.physical_resource_id

    @property
    def log_context(self) -> dict[str, object]:
        return {
            "request_id": self.request_id,
            "request_type": self.request_type,
            "resource_type": self.resource_type,
            "logical_resource_id": self.logical_resource_id,
        }


def _mapping(value: object) -> Mapping[str, Any]:
    return cast(Mapping[str, Any], value) if isinstance(value, Mapping) else {}


def _own_properties(value: object) -> Mapping[str, Any]:
    return {k: v for k, v in _mapping(value).items() if k not in _FRAMEWORK_PROPERTIES}
