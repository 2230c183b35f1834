"""The on-demand control protocol: what an application puts in ``UpdateSipMediaApplicationCall``.

An application (agent desktop, supervisor tool, PCI workflow) controls the recording of a live call by
calling ``UpdateSipMediaApplicationCall`` with ``Arguments`` built by :func:`build_arguments`. The SIP
media application then invokes the handler with ``CALL_UPDATE_REQUESTED`` and
``ActionData.Parameters.Arguments`` set to the same map, which the handler reads with
:func:`parse_arguments`. Both sides import this module, so the contract is defined once.

Wire format (a string-to-string map, at most 20 entries per the service):

``{"recording": "start" | "pause" | "resume" | "stop"}`` and, optionally, ``"callId": "<leg call id>"``
naming the leg; without it the handler uses the leg it is configured to record.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from sma_recording._bounds import MAX_ID_LENGTH, describe

__all__ = [
    "CALL_ID_ARGUMENT",
    "COMMAND_ARGUMENT",
    "MAX_ARGUMENTS",
    "Command",
    "ControlRequest",
    "ProtocolError",
    "build_arguments",
    "is_recording_request",
    "parse_arguments",
]

COMMAND_ARGUMENT = "recording"
CALL_ID_ARGUMENT = "callId"
#: UpdateSipMediaApplicationCall accepts 0-20 entries in ``Arguments`` (API reference).
MAX_ARGUMENTS = 20


class Command(StrEnum):
    """A recording command an application can send to a live call."""

    START = "start"
    PAUSE = "pause"
    RESUME = "resume"
    STOP = "stop"


class ProtocolError(ValueError):
    """Arguments that are not a recording command, with a message that says why."""


@dataclass(frozen=True)
class ControlRequest:
    """One decoded recording command."""

    command: Command
    call_id: str | None = None


def _check_call_id(call_id: str) -> str:
    if not call_id or len(call_id) > MAX_ID_LENGTH or not call_id.isprintable():
        raise ProtocolError(
            f"{CALL_ID_ARGUMENT} must be a non-empty printable string of at most "
            f"{MAX_ID_LENGTH} characters, got {describe(call_id)}"
        )
    return call_id


def build_arguments(command: Command | str, call_id: str | None = None) -> dict[str, str]:
    """Build the ``Arguments`` map for ``UpdateSipMediaApplicationCall``.

    :param command: start, pause, resume or stop.
    :param call_id: the leg to act on. Default: the leg the handler is configured to record.
    :raises ProtocolError: when the command or call id is not valid.
    """
    try:
        parsed = Command(str(command).strip().lower())
    except ValueError:
        allowed = ", ".join(c.value for c in Command)
        raise ProtocolError(f"command must be one of {allowed}; got {command!r}") from None
    arguments = {COMMAND_ARGUMENT: parsed.value}
    if call_id is not None:
        arguments[CALL_ID_ARGUMENT] = _check_call_id(call_id)
    return arguments


def is_recording_request(arguments: object) -> bool:
    """Whether an ``Arguments`` map carries a recording command (valid or not)."""
    return isinstance(arguments, Mapping) and COMMAND_ARGUMENT in arguments


def parse_arguments(arguments: object) -> ControlRequest:
    """Decode the ``Arguments`` of a ``CALL_UPDATE_REQUESTED`` event.

    :raises ProtocolError: when the map is not a recording command.
    """
    if not isinstance(arguments, Mapping):
        raise ProtocolError(f"Arguments must be a map, got {type(arguments).__name__}")
    raw = arguments.get(COMMAND_ARGUMENT)
    if not isinstance(raw, str):
        raise ProtocolError(f"Arguments.{COMMAND_ARGUMENT} must be a string, got {describe(raw)}")
    try:
        command = Command(raw.strip().lower())
    except ValueError:
        allowed = ", ".join(c.value for c in Command)
        raise ProtocolError(
            f"Arguments.{COMMAND_ARGUMENT} must be one of {allowed}; got {describe(raw)}"
        ) from None
    call_id = arguments.get(CALL_ID_ARGUMENT)
    if call_id is None:
        return ControlRequest(command)
    if not isinstance(call_id, str):
        raise ProtocolError(
            f"Arguments.{CALL_ID_ARGUMENT} must be a string, got {describe(call_id)}"
        )
    return ControlRequest(command, _check_call_id(call_id))
