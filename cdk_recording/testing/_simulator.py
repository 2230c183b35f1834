"""An in-process emulator of the SIP media application's call-control loop.

:class:`SmaSimulator` drives any Lambda handler ``handler(event, context)`` through a
:class:`~cdk_recording.testing.Scenario` the way the service would (the reference sections are
cited where each rule is applied):

* events (§1): ``Sequence`` up by one per invocation; ``TransactionAttributes`` echoed as the handler
  last returned them (``{}`` clears, absent or null keeps; §2); participants with ``CallId``,
  ``ParticipantTag``, ``To``, ``From``, ``Direction``, ``Status`` and ``StartTimeInMilliseconds`` as a
  string; LEG-B appears once a CallAndBridge connects;
* responses (§2): validated (:func:`validate_response`); a rejected one is answered with
  ``INVALID_LAMBDA_RESPONSE``; actions run in order; one ``ACTION_SUCCESSFUL`` per list, naming its
  last action; ``ACTION_FAILED`` drops the rest of the list; a new list replaces what remained of the
  old one once the running action ends; a null list keeps it; an update request stops PlayAudio,
  RecordAudio and Pause at once (``ACTION_INTERRUPTED``, whose response's actions are ignored);
* hangups (§1, hangup page): a leg that hangs up raises ``HANGUP``; the response is ignored when no
  leg is left, otherwise it runs on the remaining leg; a leg is never hung up for the handler;
* recording (§3): once per leg, pause/resume tones with silence in between, stop on StopCallRecording
  or when the leg ends, delivery as a WAV under the documented key with the documented metadata;
* limits: at most 1,000 invocations per call (§2); a handler that raises is retried once, then the
  call ends with SIP 480 (§2, timeouts page);
* time is simulated: nothing sleeps, a ten-minute call runs in milliseconds.

Where the reference leaves the service's behaviour unconfirmed, the choice made here is stated where
it is applied and listed in ``docs/simulator.md``.
"""

from __future__ import annotations

import contextlib
import copy
import heapq
import io
import json
import math
import random
import re
import traceback
import uuid
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from cdk_recording.testing._handlers import Handler, recording_handler
from cdk_recording.testing._report import (
    ActionOutcome,
    ActionRecord,
    CallReport,
    HangupCause,
    HangupRecord,
    InvocationRecord,
    LegBilling,
    LegRecord,
    Problem,
    ProblemKind,
    RecordingRecord,
    TimelineEntry,
)
from cdk_recording.testing._scenario import (
    DEFAULT_START_TIME_MS,
    Answer,
    BridgeBehaviour,
    BridgeOutcome,
    Digits,
    ErrorForm,
    Hangup,
    InboundCall,
    InjectFailure,
    OutboundCall,
    Scenario,
    Step,
    UpdateRequest,
)
from cdk_recording.testing._sinks import RecordingObject, RecordingSink
from cdk_recording.testing._validate import (
    INTERRUPTIBLE_ACTIONS,
    MAX_INVOCATIONS,
    RECORDING_ACTIONS,
    SCHEMA_VERSION,
    IssueLevel,
    validate_action,
    validate_response,
)
from cdk_recording.testing._wav import (
    DTMF_FREQUENCIES,
    AudioProfile,
    Span,
    render_channel,
    wav_bytes,
)

__all__ = [
    "DEFAULT_RECORDING_FOLDER",
    "RECORDING_MEDIA_TYPE",
    "Delivery",
    "ParameterChecks",
    "SimulatedClock",
    "SimulatedContext",
    "SimulatorOptions",
    "SmaSimulator",
    "recording_key",
]

#: The folder the service uses when ``Destination.Location`` has no prefix (§3.4).
DEFAULT_RECORDING_FOLDER = "Amazon-Chime-SMA-Call-Recordings"
#: ``recording-audio-file-format`` metadata: "an internet media type" (§3.4); the exact value the
#: service writes is unconfirmed.
RECORDING_MEDIA_TYPE = "audio/wav"

_A = "LEG-A"
_B = "LEG-B"
_TIMED = frozenset({"Speak", "PlayAudio", "Pause", "RecordAudio", "CallAndBridge"})
_MODELLED = _TIMED | RECORDING_ACTIONS | frozenset({"ReceiveDigits", "Hangup"})
# Event-queue priorities at equal times: steps that set how the world behaves (bridge outcomes,
# injected failures) first, so they apply to what happens at that same moment; then the service's
# own timers; then the world's other steps.
_PRIORITY_SETUP = 0
_PRIORITY_ACTION = 1
_PRIORITY_STEP = 2
_PRIORITY_END = 3
_RINGBACK_ON_MS = 2000
_RINGBACK_PERIOD_MS = 6000


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


class SmaSimulator:
    """Runs scenarios against one handler, as the SIP media application would.

    :param handler: the Lambda handler, ``handler(event, context) -> response``.
    :param options: the simulated service's behaviour. Default: :class:`SimulatorOptions` defaults.
    :param sink: where recordings are delivered; without one the audio is not rendered (faster) and
        the report still lists every recording. Default: none.
    :param clock: the simulated clock (share it with a handler that reads time).
        Default: a new one.
    :param name: the handler's name in the report. Default: its module and qualified name.
    """

    def __init__(
        self,
        handler: Handler,
        *,
        options: SimulatorOptions | None = None,
        sink: RecordingSink | None = None,
        clock: SimulatedClock | None = None,
        name: str | None = None,
    ) -> None:
        self.handler = handler
        self.options = options or SimulatorOptions()
        self.sink = sink
        self.clock = clock or SimulatedClock()
        self.name = name or _describe(handler)

    @classmethod
    def for_recording_handler(
        cls,
        config: Mapping[str, Any] | str | None = None,
        *,
        options: SimulatorOptions | None = None,
        sink: RecordingSink | None = None,
        log_level: str = "INFO",
    ) -> SmaSimulator:
        """A simulator driving the library's recording handler (``sma_recording.entry:handler``).

        :param config: its ``SMA_RECORDING_CONFIG``. Default: the example app's plus a bridge
            (:data:`~cdk_recording.testing.DEFAULT_RECORDING_CONFIG`).
        :raises HandlerError: the configuration is invalid.
        """
        clock = SimulatedClock()
        handler = recording_handler(config, clock=clock, log_level=log_level)
        return cls(
            handler,
            options=options,
            sink=sink,
            clock=clock,
            name="sma_recording.entry:handler",
        )

    def run(self, scenario: Scenario) -> CallReport:
        """Simulate one call; the handler sees a fresh transaction."""
        return _Call(self, scenario).run()


def _describe(handler: Handler) -> str:
    module = getattr(handler, "__module__", None) or type(handler).__module__
    name = getattr(handler, "__qualname__", None) or type(handler).__qualname__
    return f"{module}:{name}"


# -- call state ---------------------------------------------------------------------------------------


@dataclass
class _Leg:
    tag: str
    call_id: str
    from_number: str
    to_number: str
    direction: str
    start_ms: int
    answered_ms: int | None = None
    ended_ms: int | None = None

    @property
    def connected(self) -> bool:
        return self.answered_ms is not None and self.ended_ms is None

    def participant(self) -> dict[str, Any]:
        participant: dict[str, Any] = {
            "CallId": self.call_id,
            "ParticipantTag": self.tag,
            "To": self.to_number,
            "From": self.from_number,
            "Direction": self.direction,
            "StartTimeInMilliseconds": str(self.start_ms),
        }
        if self.ended_ms is not None:
            participant["Status"] = "Disconnected"
        elif self.answered_ms is not None:
            participant["Status"] = "Connected"
        # A leg still ringing has no Status (§1: "missing in some examples").
        return participant


@dataclass
class _Action:
    """An action of a list, with the leg it defaults to (the leg the event was about)."""

    action: Mapping[str, Any]
    default_leg: str


@dataclass
class _ActionLog:
    type: str
    parameters: dict[str, Any]
    leg: str | None
    started_ms: int
    outcome: ActionOutcome = ActionOutcome.UNFINISHED
    ended_ms: int | None = None
    error_type: str | None = None
    error_message: str | None = None
    note: str | None = None


@dataclass
class _Running:
    log: _ActionLog
    data: dict[str, Any]
    leg: _Leg | None
    started_ms: int
    token: int
    last: bool
    announcement: bool = False
    bridge: BridgeOutcome | None = None


@dataclass
class _Recording:
    leg: _Leg
    track: str
    location: str
    bucket: str
    key: str
    started_ms: int
    pauses: list[list[int]] = field(default_factory=list)  # [paused, resumed] (resumed -1: open)
    tones: list[int] = field(default_factory=list)
    stopped_ms: int | None = None
    stop_reason: str | None = None
    delivered_ms: int | None = None
    destination: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)

    @property
    def active(self) -> bool:
        return self.stopped_ms is None

    @property
    def paused(self) -> bool:
        return bool(self.pauses) and self.pauses[-1][1] < 0


@dataclass
class _Listener:
    """A background ReceiveDigits on one leg."""

    generation: int
    parameters: dict[str, Any]
    regex: str
    in_between_ms: int
    flush_ms: int
    buffer: str = ""
    batch: int = 0
    keys: int = 0


@dataclass
class _Armed:
    failure: InjectFailure
    remaining: int


@dataclass(frozen=True)
class _Answer:
    """What one successful invocation returned."""

    response: Any
    output: str
    attempt: int


@dataclass
class _Error:
    type: str
    message: str
    form: ErrorForm


# -- one call ----------------------------------------------------------------------------------------


class _Call:
    def __init__(self, simulator: SmaSimulator, scenario: Scenario) -> None:
        self.handler = simulator.handler
        self.options = simulator.options
        self.sink = simulator.sink
        self.clock = simulator.clock
        self.handler_name = simulator.name
        self.scenario = scenario
        self.t0 = scenario.start_time_ms
        self.clock.now_ms = self.t0
        # Deterministic ids, so a scenario's report and object keys are reproducible (not secrets).
        self.rng = random.Random(scenario.seed)  # noqa: S311
        self.transaction_id = self._uuid()
        self.sma_id = self._uuid()
        self.sip_rule_id = self._uuid()
        self.queue: list[tuple[int, int, int, tuple[Any, ...]]] = []
        self.counter = 0
        self.tokens = 0
        self.legs: dict[str, _Leg] = {}
        self.inbound = isinstance(scenario.call, InboundCall)
        self.attributes: dict[str, str] = {}
        self.sequence = 0
        self.invocations: list[InvocationRecord] = []
        self.actions: list[_ActionLog] = []
        self.timeline: list[TimelineEntry] = []
        self.problems: list[Problem] = []
        self.skipped: list[str] = []
        self.hangups: list[HangupRecord] = []
        self.recordings: dict[str, _Recording] = {}
        self.pending: deque[_Action] = deque()
        self.next_list: list[_Action] | None = None
        self.running: _Running | None = None
        self.listeners: dict[str, _Listener] = {}
        self.armed: list[_Armed] = []
        self.bridge_behaviour = self.options.bridge
        self.bridged: list[list[int]] = []  # [start, end] (end -1: open)
        self.announcements: list[tuple[str, int, int]] = []
        self.ringing: list[tuple[int, int]] = []
        self.keys: list[tuple[str, int, str]] = []
        self.started = False
        self.ended = False
        self.ended_ms = self.t0

    # ids, time and records

    def _uuid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    @property
    def now(self) -> int:
        return self.clock.now_ms

    def _note(self, text: str) -> None:
        self.timeline.append(TimelineEntry(self.now - self.t0, text))

    def _problem(self, kind: ProblemKind, message: str) -> None:
        self.problems.append(Problem(self.now - self.t0, kind, message))
        self._note(f"PROBLEM {kind}: {message}")

    def _skip(self, step: Step, why: str) -> None:
        text = f"{step.at_ms / 1000:g} s {_step_text(step)}: {why}"
        self.skipped.append(text)
        self._note(f"step skipped: {_step_text(step)} ({why})")

    def _schedule(self, at_ms: int, priority: int, item: tuple[Any, ...]) -> None:
        self.counter += 1
        heapq.heappush(self.queue, (at_ms, priority, self.counter, item))

    def _token(self) -> int:
        self.tokens += 1
        return self.tokens

    def _connected(self) -> list[_Leg]:
        return [leg for leg in self.legs.values() if leg.connected]

    # the loop

    def run(self) -> CallReport:
        for step in self.scenario.steps:
            setup = isinstance(step.action, BridgeBehaviour | InjectFailure)
            priority = _PRIORITY_SETUP if setup else _PRIORITY_STEP
            self._schedule(self.t0 + step.at_ms, priority, ("step", step))
        last_step = self.t0 + self.scenario.steps[-1].at_ms
        self._schedule(last_step + self.options.linger_ms, _PRIORITY_END, ("linger",))
        while self.queue and not self.ended:
            at_ms, _, _, item = heapq.heappop(self.queue)
            self.clock.now_ms = max(self.clock.now_ms, at_ms)
            self._dispatch(item)
            self._advance()
        if not self.ended:
            self._end_call()
        for _, _, _, item in sorted(self.queue):
            if item[0] == "step":
                self.skipped.append(
                    f"{item[1].at_ms / 1000:g} s {_step_text(item[1])}: the call has ended"
                )
        return self._report()

    def _dispatch(self, item: tuple[Any, ...]) -> None:
        kind = item[0]
        if kind == "step":
            self._on_step(item[1])
        elif kind == "done":
            if self.running is not None and self.running.token == item[1]:
                self._complete_running()
        elif kind == "key":
            self._on_key(item[1], item[2])
        elif kind == "digits":
            self._on_digits_check(item[1], item[2], item[3], item[4])
        elif kind == "linger":
            self._on_linger()

    # scenario steps

    def _on_step(self, step: Step) -> None:
        action = step.action
        if isinstance(action, InboundCall | OutboundCall):
            self._start_call(action)
            return
        if isinstance(action, BridgeBehaviour):
            self.bridge_behaviour = action
            after = action.ring_ms
            self._note(
                f"step: CallAndBridge from now on: {action.outcome}"
                + ("" if after is None else f" after {after / 1000:g} s")
            )
            return
        if isinstance(action, InjectFailure):
            self.armed.append(_Armed(action, action.count))
            where = f" on {action.leg}" if action.leg else ""
            self._note(
                f"step: the next {action.count} {action.action}{where} will fail with "
                f"{action.error_type}"
            )
            return
        if not self.started:
            self._skip(step, "the call has not started")
            return
        if self.ended:
            self._skip(step, "the call has ended")
            return
        if isinstance(action, Answer):
            self._on_answer(step, action)
        elif isinstance(action, UpdateRequest):
            self._on_update(action)
        elif isinstance(action, Digits):
            leg = self.legs.get(action.leg)
            if leg is None or not leg.connected:
                self._skip(step, f"{action.leg} is not connected")
                return
            self._note(f"step: {action.leg} keys {action.keys!r}")
            for index, key in enumerate(action.keys):
                self._schedule(
                    self.now + index * action.interval_ms, _PRIORITY_STEP, ("key", action.leg, key)
                )
        elif isinstance(action, Hangup):
            leg = self.legs.get(action.leg)
            if leg is None or not leg.connected:
                self._skip(step, f"{action.leg} is not connected")
                return
            self._note(f"step: {action.leg} hangs up (SIP {action.sip_response_code})")
            self._disconnect(leg, action.sip_response_code, HangupCause.REMOTE)

    def _start_call(self, call: InboundCall | OutboundCall) -> None:
        self.started = True
        if isinstance(call, InboundCall):
            leg = _Leg(
                _A, self._uuid(), call.from_number, call.to_number, "Inbound", self.now, self.now
            )
            self.legs[_A] = leg
            self._note(f"step: inbound call from {call.from_number} to {call.to_number}")
            self._invoke("NEW_INBOUND_CALL", leg_tag=_A)
        else:
            leg = _Leg(_A, self._uuid(), call.from_number, call.to_number, "Outbound", self.now)
            self.legs[_A] = leg
            self._note(f"step: outbound call from {call.from_number} to {call.to_number}")
            self._invoke("NEW_OUTBOUND_CALL", leg_tag=_A)
            self._invoke("RINGING", leg_tag=_A)

    def _on_answer(self, step: Step, answer: Answer) -> None:
        leg_a = self.legs[_A]
        if leg_a.answered_ms is None and answer.leg in (None, _A):
            leg_a.answered_ms = self.now
            self._note("step: LEG-A answers")
            self._invoke("CALL_ANSWERED", leg_tag=_A)
            return
        running = self.running
        if running is not None and running.bridge is not None and answer.leg in (None, _B):
            self._note("step: LEG-B answers")
            running.bridge = BridgeOutcome.ANSWER
            self._complete_running()
            return
        self._skip(step, "no leg is ringing")

    def _on_update(self, update: UpdateRequest) -> None:
        self._note(f"step: UpdateSipMediaApplicationCall Arguments={json.dumps(update.arguments)}")
        self._invoke(
            "CALL_UPDATE_REQUESTED",
            action_data={
                "Type": "CallUpdateRequest",
                "Parameters": {"Arguments": dict(update.arguments)},
            },
            leg_tag=_A,
        )
        running = self.running
        # Unconfirmed: the order of CALL_UPDATE_REQUESTED and ACTION_INTERRUPTED. The update is
        # delivered first here, then the running interruptible action is stopped (§2, §5).
        if running is not None and running.log.type in INTERRUPTIBLE_ACTIONS and not self.ended:
            self.running = None
            self._close_media(running)
            running.log.outcome = ActionOutcome.INTERRUPTED
            running.log.ended_ms = self.now
            self._note(f"{running.log.type} interrupted by the update request")
            self._invoke(
                "ACTION_INTERRUPTED",
                action_data=copy.deepcopy(running.data),
                leg_tag=running.leg.tag if running.leg else _A,
                ignore=True,
            )

    def _on_linger(self) -> None:
        left = self._connected()
        if not left:
            return
        self._problem(
            ProblemKind.LEG_LEFT_CONNECTED,
            f"{', '.join(leg.tag for leg in left)} still connected "
            f"{self.options.linger_ms / 1000:g} s after the last step; the simulator hangs up "
            "(a leg left up is billed until it is hung up)",
        )
        while not self.ended and self._connected():
            self._disconnect(self._connected()[0], 0, HangupCause.SCENARIO_END)
            self._advance()

    # DTMF (ReceiveDigits, §6)

    def _on_key(self, tag: str, key: str) -> None:
        leg = self.legs.get(tag)
        if self.ended or leg is None or not leg.connected:
            return
        self.keys.append((tag, self.now, key))
        running = self.running
        if (
            running is not None
            and running.log.type == "PlayAudio"
            and running.leg is leg
            and key in (running.data["Parameters"].get("PlaybackTerminators") or [])
        ):
            self._note(f"PlayAudio stopped by the terminator {key!r}")
            self._complete_running()
        listener = self.listeners.get(tag)
        if listener is None:
            return
        listener.buffer += key
        listener.keys += 1
        check = ("digits", tag, listener.generation, listener.batch)
        self._schedule(self.now + listener.in_between_ms, _PRIORITY_ACTION, (*check, listener.keys))
        if len(listener.buffer) == 1:
            self._schedule(self.now + listener.flush_ms, _PRIORITY_ACTION, (*check, -1))

    def _on_digits_check(self, tag: str, generation: int, batch: int, keys: int) -> None:
        listener = self.listeners.get(tag)
        if (
            self.ended
            or listener is None
            or listener.generation != generation
            or listener.batch != batch
            or not listener.buffer
            or (keys >= 0 and keys != listener.keys)
        ):
            return
        digits = listener.buffer
        listener.buffer = ""
        listener.batch += 1
        if re.fullmatch(listener.regex, digits) is None:
            self._note(f"{tag} digits {digits!r} do not match {listener.regex!r}; discarded")
            return
        del self.listeners[tag]
        self._invoke(
            "DIGITS_RECEIVED",
            action_data={
                "Type": "ReceiveDigits",
                "Parameters": copy.deepcopy(listener.parameters),
                "ReceivedDigits": digits,
            },
            leg_tag=tag,
        )

    # invocations

    def _event(
        self, event_type: str, action_data: Mapping[str, Any] | None, error: _Error | None
    ) -> dict[str, Any]:
        details: dict[str, Any] = {"TransactionId": self.transaction_id}
        if self.attributes:
            details["TransactionAttributes"] = dict(self.attributes)
        details["AwsAccountId"] = self.options.account_id
        details["AwsRegion"] = self.options.region
        if self.inbound:
            details["SipRuleId"] = self.sip_rule_id
        details["SipMediaApplicationId"] = self.sma_id
        details["Participants"] = [leg.participant() for leg in self.legs.values()]
        event: dict[str, Any] = {
            "SchemaVersion": SCHEMA_VERSION,
            "Sequence": self.sequence,
            "InvocationEventType": event_type,
        }
        data = None if action_data is None else dict(action_data)
        if error is not None:
            if error.form == ErrorForm.TOP_LEVEL:
                event["ErrorType"] = error.type
                event["ErrorMessage"] = error.message
            else:
                data = data if data is not None else {}
                if error.form == ErrorForm.ERROR_STRING:
                    data["Error"] = f"{error.type}: {error.message}"
                else:
                    data["ErrorType"] = error.type
                    data["ErrorMessage"] = error.message
        if data is not None:
            event["ActionData"] = data
        event["CallDetails"] = details
        return event

    def _call_handler(self, event: dict[str, Any], event_type: str) -> _Answer | None:
        """Invoke with retries; None when every attempt raised."""
        for attempt in range(1, self.options.handler_retries + 2):
            context = SimulatedContext(aws_request_id=self._uuid())
            output = io.StringIO()
            redirect = (
                contextlib.redirect_stdout(output)
                if self.options.capture_output
                else contextlib.nullcontext()
            )
            try:
                with redirect:
                    response = self.handler(copy.deepcopy(event), context)
                # Lambda serialises the response; what cannot be serialised is a function error.
                response = json.loads(json.dumps(response))
            except Exception:
                self.invocations.append(
                    InvocationRecord(
                        self.now - self.t0,
                        self.sequence,
                        event_type,
                        event,
                        None,
                        error=traceback.format_exc(),
                        output=output.getvalue(),
                        attempt=attempt,
                    )
                )
                self._note(f"#{self.sequence} {event_type}: the handler raised (attempt {attempt})")
                continue
            return _Answer(response, output.getvalue(), attempt)
        return None

    def _invoke(
        self,
        event_type: str,
        *,
        action_data: Mapping[str, Any] | None = None,
        leg_tag: str = _A,
        ignore: bool = False,
        error: _Error | None = None,
    ) -> None:
        """Invoke the handler, then apply its response (or answer it with INVALID_LAMBDA_RESPONSE)."""
        while not self.ended:
            if self.sequence >= self.options.max_invocations:
                self._problem(
                    ProblemKind.INVOCATION_LIMIT,
                    f"the call needed more than {self.options.max_invocations} invocations; the "
                    "call is ended (what the service does then is unconfirmed)",
                )
                self._service_end(480)
                return
            self.sequence += 1
            event = self._event(event_type, action_data, error)
            answer = self._call_handler(event, event_type)
            if answer is None:
                self._problem(
                    ProblemKind.HANDLER_ERROR,
                    f"the handler raised on {event_type} #{self.sequence} "
                    f"({self.options.handler_retries + 1} attempts); the call ends with SIP 480",
                )
                if not ignore:
                    self._service_end(480)
                return
            response = answer.response
            strict = self.options.parameter_checks == ParameterChecks.INVALID_RESPONSE
            issues = validate_response(response)
            rejecting = [i for i in issues if i.level == IssueLevel.RESPONSE or strict]
            self.invocations.append(
                InvocationRecord(
                    self.now - self.t0,
                    self.sequence,
                    event_type,
                    event,
                    response,
                    issues,
                    ignored=ignore,
                    output=answer.output,
                    attempt=answer.attempt,
                )
            )
            self._note(
                f"#{self.sequence} {event_type}{_event_detail(event_type, event)} -> "
                + _response_summary(response, rejecting, ignore)
            )
            if rejecting:
                first = rejecting[0]
                self._problem(
                    ProblemKind.INVALID_RESPONSE,
                    f"response to {event_type} #{self.sequence} rejected: "
                    + "; ".join(str(issue) for issue in rejecting),
                )
                if ignore:
                    return
                event_type, action_data, leg_tag = "INVALID_LAMBDA_RESPONSE", None, leg_tag
                error = _Error(
                    first.error_type, first.message, self.options.invalid_response_error_form
                )
                continue
            attributes = response.get("TransactionAttributes")
            if attributes is not None:
                self.attributes = dict(attributes)  # replaced, not merged; {} clears (§2)
            if ignore:
                return
            actions = response.get("Actions")
            if actions is not None:  # null keeps the actions still queued (§2)
                self._replace_list([_Action(action, leg_tag) for action in actions])
            return

    def _replace_list(self, actions: list[_Action]) -> None:
        for old in [*self.pending, *(self.next_list or [])]:
            self._unrun(old, ActionOutcome.REPLACED)
        self.pending.clear()
        if self.running is not None:
            self.next_list = actions  # after the running action ends (§2)
        else:
            self.next_list = None
            self.pending.extend(actions)

    def _unrun(self, item: _Action, outcome: ActionOutcome, note: str | None = None) -> None:
        action = item.action
        self.actions.append(
            _ActionLog(
                str(action.get("Type")),
                dict(action.get("Parameters") or {}),
                None,
                self.now,
                outcome,
                self.now,
                note=note,
            )
        )

    # running action lists

    def _advance(self) -> None:
        while not self.ended and self.running is None:
            if self.next_list is not None:
                self.pending = deque(self.next_list)
                self.next_list = None
            if not self.pending:
                return
            leg_a = self.legs.get(_A)
            if leg_a is None or leg_a.answered_ms is None:
                return  # an outbound call's actions wait for CALL_ANSWERED
            item = self.pending.popleft()
            self._execute(item, last=not self.pending)

    def _target(self, kind: str, parameters: Mapping[str, Any], default: str) -> _Leg | str:
        """The leg an action acts on, or why it cannot act (§6: CallId wins over ParticipantTag)."""
        if kind == "CallAndBridge":
            leg = self.legs[_A]
        elif isinstance(parameters.get("CallId"), str):
            found = next(
                (leg for leg in self.legs.values() if leg.call_id == parameters["CallId"]), None
            )
            if found is None:
                return f"CallId {parameters['CallId']!r} is not a participant of this call"
            leg = found
        elif parameters.get("ParticipantTag") in (_A, _B):
            tag = parameters["ParticipantTag"]
            if tag not in self.legs:
                return f"ParticipantTag {tag} is not a participant of this call"
            leg = self.legs[tag]
        else:
            # Unconfirmed: "defaults to the leg that was invoked"; when that leg has ended, LEG-A.
            leg = self.legs[default] if default in self.legs else self.legs[_A]
            if not leg.connected:
                leg = self.legs[_A]
        if not leg.connected:
            return f"{leg.tag} ({leg.call_id}) is not connected"
        return leg

    def _execute(self, item: _Action, *, last: bool) -> None:
        action = item.action
        kind = str(action.get("Type"))
        parameters: dict[str, Any] = copy.deepcopy(dict(action.get("Parameters") or {}))
        log = _ActionLog(kind, parameters, None, self.now)
        self.actions.append(log)
        data: dict[str, Any] = {"Type": kind, "Parameters": copy.deepcopy(parameters)}
        issue = validate_action(action)
        if issue is not None:
            self._problem(ProblemKind.INVALID_ACTION, f"{kind}: {issue}")
            self._fail(log, data, _Error(issue.error_type, issue.message, self._form()))
            return
        if kind not in _MODELLED:
            self._succeed(log, data, None, last, note="not modelled by the simulator")
            return
        target = self._target(kind, parameters, item.default_leg)
        if isinstance(target, str):
            if "not a participant" in target:
                self._problem(ProblemKind.INVALID_ACTION, f"{kind}: {target}")
            self._fail(log, data, _Error("InvalidActionParameter", target, self._form()))
            return
        leg = target
        log.leg = leg.tag
        injected = self._take_failure(kind, leg)
        if injected is not None:
            self._fail(log, data, injected)
            return
        if kind in RECORDING_ACTIONS:
            self._recording_action(log, data, leg, last)
        elif kind == "ReceiveDigits":
            self.tokens += 1
            self.listeners[leg.tag] = _Listener(
                self.tokens,
                parameters,
                parameters["InputDigitsRegex"],
                parameters["InBetweenDigitsDurationInMilliseconds"],
                parameters["FlushDigitsDurationInMilliseconds"],
            )
            self._succeed(log, data, leg, last, note=f"listening on {leg.tag}")
        elif kind == "Hangup":
            code = int(parameters.get("SipResponseCode", 0))
            log.outcome = ActionOutcome.SUCCEEDED
            log.ended_ms = self.now
            self._note(f"Hangup {leg.tag} (SIP {code})")
            # The HANGUP event that follows reports on it; no ACTION_SUCCESSFUL (hangup page).
            self._disconnect(leg, code, HangupCause.HANDLER)
        elif kind == "CallAndBridge":
            self._start_bridge(log, data, leg, last)
        else:
            self._start_timed(log, data, leg, last)

    def _form(self) -> ErrorForm:
        return self.options.action_error_form

    def _take_failure(self, kind: str, leg: _Leg) -> _Error | None:
        for armed in self.armed:
            failure = armed.failure
            if armed.remaining > 0 and failure.action == kind and failure.leg in (None, leg.tag):
                armed.remaining -= 1
                return _Error(
                    failure.error_type, failure.error_message, failure.form or self._form()
                )
        return None

    def _succeed(
        self,
        log: _ActionLog,
        data: dict[str, Any],
        leg: _Leg | None,
        last: bool,
        *,
        note: str | None = None,
    ) -> None:
        log.outcome = ActionOutcome.SUCCEEDED
        log.ended_ms = self.now
        log.note = note
        if note:
            self._note(f"{log.type}{'' if leg is None else ' ' + leg.tag}: {note}")
        if last:
            self._list_succeeded(data, leg)

    def _list_succeeded(self, data: dict[str, Any], leg: _Leg | None) -> None:
        # One ACTION_SUCCESSFUL per list, naming its last action (§2, use-case-2; unconfirmed which
        # action a multi-action list names: the last one, as here, is the presumption).
        self._invoke("ACTION_SUCCESSFUL", action_data=data, leg_tag=leg.tag if leg else _A)

    def _fail(self, log: _ActionLog, data: dict[str, Any], error: _Error) -> None:
        log.outcome = ActionOutcome.FAILED
        log.ended_ms = self.now
        log.error_type = error.type
        log.error_message = error.message
        self._note(
            f"{log.type}{'' if log.leg is None else ' ' + log.leg} failed: {error.type}: {error.message}"
        )
        for item in self.pending:
            self._unrun(item, ActionOutcome.DROPPED, f"dropped after {log.type} failed")
        self.pending.clear()
        self._invoke("ACTION_FAILED", action_data=data, leg_tag=log.leg or _A, error=error)

    def _start_timed(self, log: _ActionLog, data: dict[str, Any], leg: _Leg, last: bool) -> None:
        parameters = data["Parameters"]
        announcement = False
        if log.type == "Speak":
            duration = max(
                self.options.min_speak_ms,
                len(parameters["Text"]) * self.options.speak_ms_per_character,
            )
            announcement = True
        elif log.type == "PlayAudio":
            duration = self.options.play_audio_ms * int(parameters.get("Repeat", 1))
            announcement = True
        elif log.type == "Pause":
            duration = int(parameters["DurationInMilliseconds"])
        else:  # RecordAudio
            seconds = parameters.get("DurationInSeconds")
            duration = self.options.record_audio_ms if seconds is None else int(seconds) * 1000
        token = self._token()
        self.running = _Running(log, data, leg, self.now, token, last, announcement)
        self._note(f"{log.type} {leg.tag} ({duration / 1000:.3f} s)")
        self._schedule(self.now + duration, _PRIORITY_ACTION, ("done", token))

    def _start_bridge(self, log: _ActionLog, data: dict[str, Any], leg_a: _Leg, last: bool) -> None:
        parameters = data["Parameters"]
        if _B in self.legs and self.legs[_B].connected:
            self._fail(
                log,
                data,
                _Error("InvalidActionParameter", "the call already has a LEG-B", self._form()),
            )
            return
        behaviour = self.bridge_behaviour
        timeout_ms = int(parameters.get("CallTimeoutSeconds", 30)) * 1000
        ring_ms = behaviour.ring_ms
        outcome = behaviour.outcome
        if ring_ms is None or ring_ms > timeout_ms:
            ring_ms = timeout_ms
            if outcome == BridgeOutcome.ANSWER:
                outcome = BridgeOutcome.NO_ANSWER
        token = self._token()
        data["Parameters"]["CallId"] = (
            leg_a.call_id
        )  # the service adds LEG-A's CallId (call-and-bridge)
        self.running = _Running(log, data, leg_a, self.now, token, last, bridge=outcome)
        endpoint = parameters["Endpoints"][0]
        self._note(
            f"CallAndBridge: ringing {endpoint['Uri']} from {parameters['CallerIdNumber']} "
            f"(timeout {timeout_ms / 1000:g} s)"
        )
        self._schedule(self.now + ring_ms, _PRIORITY_ACTION, ("done", token))

    def _close_media(self, running: _Running) -> None:
        if running.announcement and running.leg is not None:
            self.announcements.append((running.leg.tag, running.started_ms, self.now))
        if running.bridge is not None:
            self.ringing.append((running.started_ms, self.now))

    def _complete_running(self) -> None:
        running = self.running
        assert running is not None
        self.running = None
        self._close_media(running)
        log, data = running.log, running.data
        if running.bridge is not None and running.bridge != BridgeOutcome.ANSWER:
            behaviour = self.bridge_behaviour
            message = behaviour.error_message or (
                "Call not answered: callee busy (SIP 486)"
                if running.bridge == BridgeOutcome.BUSY
                else "Call not answered"
            )
            # The developer guide shows CallNotAnswered; the error of a busy callee is unconfirmed.
            self._fail(
                log, data, _Error(behaviour.error_type or "CallNotAnswered", message, self._form())
            )
            return
        if running.bridge is not None:
            self._connect_leg_b(data)
        if log.type == "RecordAudio":
            destination = data["Parameters"]["RecordingDestination"]
            prefix = str(destination.get("Prefix") or "").strip("/")
            key = f"{prefix + '/' if prefix else ''}{self.transaction_id}-{self._uuid()}.wav"
            data["RecordingDestination"] = {
                "Type": "S3",
                "BucketName": destination["BucketName"],
                "Key": key,
            }
        log.outcome = ActionOutcome.SUCCEEDED
        log.ended_ms = self.now
        # Unconfirmed (update-sip-call says only that the new list starts after the running
        # action): the service is modelled as one queue, reporting ACTION_SUCCESSFUL when it runs
        # dry after a success. So a list replaced by a non-empty one ends silently, and one replaced
        # by an empty list reports its running action, as if it had been the last.
        if self.next_list:
            self._note(f"{log.type} ended; the newer list replacing the rest of its list starts")
        elif running.last or self.next_list is not None:
            self._list_succeeded(data, running.leg)

    def _connect_leg_b(self, data: dict[str, Any]) -> None:
        parameters = data["Parameters"]
        leg_b = _Leg(
            _B,
            self._uuid(),
            parameters["CallerIdNumber"],
            parameters["Endpoints"][0]["Uri"],
            "Outbound",
            self.now,
            self.now,
        )
        self.legs[_B] = leg_b
        self.bridged.append([self.now, -1])
        self._note(f"CallAndBridge answered: LEG-B {leg_b.call_id} connected and bridged")

    # recording (§3)

    def _recording_action(
        self, log: _ActionLog, data: dict[str, Any], leg: _Leg, last: bool
    ) -> None:
        kind = log.type
        recording = self.recordings.get(leg.tag)
        if kind == "StartCallRecording":
            if recording is not None:
                # Once per leg (§3.2): a second start, or a start after stop, fails. The service's
                # exact error for this case is unconfirmed; InvalidActionParameter is our choice.
                state = "stopped" if not recording.active else "already recording"
                self._problem(
                    ProblemKind.RECORDING_MISUSE,
                    f"StartCallRecording on {leg.tag}, which was {state}: a leg is recorded once",
                )
                self._fail(
                    log,
                    data,
                    _Error(
                        "InvalidActionParameter",
                        f"Call recording was already started on CallId {leg.call_id}; a call leg "
                        "can be recorded once",
                        self._form(),
                    ),
                )
                return
            parameters = data["Parameters"]
            location = str(parameters["Destination"]["Location"])
            bucket, key = recording_key(location, self.transaction_id, leg.call_id, leg.start_ms)
            self.recordings[leg.tag] = _Recording(
                leg, str(parameters["Track"]), location, bucket, key, self.now
            )
            data["CallRecordingDestination"] = {"Type": "S3", "Location": f"{bucket}/{key}"}
            self._note(f"recording {leg.tag} {parameters['Track']} started: s3://{bucket}/{key}")
            self._succeed(log, data, leg, last)
            return
        if recording is None or not recording.active:
            # Unconfirmed (§3.3): no error is documented for pausing, resuming or stopping a leg
            # that is not being recorded; the simulator fails the action.
            state = "never started" if recording is None else "stopped"
            self._problem(
                ProblemKind.RECORDING_MISUSE, f"{kind} on {leg.tag}, whose recording was {state}"
            )
            self._fail(
                log,
                data,
                _Error(
                    "InvalidActionParameter",
                    f"CallId {leg.call_id} has no active call recording ({state})",
                    self._form(),
                ),
            )
            return
        if kind == "PauseCallRecording":
            if recording.paused:
                self._succeed(log, data, leg, last, note="already paused (no effect)")
                return
            recording.pauses.append([self.now, -1])
            recording.tones.append(self.now)
            self._note(f"recording {leg.tag} paused (tone, then silence)")
        elif kind == "ResumeCallRecording":
            if not recording.paused:
                self._succeed(log, data, leg, last, note="not paused (no effect)")
                return
            recording.pauses[-1][1] = self.now
            recording.tones.append(self.now)
            self._note(f"recording {leg.tag} resumed (tone)")
        else:
            self._stop_recording(recording, "StopCallRecording")
        self._succeed(log, data, leg, last)

    def _stop_recording(self, recording: _Recording, reason: str) -> None:
        if not recording.active:
            return
        if recording.paused:
            recording.pauses[-1][1] = self.now
        recording.stopped_ms = self.now
        recording.stop_reason = reason
        self._note(
            f"recording {recording.leg.tag} stopped ({reason}) after "
            f"{(self.now - recording.started_ms) / 1000:.3f} s"
        )
        if self.options.delivery == Delivery.ON_STOP:
            self._deliver(recording)

    def _deliver(self, recording: _Recording) -> None:
        assert recording.stopped_ms is not None
        recording.delivered_ms = self.now
        duration_ms = recording.stopped_ms - recording.started_ms
        # §3.4 metadata; recording-duration is in seconds (its exact format is unconfirmed).
        recording.metadata = {
            "transaction-id": self.transaction_id,
            "call-id": recording.leg.call_id,
            "recording-duration": f"{duration_ms / 1000:.3f}",
            "recording-audio-file-format": RECORDING_MEDIA_TYPE,
        }
        if self.sink is not None:
            body = self._render(recording)
            recording.destination = self.sink.deliver(
                RecordingObject(recording.bucket, recording.key, body, dict(recording.metadata))
            )
        self._note(
            f"recording {recording.leg.tag} delivered: s3://{recording.bucket}/{recording.key}"
        )

    # legs ending

    def _disconnect(self, leg: _Leg, code: int, cause: HangupCause) -> None:
        if not leg.connected:
            return
        leg.ended_ms = self.now
        self.hangups.append(HangupRecord(self.now - self.t0, leg.tag, leg.call_id, code, cause))
        for interval in self.bridged:
            if interval[1] < 0:
                interval[1] = self.now
        self.listeners.pop(leg.tag, None)
        recording = self.recordings.get(leg.tag)
        if recording is not None:
            self._stop_recording(recording, "hangup")
        running = self.running
        if running is not None and running.leg is leg:
            self.running = None
            self._close_media(running)
            running.log.outcome = ActionOutcome.CANCELLED
            running.log.ended_ms = self.now
            running.log.note = f"{leg.tag} hung up"
            for item in self.pending:
                self._unrun(item, ActionOutcome.CANCELLED, f"{leg.tag} hung up")
            self.pending.clear()
        if cause == HangupCause.SERVICE:
            return
        remaining = self._connected()
        self._invoke(
            "HANGUP",
            action_data={
                "Type": "Hangup",
                "Parameters": {
                    "SipResponseCode": code,
                    "CallId": leg.call_id,
                    "ParticipantTag": leg.tag,
                },
            },
            leg_tag=leg.tag,
            ignore=not remaining,  # a call with no leg left: the response is ignored (hangup page)
        )
        if not self._connected():
            self._end_call()

    def _service_end(self, code: int) -> None:
        for leg in self._connected():
            self._disconnect(leg, code, HangupCause.SERVICE)
            self._note(f"{leg.tag} disconnected by the service (SIP {code})")
        self._end_call()

    def _end_call(self) -> None:
        if self.ended:
            return
        for leg in self._connected():
            self._disconnect(leg, 0, HangupCause.SERVICE)
        self.ended = True
        self.ended_ms = self.now
        running = self.running
        if running is not None:
            self.running = None
            self._close_media(running)
            running.log.outcome = ActionOutcome.CANCELLED
            running.log.ended_ms = self.now
        for item in [*self.pending, *(self.next_list or [])]:
            self._unrun(item, ActionOutcome.CANCELLED, "the call ended")
        self.pending.clear()
        self.next_list = None
        for recording in self.recordings.values():
            self._stop_recording(recording, "call-ended")
        for recording in self.recordings.values():
            if recording.delivered_ms is None:
                self._deliver(recording)
        self._note("call ended")

    # audio (§3.2)

    def _voice(self, tag: str, start: int, end: int) -> list[Span]:
        """The party on ``tag`` talking in its turns between ``start`` and ``end``."""
        profile = self.options.audio
        frequency = profile.caller_hz if tag == _A else profile.callee_hz
        parity = 0 if tag == _A else 1
        turn = profile.turn_ms
        spans: list[Span] = []
        first = math.floor((start - self.t0) / turn)
        last = math.floor((end - self.t0) / turn)
        for index in range(first, last + 1):
            if index % 2 != parity:
                continue
            span_start = max(start, self.t0 + index * turn)
            span_end = min(end, self.t0 + (index + 1) * turn)
            if span_end > span_start:
                spans.append(Span(span_start, span_end, (frequency,)))
        return spans

    def _leg_voice(self, leg: _Leg) -> list[Span]:
        if leg.answered_ms is None:
            return []
        end = leg.ended_ms if leg.ended_ms is not None else self.now
        return self._voice(leg.tag, leg.answered_ms, end)

    def _key_spans(self, tag: str, within: list[tuple[int, int]] | None = None) -> list[Span]:
        length = self.options.audio.key_ms
        spans = []
        for key_tag, at, key in self.keys:
            if key_tag != tag:
                continue
            if within is not None and not any(s <= at < e for s, e in within):
                continue
            spans.append(Span(at, at + length, DTMF_FREQUENCIES[key]))
        return spans

    def _bridge_intervals(self) -> list[tuple[int, int]]:
        return [(s, e if e >= 0 else self.now) for s, e in self.bridged]

    def _incoming(self, leg: _Leg) -> list[Span]:
        return [*self._leg_voice(leg), *self._key_spans(leg.tag)]

    def _outgoing(self, leg: _Leg) -> list[Span]:
        profile = self.options.audio
        spans: list[Span] = []
        if leg.tag == _A:
            ringing = list(self.ringing)
            if self.running is not None and self.running.bridge is not None:
                ringing.append((self.running.started_ms, self.now))
            for start, end in ringing:
                for on in range(start, end, _RINGBACK_PERIOD_MS):
                    spans.append(Span(on, min(end, on + _RINGBACK_ON_MS), profile.ringback_hz))
        other = self.legs.get(_B if leg.tag == _A else _A)
        if other is not None:
            bridges = self._bridge_intervals()
            for start, end in bridges:
                for span in self._leg_voice(other):
                    s, e = max(start, span.start_ms), min(end, span.end_ms)
                    if e > s:
                        spans.append(Span(s, e, span.frequencies))
            spans.extend(self._key_spans(other.tag, bridges))
        announcements = list(self.announcements)
        running = self.running
        if running is not None and running.announcement and running.leg is not None:
            announcements.append((running.leg.tag, running.started_ms, self.now))
        spans.extend(
            Span(s, e, (profile.announcement_hz,)) for tag, s, e in announcements if tag == leg.tag
        )
        return spans

    def _render(self, recording: _Recording) -> bytes:
        assert recording.stopped_ms is not None
        profile = self.options.audio
        marks = [Span(start, end) for start, end in recording.pauses]
        marks += [Span(at, at + profile.tone_ms, (profile.tone_hz,)) for at in recording.tones]
        tracks = {
            "INCOMING": [self._incoming(recording.leg)],
            "OUTGOING": [self._outgoing(recording.leg)],
            "BOTH": [self._incoming(recording.leg), self._outgoing(recording.leg)],
        }[recording.track]
        channels = [
            render_channel(
                [*spans, *marks],
                recording.started_ms,
                recording.stopped_ms,
                self.options.sample_rate,
                profile.level,
            )
            for spans in tracks
        ]
        return wav_bytes(channels, self.options.sample_rate)

    # the report

    def _report(self) -> CallReport:
        t0 = self.t0
        recordings: list[RecordingRecord] = []
        billing: list[LegBilling] = []
        for recording in self.recordings.values():
            assert recording.stopped_ms is not None
            assert recording.delivered_ms is not None
            recordings.append(
                RecordingRecord(
                    leg=recording.leg.tag,
                    call_id=recording.leg.call_id,
                    track=recording.track,
                    location=recording.location,
                    bucket=recording.bucket,
                    key=recording.key,
                    started_ms=recording.started_ms - t0,
                    stopped_ms=recording.stopped_ms - t0,
                    stop_reason=recording.stop_reason or "call-ended",
                    pauses=tuple((s - t0, e - t0) for s, e in recording.pauses),
                    delivered_ms=recording.delivered_ms - t0,
                    channels=2 if recording.track == "BOTH" else 1,
                    sample_rate=self.options.sample_rate,
                    metadata=dict(recording.metadata),
                    destination=recording.destination,
                )
            )
            # §9: billed per minute while recording is enabled on the leg, pauses included, once
            # delivered. Rounding up to started minutes is an assumption (the price page is unread).
            recorded = recording.stopped_ms - recording.started_ms
            billing.append(
                LegBilling(
                    recording.leg.tag,
                    recording.leg.call_id,
                    recorded,
                    math.ceil(recorded / 60_000),
                )
            )
        return CallReport(
            scenario=self.scenario.name,
            handler=self.handler_name,
            transaction_id=self.transaction_id,
            start_time_ms=t0,
            ended_ms=self.ended_ms - t0,
            legs=tuple(
                LegRecord(
                    leg.tag,
                    leg.call_id,
                    leg.from_number,
                    leg.to_number,
                    leg.direction,
                    leg.start_ms,
                    None if leg.answered_ms is None else leg.answered_ms - t0,
                    None if leg.ended_ms is None else leg.ended_ms - t0,
                )
                for leg in self.legs.values()
            ),
            timeline=tuple(self.timeline),
            invocations=tuple(self.invocations),
            actions=tuple(
                ActionRecord(
                    a.type,
                    a.parameters,
                    a.leg,
                    a.outcome,
                    a.started_ms - t0,
                    (a.ended_ms if a.ended_ms is not None else self.ended_ms) - t0,
                    a.error_type,
                    a.error_message,
                    a.note,
                )
                for a in self.actions
            ),
            recordings=tuple(recordings),
            billing=tuple(billing),
            hangups=tuple(self.hangups),
            problems=tuple(self.problems),
            skipped_steps=tuple(self.skipped),
        )


# -- timeline text -----------------------------------------------------------------------------------


def _step_text(step: Step) -> str:
    action = step.action
    if isinstance(action, InboundCall | OutboundCall):
        return f"{type(action).__name__} {action.from_number} -> {action.to_number}"
    if isinstance(action, Hangup):
        return f"hangup {action.leg}"
    if isinstance(action, Digits):
        return f"digits {action.keys!r} on {action.leg}"
    if isinstance(action, Answer):
        return f"answer {action.leg or ''}".rstrip()
    if isinstance(action, UpdateRequest):
        return f"update {json.dumps(action.arguments)}"
    if isinstance(action, InjectFailure):
        return f"fail {action.action}"
    return "bridge behaviour"


def _event_detail(event_type: str, event: Mapping[str, Any]) -> str:
    data = event.get("ActionData") or {}
    if event_type in ("ACTION_SUCCESSFUL", "ACTION_FAILED", "ACTION_INTERRUPTED"):
        return f" {data.get('Type')}"
    if event_type == "HANGUP":
        return f" {data.get('Parameters', {}).get('ParticipantTag')}"
    if event_type == "DIGITS_RECEIVED":
        return f" {data.get('ReceivedDigits')!r}"
    if event_type == "CALL_UPDATE_REQUESTED":
        return f" {json.dumps(data.get('Parameters', {}).get('Arguments'))}"
    if event_type == "INVALID_LAMBDA_RESPONSE":
        return f" {event.get('ErrorType') or data.get('ErrorType') or data.get('Error')}"
    return ""


def _response_summary(response: Any, rejecting: list[Any], ignored: bool) -> str:
    if rejecting:
        return f"rejected ({rejecting[0].error_type})"
    actions = response.get("Actions") if isinstance(response, Mapping) else None
    if actions is None:
        text = "null (keep queued actions)"
    elif not actions:
        text = "[]"
    else:
        text = ", ".join(_action_text(action) for action in actions)
    return f"{text} (ignored)" if ignored else text


def _action_text(action: Mapping[str, Any]) -> str:
    parameters = action.get("Parameters") or {}
    kind = str(action.get("Type"))
    if kind == "StartCallRecording":
        return f"StartCallRecording({parameters.get('Track')})"
    if kind == "Pause":
        return f"Pause({parameters.get('DurationInMilliseconds')} ms)"
    return kind
