"""The pure decision core: ``(event, state, config) -> Decision``.

No I/O, no clock, no environment, no globals: every function here takes plain data and returns plain
data, so every call flow is tested with dicts. :class:`Decision` carries the actions to return, the
new :class:`~sma_recording.state.CallState`, and the log and metric records for the entry module to
emit.

Call flow of the recording handler (:func:`decide`):

* ``NEW_INBOUND_CALL`` with a bridge: ``[consent?, CallAndBridge]``. Without a bridge the caller alone
  is recorded: ``[consent or a 200 ms Pause (answers the call), StartCallRecording]`` (or, without
  ``autoStart``, the consent and a keep-alive Pause).
* ``CallAndBridge`` succeeded: ``[consent to LEG-B if announceToCallee, StartCallRecording]``.
  ``CALL_ANSWERED`` (outbound call): ``[consent?, StartCallRecording]``. StartCallRecording is always
  the last action of its list, so the ``ACTION_SUCCESSFUL`` that follows reports on it.
* A single-leg call is kept up with a Pause, re-issued whenever a list ends without one. Update
  requests interrupt it, so on-demand commands take effect at once; DIGITS_RECEIVED does not, so a
  DTMF code takes effect when the running Pause ends. The Pause lasts :data:`KEEP_ALIVE_MS` (30 s),
  or :data:`DTMF_KEEP_ALIVE_MS` (5 s) when DTMF control is configured, so a DTMF code takes effect
  at most 5 s after it was matched (which itself is 1 s after the last key). Each Pause costs an
  invocation, and the service allows 1,000 per call: a single-leg call lasts at most about eight
  hours, or about 80 minutes with DTMF control.
* On-demand commands (``CALL_UPDATE_REQUESTED``, see :mod:`sma_recording.protocol`) and DTMF codes
  start, pause, resume or stop one leg. Each leg is started and stopped at most once, stop is final,
  pause applies only while recording and resume only while paused; a command that does not apply is
  answered with no recording action and a warning. A pause, resume or stop changes the leg's status
  when it is sent; its result confirms it (and is counted), or puts the previous status back if it
  failed. Commands are accepted only once the call is connected (bridged, or a single answered
  leg); one sent earlier is ignored with a warning, and the call's set-up goes on (see below).
  While a StartCallRecording is in flight, commands are deferred (see below).
* DTMF control (``dtmf`` configured): a background ReceiveDigits matching exactly the pause and resume
  codes is armed on the party that works the call, LEG-B (the agent) of a bridged call, else LEG-A,
  once recording has started. It is re-armed after each code (the service discards digits until a new
  ReceiveDigits arrives), but never in the same list as a recording action, whose failure it could
  cause to be dropped. If ReceiveDigits itself fails, DTMF control stays off for that call.
* **One recording action per list.** The service reports a list once, on its last action, and a
  failed action drops the rest of its list (reference §2), so a response holds at most one of the
  four recording actions, as its last action (or, when wrapping a handler, before the handler's
  last action, whose result then reports on it too). When commands leave more to do (e.g. pause
  LEG-A and start LEG-B once a Start succeeded), the next action goes out when the previous one
  reports, success or failure.
* A failed recording action never hangs up; it is logged as an error and counted
  (``RecordingFailed`` by ``ErrorType``). A failed StartCallRecording is final: the leg is marked
  failed and is not recorded. A failed PauseCallRecording, ResumeCallRecording or StopCallRecording
  changed nothing: the leg gets back its previous status (the recording is still running after a
  failed pause or stop, still paused after a failed resume) and the command may be sent again. A
  failed consent announcement means the call is not recorded at all (both legs are marked failed
  and ``RecordingFailed`` is counted with ``ErrorType=ConsentFailed``); a bridged call still
  proceeds.
* CallAndBridge failed (busy, no answer, ...): LEG-A is hung up with SIP 486 when the error mentions
  "busy", else 480; nothing was recorded.
* ``HANGUP`` of one leg of a bridged call hangs up the other leg; recordings end with their legs.
* ``INVALID_LAMBDA_RESPONSE``: logged as an error with the previous response's action types (kept in
  the state) and counted; answered with no actions and no attributes, so a rejected response is not
  repeated in a loop. ``ACTION_INTERRUPTED``: logged only. Unknown events: no action, warning.
  Malformed events: logged and counted, answered with
  :func:`~sma_recording.actions.fallback_response` (``"Actions": null`` for the unsolicited events
  of :data:`~sma_recording.events.UNSOLICITED_EVENTS`, ``"Actions": []`` otherwise).
* An invalid configuration (:attr:`RecordingConfig.recording_enabled` false) records nothing, and
  never ends a call: inbound calls are still bridged when the bridge part of the configuration is
  valid, and otherwise answered and kept up (keep-alive Pause) until the caller hangs up, as a valid
  configuration without a bridge or ``autoStart`` would; answered outbound calls are kept up too.
  The problems are logged as an error and ``RecordingFailed`` is counted with
  ``ErrorType=InvalidConfiguration`` once per call.

Update requests while actions of ours are queued
------------------------------------------------

The answer to any invocation replaces what the service still has queued (reference §2: the running
action finishes, the rest of the old list is dropped; §5), and an update request arrives whenever an
application sends it, e.g. while the consent announcement queued before StartCallRecording is being
spoken. Answering it with a list, even ``[]``, would silently drop that StartCallRecording while the
state already counts the leg as ``starting``: a ``pause`` then went out for a recording that never
started, and the call was not recorded. The rules:

* **Deferral.** While a StartCallRecording is in flight (a leg is ``starting``: sent, its
  ``ACTION_SUCCESSFUL``/``ACTION_FAILED`` not in yet), a recording command (update request or DTMF
  code) sends nothing. It is checked against the status the leg will have once the Start succeeds
  and the commands deferred before it are applied (a starting leg counts as recording), and only
  changes that target status, kept in the state (:attr:`CallState.wanted_a`/``wanted_b``). So the
  last word wins: pause then resume during the announcement cancel out (no tones), stop is final, a
  second start does not apply (warning), and a start of the other leg (explicit ``callId``) waits
  its turn. The event is answered with ``"Actions": null``, which keeps the service's queue (§2):
  the announcement and the Start run as planned.
* **Applying.** When the Start succeeds (its ``ACTION_SUCCESSFUL``, or a list that held it
  completing), the action that takes the leg to its target is sent at once: PauseCallRecording or
  StopCallRecording. Anything deferred for the other leg (a start, as its own StartCallRecording,
  or a pause, resume or stop) follows when that action reports, one recording action per list (a
  pause wanted for a leg that starts then waits for that Start in turn). The DTMF listener, not
  armed while a Start is in flight, is re-armed by the last result as usual.
* **Dropping.** When the Start fails, or its leg or the call ends first, the leg's deferred
  commands are dropped with a warning (a leg that failed is not recorded again). When an action
  queued before the Start fails (so the service dropped the Start too), the recording handler sends
  the Start again and the deferred commands stay; with a wrapped handler they go with the Start.
* **Other events.** An update request (recording command or not) or a DTMF code that calls for no
  action is answered with ``"Actions": null`` too while the call is being set up (``bridging``: the
  consent and CallAndBridge are queued), a Start is in flight or the call is ending, and always when
  wrapping a handler (whose own queue an empty list would drop). Otherwise nothing changes: ``[]``,
  plus the keep-alive Pause of a single-leg call that the update request interrupted.

Why defer rather than send the Start again ahead of the command: the queued Start may already be
running or done (only PlayAudio, RecordAudio and Pause are interrupted by an update request; Speak,
CallAndBridge and the recording actions finish first), and a second StartCallRecording on a leg fails
(recorded once per leg, §3.2), which would mark a leg that is recording as failed. Deferral never
sends an action whose premise is unconfirmed; the price is that a command sent during the
announcement takes effect right after the Start, and a stop sent then still leaves a short recording
(the Start cannot be withdrawn safely). A PlayAudio announcement is itself interruptible, so an
update request sent during it cuts it short (service behaviour); a Speak announcement is not.

The wrapper (:mod:`sma_recording.wrapper`) uses :func:`route`, :func:`decide_recording_event` and
:func:`decide_around_handler`, which share this logic but leave the call flow to the wrapped handler.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from enum import Enum, StrEnum
from typing import Any

from sma_recording.actions import (
    COMMAND_BUILDERS,
    MAX_ACTIONS,
    RECORDING_ACTIONS,
    Action,
    call_and_bridge,
    consent_action,
    hangup,
    is_consent,
    pause,
    receive_digits,
    response,
    start_call_recording,
)
from sma_recording.config import Leg, RecordingConfig
from sma_recording.events import (
    UNSOLICITED_EVENTS,
    EventError,
    EventType,
    Participant,
    SmaEvent,
    is_unsolicited,
)
from sma_recording.protocol import Command, ProtocolError, is_recording_request, parse_arguments
from sma_recording.state import (
    STATE_KEY,
    WANTED_STATUSES,
    CallState,
    Flow,
    LegStatus,
    Pending,
)
from sma_recording.telemetry import mask_phone

__all__ = [
    "ANSWER_PAUSE_MS",
    "DTMF_KEEP_ALIVE_MS",
    "KEEP_ALIVE_MS",
    "MAX_RESEND_CHARS",
    "Decision",
    "LogRecord",
    "MetricName",
    "MetricRecord",
    "Route",
    "decide",
    "decide_around_handler",
    "decide_recording_event",
    "route",
]

#: Keep-alive Pause of a single-leg call (see the module docstring). One invocation per Pause: with
#: the service's limit of 1,000 invocations per call, such a call lasts at most about eight hours.
KEEP_ALIVE_MS = 30_000
#: Keep-alive Pause of a single-leg call with DTMF control. DIGITS_RECEIVED does not interrupt a
#: running Pause (only an update request does), so a DTMF code takes effect when the Pause ends: at
#: most 5 s after it was matched, instead of 30 s. The price is one invocation every 5 s: with the
#: limit of 1,000 invocations per call, such a call lasts at most about 80 minutes (5,000 s less the
#: invocations its other events use). 10 s would allow 2.8 hours but leave up to 10 s of what is
#: keyed or said after a pause code in the recording.
DTMF_KEEP_ALIVE_MS = 5_000
#: Pause that answers an inbound single-leg call before recording when no consent is configured.
ANSWER_PAUSE_MS = 200
#: Largest wrapped-handler action (as JSON) the wrapper keeps to re-send if its own actions fail.
MAX_RESEND_CHARS = 4000

_A = Leg.A.value
_B = Leg.B.value


class MetricName(StrEnum):
    """The metric names (unit Count). The construct's metric helpers and alarms use these names."""

    RECORDING_STARTED = "RecordingStarted"
    RECORDING_PAUSED = "RecordingPaused"
    RECORDING_RESUMED = "RecordingResumed"
    RECORDING_STOPPED = "RecordingStopped"
    RECORDING_FAILED = "RecordingFailed"
    INVALID_LAMBDA_RESPONSE = "InvalidLambdaResponse"
    MALFORMED_EVENT = "MalformedEvent"


@dataclass(frozen=True)
class LogRecord:
    """A log line to emit: ``level`` is a :mod:`logging` level; ``fields`` are JSON values."""

    level: int
    message: str
    fields: Mapping[str, Any]


@dataclass(frozen=True)
class MetricRecord:
    """A count of one; ``error_type`` is set only for ``RecordingFailed``."""

    name: MetricName
    error_type: str | None = None


@dataclass(frozen=True)
class Decision:
    """What to answer and what to emit for one event."""

    actions: tuple[Action, ...]
    state: CallState
    logs: tuple[LogRecord, ...] = ()
    metrics: tuple[MetricRecord, ...] = ()
    #: False when the response must leave the stored transaction attributes untouched.
    send_attributes: bool = True
    #: True when the answer is ``"Actions": null``, so the service keeps the actions it still has
    #: queued (reference §2); ``actions`` is then empty. See "Update requests while actions of
    #: ours are queued" in the module docstring.
    keep_queued: bool = False

    def attributes(self) -> dict[str, str] | None:
        """``TransactionAttributes`` of the recording handler's response (the full map), or None."""
        return {STATE_KEY: self.state.encode()} if self.send_attributes else None

    def response(self) -> dict[str, Any]:
        """The Lambda response of the recording handler."""
        return response(None if self.keep_queued else self.actions, self.attributes())


class Route(Enum):
    """Who answers an event when recording wraps an existing handler."""

    MALFORMED = "malformed"
    RECORDING = "recording"
    HANDLER = "handler"


# -- the turn: one event being decided --------------------------------------------------------------


class _Turn:
    def __init__(
        self, event: SmaEvent, state: CallState, config: RecordingConfig, *, owns_flow: bool
    ) -> None:
        self.event = event
        self.state = state
        self.config = config
        self.owns_flow = owns_flow
        self.actions: list[Action] = []
        self.logs: list[LogRecord] = []
        self.metrics: list[MetricRecord] = []
        self.send_attributes = True
        self.keep_alive = owns_flow
        self.keep_queued = False

    # records

    def log(self, level: int, message: str, **fields: Any) -> None:
        self.logs.append(LogRecord(level, message, fields))

    def metric(self, name: MetricName, error_type: str | None = None) -> None:
        self.metrics.append(MetricRecord(name, error_type))

    # state

    def update(self, **changes: Any) -> None:
        self.state = replace(self.state, **changes)

    def set_leg(self, tag: str, status: LegStatus) -> None:
        self.state = self.state.with_leg(tag, status)

    def set_wanted(self, tag: str, status: LegStatus | None) -> None:
        self.state = self.state.with_wanted(tag, status)

    # event helpers

    @property
    def action_data_type(self) -> str | None:
        return self.event.action_type

    def tag_of(self, call_id: str | None) -> str | None:
        participant = self.event.by_call_id(call_id)
        if participant is not None and participant.tag in (_A, _B):
            return participant.tag
        return None

    def connected(self, tag: str) -> Participant | None:
        participant = self.event.participant(tag)
        return participant if participant is not None and participant.connected else None

    def has_recording_action(self) -> bool:
        return any(action.get("Type") in RECORDING_ACTIONS for action in self.actions)

    def decision(self) -> Decision:
        _settle_wanted(self)
        if self.actions:
            self.keep_queued = False
        if len(self.actions) > MAX_ACTIONS:
            self.log(
                logging.ERROR,
                "more than the service's limit of actions; the last ones were dropped",
                limit=MAX_ACTIONS,
                dropped=[a.get("Type") for a in self.actions[MAX_ACTIONS:]],
            )
            del self.actions[MAX_ACTIONS:]
        if self.send_attributes:
            types = (
                "null" if self.keep_queued else ",".join(str(a.get("Type")) for a in self.actions)
            )
            sequence = "" if self.event.sequence is None else str(self.event.sequence)
            self.update(last_sent=f"{sequence}:{types}"[:200])
        return Decision(
            tuple(self.actions),
            self.state,
            tuple(self.logs),
            tuple(self.metrics),
            self.send_attributes,
            self.keep_queued,
        )


# -- shared pieces -----------------------------------------------------------------------------------


def _effective_leg(t: _Turn) -> str:
    """The configured leg, or LEG-A when LEG-B is configured but the call has no LEG-B."""
    if t.config.leg == Leg.B and t.connected(_B) is None:
        return _A
    return t.config.leg.value


def _start(t: _Turn, tag: str | None = None) -> bool:
    """Append StartCallRecording (with the consent first if it has not been played yet)."""
    if tag is None:
        tag = t.config.leg.value
        if tag == _B and t.connected(_B) is None:
            t.log(logging.WARNING, "LEG-B is configured but the call has no LEG-B; recording LEG-A")
            tag = _A
    participant = t.connected(tag)
    if participant is None:
        t.log(logging.WARNING, "cannot start recording: the leg is not connected", leg=tag)
        return False
    status = t.state.leg(tag)
    if status != LegStatus.IDLE:
        t.log(
            logging.WARNING,
            "start does not apply: a leg is recorded at most once",
            leg=tag,
            recording=status.value,
        )
        return False
    if t.config.consent is not None and not t.state.consent_played:
        leg_a = t.connected(_A)
        if leg_a is not None:
            t.actions.append(consent_action(leg_a.call_id, t.config.consent))
            t.update(consent_played=True)
    t.actions.append(
        start_call_recording(participant.call_id, t.config.track, t.config.destination.location)
    )
    t.set_leg(tag, LegStatus.STARTING)
    t.log(
        logging.INFO,
        "starting recording",
        leg=tag,
        callId=participant.call_id,
        track=t.config.track.value,
        location=t.config.destination.location,
    )
    return True


def _starting(state: CallState) -> bool:
    """Whether a StartCallRecording is in flight: sent, its ACTION_SUCCESSFUL/FAILED not in yet."""
    return LegStatus.STARTING in (state.leg_a, state.leg_b)


def _natural(state: CallState, tag: str) -> LegStatus:
    """The status a leg reaches without further commands: a starting leg ends up recording."""
    status = state.leg(tag)
    return LegStatus.RECORDING if status == LegStatus.STARTING else status


def _projected(state: CallState, tag: str) -> LegStatus:
    """The status a leg has once the commands deferred for it are applied."""
    return state.wanted(tag) or _natural(state, tag)


def _applies(command: Command, status: LegStatus) -> bool:
    """Whether ``command`` applies to a leg in (projected, so never ``starting``) ``status``."""
    if command == Command.START:
        return status == LegStatus.IDLE
    if command == Command.PAUSE:
        return status == LegStatus.RECORDING
    if command == Command.RESUME:
        return status == LegStatus.PAUSED
    return status in (LegStatus.RECORDING, LegStatus.PAUSED)  # stop


def _command_leg(t: _Turn, command: Command) -> str:
    """The leg a command without ``callId`` acts on.

    ``start``: the configured leg (a second, separately billed recording of the other leg needs an
    explicit ``callId``). Others: the first of (configured, other) leg the command applies to.
    """
    first = _effective_leg(t)
    if command == Command.START:
        return first
    candidates = [first, _B if first == _A else _A]
    for tag in candidates:
        if t.event.participant(tag) is not None and _applies(command, _projected(t.state, tag)):
            return tag
    for tag in candidates:
        if t.event.participant(tag) is not None and t.state.leg(tag) != LegStatus.IDLE:
            return tag
    return first


#: The status each command asks its leg to reach.
_COMMAND_TARGET = {
    Command.START: LegStatus.RECORDING,
    Command.PAUSE: LegStatus.PAUSED,
    Command.RESUME: LegStatus.RECORDING,
    Command.STOP: LegStatus.STOPPED,
}
#: The action that takes a leg from one status to another, and the command it carries out.
_TRANSITIONS = {
    (LegStatus.RECORDING, LegStatus.PAUSED): ("PauseCallRecording", Command.PAUSE),
    (LegStatus.PAUSED, LegStatus.RECORDING): ("ResumeCallRecording", Command.RESUME),
    (LegStatus.RECORDING, LegStatus.STOPPED): ("StopCallRecording", Command.STOP),
    (LegStatus.PAUSED, LegStatus.STOPPED): ("StopCallRecording", Command.STOP),
}


def _command(t: _Turn, command: Command, call_id: str | None, source: str) -> None:
    """Apply a recording command (from an update request or a DTMF code) if it applies.

    While a StartCallRecording is in flight the command is deferred (see the module docstring): it
    is checked against the leg's projected status and only changes the status the leg is to reach.
    """
    if not t.config.recording_enabled:
        t.log(logging.WARNING, f"{command} ignored: recording is disabled", source=source)
        return
    if not t.state.flow.connected:
        t.log(
            logging.WARNING,
            f"{command} ignored: the call is not connected",
            source=source,
            flow=t.state.flow.value,
        )
        return
    if call_id is not None:
        tag = t.tag_of(call_id)
        if tag is None:
            t.log(
                logging.WARNING,
                f"{command} ignored: callId is not a leg of this call",
                callId=call_id,
            )
            return
    else:
        tag = _command_leg(t, command)
    if command == Command.START and not _starting(t.state) and t.state.wanted(tag) is None:
        _start(t, tag)
        return
    participant = t.connected(tag)
    status = t.state.leg(tag)
    projected = _projected(t.state, tag)
    if participant is None or not _applies(command, projected):
        t.log(
            logging.WARNING,
            f"{command} does not apply",
            source=source,
            leg=tag,
            recording=status.value,
            connected=participant is not None,
            **({} if projected == status else {"deferred": projected.value}),
        )
        return
    if command == Command.STOP and status == LegStatus.IDLE:
        # Only a deferred start: it was never sent, so there is nothing to stop.
        t.set_wanted(tag, None)
        t.log(logging.INFO, "deferred recording start cancelled by stop", source=source, leg=tag)
        return
    target = _COMMAND_TARGET[command]
    t.set_wanted(tag, None if target == _natural(t.state, tag) else target)
    if _starting(t.state):
        t.log(
            logging.INFO,
            f"recording {command} deferred until StartCallRecording reports",
            source=source,
            leg=tag,
            startingLeg=_A if t.state.leg_a == LegStatus.STARTING else _B,
        )
        return
    _reconcile(t, source)
    if t.state.wanted(tag) is not None and not _starting(t.state):
        t.log(
            logging.INFO,
            f"recording {command} deferred until the other leg's recording action reports",
            source=source,
            leg=tag,
        )


def _reconcile(t: _Turn, source: str) -> None:
    """Send the next action that takes a leg to the status its (deferred) commands asked for.

    At most one recording action per list (none when the turn already holds one): a failed action
    drops the rest of its list, and only the list's last action reports (reference §2), so a second
    one could be lost unseen. What is left stays in the legs' ``wanted`` status and goes out when
    this action reports. Changes of started legs come first; a deferred start comes last (a leg that
    is to be paused once started keeps that wish). Nothing is sent while a StartCallRecording is in
    flight.
    """
    if _starting(t.state) or t.has_recording_action():
        return
    start_tag: str | None = None
    for tag in (_A, _B):
        wanted = t.state.wanted(tag)
        if wanted is None:
            continue
        status = t.state.leg(tag)
        if status == LegStatus.IDLE and wanted in (LegStatus.RECORDING, LegStatus.PAUSED):
            start_tag = start_tag or tag
            continue
        transition = _TRANSITIONS.get((status, wanted))
        if transition is None:
            continue  # already there, or no longer possible: _settle_wanted clears it
        t.set_wanted(tag, None)
        participant = t.connected(tag)
        if participant is None:
            _drop_wanted(t, tag, wanted, "the leg is not connected")
            continue
        action_type, command = transition
        t.actions.append(COMMAND_BUILDERS[action_type](participant.call_id))
        t.state = t.state.with_pending(tag, Pending(action_type, status))
        t.set_leg(tag, wanted)
        t.log(logging.INFO, f"recording {command} requested", source=source, leg=tag)
        return
    if start_tag is not None:
        wanted = t.state.wanted(start_tag)
        assert wanted is not None
        t.set_wanted(start_tag, None)
        if _start(t, start_tag):
            t.set_wanted(start_tag, None if wanted == LegStatus.RECORDING else wanted)
        else:
            _drop_wanted(t, start_tag, wanted, "StartCallRecording could not be sent")


def _drop_wanted(t: _Turn, tag: str, wanted: LegStatus | None, reason: str) -> None:
    """Forget what deferred commands asked of a leg, with a warning when there was something."""
    t.set_wanted(tag, None)
    if wanted is not None:
        t.log(
            logging.WARNING,
            "deferred recording command dropped",
            leg=tag,
            wanted=wanted.value,
            reason=reason,
        )


def _settle_wanted(t: _Turn) -> None:
    """Clear deferred statuses that are reached or can no longer be (a final leg, an ended call)."""
    for tag in (_A, _B):
        wanted = t.state.wanted(tag)
        if wanted is None:
            continue
        status = t.state.leg(tag)
        if wanted == _natural(t.state, tag) or wanted not in WANTED_STATUSES:
            t.set_wanted(tag, None)
        elif (
            status in (LegStatus.STOPPED, LegStatus.FAILED)
            or t.state.flow == Flow.ENDED
            or (status == LegStatus.IDLE and wanted == LegStatus.STOPPED)
        ):
            _drop_wanted(
                t, tag, wanted, f"the leg is {status.value}, the call {t.state.flow.value}"
            )


def _hold_queue(t: _Turn) -> None:
    """Answer ``Actions: null`` to an unsolicited event that needs no action while a list is queued.

    Queued: a StartCallRecording in flight (possibly behind an announcement), the consent and
    CallAndBridge of a call being set up, the Hangup of a call ending, and, when wrapping a handler,
    whatever the handler queued.
    """
    if t.actions or t.event.event_type not in UNSOLICITED_EVENTS:
        return
    if not t.owns_flow or _starting(t.state) or t.state.flow in (Flow.BRIDGING, Flow.ENDED):
        t.keep_queued = True


def _dtmf_leg(t: _Turn) -> Participant | None:
    """Who keys the DTMF codes: LEG-B (the agent) of a bridged call, else LEG-A."""
    if t.state.flow == Flow.BRIDGED and t.connected(_B) is not None:
        return t.connected(_B)
    return t.connected(_A)


def _arm_dtmf(t: _Turn) -> None:
    """Add the background ReceiveDigits if DTMF control is configured, useful and not armed.

    Never in a list that holds a recording action: a failing ReceiveDigits would drop it. The
    recording action's own result re-arms it. Never while a StartCallRecording is in flight: the
    list would replace it (its result re-arms).
    """
    dtmf = t.config.dtmf
    if (
        dtmf is None
        or t.state.dtmf_armed
        or not t.state.flow.connected
        or t.has_recording_action()
        or _starting(t.state)
    ):
        return
    if not (t.state.leg_a.active or t.state.leg_b.active):
        return
    listener = _dtmf_leg(t)
    if listener is None:
        return
    t.actions.append(receive_digits(listener.call_id, dtmf))
    t.update(dtmf_armed=True)


def _confirm_list(t: _Turn, note: str) -> None:
    """A list of ours completed (every action in it succeeded, reference §2) without naming our
    recording action: the legs still ``starting`` are recording, and a pause, resume or stop
    inserted before a wrapped handler's action (:attr:`Pending.in_list`) took effect."""
    for tag in (_A, _B):
        if t.state.leg(tag) == LegStatus.STARTING:
            t.set_leg(tag, LegStatus.RECORDING)
            t.metric(MetricName.RECORDING_STARTED)
            t.log(logging.INFO, "recording started", leg=tag, objectKey=None, note=note)
        pending = t.state.pending(tag)
        if pending is not None and pending.in_list:
            t.state = t.state.with_pending(tag, None)
            _command_succeeded(t, tag, pending.action, note="reported by the list that held it")


#: What each pause, resume or stop counts, and how it is logged, once it succeeded.
_COMMAND_SUCCESS = {
    "PauseCallRecording": (MetricName.RECORDING_PAUSED, "recording paused"),
    "ResumeCallRecording": (MetricName.RECORDING_RESUMED, "recording resumed"),
    "StopCallRecording": (MetricName.RECORDING_STOPPED, "recording stopped"),
}
#: The status each pause, resume or stop leads to, and the one it needs (its only possible
#: ``prior`` except for a stop, which also applies while paused).
_COMMAND_TO = {
    "PauseCallRecording": LegStatus.PAUSED,
    "ResumeCallRecording": LegStatus.RECORDING,
    "StopCallRecording": LegStatus.STOPPED,
}
_COMMAND_FROM = {
    "PauseCallRecording": LegStatus.RECORDING,
    "ResumeCallRecording": LegStatus.PAUSED,
    "StopCallRecording": LegStatus.RECORDING,
}


def _command_succeeded(t: _Turn, tag: str, action_type: str, note: str | None = None) -> None:
    metric, message = _COMMAND_SUCCESS[action_type]
    t.metric(metric)
    t.log(logging.INFO, message, leg=tag, **({} if note is None else {"note": note}))


def _undo(t: _Turn, tag: str, action_type: str) -> None:
    """A pause, resume or stop of ``tag`` failed or was dropped: the recording is as it was.

    The leg gets back the status it had before the action (:attr:`Pending.prior`; without one, the
    status the action needs). Left alone when the leg has moved on since: a later command of the
    leg is in flight (it then started from that status, which its own pending action records), or
    the leg or call ended (its recording ended with it).
    """
    pending = t.state.pending(tag)
    mine = pending is not None and pending.action == action_type
    before = pending.prior if pending is not None and mine else _COMMAND_FROM[action_type]
    if mine:
        t.state = t.state.with_pending(tag, None)
    if t.state.leg(tag) != _COMMAND_TO[action_type]:
        if pending is not None and not mine:
            t.state = t.state.with_pending(tag, replace(pending, prior=before))
        return
    if t.state.flow == Flow.ENDED or t.connected(tag) is None:
        return
    t.set_leg(tag, before)


def _now_recorded(status: LegStatus) -> str:
    if status == LegStatus.RECORDING:
        return "the recording is still running"
    if status == LegStatus.PAUSED:
        return "the recording is still paused"
    return f"the leg's recording is {status.value}"


def _result_leg(t: _Turn, expected: Sequence[LegStatus]) -> str | None:
    tag = t.tag_of(t.event.action_data.call_id if t.event.action_data else None)
    if tag is not None:
        return tag
    # CallId missing or unknown: the only leg in the state the action was sent from.
    matching = [tag for tag in (_A, _B) if t.state.leg(tag) in expected]
    return matching[0] if len(matching) == 1 else None


def _on_recording_result(t: _Turn, *, success: bool) -> None:
    action_type = t.action_data_type or ""
    expected = {
        "StartCallRecording": (LegStatus.STARTING,),
        "PauseCallRecording": (LegStatus.PAUSED,),
        "ResumeCallRecording": (LegStatus.RECORDING,),
        "StopCallRecording": (LegStatus.STOPPED,),
    }[action_type]
    tag = _result_leg(t, expected)
    if tag is None:
        t.log(logging.WARNING, f"{action_type} result for an unknown leg; state unchanged")
        return
    if not success:
        _on_recording_failed(t, tag, action_type)
    elif action_type == "StartCallRecording":
        if t.state.leg(tag) in (LegStatus.STARTING, LegStatus.IDLE):
            t.set_leg(tag, LegStatus.RECORDING)
        assert t.event.action_data is not None
        t.metric(MetricName.RECORDING_STARTED)
        t.log(
            logging.INFO,
            "recording started",
            leg=tag,
            objectKey=t.event.action_data.recording_location,
        )
    else:
        pending = t.state.pending(tag)
        if pending is not None and pending.action == action_type:
            t.state = t.state.with_pending(tag, None)
        if action_type == "StopCallRecording":
            t.set_leg(tag, LegStatus.STOPPED)
        _command_succeeded(t, tag, action_type)
    _reconcile(t, "deferred")
    _arm_dtmf(t)


def _on_recording_failed(t: _Turn, tag: str, action_type: str) -> None:
    """A recording action failed: counted and logged; the call always goes on.

    A failed StartCallRecording is final for its leg (``failed``: not recorded). A failed pause,
    resume or stop changed nothing: the leg gets back its previous status, so the recording is
    still running (pause, stop) or still paused (resume), and the command can be sent again.
    """
    error = t.event.error
    t.metric(MetricName.RECORDING_FAILED, error.metric_type)
    if action_type == "StartCallRecording":
        t.set_leg(tag, LegStatus.FAILED)
        t.state = t.state.with_pending(tag, None)
        t.log(
            logging.ERROR,
            "StartCallRecording failed; the leg is not recorded and the call continues",
            leg=tag,
            errorType=error.type,
            errorMessage=error.message,
        )
        _drop_wanted(t, tag, t.state.wanted(tag), f"{action_type} failed")
    else:
        _undo(t, tag, action_type)
        status = t.state.leg(tag)
        t.log(
            logging.ERROR,
            f"{action_type} failed; {_now_recorded(status)} and the call continues",
            leg=tag,
            recording=status.value,
            errorType=error.type,
            errorMessage=error.message,
        )
    _restart_dropped(t, action_type)


def _restart_dropped(t: _Turn, failed_type: str) -> None:
    """Send again a StartCallRecording the service dropped because an action before it in its list
    failed (reference §2). This handler never puts it after another recording action; a list sent
    by an earlier version may, and ``last_sent`` shows it."""
    types = t.state.last_sent.partition(":")[2].split(",")
    if (
        failed_type not in types
        or "StartCallRecording" not in types[types.index(failed_type) + 1 :]
    ):
        return
    for tag in (_A, _B):
        if t.state.leg(tag) == LegStatus.STARTING:
            t.set_leg(tag, LegStatus.IDLE)
            t.log(logging.WARNING, "StartCallRecording was not run; starting again", leg=tag)
            if not _start(t, tag):
                _drop_wanted(t, tag, t.state.wanted(tag), "StartCallRecording could not be sent")


def _on_consent_failed(t: _Turn) -> None:
    error = t.event.error
    for tag in (_A, _B):
        if t.state.leg(tag) in (LegStatus.IDLE, LegStatus.STARTING):
            t.set_leg(tag, LegStatus.FAILED)
    t.metric(MetricName.RECORDING_FAILED, "ConsentFailed")
    t.log(
        logging.ERROR,
        "the consent announcement failed; the call is not recorded",
        errorType=error.type,
        errorMessage=error.message,
    )


def _on_hangup(t: _Turn) -> None:
    data = t.event.action_data
    hung = t.event.by_call_id(data.call_id if data else None)
    tag = hung.tag if hung is not None else (data.participant_tag if data else None)
    if tag is None:
        # No usable ActionData: the leg that left is the one the participants show disconnected.
        gone = [p.tag for p in t.event.participants if not p.connected]
        tag = gone[0] if len(gone) == 1 else None
    previous = t.state.flow
    t.keep_alive = False
    t.log(
        logging.INFO,
        "hangup",
        leg=tag,
        sipResponseCode=None if data is None else data.parameters.get("SipResponseCode"),
    )
    ended = {tag} | {p.tag for p in t.event.participants if not p.connected}
    hang_up_other: Participant | None = None
    if t.owns_flow and previous in (Flow.BRIDGED, Flow.BRIDGING) and tag in (_A, _B):
        other_tag = _B if tag == _A else _A
        other = t.connected(other_tag)
        if previous == Flow.BRIDGING and tag == _B:
            # LEG-B gave up while being connected: CallAndBridge fails next and ends the call.
            other = None
        elif other is not None:
            hang_up_other = other
            ended.add(other_tag)
    for leg in (_A, _B):
        if leg in ended and t.state.leg(leg).active:
            t.set_leg(leg, LegStatus.STOPPED)
            t.log(logging.INFO, "recording ended with its call leg", leg=leg)
        if leg in ended:
            t.state = t.state.with_pending(leg, None)
    if previous == Flow.BRIDGING and tag == _B:
        return
    remaining = [p for p in t.event.participants if p.connected and p.tag not in ended]
    if not t.owns_flow and remaining and previous.connected:
        # A wrapped handler may carry on with the remaining leg (e.g. bridge it elsewhere).
        t.update(flow=Flow.SINGLE)
        return
    t.update(flow=Flow.ENDED)
    if hang_up_other is not None:
        t.actions.append(hangup(hang_up_other.call_id, "0"))
        t.log(logging.INFO, "hanging up the other leg", leg=hang_up_other.tag)


def _on_invalid_response(t: _Turn) -> None:
    error = t.event.error
    t.keep_alive = False
    t.send_attributes = False
    t.metric(MetricName.INVALID_LAMBDA_RESPONSE)
    t.log(
        logging.ERROR,
        "the SIP media application rejected the previous response",
        errorType=error.type,
        errorMessage=error.message,
        previousResponse=t.state.last_sent or None,
    )


def _disabled_call_start(t: _Turn) -> None:
    t.metric(MetricName.RECORDING_FAILED, "InvalidConfiguration")
    t.log(
        logging.ERROR,
        "recording is disabled by an invalid configuration; this call is not recorded",
        reason=t.config.disabled_reason,
    )


# -- the recording handler's own call flow ----------------------------------------------------------


def _bridge(t: _Turn, leg_a: Participant) -> None:
    bridge = t.config.bridge
    assert bridge is not None
    caller_id = bridge.caller_id or leg_a.from_number
    if not caller_id:
        t.log(logging.ERROR, "cannot bridge: no caller id (configure bridge.callerId); hanging up")
        t.update(flow=Flow.ENDED)
        t.actions[:] = [hangup(leg_a.call_id, "480")]
        return
    t.actions.append(call_and_bridge(bridge, caller_id))
    t.update(flow=Flow.BRIDGING)
    t.log(
        logging.INFO,
        "bridging the call",
        endpointType=bridge.endpoint_type.value,
        uri=mask_phone(bridge.uri),
        callerId=mask_phone(caller_id),
    )


def _own_new_inbound(t: _Turn) -> None:
    leg_a = t.event.participant(_A)
    if leg_a is None:
        t.log(logging.WARNING, "NEW_INBOUND_CALL without LEG-A; no action")
        return
    t.log(
        logging.INFO,
        "inbound call",
        callId=leg_a.call_id,
        fromNumber=mask_phone(leg_a.from_number),
        toNumber=mask_phone(leg_a.to),
    )
    if t.state.flow != Flow.NEW:
        t.log(
            logging.WARNING, "NEW_INBOUND_CALL for a call under way; no action", flow=t.state.flow
        )
        return
    config = t.config
    if not config.recording_enabled:
        _disabled_call_start(t)
        if config.bridge is not None:
            _bridge(t, leg_a)
        else:
            # A recording failure never hangs up a call: answered (by the keep-alive Pause) and
            # kept up until the caller hangs up, as a valid configuration without autoStart would.
            t.update(flow=Flow.SINGLE)
            t.log(
                logging.WARNING,
                "no usable bridge in the configuration; the call is answered and kept up, unrecorded",
            )
        return
    if config.consent is not None:
        t.actions.append(consent_action(leg_a.call_id, config.consent))
        t.update(consent_played=True)
    if config.bridge is not None:
        _bridge(t, leg_a)
        return
    t.update(flow=Flow.SINGLE)
    if config.auto_start:
        if config.consent is None:
            t.actions.append(pause(leg_a.call_id, ANSWER_PAUSE_MS))
        _start(t)


def _own_answered(t: _Turn) -> None:
    leg_a = t.event.participant(_A)
    if leg_a is None or t.state.flow != Flow.NEW:
        t.log(
            logging.WARNING, "CALL_ANSWERED ignored", flow=t.state.flow, hasLegA=leg_a is not None
        )
        return
    t.log(
        logging.INFO, "outbound call answered", callId=leg_a.call_id, toNumber=mask_phone(leg_a.to)
    )
    t.update(flow=Flow.SINGLE)
    if not t.config.recording_enabled:
        _disabled_call_start(t)
        return
    if t.config.consent is not None:
        t.actions.append(consent_action(leg_a.call_id, t.config.consent))
        t.update(consent_played=True)
    if t.config.auto_start:
        _start(t)


def _own_bridged(t: _Turn) -> None:
    leg_a, leg_b = t.connected(_A), t.connected(_B)
    if t.state.flow == Flow.ENDED or leg_a is None:
        t.log(logging.WARNING, "the bridge completed after the caller left; hanging up LEG-B")
        t.update(flow=Flow.ENDED)
        if leg_b is not None:
            t.actions.append(hangup(leg_b.call_id, "0"))
        return
    t.update(flow=Flow.BRIDGED)
    t.log(logging.INFO, "call bridged", legB=None if leg_b is None else leg_b.call_id)
    if not t.config.recording_enabled:
        return
    consent = t.config.consent
    failed = LegStatus.FAILED in (t.state.leg_a, t.state.leg_b)
    if leg_b is not None and t.config.announce_to_callee and consent is not None and not failed:
        t.actions.append(consent_action(leg_b.call_id, consent))
    if t.config.auto_start and not failed:
        _start(t)


def _own_success(t: _Turn) -> None:
    action_type = t.action_data_type
    if action_type in RECORDING_ACTIONS:
        _on_recording_result(t, success=True)
    elif action_type == "CallAndBridge":
        _own_bridged(t)
    else:
        _confirm_list(t, "its list completed")
        _reconcile(t, "deferred")
        _arm_dtmf(t)
        t.log(logging.DEBUG, "action list completed", actionType=action_type)


def _own_failed(t: _Turn) -> None:
    action_type = t.action_data_type
    data = t.event.action_data
    error = t.event.error
    if action_type in RECORDING_ACTIONS:
        _on_recording_result(t, success=False)
        return
    if action_type == "CallAndBridge":
        busy = "busy" in f"{error.type} {error.message}".lower()
        t.update(flow=Flow.ENDED)
        t.log(
            logging.WARNING,
            "CallAndBridge failed; hanging up the caller (nothing was recorded)",
            errorType=error.type,
            errorMessage=error.message,
        )
        leg_a = t.connected(_A)
        if leg_a is not None:
            t.actions.append(hangup(leg_a.call_id, "486" if busy else "480"))
        return
    if data is not None and is_consent(action_type, data.parameters, t.config.consent):
        _on_consent_failed(t)
        leg_a = t.connected(_A)
        if t.state.flow == Flow.BRIDGING and leg_a is not None and t.config.bridge is not None:
            # The CallAndBridge queued behind the announcement was dropped with it.
            _bridge(t, leg_a)
        return
    if action_type == "Pause":
        t.keep_alive = False  # never answer a failing Pause with another one
    t.log(
        logging.ERROR if action_type == "ReceiveDigits" else logging.WARNING,
        f"{action_type} failed",
        errorType=error.type,
        errorMessage=error.message,
    )
    for tag in (_A, _B):
        if t.state.leg(tag) == LegStatus.STARTING:
            # StartCallRecording came after the failed action and was dropped with it.
            t.set_leg(tag, LegStatus.IDLE)
            t.log(logging.WARNING, "StartCallRecording was not run; starting again", leg=tag)
            if not _start(t, tag):
                _drop_wanted(t, tag, t.state.wanted(tag), "StartCallRecording could not be sent")


def _own_digits(t: _Turn) -> None:
    dtmf = t.config.dtmf
    if dtmf is None:
        t.log(logging.WARNING, "DIGITS_RECEIVED but no DTMF control is configured; ignored")
        return
    t.update(dtmf_armed=False)
    digits = t.event.action_data.received_digits if t.event.action_data else None
    command = {dtmf.pause: Command.PAUSE, dtmf.resume: Command.RESUME}.get(digits or "")
    if command is None:
        # Never log the digits themselves: callers may key card numbers.
        t.log(logging.WARNING, "digits matched no DTMF code", length=len(digits or ""))
    else:
        _command(t, command, None, "dtmf")
    _arm_dtmf(t)


def _own_update(t: _Turn) -> None:
    arguments = t.event.action_data.arguments if t.event.action_data else None
    if not is_recording_request(arguments):
        keys = sorted(str(k) for k in arguments) if isinstance(arguments, Mapping) else None
        t.log(
            logging.INFO, "update request without a recording command; no action", argumentKeys=keys
        )
        return
    try:
        request = parse_arguments(arguments)
    except ProtocolError as error:
        t.log(logging.WARNING, "invalid recording command; no action", reason=str(error))
        return
    t.log(logging.INFO, "recording command received", command=request.command.value)
    _command(t, request.command, request.call_id, "update")


def _own_interrupted(t: _Turn) -> None:
    t.keep_alive = False
    t.log(
        logging.INFO,
        "action interrupted (responses to this event are ignored)",
        actionType=t.action_data_type,
    )


def _own_informational(t: _Turn) -> None:
    t.log(logging.INFO, "no action needed")


def _own_unexpected(t: _Turn) -> None:
    t.keep_alive = False
    t.log(logging.WARNING, "unexpected event type; no action")


_OWN_HANDLERS: dict[str, Callable[[_Turn], None]] = {
    EventType.NEW_INBOUND_CALL: _own_new_inbound,
    EventType.NEW_OUTBOUND_CALL: _own_informational,
    EventType.RINGING: _own_informational,
    EventType.CALL_ANSWERED: _own_answered,
    EventType.ACTION_SUCCESSFUL: _own_success,
    EventType.ACTION_FAILED: _own_failed,
    EventType.ACTION_INTERRUPTED: _own_interrupted,
    EventType.HANGUP: _on_hangup,
    EventType.DIGITS_RECEIVED: _own_digits,
    EventType.CALL_UPDATE_REQUESTED: _own_update,
    EventType.INVALID_LAMBDA_RESPONSE: _on_invalid_response,
}


def _keep_alive_ms(config: RecordingConfig) -> int:
    """How long each keep-alive Pause of a single-leg call lasts (see :data:`DTMF_KEEP_ALIVE_MS`)."""
    if config.recording_enabled and config.dtmf is not None:
        return DTMF_KEEP_ALIVE_MS
    return KEEP_ALIVE_MS


def _keep_alive(t: _Turn) -> None:
    """Keep a single-leg call up: end the list with a Pause unless a recording action ends it."""
    if not (t.owns_flow and t.keep_alive and t.state.flow == Flow.SINGLE) or t.keep_queued:
        return
    if t.actions and t.actions[-1].get("Type") in RECORDING_ACTIONS:
        return  # its ACTION_SUCCESSFUL/FAILED comes back here and adds the Pause then
    leg_a = t.connected(_A)
    if leg_a is not None and len(t.actions) < MAX_ACTIONS:
        t.actions.append(pause(leg_a.call_id, _keep_alive_ms(t.config)))


def _parse(event: object, state: CallState) -> SmaEvent | Decision:
    try:
        return SmaEvent.parse(event)
    except EventError as error:
        return Decision(
            (),
            state,
            (
                LogRecord(
                    logging.ERROR,
                    "malformed event; answered with no actions",
                    {"reason": str(error)},
                ),
            ),
            (MetricRecord(MetricName.MALFORMED_EVENT),),
            send_attributes=False,
            # The fallback of sma_recording.actions.fallback_response: null keeps the queue.
            keep_queued=is_unsolicited(event),
        )


def decide(event: object, state: CallState, config: RecordingConfig) -> Decision:
    """Decide the recording handler's answer to one SIP media application invocation.

    :param event: the raw invocation event (anything; malformed input is answered with no actions).
    :param state: the call's state, read from the event's transaction attributes.
    :param config: the recording configuration.
    """
    parsed = _parse(event, state)
    if isinstance(parsed, Decision):
        return parsed
    t = _Turn(parsed, state, config, owns_flow=True)
    if parsed.schema_version not in (None, "1.0"):
        t.log(
            logging.WARNING,
            "unknown SchemaVersion; handled as 1.0",
            schemaVersion=parsed.schema_version,
        )
    _OWN_HANDLERS.get(parsed.event_type, _own_unexpected)(t)
    _hold_queue(t)
    _keep_alive(t)
    return t.decision()


# -- wrapping an existing handler --------------------------------------------------------------------


def _is_our_digits(event: SmaEvent, config: RecordingConfig) -> bool:
    dtmf = config.dtmf
    data = event.action_data
    if dtmf is None or data is None:
        return False
    regex = data.parameters.get("InputDigitsRegex")
    if isinstance(regex, str):
        return regex == dtmf.input_digits_regex
    return data.received_digits in (dtmf.pause, dtmf.resume)


def route(event: object, config: RecordingConfig) -> Route:
    """Who answers ``event`` when recording wraps a handler.

    :attr:`Route.RECORDING`: results of recording actions, of the recording's own consent announcement
    (when it failed or ended a list of its own) and ReceiveDigits; recording commands in update
    requests; DIGITS_RECEIVED from the recording's own ReceiveDigits. :attr:`Route.HANDLER`:
    everything else. :attr:`Route.MALFORMED`: events that cannot be read (given to the handler too).
    """
    try:
        parsed = SmaEvent.parse(event)
    except EventError:
        return Route.MALFORMED
    if not config.recording_enabled:
        return Route.HANDLER
    data = parsed.action_data
    kind = parsed.event_type
    if kind in (EventType.ACTION_SUCCESSFUL, EventType.ACTION_FAILED) and data is not None:
        if data.type in RECORDING_ACTIONS:
            return Route.RECORDING
        if is_consent(data.type, data.parameters, config.consent):
            return Route.RECORDING
        if data.type == "ReceiveDigits" and _is_our_digits(parsed, config):
            return Route.RECORDING
    if kind == EventType.CALL_UPDATE_REQUESTED and data is not None:
        return Route.RECORDING if is_recording_request(data.arguments) else Route.HANDLER
    if kind == EventType.DIGITS_RECEIVED and _is_our_digits(parsed, config):
        return Route.RECORDING
    return Route.HANDLER


def _resend_queued(t: _Turn) -> None:
    """Our action failed and the service dropped the handler's action queued after it: re-send it."""
    queued = t.state.resend
    t.update(resend=None)
    if queued is not None and t.event.event_type == EventType.ACTION_FAILED:
        t.actions.append(dict(queued))
        t.log(
            logging.INFO,
            "re-sending the handler's action dropped with ours",
            actionType=queued.get("Type"),
        )


def decide_recording_event(event: object, state: CallState, config: RecordingConfig) -> Decision:
    """Answer an event :func:`route` gave to the recording logic (the wrapped handler is not called)."""
    parsed = _parse(event, state)
    if isinstance(parsed, Decision):
        return parsed
    t = _Turn(parsed, state, config, owns_flow=False)
    data = parsed.action_data
    if parsed.event_type == EventType.ACTION_SUCCESSFUL:
        if parsed.action_type in RECORDING_ACTIONS:
            _on_recording_result(t, success=True)
        else:
            _confirm_list(t, "its list completed")
            _reconcile(t, "deferred")
            _arm_dtmf(t)
    elif parsed.event_type == EventType.ACTION_FAILED:
        if parsed.action_type in RECORDING_ACTIONS:
            _on_recording_result(t, success=False)
        elif data is not None and is_consent(data.type, data.parameters, config.consent):
            _on_consent_failed(t)
        else:
            t.log(
                logging.ERROR, "ReceiveDigits failed; DTMF control is off", error=str(parsed.error)
            )
        _resend_queued(t)
    elif parsed.event_type == EventType.DIGITS_RECEIVED:
        _own_digits(t)
    elif parsed.event_type == EventType.CALL_UPDATE_REQUESTED:
        _own_update(t)
    _hold_queue(t)
    return t.decision()


def _matches(queued: Mapping[str, Any], event: SmaEvent) -> bool:
    """Whether the failed action of ``event`` is ``queued`` (the service echoes its parameters)."""
    data = event.action_data
    if data is None or queued.get("Type") != data.type:
        return False
    parameters = queued.get("Parameters")
    if not isinstance(parameters, Mapping):
        return True
    return all(data.parameters.get(key) == value for key, value in parameters.items())


def _dropped_with_handler_action(t: _Turn) -> None:
    """The handler's action before ours failed, so the service dropped ours (reference §2)."""
    for tag in (_A, _B):
        if t.state.leg(tag) == LegStatus.STARTING:
            t.set_leg(tag, LegStatus.IDLE)
            t.update(consent_played=False, dtmf_armed=False)
            t.log(logging.WARNING, "StartCallRecording was dropped with a failed action", leg=tag)
            _drop_wanted(t, tag, t.state.wanted(tag), "StartCallRecording was dropped")
        pending = t.state.pending(tag)
        if pending is not None and pending.in_list:
            target = t.state.leg(tag)
            _undo(t, tag, pending.action)
            again = t.state.leg(tag) != target and t.state.wanted(tag) is None
            if again:
                # Not failed, only not run: sent again with the next answer (see _augment).
                t.set_wanted(tag, target)
            t.log(
                logging.WARNING,
                f"{pending.action} was dropped with a failed action"
                + ("; sending it again" if again else ""),
                leg=tag,
            )


def _observe(t: _Turn) -> None:
    """Track the call flow from an event the wrapped handler answers."""
    kind = t.event.event_type
    if kind == EventType.ACTION_SUCCESSFUL:
        t.update(resend=None)
        if t.action_data_type == "CallAndBridge":
            t.update(flow=Flow.BRIDGED)
            t.log(logging.INFO, "call bridged by the handler")
        else:
            _confirm_list(t, "StartCallRecording was not the last action, so no object key")
    elif kind == EventType.ACTION_FAILED:
        queued = t.state.resend
        t.update(resend=None)
        if queued is not None and _matches(queued, t.event):
            _confirm_list(t, "the handler's action after ours failed")
        else:
            _dropped_with_handler_action(t)
    elif kind == EventType.HANGUP:
        _on_hangup(t)
    elif kind == EventType.INVALID_LAMBDA_RESPONSE:
        _on_invalid_response(t)
        t.send_attributes = True  # the wrapped handler's answer carries the map
    elif kind in (EventType.NEW_INBOUND_CALL, EventType.CALL_ANSWERED):
        leg_a = t.event.participant(_A)
        t.log(
            logging.INFO,
            "call started",
            callId=None if leg_a is None else leg_a.call_id,
            fromNumber=None if leg_a is None else mask_phone(leg_a.from_number),
            toNumber=None if leg_a is None else mask_phone(leg_a.to),
        )
        if kind == EventType.CALL_ANSWERED and t.state.flow == Flow.NEW:
            t.update(flow=Flow.SINGLE)
        if not t.config.recording_enabled:
            _disabled_call_start(t)


#: Events whose answer the service ignores (or that end the call): nothing is inserted.
_NO_AUGMENT = frozenset(
    {EventType.ACTION_INTERRUPTED, EventType.HANGUP, EventType.INVALID_LAMBDA_RESPONSE}
)


def _augment(t: _Turn, handler_actions: list[Action]) -> list[Action]:
    """The handler's actions with the recording's inserted before the last one (or alone)."""
    config = t.config
    types = [a.get("Type") for a in handler_actions]
    if t.event.event_type in _NO_AUGMENT:
        return handler_actions
    if t.event.event_type == EventType.NEW_INBOUND_CALL and t.state.flow == Flow.NEW:
        if "CallAndBridge" in types:
            t.update(flow=Flow.BRIDGING)
        elif handler_actions and "Hangup" not in types:
            t.update(flow=Flow.SINGLE)  # the handler's actions answer the call
    if not config.recording_enabled or not t.state.flow.connected or "Hangup" in types:
        return handler_actions
    before = t.state
    t.actions = []
    if (
        t.event.event_type == EventType.ACTION_SUCCESSFUL
        and t.action_data_type == "CallAndBridge"
        and config.announce_to_callee
        and config.consent is not None
        and t.connected(_B) is not None
        and LegStatus.FAILED not in (t.state.leg_a, t.state.leg_b)
    ):
        leg_b = t.connected(_B)
        assert leg_b is not None
        t.actions.append(consent_action(leg_b.call_id, config.consent))
    _reconcile(t, "deferred")
    if (
        config.auto_start
        and t.state.leg(_effective_leg(t)) == LegStatus.IDLE
        and not _starting(t.state)
        and not t.has_recording_action()
    ):
        _start(t)
    _arm_dtmf(t)
    ours = t.actions
    if not ours:
        return handler_actions
    if len(handler_actions) + len(ours) > MAX_ACTIONS:
        t.state = before
        t.log(
            logging.WARNING,
            "no room for the recording's actions in this response; trying again at the next event",
            handlerActions=len(handler_actions),
            recordingActions=len(ours),
        )
        return handler_actions
    if not handler_actions:
        return ours
    for tag in (_A, _B):
        pending = t.state.pending(tag)
        if pending is not None and pending != before.pending(tag):
            # Not last in the list: no ACTION_SUCCESSFUL names it; the list's result reports it.
            t.state = t.state.with_pending(tag, replace(pending, in_list=True))
    queued = handler_actions[-1]
    if len(json.dumps(queued, default=str)) <= MAX_RESEND_CHARS:
        t.update(resend=queued)
    else:
        t.log(logging.WARNING, "the handler's last action is too large to keep for a re-send")
    return [*handler_actions[:-1], *ours, queued]


def decide_around_handler(
    event: object,
    state: CallState,
    config: RecordingConfig,
    handler_actions: Sequence[Mapping[str, Any]] | None,
) -> Decision:
    """Add recording to the wrapped handler's answer to an event :func:`route` gave to the handler.

    :param handler_actions: the handler's ``Actions``; ``None`` (the handler asked the service to keep
        its queued actions) is never changed.
    :returns: a decision whose actions are the handler's, with the recording's inserted before the
        handler's last action (so the next ``ACTION_SUCCESSFUL`` still reports on the handler's own
        action) or alone when the handler returned none.
    """
    parsed = _parse(event, state)
    if isinstance(parsed, Decision):
        return Decision(
            tuple(dict(a) for a in handler_actions or ()), state, parsed.logs, parsed.metrics
        )
    t = _Turn(parsed, state, config, owns_flow=False)
    _observe(t)
    if handler_actions is None:
        return t.decision()
    merged = _augment(t, [dict(a) for a in handler_actions])
    t.actions = merged
    return t.decision()
