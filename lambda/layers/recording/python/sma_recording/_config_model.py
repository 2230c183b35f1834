"""The recording configuration's classes and the rules each value must meet.

:mod:`sma_recording.config` parses the JSON document into these classes and is where they are
imported from; its docstring describes the schema.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from sma_recording._bounds import describe

#: The environment variable that carries the JSON configuration.
ENV_VAR = "SMA_RECORDING_CONFIG"
#: The only schema version this package understands.
SCHEMA_VERSION = 1
#: CloudWatch namespace used when the configuration does not name one.
DEFAULT_METRICS_NAMESPACE = "CdkRecording"

# S3 bucket naming rules (the subset that matters here: 3-63 lowercase letters, digits, dots, hyphens).
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_E164 = re.compile(r"^\+[1-9][0-9]{1,14}$")
# Same rule as the construct: 1-8 of the DTMF keys 0-9 * #.
_DTMF = re.compile(r"^[0-9*#]{1,8}$")
# Same rule as the construct (CloudWatch namespaces).
NAMESPACE_PATTERN = re.compile(r"^[A-Za-z0-9_./#:-]{1,255}$")
_MAX_SPEAK_TEXT = 1000  # Speak: Text is at most 1,000 characters.
_MAX_PREFIX = 900  # well under S3's 1,024-byte key limit, leaving room for the service's key suffix
# Same rule as the construct (recording_prefix): segments of S3's safe characters, no empty segment.
_PREFIX = re.compile(r"[A-Za-z0-9!_.*'()-]+(/[A-Za-z0-9!_.*'()-]+)*")
#: Longest configuration document read (Lambda allows 4 KB for all environment variables).
MAX_CONFIG_CHARS = 16_384
#: Longest application name accepted (the value of the metrics dimension ``Application``).
MAX_NAME = 255


def is_e164(value: object) -> bool:
    """Whether ``value`` is an E.164 number (``+`` and 2-15 digits, no leading 0)."""
    return isinstance(value, str) and _E164.fullmatch(value) is not None


class Track(StrEnum):
    """StartCallRecording ``Track``, relative to the recorded leg."""

    BOTH = "BOTH"
    INCOMING = "INCOMING"
    OUTGOING = "OUTGOING"


class Leg(StrEnum):
    """A call leg, as the service tags participants."""

    A = "LEG-A"
    B = "LEG-B"


class EndpointType(StrEnum):
    """CallAndBridge ``BridgeEndpointType``."""

    PSTN = "PSTN"
    AWS = "AWS"


class Engine(StrEnum):
    """Amazon Polly engine for Speak."""

    STANDARD = "standard"
    NEURAL = "neural"


class ConfigError(ValueError):
    """An invalid configuration; :attr:`problems` lists every problem found, each naming the key."""

    def __init__(self, problems: list[str] | tuple[str, ...]) -> None:
        self.problems: tuple[str, ...] = tuple(problems)
        super().__init__("invalid recording configuration: " + "; ".join(self.problems))


def _raise_if(problems: list[str]) -> None:
    if problems:
        raise ConfigError(problems)


def _check_bucket(path: str, value: str, problems: list[str]) -> None:
    if not _BUCKET.fullmatch(value) or ".." in value:
        problems.append(f"{path} must be an S3 bucket name (3-63 of a-z 0-9 . -), got {value!r}")


@dataclass(frozen=True)
class Destination:
    """Where recordings are delivered.

    :param bucket: the S3 bucket (same account as the SIP media application).
    :param prefix: key prefix without leading or trailing slash. Default: none, and the service then
        uses its own ``Amazon-Chime-SMA-Call-Recordings/`` folder.
    """

    bucket: str
    prefix: str = ""

    def __post_init__(self) -> None:
        problems: list[str] = []
        _check_bucket("destination.bucket", self.bucket, problems)
        if len(self.prefix) > _MAX_PREFIX:
            problems.append(f"destination.prefix must be at most {_MAX_PREFIX} characters")
        elif self.prefix and not _PREFIX.fullmatch(self.prefix):
            problems.append(
                "destination.prefix must be segments of A-Z a-z 0-9 ! _ . * ' ( ) - separated by "
                f"single '/', without a leading or trailing '/', got {describe(self.prefix)}"
            )
        _raise_if(problems)

    @property
    def location(self) -> str:
        """StartCallRecording ``Destination.Location``: ``bucket`` or ``bucket/prefix``."""
        return f"{self.bucket}/{self.prefix}" if self.prefix else self.bucket


@dataclass(frozen=True)
class SpeakConsent:
    """A consent announcement said with Amazon Polly (the Speak action).

    :param text: 1-1,000 characters; text starting with ``<speak>`` is sent as SSML.
    :param voice_id: Polly voice. Default: the service default (Joanna).
    :param engine: ``standard`` or ``neural``. Default: the service default (standard).
    :param language_code: e.g. ``en-US``. Default: the service default.
    """

    text: str
    voice_id: str | None = None
    engine: Engine | None = None
    language_code: str | None = None

    def __post_init__(self) -> None:
        problems: list[str] = []
        if not self.text.strip() or len(self.text) > _MAX_SPEAK_TEXT:
            problems.append(f"consent.speak.text must be 1-{_MAX_SPEAK_TEXT} characters")
        if self.engine is not None and self.engine not in tuple(Engine):
            problems.append(f"consent.speak.engine must be standard or neural, got {self.engine!r}")
        for name, value in (("voiceId", self.voice_id), ("languageCode", self.language_code)):
            if value is not None and (not value or len(value) > MAX_NAME):
                problems.append(f"consent.speak.{name} must be a non-empty string or null")
        _raise_if(problems)

    @property
    def is_ssml(self) -> bool:
        """Whether :attr:`text` is SSML (sent with ``TextType: ssml``)."""
        return self.text.lstrip().startswith("<speak")


@dataclass(frozen=True)
class AudioConsent:
    """A consent announcement played from S3 (the PlayAudio action); a PCM WAV of at most 50 MB."""

    bucket: str
    key: str

    def __post_init__(self) -> None:
        problems: list[str] = []
        _check_bucket("consent.audio.bucket", self.bucket, problems)
        if not self.key or len(self.key) > 1024:
            problems.append("consent.audio.key must be 1-1,024 characters")
        _raise_if(problems)


#: A consent announcement: spoken text or an audio file.
Consent = SpeakConsent | AudioConsent


@dataclass(frozen=True)
class Bridge:
    """Where inbound calls are connected with CallAndBridge.

    :param uri: an E.164 number for ``PSTN``; the SIP URI or number for ``AWS`` (Voice Connector).
    :param endpoint_type: ``PSTN`` or ``AWS``. Default: ``PSTN``.
    :param arn: the Voice Connector (group) ARN; required for ``AWS``, not allowed for ``PSTN``.
    :param caller_id: E.164 caller id shown to the callee. Default: LEG-A's ``From``.
    :param timeout_seconds: how long the callee rings, 1-120. Default: 30.
    """

    uri: str
    endpoint_type: EndpointType = EndpointType.PSTN
    arn: str | None = None
    caller_id: str | None = None
    timeout_seconds: int = 30

    def __post_init__(self) -> None:
        problems: list[str] = []
        if self.endpoint_type not in tuple(EndpointType):
            problems.append(f"bridge.endpointType must be PSTN or AWS, got {self.endpoint_type!r}")
        if self.endpoint_type == EndpointType.PSTN:
            if not is_e164(self.uri):
                problems.append(f"bridge.uri must be an E.164 number for PSTN, got {self.uri!r}")
            if self.arn is not None:
                problems.append("bridge.arn is only allowed with endpointType AWS")
        elif self.endpoint_type == EndpointType.AWS:
            if not self.uri or len(self.uri) > MAX_NAME:
                problems.append("bridge.uri must be a non-empty string")
            if not self.arn or not self.arn.startswith("arn:"):
                problems.append("bridge.arn must be a Voice Connector ARN for endpointType AWS")
        if self.caller_id is not None and not is_e164(self.caller_id):
            problems.append(
                f"bridge.callerId must be an E.164 number or null, got {self.caller_id!r}"
            )
        if (
            isinstance(self.timeout_seconds, bool)
            or not isinstance(self.timeout_seconds, int)
            or not 1 <= self.timeout_seconds <= 120
        ):
            problems.append(
                f"bridge.timeoutSeconds must be an integer 1-120, got {describe(self.timeout_seconds)}"
            )
        _raise_if(problems)


@dataclass(frozen=True)
class DtmfControl:
    """Keys that pause and resume recording, heard through a background ReceiveDigits.

    A code is matched 1 s after its last key. On a bridged call the pause or resume is then sent at
    once. On a single-leg call (no bridge) it takes effect when the running keep-alive Pause ends,
    which DIGITS_RECEIVED does not interrupt: up to 5 s later (the keep-alive Pause is 5 s instead
    of 30 s when DTMF control is configured), so whatever is keyed or said in those seconds is
    still recorded. The shorter Pause costs an invocation every 5 s, which limits a single-leg call
    with DTMF control to about 80 minutes (the service allows 1,000 invocations per call). On-demand
    update requests interrupt the Pause and take effect at once. The key tones themselves are
    audible in the recording.

    :param pause: 1-8 of the keys ``0-9 * #``, e.g. ``*1``.
    :param resume: likewise, different from ``pause`` and neither a prefix of the other.
    """

    pause: str
    resume: str

    def __post_init__(self) -> None:
        problems: list[str] = []
        for name, digits in (("pause", self.pause), ("resume", self.resume)):
            if not _DTMF.fullmatch(digits):
                problems.append(f"dtmf.{name} must be 1-8 of the keys 0-9 * #, got {digits!r}")
        if not problems and (
            self.pause.startswith(self.resume) or self.resume.startswith(self.pause)
        ):
            problems.append(
                "dtmf.pause and dtmf.resume must differ and not be prefixes of each other"
            )
        _raise_if(problems)

    @property
    def input_digits_regex(self) -> str:
        """ReceiveDigits ``InputDigitsRegex`` matching exactly one of the two codes."""
        return f"^({_regex_escape(self.pause)}|{_regex_escape(self.resume)})$"


def _regex_escape(digits: str) -> str:
    # Only '*' is special among the DTMF keys; '#' needs no escape (and re.escape would add '\#',
    # which not every regex dialect accepts).
    return "".join("\\" + char if char in "\\^$.|?*+()[]{}" else char for char in digits)


@dataclass(frozen=True)
class RecordingConfig:
    """How calls are answered and recorded. See the module docstring for the JSON schema.

    :param application: value of the metrics dimension ``Application``.
    :param destination: where recordings go.
    :param metrics_namespace: CloudWatch namespace. Default: ``CdkRecording``.
    :param track: which audio to record. Default: ``BOTH``.
    :param leg: which leg to record; ``LEG-B`` falls back to LEG-A when the call has no LEG-B.
        Default: ``LEG-A``.
    :param auto_start: start recording when the call connects; false records only on demand.
        Default: true.
    :param consent: announcement played before recording. Default: none.
    :param announce_to_callee: also play ``consent`` to LEG-B once bridged. Default: false.
    :param bridge: where inbound calls are connected. Default: none (the caller alone is recorded).
    :param dtmf: keys that pause and resume recording (on a single-leg call up to 5 s late, and the
        call is limited to about 80 minutes; see :class:`DtmfControl`). Default: none.
    :param disabled_reason: set only on the fallback configuration :func:`load_config` returns for an
        invalid one; recording is then off. Default: none (enabled).
    """

    application: str
    destination: Destination
    metrics_namespace: str = DEFAULT_METRICS_NAMESPACE
    track: Track = Track.BOTH
    leg: Leg = Leg.A
    auto_start: bool = True
    consent: Consent | None = None
    announce_to_callee: bool = False
    bridge: Bridge | None = None
    dtmf: DtmfControl | None = None
    disabled_reason: str | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        problems: list[str] = []
        if not self.application or len(self.application) > MAX_NAME:
            problems.append(f"application must be 1-{MAX_NAME} characters")
        elif not self.application.isprintable():
            problems.append("application must be printable")
        if not NAMESPACE_PATTERN.fullmatch(
            self.metrics_namespace
        ) or self.metrics_namespace.startswith("AWS/"):
            problems.append(
                "metricsNamespace must be 1-255 of letters, digits and _ . / # : - "
                f"and not start with AWS/, got {self.metrics_namespace!r}"
            )
        if self.track not in tuple(Track):
            problems.append(f"track must be BOTH, INCOMING or OUTGOING, got {self.track!r}")
        if self.leg not in tuple(Leg):
            problems.append(f"leg must be LEG-A or LEG-B, got {self.leg!r}")
        if self.announce_to_callee and self.consent is None:
            problems.append("announceToCallee needs a consent announcement to play")
        _raise_if(problems)

    @property
    def recording_enabled(self) -> bool:
        """False for the fallback of an invalid configuration: nothing is recorded."""
        return self.disabled_reason is None

    @classmethod
    def from_json(cls, text: str) -> RecordingConfig:
        """Parse the JSON document; :raises ConfigError: listing every problem."""
        from sma_recording.config import parse_config  # the parser builds these classes

        return parse_config(text)

    def to_json_dict(self) -> dict[str, Any]:
        """The JSON document of this configuration (the inverse of :func:`parse_config`)."""
        consent: dict[str, Any] | None = None
        if isinstance(self.consent, SpeakConsent):
            consent = {
                "speak": {
                    "text": self.consent.text,
                    "voiceId": self.consent.voice_id,
                    "engine": None if self.consent.engine is None else str(self.consent.engine),
                    "languageCode": self.consent.language_code,
                }
            }
        elif isinstance(self.consent, AudioConsent):
            consent = {"audio": {"bucket": self.consent.bucket, "key": self.consent.key}}
        bridge: dict[str, Any] | None = None
        if self.bridge is not None:
            bridge = {
                "endpointType": str(self.bridge.endpoint_type),
                "uri": self.bridge.uri,
                "arn": self.bridge.arn,
                "callerId": self.bridge.caller_id,
                "timeoutSeconds": self.bridge.timeout_seconds,
            }
        return {
            "version": SCHEMA_VERSION,
            "application": self.application,
            "metricsNamespace": self.metrics_namespace,
            "destination": {"bucket": self.destination.bucket, "prefix": self.destination.prefix},
            "track": str(self.track),
            "leg": str(self.leg),
            "autoStart": self.auto_start,
            "consent": consent,
            "announceToCallee": self.announce_to_callee,
            "bridge": bridge,
            "dtmf": None
            if self.dtmf is None
            else {"pause": self.dtmf.pause, "resume": self.dtmf.resume},
        }
