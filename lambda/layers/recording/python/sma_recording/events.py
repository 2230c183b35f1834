"""Typed, read-only views over the raw SIP media application invocation event.

The service's documentation disagrees with itself in places, so parsing is defensive:

* ``StartTimeInMilliseconds`` is a string of digits (parsed to an int when it is one);
* a participant's ``Status`` may be missing (:attr:`Participant.connected` then assumes connected);
* an error may be given as ``ErrorType``/``ErrorMessage`` inside ``ActionData``, as the same two keys at
  the top level of the event (``INVALID_LAMBDA_RESPONSE`` example), or as a single ``Error`` string such
  as ``"NoAccessToDestination: Error while accessing destination"``; :class:`ErrorInfo` reads all three.

:meth:`SmaEvent.parse` raises :class:`EventError` only for events that cannot be handled at all (not a
JSON object, no ``InvocationEventType``, no ``CallDetails.TransactionId``, participants that are not
objects with a ``CallId``). Everything else is read as far as it goes; unknown fields are ignored.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Any

from sma_recording._bounds import MAX_ID_LENGTH, bounded_int

__all__ = [
    "UNSOLICITED_EVENTS",
    "ActionData",
    "ErrorInfo",
    "EventError",
    "EventType",
    "Participant",
    "SmaEvent",
    "is_unsolicited",
    "peek_context",
]

_EMPTY: Mapping[str, Any] = MappingProxyType({})
#: Most participants an event may list; a SIP media application call has one or two legs.
MAX_PARTICIPANTS = 8
#: Error types and messages longer than this are cut: they are only logged and counted.
MAX_ERROR_TEXT = 1024
_ERROR_STRING = re.compile(r"^\s*([A-Za-z][A-Za-z0-9_.]*)\s*:\s*(.*)$", re.DOTALL)
_METRIC_SAFE = re.compile(r"[^A-Za-z0-9_.:-]")
_MAX_ERROR_TYPE = 64


class EventType(StrEnum):
    """``InvocationEventType`` values the handler knows."""

    NEW_INBOUND_CALL = "NEW_INBOUND_CALL"
    NEW_OUTBOUND_CALL = "NEW_OUTBOUND_CALL"
    RINGING = "RINGING"
    CALL_ANSWERED = "CALL_ANSWERED"
    ACTION_SUCCESSFUL = "ACTION_SUCCESSFUL"
    ACTION_FAILED = "ACTION_FAILED"
    ACTION_INTERRUPTED = "ACTION_INTERRUPTED"
    HANGUP = "HANGUP"
    DIGITS_RECEIVED = "DIGITS_RECEIVED"
    CALL_UPDATE_REQUESTED = "CALL_UPDATE_REQUESTED"
    INVALID_LAMBDA_RESPONSE = "INVALID_LAMBDA_RESPONSE"


#: Spellings some documentation pages use for the same event.
_ALIASES = {"NEW_INCOMING_CALL": EventType.NEW_INBOUND_CALL.value}

#: Events that arrive on their own (an application's update request, a party keying digits, an
#: update request interrupting an action), not as the result of a list the handler returned nor as
#: the start or end of a call: when they arrive, the service may still have actions of an earlier
#: answer queued. Any list in the answer, even ``[]``, replaces that queue (reference §2); only
#: ``"Actions": null`` keeps it. Every other event either asks for a new list (``NEW_INBOUND_CALL``,
#: ``CALL_ANSWERED``) or reports on a list that has run (``ACTION_SUCCESSFUL``/``ACTION_FAILED``),
#: so nothing of ours is left queued behind it.
UNSOLICITED_EVENTS = frozenset(
    {EventType.CALL_UPDATE_REQUESTED, EventType.DIGITS_RECEIVED, EventType.ACTION_INTERRUPTED}
)


class EventError(ValueError):
    """The event cannot be handled at all; the message says why."""


def _str(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _text(value: object, limit: int = MAX_ERROR_TEXT) -> str | None:
    return value[:limit] if isinstance(value, str) else None


def _identifier(value: object, what: str) -> str:
    if not isinstance(value, str) or not value:
        raise EventError(f"{what} is missing")
    if len(value) > MAX_ID_LENGTH:
        raise EventError(f"{what} is longer than {MAX_ID_LENGTH} characters")
    return value


def _mapping(value: object) -> Mapping[str, Any]:
    return MappingProxyType(dict(value)) if isinstance(value, Mapping) else _EMPTY


@dataclass(frozen=True)
class ErrorInfo:
    """An error reported by the service, whichever of its three shapes it came in."""

    type: str | None = None
    message: str | None = None

    @property
    def present(self) -> bool:
        """Whether any error information was found."""
        return self.type is not None or self.message is not None

    @property
    def metric_type(self) -> str:
        """:attr:`type` made safe as a CloudWatch dimension value (``Unknown`` when absent)."""
        cleaned = _METRIC_SAFE.sub("", self.type or "")[:_MAX_ERROR_TYPE]
        return cleaned or "Unknown"

    @classmethod
    def read(cls, *sources: Mapping[str, Any]) -> ErrorInfo:
        """The first error found in ``sources`` (e.g. ``ActionData`` then the event itself)."""
        for source in sources:
            error_type = _text(source.get("ErrorType"))
            message = _text(source.get("ErrorMessage"))
            if error_type is not None or message is not None:
                return cls(error_type, message)
        for source in sources:
            text = _text(source.get("Error"))
            if text:
                match = _ERROR_STRING.match(text)
                if match:
                    return cls(match.group(1), match.group(2).strip() or None)
                return cls(None, text)
        return cls()

    def __str__(self) -> str:
        return f"{self.type or 'Unknown'}: {self.message or '(no message)'}"


@dataclass(frozen=True)
class Participant:
    """One call leg of ``CallDetails.Participants``."""

    call_id: str
    tag: str | None = None
    to: str | None = None
    from_number: str | None = None
    direction: str | None = None
    start_time_ms: int | None = None
    status: str | None = None

    @property
    def connected(self) -> bool:
        """False only when ``Status`` says ``Disconnected`` (a missing status counts as connected)."""
        return self.status != "Disconnected"

    @classmethod
    def parse(cls, raw: object) -> Participant:
        """:raises EventError: when ``raw`` is not an object with a string ``CallId``."""
        if not isinstance(raw, Mapping):
            raise EventError("a participant is not an object")
        call_id = _identifier(raw.get("CallId"), "a participant's CallId")
        return cls(
            call_id=call_id,
            tag=_str(raw.get("ParticipantTag")),
            to=_str(raw.get("To")),
            from_number=_str(raw.get("From")),
            direction=_str(raw.get("Direction")),
            start_time_ms=bounded_int(raw.get("StartTimeInMilliseconds")),
            status=_str(raw.get("Status")),
        )


@dataclass(frozen=True)
class ActionData:
    """``ActionData``: the action an event reports on, with its parameters and results."""

    type: str | None = None
    parameters: Mapping[str, Any] = field(default_factory=lambda: _EMPTY)
    raw: Mapping[str, Any] = field(default_factory=lambda: _EMPTY)

    @property
    def call_id(self) -> str | None:
        """``Parameters.CallId`` when it is a string."""
        return _str(self.parameters.get("CallId"))

    @property
    def participant_tag(self) -> str | None:
        """``Parameters.ParticipantTag`` when it is a string."""
        return _str(self.parameters.get("ParticipantTag"))

    @property
    def received_digits(self) -> str | None:
        """``ReceivedDigits`` (DIGITS_RECEIVED and the *GetDigits actions)."""
        return _str(self.raw.get("ReceivedDigits"))

    @property
    def recording_location(self) -> str | None:
        """``CallRecordingDestination.Location``: the delivered bucket/key of StartCallRecording."""
        return _str(_mapping(self.raw.get("CallRecordingDestination")).get("Location"))

    @property
    def arguments(self) -> object:
        """``Parameters.Arguments`` of a CallUpdateRequest, unvalidated (see ``protocol``)."""
        return self.parameters.get("Arguments")

    @classmethod
    def parse(cls, raw: object) -> ActionData | None:
        """None when ``raw`` is not an object."""
        if not isinstance(raw, Mapping):
            return None
        return cls(_str(raw.get("Type")), _mapping(raw.get("Parameters")), _mapping(raw))


@dataclass(frozen=True)
class SmaEvent:
    """One invocation of the Lambda function by the SIP media application."""

    event_type: str
    transaction_id: str
    sequence: int | None = None
    schema_version: str | None = None
    participants: tuple[Participant, ...] = ()
    action_data: ActionData | None = None
    attributes: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    error: ErrorInfo = field(default_factory=ErrorInfo)
    raw: Mapping[str, Any] = field(default_factory=lambda: _EMPTY)

    def participant(self, tag: str) -> Participant | None:
        """The participant with ``ParticipantTag`` ``tag`` (``LEG-A``/``LEG-B``), if any."""
        return next((p for p in self.participants if p.tag == tag), None)

    def by_call_id(self, call_id: str | None) -> Participant | None:
        """The participant with this ``CallId``, if any."""
        if call_id is None:
            return None
        return next((p for p in self.participants if p.call_id == call_id), None)

    @property
    def action_type(self) -> str | None:
        """``ActionData.Type``, if any."""
        return None if self.action_data is None else self.action_data.type

    @classmethod
    def parse(cls, raw: object) -> SmaEvent:
        """Read an event; :raises EventError: when it cannot be handled at all."""
        if not isinstance(raw, Mapping):
            raise EventError(f"the event is not a JSON object but {type(raw).__name__}")
        event_type = raw.get("InvocationEventType")
        if not isinstance(event_type, str) or not event_type:
            raise EventError("the event has no InvocationEventType")
        details = raw.get("CallDetails")
        if not isinstance(details, Mapping):
            raise EventError("the event has no CallDetails object")
        transaction_id = _identifier(details.get("TransactionId"), "CallDetails.TransactionId")
        raw_participants = details.get("Participants", [])
        if not isinstance(raw_participants, list):
            raise EventError("CallDetails.Participants is not a list")
        if len(raw_participants) > MAX_PARTICIPANTS:
            raise EventError(f"CallDetails.Participants lists more than {MAX_PARTICIPANTS} legs")
        participants = tuple(Participant.parse(item) for item in raw_participants)
        action_data = ActionData.parse(raw.get("ActionData"))
        attributes = details.get("TransactionAttributes")
        return cls(
            event_type=_ALIASES.get(event_type, event_type),
            transaction_id=transaction_id,
            sequence=bounded_int(raw.get("Sequence")),
            schema_version=_str(raw.get("SchemaVersion")),
            participants=participants,
            action_data=action_data,
            attributes=MappingProxyType(
                {k: v for k, v in attributes.items() if isinstance(k, str) and isinstance(v, str)}
                if isinstance(attributes, Mapping)
                else {}
            ),
            error=ErrorInfo.read(_EMPTY if action_data is None else action_data.raw, _mapping(raw)),
            raw=_mapping(raw),
        )


def is_unsolicited(raw: object) -> bool:
    """Whether a raw event (read without :meth:`SmaEvent.parse`, never raises) is one of
    :data:`UNSOLICITED_EVENTS`."""
    if not isinstance(raw, Mapping):
        return False
    event_type = raw.get("InvocationEventType")
    return isinstance(event_type, str) and event_type in UNSOLICITED_EVENTS


def peek_context(raw: object) -> dict[str, Any]:
    """Correlation fields for log lines (transaction id, sequence, event type); never raises.

    Used before (and independently of) :meth:`SmaEvent.parse`, so even a malformed event is logged
    with whatever identifies it.
    """
    context: dict[str, Any] = {"transactionId": None, "sequence": None, "eventType": None}
    if not isinstance(raw, Mapping):
        return context
    event_type = raw.get("InvocationEventType")
    if isinstance(event_type, str):
        context["eventType"] = event_type[:64]
    context["sequence"] = bounded_int(raw.get("Sequence"))
    details = raw.get("CallDetails")
    if isinstance(details, Mapping):
        transaction_id = details.get("TransactionId")
        if isinstance(transaction_id, str):
            context["transactionId"] = transaction_id[:128]
    return context
