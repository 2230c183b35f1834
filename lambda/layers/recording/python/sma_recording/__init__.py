"""Recording logic for Amazon Chime SDK SIP media application handlers.

Use the recording handler (``sma_recording.entry.handler``, what the construct deploys), or add
recording to your own handler with :func:`with_recording`. The decision logic is pure
(:func:`decide`) and the on-demand control protocol is shared with applications
(:func:`build_arguments`).

Names load on first use, so importing one module (the Lambda entry point, or the protocol in an
application) does not compile the rest on a cold start.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sma_recording.config import (
        ENV_VAR,
        AudioConsent,
        Bridge,
        ConfigError,
        Destination,
        DtmfControl,
        EndpointType,
        Engine,
        Leg,
        RecordingConfig,
        SpeakConsent,
        Track,
        load_config,
        parse_config,
    )
    from sma_recording.core import Decision, LogRecord, MetricName, MetricRecord, decide
    from sma_recording.entry import RecordingHandler, handler
    from sma_recording.events import ErrorInfo, EventError, EventType, Participant, SmaEvent
    from sma_recording.protocol import (
        Command,
        ControlRequest,
        ProtocolError,
        build_arguments,
        parse_arguments,
    )
    from sma_recording.state import STATE_KEY, CallState, Flow, LegStatus
    from sma_recording.wrapper import with_recording

_EXPORTS: dict[str, str] = {
    "AudioConsent": "sma_recording.config",
    "Bridge": "sma_recording.config",
    "CallState": "sma_recording.state",
    "Command": "sma_recording.protocol",
    "ConfigError": "sma_recording.config",
    "ControlRequest": "sma_recording.protocol",
    "Decision": "sma_recording.core",
    "Destination": "sma_recording.config",
    "DtmfControl": "sma_recording.config",
    "ENV_VAR": "sma_recording.config",
    "EndpointType": "sma_recording.config",
    "Engine": "sma_recording.config",
    "ErrorInfo": "sma_recording.events",
    "EventError": "sma_recording.events",
    "EventType": "sma_recording.events",
    "Flow": "sma_recording.state",
    "Leg": "sma_recording.config",
    "LegStatus": "sma_recording.state",
    "LogRecord": "sma_recording.core",
    "MetricName": "sma_recording.core",
    "MetricRecord": "sma_recording.core",
    "Participant": "sma_recording.events",
    "ProtocolError": "sma_recording.protocol",
    "RecordingConfig": "sma_recording.config",
    "RecordingHandler": "sma_recording.entry",
    "STATE_KEY": "sma_recording.state",
    "SmaEvent": "sma_recording.events",
    "SpeakConsent": "sma_recording.config",
    "Track": "sma_recording.config",
    "build_arguments": "sma_recording.protocol",
    "decide": "sma_recording.core",
    "handler": "sma_recording.entry",
    "load_config": "sma_recording.config",
    "parse_arguments": "sma_recording.protocol",
    "parse_config": "sma_recording.config",
    "with_recording": "sma_recording.wrapper",
}

__all__ = [
    "ENV_VAR",
    "STATE_KEY",
    "AudioConsent",
    "Bridge",
    "CallState",
    "Command",
    "ConfigError",
    "ControlRequest",
    "Decision",
    "Destination",
    "DtmfControl",
    "EndpointType",
    "Engine",
    "ErrorInfo",
    "EventError",
    "EventType",
    "Flow",
    "Leg",
    "LegStatus",
    "LogRecord",
    "MetricName",
    "MetricRecord",
    "Participant",
    "ProtocolError",
    "RecordingConfig",
    "RecordingHandler",
    "SmaEvent",
    "SpeakConsent",
    "Track",
    "build_arguments",
    "decide",
    "handler",
    "load_config",
    "parse_arguments",
    "parse_config",
    "with_recording",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'sma_recording' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
