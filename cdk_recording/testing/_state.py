"""The state of one simulated call: legs, queued and running actions, recordings, and the records.

:class:`CallState` holds what every part of the call loop reads and writes (``_actions.py`` runs the
action lists and the recording actions, ``_call.py`` the event loop, the invocations and the legs
ending, ``_audio.py`` renders what a recording heard, ``_summary.py`` builds the report).
"""

from __future__ import annotations

import heapq
import random
import uuid
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from cdk_recording.testing._report import (
    ActionOutcome,
    HangupCause,
    HangupRecord,
    InvocationRecord,
    Problem,
    ProblemKind,
    TimelineEntry,
)
from cdk_recording.testing._scenario import (
    BridgeOutcome,
    ErrorForm,
    InboundCall,
    InjectFailure,
    Scenario,
    Step,
)
from cdk_recording.testing._sinks import RecordingSink
from cdk_recording.testing._timeline import step_text
from cdk_recording.testing._validate import RECORDING_ACTIONS

if TYPE_CHECKING:
    from cdk_recording.testing._simulator import SmaSimulator

__all__ = [
    "LEG_A",
    "LEG_B",
    "MODELLED_ACTIONS",
    "PRIORITY_ACTION",
    "PRIORITY_END",
    "PRIORITY_SETUP",
    "PRIORITY_STEP",
    "TIMED_ACTIONS",
    "ActionError",
    "ActionLog",
    "Armed",
    "CallState",
    "HandlerAnswer",
    "Leg",
    "Listener",
    "QueuedAction",
    "Recording",
    "Running",
]

LEG_A = "LEG-A"
LEG_B = "LEG-B"
TIMED_ACTIONS = frozenset({"Speak", "PlayAudio", "Pause", "RecordAudio", "CallAndBridge"})
MODELLED_ACTIONS = TIMED_ACTIONS | RECORDING_ACTIONS | frozenset({"ReceiveDigits", "Hangup"})
# Event-queue priorities at equal times: steps that set how the world behaves (bridge outcomes,
# injected failures) first, so they apply to what happens at that same moment; then the service's
# own timers; then the world's other steps.
PRIORITY_SETUP = 0
PRIORITY_ACTION = 1
PRIORITY_STEP = 2
PRIORITY_END = 3


@dataclass
class Leg:
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
class QueuedAction:
    """An action of a list, with the leg it defaults to (the leg the event was about)."""

    action: Mapping[str, Any]
    default_leg: str


@dataclass
class ActionLog:
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
class Running:
    log: ActionLog
    data: dict[str, Any]
    leg: Leg | None
    started_ms: int
    token: int
    last: bool
    announcement: bool = False
    bridge: BridgeOutcome | None = None


@dataclass
class Recording:
    leg: Leg
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
class Listener:
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
class Armed:
    failure: InjectFailure
    remaining: int


@dataclass(frozen=True)
class HandlerAnswer:
    """What one successful invocation returned."""

    response: Any
    output: str
    attempt: int


@dataclass
class ActionError:
    type: str
    message: str
    form: ErrorForm


# -- the call's state -------------------------------------------------------------------------------


class CallState(ABC):
    """Everything one call knows, and the small helpers that keep its records."""

    def __init__(
        self, simulator: SmaSimulator, scenario: Scenario, sink: RecordingSink | None = None
    ) -> None:
        self.handler = simulator.handler
        self.options = simulator.options
        self.sink = sink if sink is not None else simulator.sink
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
        self.legs: dict[str, Leg] = {}
        self.inbound = isinstance(scenario.call, InboundCall)
        self.attributes: dict[str, str] = {}
        self.sequence = 0
        self.invocations: list[InvocationRecord] = []
        self.actions: list[ActionLog] = []
        self.timeline: list[TimelineEntry] = []
        self.problems: list[Problem] = []
        self.skipped: list[str] = []
        self.hangups: list[HangupRecord] = []
        self.recordings: dict[str, Recording] = {}
        self.pending: deque[QueuedAction] = deque()
        self.next_list: list[QueuedAction] | None = None
        self.running: Running | None = None
        self.listeners: dict[str, Listener] = {}
        self.armed: list[Armed] = []
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
        text = f"{step.at_ms / 1000:g} s {step_text(step)}: {why}"
        self.skipped.append(text)
        self._note(f"step skipped: {step_text(step)} ({why})")

    def _schedule(self, at_ms: int, priority: int, item: tuple[Any, ...]) -> None:
        self.counter += 1
        heapq.heappush(self.queue, (at_ms, priority, self.counter, item))

    def _token(self) -> int:
        self.tokens += 1
        return self.tokens

    def _connected(self) -> list[Leg]:
        return [leg for leg in self.legs.values() if leg.connected]

    # what the call loop provides to the action runner

    @abstractmethod
    def _invoke(
        self,
        event_type: str,
        *,
        action_data: Mapping[str, Any] | None = None,
        leg_tag: str = LEG_A,
        ignore: bool = False,
        error: ActionError | None = None,
    ) -> None:
        """Invoke the handler, then apply its response."""

    @abstractmethod
    def _disconnect(self, leg: Leg, code: int, cause: HangupCause) -> None:
        """End ``leg`` (stopping its recording) and tell the handler."""
