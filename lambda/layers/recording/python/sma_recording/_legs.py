"""Recording status of the legs: starting, commands, deferral, results and call end (see :mod:`sma_recording.core`)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import replace

from sma_recording._decision import (
    _A,
    _B,
    MetricName,
    _drop_wanted,
    _natural,
    _Turn,
)
from sma_recording.actions import (
    COMMAND_BUILDERS,
    consent_action,
    hangup,
    receive_digits,
    start_call_recording,
)
from sma_recording.config import Leg
from sma_recording.events import (
    UNSOLICITED_EVENTS,
    Participant,
)
from sma_recording.protocol import Command
from sma_recording.state import (
    CallState,
    Flow,
    LegStatus,
    Pending,
)

# -- shared pieces -----------------------------------------------------------------------------------


def _effective_leg(t: _Turn) -> str:
    """The configured leg, or LEG-A when LEG-B is configured but the call has no LEG-B."""
    if t.config.leg == Leg.B and t.connected(_B) is None:
        return _A
    return t.config.leg.value


def _start(t: _Turn, tag: str | None = None) -> bool:
    """Append StartCallRecording (with the consent first if it has not been played yet)."""
    if not t.config.recording_enabled:
        t.log(logging.WARNING, "cannot start recording: recording is disabled")
        return False
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

    While a StartCallRecording is in flight the command is deferred (see :mod:`sma_recording.core`): it
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
    start_dropped_again(t)


def start_dropped_again(t: _Turn) -> None:
    """Send again the StartCallRecording of every ``starting`` leg: the service dropped it with
    the failed action before it in its list, so it never ran (:attr:`_Turn.restart`)."""
    for tag in (_A, _B):
        if t.state.leg(tag) == LegStatus.STARTING:
            t.set_leg(tag, LegStatus.IDLE)
            t.restart.add(tag)
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
