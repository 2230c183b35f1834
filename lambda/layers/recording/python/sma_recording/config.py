"""The recording configuration: what the construct writes into ``SMA_RECORDING_CONFIG``.

The construct serialises the options of the recording handler as JSON into the environment variable
:data:`ENV_VAR`; the entry module reads it once per cold start with :func:`load_config`. The schema
(version 1) is::

    {
      "version": 1,
      "application": "<value of the metrics dimension 'Application'>",
      "metricsNamespace": "CdkRecording",
      "destination": {"bucket": "<bucket name>", "prefix": "recordings"},
      "track": "BOTH",             # BOTH | INCOMING | OUTGOING
      "leg": "LEG-A",              # LEG-A | LEG-B
      "autoStart": true,
      "consent": null,             # or {"speak": {...}} or {"audio": {"bucket": ..., "key": ...}}
      "announceToCallee": false,
      "bridge": null,              # or {"endpointType", "uri", "arn", "callerId", "timeoutSeconds"}
      "dtmf": null                 # or {"pause": "*1", "resume": "*2"}
    }

``application`` and ``destination.bucket`` are required; every other key may be left out and then takes
the default shown. Unknown keys are rejected, so a misspelt option is reported instead of ignored.

An invalid configuration never raises out of the Lambda handler: :func:`load_config` returns a
*disabled* configuration (:attr:`RecordingConfig.disabled_reason` set) that keeps whatever could still
be used safely (``application`` and ``metricsNamespace`` for the metrics, and ``bridge`` so that inbound
calls still reach their destination), together with the list of problems to log. A disabled
configuration never records and never plays the consent announcement, and never ends a call: without a
usable bridge, inbound calls are answered and kept up, unrecorded, until the caller hangs up.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from sma_recording._bounds import MAX_DEPTH, describe, json_depth, object_depth
from sma_recording._config_model import (
    DEFAULT_METRICS_NAMESPACE,
    ENV_VAR,
    MAX_CONFIG_CHARS,
    MAX_NAME,
    NAMESPACE_PATTERN,
    SCHEMA_VERSION,
    AudioConsent,
    Bridge,
    ConfigError,
    Consent,
    Destination,
    DtmfControl,
    EndpointType,
    Engine,
    Leg,
    RecordingConfig,
    SpeakConsent,
    Track,
    is_e164,
)

__all__ = [
    "DEFAULT_METRICS_NAMESPACE",
    "ENV_VAR",
    "SCHEMA_VERSION",
    "AudioConsent",
    "Bridge",
    "ConfigError",
    "Consent",
    "Destination",
    "DtmfControl",
    "EndpointType",
    "Engine",
    "Leg",
    "RecordingConfig",
    "SpeakConsent",
    "Track",
    "is_e164",
    "load_config",
    "parse_config",
]


# -- parsing ------------------------------------------------------------------------------------------

_T = TypeVar("_T")
_MISSING = object()


class _Reader:
    """Reads typed values from one JSON object, collecting problems instead of raising."""

    def __init__(self, data: Mapping[str, Any], path: str, allowed: set[str], problems: list[str]):
        self.data = data
        self.path = path
        self.problems = problems
        for key in sorted(set(data) - allowed, key=str):
            problems.append(f"{self._name(str(key))} is not a known key")

    def _name(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def get(
        self, key: str, kind: type[_T], default: Any = _MISSING, *, nullable: bool = False
    ) -> Any:
        """The value at ``key`` if it has type ``kind`` (or is null when allowed); else ``default``."""
        value = self.data.get(key, _MISSING)
        if value is _MISSING:
            if default is _MISSING:
                self.problems.append(f"{self._name(key)} is required")
            return None if default is _MISSING else default
        if value is None and nullable:
            return None
        # bool is a subclass of int: never accept true/false where a number is expected.
        if isinstance(value, kind) and not (kind is int and isinstance(value, bool)):
            return value
        expected = {str: "a string", bool: "true or false", int: "an integer", dict: "an object"}
        self.problems.append(
            f"{self._name(key)} must be {expected.get(kind, kind.__name__)}"
            + (" or null" if nullable else "")
            + f", got {describe(value)}"
        )
        return None if default is _MISSING else default

    def section(self, key: str, allowed: set[str]) -> _Reader | None:
        """A nested object (or None when absent or null)."""
        value = self.get(key, dict, None, nullable=True)
        if value is None:
            return None
        return _Reader(value, self._name(key), allowed, self.problems)


def _build(problems: list[str], factory: Callable[[], _T]) -> _T | None:
    try:
        return factory()
    except ConfigError as error:
        problems.extend(error.problems)
        return None


def _parse_destination(root: _Reader, problems: list[str]) -> Destination | None:
    reader = root.section("destination", {"bucket", "prefix"})
    if reader is None:
        if "destination" not in root.data:
            problems.append("destination is required")
        elif root.data.get("destination") is None:
            problems.append("destination must be an object, got null")
        return None
    bucket = reader.get("bucket", str)
    prefix = reader.get("prefix", str, "", nullable=True) or ""
    if bucket is None:
        return None
    return _build(problems, lambda: Destination(bucket, prefix))


def _parse_consent(root: _Reader, problems: list[str]) -> Consent | None:
    reader = root.section("consent", {"speak", "audio"})
    if reader is None:
        return None
    speak = reader.section("speak", {"text", "voiceId", "engine", "languageCode"})
    audio = reader.section("audio", {"bucket", "key"})
    if (speak is None) == (audio is None):
        problems.append("consent must have exactly one of speak or audio")
        return None
    if speak is not None:
        text = speak.get("text", str)
        voice = speak.get("voiceId", str, None, nullable=True)
        engine = speak.get("engine", str, None, nullable=True)
        language = speak.get("languageCode", str, None, nullable=True)
        if text is None:
            return None
        if engine is not None and engine not in tuple(Engine):
            problems.append(
                f"consent.speak.engine must be standard, neural or null, got {engine!r}"
            )
            return None
        return _build(
            problems,
            lambda: SpeakConsent(text, voice, None if engine is None else Engine(engine), language),
        )
    assert audio is not None
    bucket = audio.get("bucket", str)
    key = audio.get("key", str)
    if bucket is None or key is None:
        return None
    return _build(problems, lambda: AudioConsent(bucket, key))


def _parse_bridge(root: _Reader, problems: list[str]) -> Bridge | None:
    reader = root.section("bridge", {"endpointType", "uri", "arn", "callerId", "timeoutSeconds"})
    if reader is None:
        return None
    endpoint = reader.get("endpointType", str, "PSTN")
    uri = reader.get("uri", str)
    arn = reader.get("arn", str, None, nullable=True)
    caller_id = reader.get("callerId", str, None, nullable=True)
    timeout = reader.get("timeoutSeconds", int, 30, nullable=True)
    if endpoint not in tuple(EndpointType):
        problems.append(f"bridge.endpointType must be PSTN or AWS, got {endpoint!r}")
        return None
    if uri is None:
        return None
    return _build(
        problems,
        lambda: Bridge(
            uri, EndpointType(endpoint), arn, caller_id, 30 if timeout is None else timeout
        ),
    )


def _parse_dtmf(root: _Reader, problems: list[str]) -> DtmfControl | None:
    reader = root.section("dtmf", {"pause", "resume"})
    if reader is None:
        return None
    pause = reader.get("pause", str)
    resume = reader.get("resume", str)
    if pause is None or resume is None:
        return None
    return _build(problems, lambda: DtmfControl(pause, resume))


_TOP_LEVEL = {
    "version",
    "application",
    "metricsNamespace",
    "destination",
    "track",
    "leg",
    "autoStart",
    "consent",
    "announceToCallee",
    "bridge",
    "dtmf",
}


@dataclass
class _Parsed:
    problems: list[str]
    application: str | None = None
    namespace: str | None = None
    bridge: Bridge | None = None
    config: RecordingConfig | None = None


def _parse(data: object) -> _Parsed:
    problems: list[str] = []
    parsed = _Parsed(problems)
    if not isinstance(data, Mapping):
        problems.append(f"the configuration must be a JSON object, got {type(data).__name__}")
        return parsed
    root = _Reader(data, "", _TOP_LEVEL, problems)
    version = root.get("version", int, SCHEMA_VERSION)
    if version != SCHEMA_VERSION:
        problems.append(f"version must be {SCHEMA_VERSION}, got {version!r}")
    application = root.get("application", str)
    if application is not None and 0 < len(application) <= MAX_NAME and application.isprintable():
        parsed.application = application
    namespace = root.get("metricsNamespace", str, DEFAULT_METRICS_NAMESPACE)
    if NAMESPACE_PATTERN.fullmatch(namespace) and not namespace.startswith("AWS/"):
        parsed.namespace = namespace
    destination = _parse_destination(root, problems)
    track = root.get("track", str, "BOTH")
    if track not in tuple(Track):
        problems.append(f"track must be BOTH, INCOMING or OUTGOING, got {track!r}")
    leg = root.get("leg", str, "LEG-A")
    if leg not in tuple(Leg):
        problems.append(f"leg must be LEG-A or LEG-B, got {leg!r}")
    auto_start = root.get("autoStart", bool, True)
    announce = root.get("announceToCallee", bool, False)
    consent = _parse_consent(root, problems)
    parsed.bridge = _parse_bridge(root, problems)
    dtmf = _parse_dtmf(root, problems)
    if problems or application is None or destination is None:
        return parsed
    parsed.config = _build(
        problems,
        lambda: RecordingConfig(
            application=application,
            destination=destination,
            metrics_namespace=namespace,
            track=Track(track),
            leg=Leg(leg),
            auto_start=auto_start,
            consent=consent,
            announce_to_callee=announce,
            bridge=parsed.bridge,
            dtmf=dtmf,
        ),
    )
    return parsed


class _DuplicateKeyError(ValueError):
    pass


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    document: dict[str, Any] = {}
    for key, value in pairs:
        if key in document:
            # json.loads would keep the last silently: two values for one option is no option.
            raise _DuplicateKeyError(f"the key {describe(key)} appears twice in one object")
        document[key] = value
    return document


def _decode(text: str | bytes | Mapping[str, Any]) -> tuple[object, list[str]]:
    """The decoded document, bounded in size and nesting before anything is parsed."""
    if isinstance(text, Mapping):
        if object_depth(text) > MAX_DEPTH:
            return None, [f"the configuration is nested deeper than {MAX_DEPTH} levels"]
        return text, []
    if len(text) > MAX_CONFIG_CHARS:
        return None, [f"the configuration is longer than {MAX_CONFIG_CHARS} characters"]
    if json_depth(text) > MAX_DEPTH:
        return None, [f"the configuration is nested deeper than {MAX_DEPTH} levels"]
    try:
        return json.loads(text, object_pairs_hook=_no_duplicates), []
    except _DuplicateKeyError as error:
        return None, [f"the configuration is ambiguous: {error}"]
    except (ValueError, TypeError, RecursionError) as error:
        return None, [f"the configuration is not valid JSON: {describe(str(error), 120)}"]


def parse_config(text: str | bytes | Mapping[str, Any]) -> RecordingConfig:
    """Parse the configuration (a JSON document or an already decoded object).

    :raises ConfigError: listing every problem found.
    """
    data, problems = _decode(text)
    if problems:
        raise ConfigError(problems)
    parsed = _parse(data)
    if parsed.config is None:
        raise ConfigError(parsed.problems or ["the configuration is incomplete"])
    return parsed.config


def load_config(text: str | None) -> tuple[RecordingConfig, tuple[str, ...]]:
    """The configuration to run with, and the problems that disabled recording (empty when valid).

    Never raises. For a missing or invalid ``text`` the configuration returned is disabled
    (:attr:`RecordingConfig.recording_enabled` is false): it keeps ``application``,
    ``metricsNamespace`` and ``bridge`` when those parts are valid on their own, so metrics still
    reach the right dimension and inbound calls still reach their destination, unrecorded (without a
    usable bridge they are answered and kept up, unrecorded, until the caller hangs up).
    """
    if text is None or not text.strip():
        problems: tuple[str, ...] = (f"environment variable {ENV_VAR} is not set",)
        return _fallback(None, problems), problems
    data, decode_problems = _decode(text)
    if decode_problems:
        return _fallback(None, tuple(decode_problems)), tuple(decode_problems)
    parsed = _parse(data)
    if parsed.config is not None:
        return parsed.config, ()
    problems = tuple(parsed.problems) or ("the configuration is incomplete",)
    return _fallback(parsed, problems), problems


def _fallback(parsed: _Parsed | None, problems: tuple[str, ...]) -> RecordingConfig:
    return RecordingConfig(
        application=(parsed.application if parsed and parsed.application else "unknown"),
        # A placeholder: a disabled configuration never sends StartCallRecording.
        destination=Destination("recording-disabled"),
        metrics_namespace=(
            parsed.namespace if parsed and parsed.namespace else DEFAULT_METRICS_NAMESPACE
        ),
        auto_start=False,
        bridge=parsed.bridge if parsed else None,
        disabled_reason="; ".join(problems),
    )
