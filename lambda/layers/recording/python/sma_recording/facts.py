"""Call facts: what one invocation established about the call, for the catalog (pure, no I/O).

The bucket receives a recording and little else; the catalog (``docs/catalog.md``) also wants the
parties, when the consent announcement played and to which leg, and when each recording was
requested, started, failed, paused, resumed and stopped, and when the call ended. Only the handler
knows these, so after each decision :func:`facts_of` turns ``(event, state before, decision)`` into
the *facts message* of ``docs/catalog.md`` (version 1), or None when the invocation established
nothing worth keeping (most keep-alive Pauses, digits that matched nothing, replayed events).
:mod:`sma_recording._facts_queue` sends it.

Every fact is derived from what the handler itself saw or decided, never guessed from the clock:

* ``call-started``: ``NEW_INBOUND_CALL`` / ``NEW_OUTBOUND_CALL`` of a new call (LEG-A).
* ``leg-joined``: ``CallAndBridge`` succeeded (LEG-B), or an outbound call was answered
  (``CALL_ANSWERED``, LEG-A).
* ``consent-played``: a list holding the consent announcement completed. The service reports a
  list once, on its last action (reference §2), and the announcement is rarely last: it goes before
  ``CallAndBridge`` or ``StartCallRecording``. So the fact comes from the ``ACTION_SUCCESSFUL`` of
  the announcement itself, or of the action the state's ``last_sent`` shows after it in the same
  list (``detail.reportedBy``), or of the ``CallAndBridge`` that an inbound call with consent
  always sends behind the announcement to LEG-A. ``at`` is then when the list completed, at most
  the bridge's ring time after the announcement. When an unsolicited event was answered while that
  list ran, ``last_sent`` no longer shows it and an announcement reported by a ``StartCallRecording``
  or ``Pause`` is missed (the recording facts are not).
* ``recording-requested``: the answer holds a ``StartCallRecording`` (track, destination).
* ``recording-started`` / ``-paused`` / ``-resumed`` / ``-stopped``: the action's success, exactly
  when the handler counts the matching metric (``RecordingStarted``, ...). A recording that ends
  with its leg (``HANGUP``) is ``recording-stopped`` with ``detail.by = "hangup"``.
* ``recording-failed``: a recording action failed (``detail.action``; ``detail.final`` true for a
  failed start, after which the leg is not recorded; false for a pause, resume or stop, which left
  the recording as it was), the consent announcement failed (``reason: consent-failed``: nothing is
  recorded), or recording is disabled by an invalid configuration (``reason:
  invalid-configuration``). Error messages are masked like log lines.
* ``call-ended``: the decision ended the call (the flow went to ``ended``: the last leg hung up, a
  hangup of one bridged leg, a failed bridge).

Events the handler answered without effect (malformed, older than the state) give None. The message
is bounded: at most :data:`MAX_FACTS` facts, :data:`~sma_recording.events.MAX_PARTICIPANTS`
participants, strings cut to :data:`MAX_TEXT` characters, so it stays a few KiB (SQS allows 256 KiB).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

from sma_recording._bounds import MAX_ID_LENGTH
from sma_recording._decision import Decision, MetricName
from sma_recording.actions import RECORDING_ACTIONS, is_consent
from sma_recording.config import RecordingConfig, SpeakConsent
from sma_recording.events import EventError, EventType, Participant, SmaEvent
from sma_recording.state import COMMAND_ACTIONS, CallState, Flow, LegStatus
from sma_recording.telemetry import mask_phone_numbers

__all__ = [
    "FACT_KINDS",
    "MAX_FACTS",
    "MAX_TEXT",
    "MESSAGE_VERSION",
    "encode",
    "facts_of",
    "iso_ms",
]

#: ``v`` of the message (``docs/catalog.md``, "The facts message").
MESSAGE_VERSION = 1
#: Every kind a fact may have, in the order they are listed in one message.
FACT_KINDS = (
    "call-started",
    "leg-joined",
    "consent-played",
    "recording-started",
    "recording-paused",
    "recording-resumed",
    "recording-stopped",
    "recording-failed",
    "recording-requested",
    "call-ended",
)
#: Most facts in one message (one invocation establishes at most about six).
MAX_FACTS = 16
#: Longest string copied from the event into the message (numbers, URIs, error messages).
MAX_TEXT = 256

_A = "LEG-A"
_B = "LEG-B"
_TAGS = (_A, _B)
#: The success metric and the fact of each pause, resume and stop.
_COMMAND_FACTS = {
    "PauseCallRecording": (MetricName.RECORDING_PAUSED, "recording-paused"),
    "ResumeCallRecording": (MetricName.RECORDING_RESUMED, "recording-resumed"),
    "StopCallRecording": (MetricName.RECORDING_STOPPED, "recording-stopped"),
}
#: The status a leg has in the state before the result of each recording action arrives.
_EXPECTED_BEFORE = {
    "StartCallRecording": (LegStatus.STARTING,),
    "PauseCallRecording": (LegStatus.PAUSED,),
    "ResumeCallRecording": (LegStatus.RECORDING,),
    "StopCallRecording": (LegStatus.STOPPED,),
}

Fact = dict[str, Any]


def iso_ms(epoch_seconds: float) -> str:
    """ISO 8601 UTC with milliseconds and ``Z``: ``2026-12-03T20:27:09.123Z``."""
    moment = datetime.fromtimestamp(epoch_seconds, UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def encode(message: Mapping[str, Any]) -> str:
    """The message body: compact JSON, UTF-8 kept as is."""
    return json.dumps(message, separators=(",", ":"), ensure_ascii=False)


def facts_of(
    raw_event: object,
    before: CallState,
    decision: Decision,
    config: RecordingConfig,
    *,
    now: float,
) -> dict[str, Any] | None:
    """The facts message of one invocation, or None when it established nothing.

    :param raw_event: the invocation event, as the handler received it.
    :param before: the call state read from the event (what :func:`~sma_recording.core.decide` got).
    :param decision: what the handler decided (its actions, new state and metrics).
    :param config: the recording configuration.
    :param now: the handler's clock (seconds since the epoch), for ``at``.
    """
    if any(metric.name == MetricName.STALE_EVENT for metric in decision.metrics):
        return None  # answered without effect: its facts were sent when it was first handled
    try:
        event = SmaEvent.parse(raw_event)
    except EventError:
        return None
    if event.sequence is None:
        return None  # the catalog keys facts by the SMA's sequence: without it they cannot land
    facts = list(_facts(_Context(event, before, decision, config)))
    if not facts:
        return None
    return {
        "v": MESSAGE_VERSION,
        "transactionId": event.transaction_id,
        "smaId": _sma_id(event),
        "sequence": event.sequence,
        "eventType": _cut(event.event_type, 64),
        "at": iso_ms(now),
        "participants": [_participant(p) for p in event.participants],
        "facts": facts[:MAX_FACTS],
    }


# -- the message's parts ---------------------------------------------------------------------------


def _cut(value: object, limit: int = MAX_TEXT) -> str | None:
    return value[:limit] if isinstance(value, str) else None


def _sma_id(event: SmaEvent) -> str | None:
    details = event.raw.get("CallDetails")
    if not isinstance(details, Mapping):
        return None
    return _cut(details.get("SipMediaApplicationId"), MAX_ID_LENGTH)


def _participant(participant: Participant) -> dict[str, Any]:
    """One leg as the event gives it: full numbers (the message is not a log line)."""
    document: dict[str, Any] = {
        "callId": participant.call_id,
        "tag": _cut(participant.tag, 16),
        "from": _cut(participant.from_number),
        "to": _cut(participant.to),
        "direction": _cut(participant.direction, 16),
        "status": _cut(participant.status, 32),
    }
    if participant.start_time_ms is not None:
        # A bounded but absurd epoch (past year 9999) is left out rather than guessed.
        with contextlib.suppress(OverflowError, OSError, ValueError):
            document["startedAt"] = iso_ms(participant.start_time_ms / 1000)
    return document


def _masked(text: str | None) -> str | None:
    return None if text is None else mask_phone_numbers(text[:MAX_TEXT])


# -- deriving the facts ----------------------------------------------------------------------------


class _Context:
    """One invocation as the fact rules read it."""

    def __init__(
        self, event: SmaEvent, before: CallState, decision: Decision, config: RecordingConfig
    ) -> None:
        self.event = event
        self.before = before
        self.after = decision.state
        self.decision = decision
        self.config = config
        self.metrics = [metric.name for metric in decision.metrics]
        data = event.action_data
        self.action_type = None if data is None else data.type
        self.parameters: Mapping[str, Any] = {} if data is None else data.parameters
        self.success = event.event_type == EventType.ACTION_SUCCESSFUL
        self.failure = event.event_type == EventType.ACTION_FAILED

    def fact(self, kind: str, tag: str | None, call_id: str | None = None, **detail: Any) -> Fact:
        """A fact about leg ``tag`` (its CallId from the event unless given)."""
        if call_id is None and tag is not None:
            participant = self.event.participant(tag)
            call_id = None if participant is None else participant.call_id
        return {
            "kind": kind,
            "callId": call_id,
            "leg": tag,
            "detail": {k: v for k, v in detail.items() if v is not None},
        }

    def tag_of(self, call_id: object) -> str | None:
        participant = self.event.by_call_id(call_id if isinstance(call_id, str) else None)
        return participant.tag if participant is not None and participant.tag in _TAGS else None

    def result_leg(self, action_type: str) -> str | None:
        """The leg a recording action's result is about: its CallId, else the only leg the state
        shows waiting for that result (as the handler decides it)."""
        tag = self.tag_of(self.parameters.get("CallId"))
        if tag is not None:
            return tag
        matching = [t for t in _TAGS if self.before.leg(t) in _EXPECTED_BEFORE[action_type]]
        return matching[0] if len(matching) == 1 else None

    def error_detail(self) -> dict[str, Any]:
        error = self.event.error
        return {"errorType": _cut(error.type, 64), "errorMessage": _masked(error.message)}


def _facts(c: _Context) -> Iterator[Fact]:
    yield from _call_started(c)
    yield from _leg_joined(c)
    yield from _consent_played(c)
    yield from _recording_results(c)
    yield from _recording_failed(c)
    yield from _recording_requested(c)
    yield from _call_ended(c)


def _call_started(c: _Context) -> Iterator[Fact]:
    if c.event.event_type not in (EventType.NEW_INBOUND_CALL, EventType.NEW_OUTBOUND_CALL):
        return
    if c.before.flow == Flow.NEW and c.before.rejected is None and c.before.seen is None:
        yield c.fact("call-started", _A)


def _leg_joined(c: _Context) -> Iterator[Fact]:
    if c.success and c.action_type == "CallAndBridge":
        leg_b = c.event.participant(_B)
        if leg_b is not None and leg_b.connected:
            yield c.fact("leg-joined", _B)
    elif c.event.event_type == EventType.CALL_ANSWERED and c.before.flow == Flow.NEW:
        leg_a = c.event.participant(_A)
        if leg_a is not None and leg_a.connected:
            yield c.fact("leg-joined", _A)


def _consent_played(c: _Context) -> Iterator[Fact]:
    consent = c.config.consent
    if not c.success or consent is None or not c.config.recording_enabled:
        return
    consent_type = "Speak" if isinstance(consent, SpeakConsent) else "PlayAudio"
    if is_consent(c.action_type, c.parameters, consent):
        tag = c.tag_of(c.parameters.get("CallId"))
        yield c.fact("consent-played", tag, _cut(c.parameters.get("CallId")), action=consent_type)
        return
    sequence, _, listed = c.before.last_sent.partition(":")
    types = listed.split(",")
    held = (
        bool(sequence)
        and len(types) > 1
        and types[-1] == c.action_type
        and consent_type in types[:-1]
    )
    if held:
        # The announcement after a bridge goes to LEG-B (announceToCallee); every other one to
        # LEG-A (inbound call, answered outbound call, or before a start).
        bridged = c.before.flow == Flow.BRIDGED and c.action_type != "CallAndBridge"
        tag = _B if bridged else _A
        yield c.fact("consent-played", tag, action=consent_type, reportedBy=c.action_type)
    elif (
        c.action_type == "CallAndBridge"
        and c.before.flow == Flow.BRIDGING
        and c.before.consent_played
        and c.before.rejected is None
        and LegStatus.FAILED not in (c.before.leg_a, c.before.leg_b)
    ):
        # An inbound call with consent sends [announcement to LEG-A, CallAndBridge]; after a failed
        # announcement both legs are failed and CallAndBridge goes alone.
        yield c.fact("consent-played", _A, action=consent_type, reportedBy=c.action_type)


def _recording_results(c: _Context) -> Iterator[Fact]:
    """Successes of recording actions (as counted), and recordings that ended with their leg."""
    if c.success:
        yield from _successes(c)
    if c.event.event_type == EventType.HANGUP:
        for tag in _TAGS:
            was = c.before.leg(tag)
            if was.active and c.after.leg(tag) == LegStatus.STOPPED:
                yield c.fact("recording-stopped", tag, by="hangup", status=was.value)


def _successes(c: _Context) -> Iterator[Fact]:
    action_type = c.action_type
    started = c.metrics.count(MetricName.RECORDING_STARTED)
    if action_type == "StartCallRecording":
        if started:
            destination = c.parameters.get("Destination")
            location = destination.get("Location") if isinstance(destination, Mapping) else None
            data = c.event.action_data
            yield c.fact(
                "recording-started",
                c.result_leg(action_type),
                _cut(c.parameters.get("CallId"), MAX_ID_LENGTH),
                track=_cut(c.parameters.get("Track"), 16),
                destination=_cut(location, 1024),
                location=None if data is None else _cut(data.recording_location, 1024),
            )
        return
    if action_type in COMMAND_ACTIONS:
        metric, kind = _COMMAND_FACTS[action_type]
        if metric in c.metrics:
            tag = c.result_leg(action_type)
            call_id = _cut(c.parameters.get("CallId"), MAX_ID_LENGTH)
            if action_type == "StopCallRecording":
                yield c.fact(kind, tag, call_id, by="command")
            else:
                yield c.fact(kind, tag, call_id)
        return
    # Another action's list completed: a Start or a command that went before it took effect.
    for tag in _TAGS:
        if started and c.before.leg(tag) == LegStatus.STARTING:
            started -= 1
            yield c.fact("recording-started", tag, reportedBy=_cut(action_type, 64))
        pending = c.before.pending(tag)
        if pending is not None and pending.in_list:
            metric, kind = _COMMAND_FACTS[pending.action]
            if metric in c.metrics:
                yield c.fact(kind, tag, reportedBy=_cut(action_type, 64))


def _recording_failed(c: _Context) -> Iterator[Fact]:
    failed = [m for m in c.decision.metrics if m.name == MetricName.RECORDING_FAILED]
    kinds = {m.error_type for m in failed}
    if "InvalidConfiguration" in kinds:
        yield c.fact("recording-failed", _A, reason="invalid-configuration", final=True)
    if not c.failure or not failed:
        return
    action_type = c.action_type
    if action_type in RECORDING_ACTIONS:
        yield c.fact(
            "recording-failed",
            c.result_leg(action_type),
            _cut(c.parameters.get("CallId"), MAX_ID_LENGTH),
            action=action_type,
            final=action_type == "StartCallRecording",
            **c.error_detail(),
        )
    elif "ConsentFailed" in kinds:
        call_id = _cut(c.parameters.get("CallId"), MAX_ID_LENGTH)
        yield c.fact(
            "recording-failed",
            c.tag_of(call_id),
            call_id,
            action=_cut(action_type, 64),
            reason="consent-failed",
            final=True,
            **c.error_detail(),
        )


def _recording_requested(c: _Context) -> Iterator[Fact]:
    if c.decision.keep_queued:
        return
    for action in c.decision.actions:
        if action.get("Type") != "StartCallRecording":
            continue
        parameters = action.get("Parameters")
        if not isinstance(parameters, Mapping):
            continue
        destination = parameters.get("Destination")
        call_id = _cut(parameters.get("CallId"), MAX_ID_LENGTH)
        yield c.fact(
            "recording-requested",
            c.tag_of(call_id),
            call_id,
            track=_cut(parameters.get("Track"), 16),
            destination=_cut(destination.get("Location"), 1024)
            if isinstance(destination, Mapping)
            else None,
        )


def _call_ended(c: _Context) -> Iterator[Fact]:
    if c.before.flow == Flow.ENDED or c.after.flow != Flow.ENDED:
        return
    tag: str | None = None
    sip_code: str | None = None
    if c.event.event_type == EventType.HANGUP:
        tag = c.tag_of(c.parameters.get("CallId")) or (
            c.parameters.get("ParticipantTag")
            if c.parameters.get("ParticipantTag") in _TAGS
            else None
        )
        sip_code = _cut(c.parameters.get("SipResponseCode"), 8)
    yield c.fact(
        "call-ended",
        tag,
        event=_cut(c.event.event_type, 64),
        action=None if c.event.event_type == EventType.HANGUP else _cut(c.action_type, 64),
        sipResponseCode=sip_code,
    )
