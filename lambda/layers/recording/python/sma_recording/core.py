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

import logging

from sma_recording._around import decide_around_handler, decide_recording_event, route
from sma_recording._decision import (
    ANSWER_PAUSE_MS,
    DTMF_KEEP_ALIVE_MS,
    KEEP_ALIVE_MS,
    MAX_RESEND_CHARS,
    Decision,
    LogRecord,
    MetricName,
    MetricRecord,
    Route,
    _parse,
    _Turn,
)
from sma_recording._flow import _OWN_HANDLERS, _keep_alive, _own_unexpected
from sma_recording._legs import _hold_queue
from sma_recording.config import RecordingConfig
from sma_recording.state import (
    CallState,
)

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
