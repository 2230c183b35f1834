"""Handlers to simulate: the library's recording handler, or any ``module:function``."""

from __future__ import annotations

import copy
import importlib
import json
from collections.abc import Callable, Mapping
from typing import Any

from sma_recording.config import ConfigError, parse_config
from sma_recording.entry import RecordingHandler

__all__ = [
    "DEFAULT_BRIDGE_NUMBER",
    "DEFAULT_HANDLER",
    "DEFAULT_RECORDING_CONFIG",
    "Handler",
    "HandlerError",
    "load_handler",
    "recording_handler",
]

#: A Lambda handler: ``handler(event, context) -> response``.
Handler = Callable[[Any, Any], Any]

#: The recording handler the construct deploys (``sma_recording.entry:handler``).
DEFAULT_HANDLER = "sma_recording.entry:handler"
#: The agent the default configuration bridges inbound calls to (a 555 number: never a real line).
DEFAULT_BRIDGE_NUMBER = "+12065550142"

#: The example app's configuration (consent Speak, BOTH on LEG-A, auto start) plus a PSTN bridge.
DEFAULT_RECORDING_CONFIG: Mapping[str, Any] = {
    "version": 1,
    "application": "CallRecordingExample/CallRecording/Handler",
    "metricsNamespace": "CdkRecording",
    "destination": {"bucket": "callrecordingexample-recordings", "prefix": "recordings"},
    "track": "BOTH",
    "leg": "LEG-A",
    "autoStart": True,
    "consent": {
        "speak": {
            "text": "This call is recorded for training and quality purposes. "
            "If you do not agree, please hang up now."
        }
    },
    "announceToCallee": False,
    "bridge": {"endpointType": "PSTN", "uri": DEFAULT_BRIDGE_NUMBER, "timeoutSeconds": 30},
    "dtmf": None,
}


class HandlerError(ValueError):
    """A handler that cannot be loaded or configured; the message says why."""


def recording_handler(
    config: Mapping[str, Any] | str | None = None,
    *,
    clock: Callable[[], float] | None = None,
    log_level: str = "INFO",
) -> RecordingHandler:
    """The library's recording handler with a configuration, as one cold start would build it.

    :param config: the ``SMA_RECORDING_CONFIG`` document (an object or JSON text). Default:
        :data:`DEFAULT_RECORDING_CONFIG`.
    :param clock: seconds since the epoch for metric timestamps; pass the simulator's clock so
        metrics carry simulated time. Default: the real clock.
    :param log_level: the handler's log level. Default: INFO (as deployed).
    :raises HandlerError: the configuration is invalid (every problem listed).
    """
    document = copy.deepcopy(dict(DEFAULT_RECORDING_CONFIG)) if config is None else config
    try:
        parsed = parse_config(document if isinstance(document, str) else json.dumps(document))
    except ConfigError as error:
        raise HandlerError(str(error)) from error
    if clock is None:
        return RecordingHandler(parsed, log_level=log_level)
    return RecordingHandler(parsed, log_level=log_level, clock=clock)


def load_handler(spec: str) -> Handler:
    """The callable named by ``module:attribute`` (``attribute`` may be dotted).

    :raises HandlerError: the spec is malformed, the module cannot be imported, or the attribute is
        missing or not callable.
    """
    module_name, _, attribute = spec.partition(":")
    if not module_name or not attribute:
        raise HandlerError(f"handler must be 'module:function', got {spec!r}")
    try:
        target: Any = importlib.import_module(module_name)
    except Exception as error:
        raise HandlerError(
            f"cannot import module {module_name!r}: {type(error).__name__}: {error}"
        ) from error
    for part in attribute.split("."):
        try:
            target = getattr(target, part)
        except AttributeError:
            raise HandlerError(f"{module_name!r} has no attribute {attribute!r}") from None
    if not callable(target):
        raise HandlerError(f"{spec} is not callable")
    handler: Handler = target
    return handler
