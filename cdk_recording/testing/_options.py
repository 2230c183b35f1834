"""What the simulated service does where a scenario does not say: options, clock, Lambda context.

Also the §3.4 key layout (:func:`recording_key`), shared by the call loop, the arrival and the tests.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum

from cdk_recording.testing._scenario import DEFAULT_START_TIME_MS, BridgeBehaviour, ErrorForm
from cdk_recording.testing._validate import MAX_INVOCATIONS
from cdk_recording.testing._wav import AudioProfile

__all__ = [
    "DEFAULT_RECORDING_FOLDER",
    "RECORDING_MEDIA_TYPE",
    "Delivery",
    "ParameterChecks",
    "SimulatedClock",
    "SimulatedContext",
    "SimulatorOptions",
    "recording_key",
]

#: The folder the service uses when ``Destination.Location`` has no prefix (§3.4).
DEFAULT_RECORDING_FOLDER = "Amazon-Chime-SMA-Call-Recordings"
#: ``recording-audio-file-format`` metadata: "an internet media type" (§3.4); the exact value the
#: service writes is unconfirmed.
RECORDING_MEDIA_TYPE = "audio/wav"


class Delivery(StrEnum):
    """When a stopped recording is delivered; the reference leaves it unconfirmed (§3.2)."""

    #: On StopCallRecording, or when the leg ends (the stop page: "once stopped ... delivered").
    ON_STOP = "onStop"
    #: Only when the whole call ends (the overview: "once a call stops").
    END_OF_CALL = "endOfCall"


class ParameterChecks(StrEnum):
    """How a parameter problem (§3.1, §6) is reported."""

    #: ``ACTION_FAILED`` with ``MissingRequiredActionParameter`` / ``InvalidActionParameter`` when
    #: the action's turn comes: those documented error types are action errors.
    ACTION_FAILED = "actionFailed"
    #: The whole response is rejected with ``INVALID_LAMBDA_RESPONSE`` (stricter).
    INVALID_RESPONSE = "invalidResponse"


@dataclass(frozen=True)
class SimulatorOptions:
    """How the simulated service behaves where the scenario does not say.

    :param sample_rate: WAV sample rate in Hz (the service's is unconfirmed). Default: 8000.
    :param audio: the synthetic sounds. Default: :class:`AudioProfile` defaults.
    :param speak_ms_per_character: how long Speak talks per character of text. Default: 60.
    :param min_speak_ms: the shortest Speak. Default: 1000.
    :param play_audio_ms: how long one PlayAudio repeat lasts (the file is not read). Default: 5000.
    :param record_audio_ms: RecordAudio without ``DurationInSeconds``. Default: 10000.
    :param delivery: when a recording is delivered. Default: :attr:`Delivery.ON_STOP`.
    :param parameter_checks: how parameter problems are reported.
        Default: :attr:`ParameterChecks.ACTION_FAILED`.
    :param action_error_form: where ``ACTION_FAILED`` carries its error (§11.2).
        Default: ``ActionData.ErrorType``/``ErrorMessage``.
    :param invalid_response_error_form: where ``INVALID_LAMBDA_RESPONSE`` carries its error
        (§11.2). Default: the top level, as in the service's own example.
    :param bridge: how CallAndBridge ends until a scenario ``bridge`` step says otherwise.
        Default: answered after 3 s.
    :param linger_ms: how long after the last step a call may stay up before the simulator hangs up
        what is left (reported as a problem). Default: 60000.
    :param max_invocations: the service's limit per call (§2). Default: 1000.
    :param handler_retries: retries of an invocation whose handler raised (§2). Default: 1.
    :param capture_output: keep what the handler prints in the report instead of printing it.
        Default: true.
    :param account_id: ``AwsAccountId``. Default: ``123456789012``.
    :param region: ``AwsRegion``. Default: ``us-east-1``.
    """

    sample_rate: int = 8000
    audio: AudioProfile = field(default_factory=AudioProfile)
    speak_ms_per_character: int = 60
    min_speak_ms: int = 1000
    play_audio_ms: int = 5000
    record_audio_ms: int = 10_000
    delivery: Delivery = Delivery.ON_STOP
    parameter_checks: ParameterChecks = ParameterChecks.ACTION_FAILED
    action_error_form: ErrorForm = ErrorForm.FIELDS
    invalid_response_error_form: ErrorForm = ErrorForm.TOP_LEVEL
    bridge: BridgeBehaviour = field(default_factory=BridgeBehaviour)
    linger_ms: int = 60_000
    max_invocations: int = MAX_INVOCATIONS
    handler_retries: int = 1
    capture_output: bool = True
    account_id: str = "123456789012"
    region: str = "us-east-1"

    def __post_init__(self) -> None:
        # Accept the enums' string values too (as scenario files and JSON spell them).
        for name, kind in (
            ("delivery", Delivery),
            ("parameter_checks", ParameterChecks),
            ("action_error_form", ErrorForm),
            ("invalid_response_error_form", ErrorForm),
        ):
            object.__setattr__(self, name, kind(getattr(self, name)))
        if not 1000 <= self.sample_rate <= 48_000:
            raise ValueError(f"sample_rate must be 1000-48000 Hz, got {self.sample_rate}")
        if min(self.speak_ms_per_character, self.min_speak_ms, self.play_audio_ms) <= 0:
            raise ValueError("action durations must be positive")
        if self.linger_ms < 0 or self.max_invocations < 1 or self.handler_retries < 0:
            raise ValueError("linger_ms, max_invocations and handler_retries must not be negative")


class SimulatedClock:
    """The simulated time; calling it returns seconds since the epoch, like :func:`time.time`."""

    def __init__(self, now_ms: int = DEFAULT_START_TIME_MS) -> None:
        self.now_ms = now_ms

    def __call__(self) -> float:
        return self.now_ms / 1000


@dataclass(frozen=True)
class SimulatedContext:
    """The Lambda context object handed to the handler."""

    aws_request_id: str
    function_name: str = "sma-handler"
    function_version: str = "$LATEST"
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:sma-handler"
    memory_limit_in_mb: int = 256
    log_group_name: str = "/aws/lambda/sma-handler"
    log_stream_name: str = "simulated"

    def get_remaining_time_in_millis(self) -> int:
        """The construct's 4 s Lambda timeout; simulated invocations take no time."""
        return 4000


def recording_key(
    location: str, transaction_id: str, call_id: str, leg_start_ms: int
) -> tuple[str, str]:
    """``(bucket, key)`` of a recording started with ``Destination.Location`` ``location`` (§3.4).

    The key is ``<prefix>/YYYY/MM/DD/YYYY-MM-DD-hh-mm-ss-mmm_<transactionId>_<callId>.wav``, with
    ``Amazon-Chime-SMA-Call-Recordings`` when the location has no prefix. The date is the start of
    the call leg; UTC and ASCII hyphens are assumptions (the reference leaves both unconfirmed).
    """
    bucket, _, prefix = location.partition("/")
    folder = prefix.strip("/") or DEFAULT_RECORDING_FOLDER
    moment = datetime.fromtimestamp(leg_start_ms / 1000, UTC)
    stamp = f"{moment:%Y-%m-%d-%H-%M-%S}-{leg_start_ms % 1000:03d}"
    return bucket, f"{folder}/{moment:%Y/%m/%d}/{stamp}_{transaction_id}_{call_id}.wav"
