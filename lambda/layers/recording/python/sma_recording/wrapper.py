"""Add call recording to a SIP media application handler you already have.

::

    from sma_recording import with_recording

    @with_recording                      # configuration from SMA_RECORDING_CONFIG
    def handler(event, context):
        ...                              # your call flow, unchanged

    @with_recording(config=RecordingConfig(...))   # or an explicit configuration
    def handler(event, context): ...

The contract:

* **Who answers what.** Events about recording go to the recording logic and your handler is *not*
  called for them: results (``ACTION_SUCCESSFUL``/``ACTION_FAILED``) of the four recording actions, of
  the configured consent announcement and of the recording's own ReceiveDigits; ``CALL_UPDATE_REQUESTED``
  whose ``Arguments`` carry a recording command (:mod:`sma_recording.protocol`); ``DIGITS_RECEIVED`` from
  the recording's ReceiveDigits (matched by its ``InputDigitsRegex``). Every other event goes to your
  handler, as before. Do not return recording actions yourself.
* **When recording starts.** With ``autoStart``, when your actions connect the call: your answer to
  ``NEW_INBOUND_CALL`` answers it (any actions but a CallAndBridge or a Hangup), ``CALL_ANSWERED``
  (outbound), or your CallAndBridge succeeded. StartCallRecording (preceded by the consent announcement
  if configured and not yet played, and by the LEG-B announcement after a bridge if
  ``announceToCallee``) is inserted **before your last action**, so the next ``ACTION_SUCCESSFUL`` still
  reports on your own action, with its results (e.g. ``ReceivedDigits``). When you returned no actions,
  the recording's actions are the whole list. An answer holds at most one recording action; a pause,
  resume or stop inserted before your last action is counted when your list succeeds. If one of the
  recording's actions fails, the service drops your action queued after it; the wrapper keeps that
  action (in its state) and re-sends it. If one of your actions before them fails, the service drops
  the recording's actions: a pause, resume or stop is inserted again into your next answer, and so is
  StartCallRecording with ``autoStart``. Nothing is inserted when your list has a Hangup, when it
  leaves no room under the limit of 10 actions (tried again at the next event), or when you return
  ``Actions: null`` (the service then keeps its queue).
* **Transaction attributes.** The recording state is one attribute, ``smaRec``, merged into your map;
  return your full map as usual (or none, and the stored map is kept). Your map may hold at most 9 keys:
  with 10 there is no room, an error is logged on every event, nothing is recorded, and your response is
  returned unchanged so the call goes on. Non-string entries of your map are dropped with a warning
  (the service would reject the whole response).
* **Failures.** If your handler raises, the exception is logged and the event is answered as if you had
  returned no actions (plus whatever recording adds), so the call is not dropped. A response that is not
  an object, or whose ``Actions`` is not a list, is treated the same way. "No actions" is
  ``Actions: []`` for events that ask for a new list (``NEW_INBOUND_CALL``, ``ACTION_SUCCESSFUL``, ...)
  and ``Actions: null`` for the unsolicited ones (``CALL_UPDATE_REQUESTED``, ``DIGITS_RECEIVED``,
  ``ACTION_INTERRUPTED``), so your queued actions are kept (see
  :func:`sma_recording.actions.fallback_response`). The same holds when the recording logic answers
  an event but cannot act on it (an internal error, or no room in your attribute map).
* **On-demand commands** that send a recording action replace whatever actions the service still has
  queued, yours included (service behaviour of ``UpdateSipMediaApplicationCall``): send them while
  your flow has nothing queued, e.g. once the call is bridged. A command that needs no action (it does
  not apply, or the call is not connected) is answered with ``Actions: null``, which keeps your queue.
  So is a command sent while the recording's StartCallRecording is in flight (from the answer that
  inserted it until its list reports): it is deferred, and its action is inserted into the first
  answer after that list completed (before your last action, as above; see :mod:`sma_recording.core`).
  Your own answer to an update request replaces that queued StartCallRecording too: answer
  ``Actions: null`` while your list runs if the recording should start as planned.
* **Logs and metrics** are the recording handler's (JSON lines, EMF), under the configured
  ``application`` and ``metricsNamespace``; your own logging is untouched.
"""

from __future__ import annotations

import functools
import logging
import os
from collections.abc import Callable, Mapping
from typing import Any, overload

from sma_recording._runtime import LOG_LEVEL_ENV, Runtime, event_attributes
from sma_recording.actions import SCHEMA_VERSION, fallback_response, response
from sma_recording.config import ENV_VAR, RecordingConfig, load_config
from sma_recording.core import Route, decide_around_handler, decide_recording_event, route
from sma_recording.state import MAX_ATTRIBUTES, STATE_KEY
from sma_recording.telemetry import CallLogger

__all__ = ["Handler", "with_recording"]

#: A SIP media application Lambda handler.
Handler = Callable[[Any, Any], Any]


@overload
def with_recording(handler: Handler, *, config: RecordingConfig | None = None) -> Handler: ...


@overload
def with_recording(
    handler: None = None, *, config: RecordingConfig | None = None
) -> Callable[[Handler], Handler]: ...


def with_recording(
    handler: Handler | None = None, *, config: RecordingConfig | None = None
) -> Handler | Callable[[Handler], Handler]:
    """Wrap ``handler`` so its calls are recorded (see the module docstring for the contract).

    :param handler: the SIP media application handler to wrap.
    :param config: the recording configuration. Default: read once, now (at the cold start), from
        the ``SMA_RECORDING_CONFIG`` environment variable; an invalid one disables recording and logs
        why, and ``handler`` then answers every event alone.
    """
    if handler is None:
        return lambda inner: with_recording(inner, config=config)
    if config is None:
        loaded, problems = load_config(os.environ.get(ENV_VAR))
        runtime = Runtime(loaded, problems, log_level=os.environ.get(LOG_LEVEL_ENV))
    else:
        runtime = Runtime(config, log_level=os.environ.get(LOG_LEVEL_ENV))
    return functools.wraps(handler)(_Wrapped(handler, runtime))


class _Wrapped:
    def __init__(self, handler: Handler, runtime: Runtime) -> None:
        self.handler = handler
        self.runtime = runtime

    def __call__(self, event: Any, context: Any = None) -> Any:
        log = self.runtime.call_logger(event, context)
        try:
            which = route(event, self.runtime.config)
        except Exception:
            log.log(
                logging.ERROR, "internal error while routing; the handler answers", exc_info=True
            )
            which = Route.HANDLER
        if which is Route.RECORDING:
            return self._recording(event, log)
        return self._handler(event, context, log, malformed=which is Route.MALFORMED)

    # events the recording logic answers

    def _recording(self, event: Any, log: CallLogger) -> dict[str, Any]:
        try:
            kept = _user_attributes(event_attributes(event), log)
            if len(kept) >= MAX_ATTRIBUTES:
                _no_room(log, len(kept))
                return fallback_response(event)
            decision = decide_recording_event(
                event, self.runtime.state_of(event, log), self.runtime.config
            )
            self.runtime.emit(decision, log)
            actions = None if decision.keep_queued else decision.actions
            body = response(actions, {**kept, STATE_KEY: decision.state.encode()})
            log.log(logging.INFO, "response (recording)", {"actions": body["Actions"]})
            return body
        except Exception:
            log.log(logging.ERROR, "internal error; answered with no actions", exc_info=True)
            return fallback_response(event)

    # events the wrapped handler answers

    def _handler(self, event: Any, context: Any, log: CallLogger, *, malformed: bool) -> Any:
        try:
            result = self.handler(event, context)
        except Exception:
            log.log(
                logging.ERROR,
                "the wrapped handler raised; answering without its actions",
                exc_info=True,
            )
            result = fallback_response(event)
        try:
            return self._augment(event, result, log, malformed=malformed)
        except Exception:
            log.log(
                logging.ERROR, "internal error; returning the handler's response", exc_info=True
            )
            return result

    def _augment(self, event: Any, result: Any, log: CallLogger, *, malformed: bool) -> Any:
        if not isinstance(result, Mapping):
            log.log(
                logging.ERROR, "the wrapped handler returned no response object; using no actions"
            )
            result = fallback_response(event)
        raw_actions = result.get("Actions")
        handler_actions: list[Mapping[str, Any]] | None
        if raw_actions is None:
            handler_actions = None
        elif isinstance(raw_actions, list) and all(isinstance(a, Mapping) for a in raw_actions):
            handler_actions = list(raw_actions)
        else:
            log.log(
                logging.ERROR, "the wrapped handler's Actions is not a list of actions; using none"
            )
            result = {**result, **fallback_response(event)}
            handler_actions = result["Actions"]
        if malformed:
            decision = decide_around_handler(
                event, self.runtime.state_of(event, log), self.runtime.config, ()
            )
            self.runtime.emit(decision, log)
            return result
        raw_attributes = result.get("TransactionAttributes")
        if isinstance(raw_attributes, Mapping):
            kept = _user_attributes(raw_attributes, log)
        else:
            kept = _user_attributes(event_attributes(event), log)
        if len(kept) >= MAX_ATTRIBUTES:
            _no_room(log, len(kept))
            return result
        state = self.runtime.state_of(event, log)
        decision = decide_around_handler(event, state, self.runtime.config, handler_actions)
        self.runtime.emit(decision, log)
        body = dict(result)
        body.setdefault("SchemaVersion", SCHEMA_VERSION)
        body["Actions"] = None if handler_actions is None else [dict(a) for a in decision.actions]
        body["TransactionAttributes"] = {**kept, STATE_KEY: decision.state.encode()}
        log.log(logging.INFO, "response (handler)", {"actions": body["Actions"]})
        return body


def _user_attributes(attributes: Mapping[Any, Any], log: CallLogger) -> dict[str, str]:
    kept = {k: v for k, v in attributes.items() if isinstance(k, str) and isinstance(v, str)}
    dropped = [str(k) for k in attributes if k not in kept]
    if dropped:
        log.log(
            logging.WARNING,
            "dropped transaction attributes that are not strings",
            {"keys": dropped},
        )
    kept.pop(STATE_KEY, None)
    return kept


def _no_room(log: CallLogger, used: int) -> None:
    log.log(
        logging.ERROR,
        "no room for the recording state in TransactionAttributes; this event is not recorded",
        {"handlerKeys": used, "limit": MAX_ATTRIBUTES},
    )
