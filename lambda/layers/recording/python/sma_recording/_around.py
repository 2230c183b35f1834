"""Recording around an existing handler: routing and merging with its answer (see :mod:`sma_recording.core` and :mod:`sma_recording.wrapper`)."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from sma_recording._decision import (
    _A,
    _B,
    MAX_RESEND_CHARS,
    Decision,
    Route,
    _drop_wanted,
    _parse,
    _Turn,
)
from sma_recording._flow import _own_digits, _own_update
from sma_recording._legs import (
    _arm_dtmf,
    _confirm_list,
    _disabled_call_start,
    _effective_leg,
    _hold_queue,
    _on_consent_failed,
    _on_hangup,
    _on_invalid_response,
    _on_recording_result,
    _reconcile,
    _start,
    _starting,
    _undo,
)
from sma_recording.actions import (
    MAX_ACTIONS,
    RECORDING_ACTIONS,
    Action,
    consent_action,
    is_consent,
)
from sma_recording.config import RecordingConfig
from sma_recording.events import (
    EventError,
    EventType,
    SmaEvent,
)
from sma_recording.protocol import is_recording_request
from sma_recording.state import (
    CallState,
    Flow,
    LegStatus,
)
from sma_recording.telemetry import mask_phone

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
            t.restart.add(tag)
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
