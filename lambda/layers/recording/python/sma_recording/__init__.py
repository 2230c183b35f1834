"""Recording logic for Amazon Chime SDK SIP media application handlers.

Use the recording handler (``sma_recording.entry.handler``, what the construct deploys), or add
recording to your own handler with :func:`with_recording`. The decision logic is pure
(:func:`decide`) and the on-demand control protocol is shared with applications
(:func:`build_arguments`).
"""

from __future__ import annotations

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
