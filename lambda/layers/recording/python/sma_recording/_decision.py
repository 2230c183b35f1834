"""What one decision is made of, and the turn: one event being decided (see :mod:`sma_recording.core`)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, replace
from enum import Enum, StrEnum
from typing import Any

from sma_recording.actions import (
    MAX_ACTIONS,
    RECORDING_ACTIONS,
    Action,
    response,
)
from sma_recording.config import Leg, RecordingConfig
from sma_recording.events import (
    EventError,
    EventType,
    Participant,
    SmaEvent,
    is_unsolicited,
)
from sma_recording.state import (
    STATE_KEY,
    WANTED_STATUSES,
    CallState,
    Flow,
    LegStatus,
)

#: Keep-alive Pause of a single-leg call (see :mod:`sma_recording.core`). One invocation per Pause: with
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
#: Events that begin a call (see :meth:`_Turn._admit_state`).
_CALL_START_EVENTS = frozenset(
    {EventType.NEW_INBOUND_CALL, EventType.NEW_OUTBOUND_CALL, EventType.CALL_ANSWERED}
)


class MetricName(StrEnum):
    """The metric names (unit Count). The construct's metric helpers and alarms use these names."""

    RECORDING_STARTED = "RecordingStarted"
    RECORDING_PAUSED = "RecordingPaused"
    RECORDING_RESUMED = "RecordingResumed"
    RECORDING_STOPPED = "RecordingStopped"
    RECORDING_FAILED = "RecordingFailed"
    INVALID_LAMBDA_RESPONSE = "InvalidLambdaResponse"
    MALFORMED_EVENT = "MalformedEvent"
    #: An event older than the call's state (replayed or reordered): answered without effect.
    STALE_EVENT = "StaleEvent"
    #: A bridge used a fallback caller id because the caller's number is withheld or not E.164.
    CALLER_ID_FALLBACK = "CallerIdFallback"
    #: A call facts message was sent to the catalog's queue (see :mod:`sma_recording.facts`).
    FACTS_SENT = "FactsSent"
    #: A call facts message could not be built or sent (by ``ErrorType``); the call is unaffected.
    FACTS_FAILED = "FactsFailed"


@dataclass(frozen=True)
class LogRecord:
    """A log line to emit: ``level`` is a :mod:`logging` level; ``fields`` are JSON values."""

    level: int
    message: str
    fields: Mapping[str, Any]


@dataclass(frozen=True)
class MetricRecord:
    """A count of one; ``error_type`` is set only for ``RecordingFailed`` and ``FactsFailed``."""

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
    #: ours are queued" in :mod:`sma_recording.core`.
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
        #: Legs whose StartCallRecording, in flight when this turn began, is known to have been
        #: dropped by the service (an action before it in its list failed): they may start again.
        self.restart: set[str] = set()
        self._admit_state()
        #: The state the turn started from, after admission: what the final check trusts.
        self.initial = self.state

    def _admit_state(self) -> None:
        """Replace a rejected state (see :mod:`sma_recording.state`) by one built from the event.

        A new call carries no attributes at all, so a rejected state belongs to a call under way (or
        to an event replayed into one) and is never taken for a fresh one: a call-start event with
        only LEG-A is set up as usual (bridged, or answered and kept up) but not recorded. The
        handler cannot
        know what it sent, so it sends no further recording action on this call (a recording already
        running goes on until its leg ends, and the service delivers it), and the call flow goes
        on from what the participants show: both legs connected is a bridged call, one a
        single-leg call (kept up), none an ended one.
        """
        reason = self.state.rejected
        if reason is None:
            return
        connected = {p.tag for p in self.event.participants if p.connected}
        tags = [p.tag for p in self.event.participants]
        if self.event.event_type in _CALL_START_EVENTS and tags == [_A] and connected == {_A}:
            flow = Flow.NEW  # set up as usual (bridged or answered), but never recorded
        elif not connected & {_A, _B}:
            flow = Flow.ENDED
        elif {_A, _B} <= connected:
            flow = Flow.BRIDGED
        else:
            flow = Flow.SINGLE
        self.state = CallState(
            flow=flow, leg_a=LegStatus.FAILED, leg_b=LegStatus.FAILED, consent_played=True
        )
        self.metric(MetricName.RECORDING_FAILED, "StateRejected")
        self.log(
            logging.ERROR,
            "the call's recording state was rejected: no further recording action on this call "
            "(a recording already running goes on until its leg ends); the call goes on",
            reason=reason,
            flow=flow.value,
        )

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

    def _check_recording_actions(self) -> None:
        """The last line of defence: drop a recording action the trusted state does not allow.

        Whatever the events did, a leg is started at most once (unless its Start was dropped by the
        service, :attr:`restart`), a leg whose recording stopped or failed gets no recording action,
        a recording action names a leg of this event, and an invalid configuration records
        nothing. The rules above should never get here; if they do, the action is dropped, the
        leg keeps the status it had, and the refusal is logged as an error and counted.
        """
        kept: list[Action] = []
        for action in self.actions:
            action_type = action.get("Type")
            if action_type not in RECORDING_ACTIONS:
                kept.append(action)
                continue
            parameters = action.get("Parameters")
            call_id = parameters.get("CallId") if isinstance(parameters, Mapping) else None
            tag = self.tag_of(call_id if isinstance(call_id, str) else None)
            problem = self._refusal(str(action_type), tag)
            if problem is None:
                kept.append(action)
                continue
            if tag is not None:
                self.state = (
                    self.state.with_leg(tag, self.initial.leg(tag))
                    .with_pending(tag, self.initial.pending(tag))
                    .with_wanted(tag, None)
                )
            self.metric(MetricName.RECORDING_FAILED, "Refused")
            self.log(
                logging.ERROR,
                f"{action_type} refused: {problem}",
                leg=tag,
                recording=None if tag is None else self.initial.leg(tag).value,
            )
        self.actions = kept

    def _refusal(self, action_type: str, tag: str | None) -> str | None:
        if not self.config.recording_enabled:
            return "recording is disabled by an invalid configuration"
        if tag is None:
            return "its CallId is not a leg of this call"
        before = self.initial.leg(tag)
        if action_type == "StartCallRecording":
            if before == LegStatus.IDLE or (before == LegStatus.STARTING and tag in self.restart):
                return None
            return "a leg is started at most once"
        if before in (LegStatus.STARTING, LegStatus.RECORDING, LegStatus.PAUSED):
            return None
        pending = self.initial.pending(tag)
        if before == LegStatus.STOPPED and pending is not None:
            return None  # a stop in flight: it may fail and leave the recording running
        return f"the leg's recording is {before.value}"

    def decision(self) -> Decision:
        _settle_wanted(self)
        self._check_recording_actions()
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
            if self.event.sequence is not None:
                self.update(seen=max(self.event.sequence, self.state.seen or 0))
        return Decision(
            tuple(self.actions),
            self.state,
            tuple(self.logs),
            tuple(self.metrics),
            self.send_attributes,
            self.keep_queued,
        )


def _natural(state: CallState, tag: str) -> LegStatus:
    """The status a leg reaches without further commands: a starting leg ends up recording."""
    status = state.leg(tag)
    return LegStatus.RECORDING if status == LegStatus.STARTING else status


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


def _stale(event: SmaEvent, state: CallState) -> Decision | None:
    """The answer to an event older than the state (replayed or reordered), or None.

    The service numbers a call's invocations one up each time and always sends the attributes it
    holds, so an event whose ``Sequence`` is not above the one that wrote the state came before
    that state: acting on it would act twice, or on a leg that has moved on. It is answered with
    ``"Actions": null`` (what is queued stays) and the state unchanged.
    """
    if state.rejected is not None or state.seen is None or event.sequence is None:
        return None
    if event.sequence > state.seen:
        return None
    return Decision(
        (),
        state,
        (
            LogRecord(
                logging.WARNING,
                "event older than the call's state (replayed or reordered); no action",
                {"stateSequence": state.seen},
            ),
        ),
        (MetricRecord(MetricName.STALE_EVENT),),
        send_attributes=False,
        keep_queued=True,
    )


def _parse(event: object, state: CallState) -> SmaEvent | Decision:
    try:
        parsed = SmaEvent.parse(event)
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
    return _stale(parsed, state) or parsed
