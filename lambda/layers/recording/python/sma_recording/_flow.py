"""The recording handler's own call flow: answering, bridging and keeping single-leg calls up (see :mod:`sma_recording.core`)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping

from sma_recording._bounds import describe
from sma_recording._decision import (
    _A,
    _B,
    ANSWER_PAUSE_MS,
    DTMF_KEEP_ALIVE_MS,
    KEEP_ALIVE_MS,
    MetricName,
    _Turn,
)
from sma_recording._legs import (
    _arm_dtmf,
    _command,
    _confirm_list,
    _disabled_call_start,
    _on_consent_failed,
    _on_hangup,
    _on_invalid_response,
    _on_recording_result,
    _reconcile,
    _start,
    start_dropped_again,
)
from sma_recording.actions import (
    MAX_ACTIONS,
    RECORDING_ACTIONS,
    call_and_bridge,
    consent_action,
    hangup,
    is_consent,
    pause,
)
from sma_recording.config import RecordingConfig, is_e164
from sma_recording.events import (
    EventType,
    Participant,
)
from sma_recording.protocol import Command, ProtocolError, is_recording_request, parse_arguments
from sma_recording.state import (
    Flow,
    LegStatus,
)
from sma_recording.telemetry import mask_phone

# -- the recording handler's own call flow ----------------------------------------------------------


def _caller_id(t: _Turn, leg_a: Participant) -> str | None:
    """CallAndBridge ``CallerIdNumber``: the configured one, else the caller's number, else the
    dialled number.

    The service takes an E.164 number the account owns or LEG-A's ``From`` (call-and-bridge page)
    and rejects anything else, which hangs the caller up. A caller who withholds their number
    arrives with a ``From`` such as ``Restricted``, ``anonymous`` or ``+anonymous``: the call is
    then bridged with the number they dialled (LEG-A's ``To``, one of the account's numbers),
    logged and counted as ``CallerIdFallback``.
    """
    bridge = t.config.bridge
    assert bridge is not None
    if bridge.caller_id:
        return bridge.caller_id
    if is_e164(leg_a.from_number):
        return leg_a.from_number
    fallback = leg_a.to if is_e164(leg_a.to) else None
    t.metric(MetricName.CALLER_ID_FALLBACK)
    t.log(
        logging.WARNING,
        "the caller's number is withheld or not E.164; bridging with the dialled number"
        if fallback
        else "the caller's number is withheld or not E.164 and the dialled number is not E.164",
        fromNumber=mask_phone(describe(leg_a.from_number, 24)),
        callerId=mask_phone(fallback),
    )
    return fallback


def _bridge(t: _Turn, leg_a: Participant) -> None:
    bridge = t.config.bridge
    assert bridge is not None
    caller_id = _caller_id(t, leg_a)
    if not caller_id:
        t.log(
            logging.ERROR,
            "cannot bridge: no usable caller id (set bridge.callerId); hanging up",
        )
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
    # A StartCallRecording after the failed action was dropped with it.
    start_dropped_again(t)


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
