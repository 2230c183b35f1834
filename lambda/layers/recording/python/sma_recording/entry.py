"""The recording handler's Lambda entry point: ``handler(event, context)``.

This is the only module of the recording handler that touches the outside world. On the first
invocation of an execution environment (the cold start) it reads:

* ``SMA_RECORDING_CONFIG``: the JSON configuration (see :mod:`sma_recording.config`). Missing or
  invalid: an error is logged once with every problem, and recording is disabled (see
  :func:`sma_recording.config.load_config` for how calls are still answered);
* ``LOG_LEVEL``: DEBUG, INFO (default), WARNING or ERROR. At DEBUG the raw event is logged too (with
  phone numbers masked, as on every line).
* ``SMA_RECORDING_FACTS_QUEUE_URL``: the catalog's facts queue. When set, each invocation that
  established something about the call (:mod:`sma_recording.facts`) sends one message to it, after
  the decision and bounded in time (:mod:`sma_recording._facts_queue`); a failure is logged and
  counted as ``FactsFailed`` and changes nothing else.

Each invocation then reads the call state from the event's transaction attributes, calls the pure
:func:`sma_recording.core.decide`, writes the decision's log lines and EMF metrics to stdout and
returns the response (sending the call facts first, when on). Nothing raises out of :func:`handler`: an unexpected exception is logged with its
traceback and answered with :func:`sma_recording.actions.fallback_response`: ``"Actions": null`` for an
update request, DIGITS_RECEIVED or ACTION_INTERRUPTED (so the service keeps the actions it has queued,
e.g. a StartCallRecording behind the consent announcement), ``"Actions": []`` for any other event.
"""

from __future__ import annotations

import functools
import logging
import os
import time
from collections.abc import Callable, Sequence
from typing import Any

from sma_recording._facts_queue import FACTS_QUEUE_ENV, FactsQueue
from sma_recording._runtime import LOG_LEVEL_ENV, Runtime
from sma_recording.actions import fallback_response
from sma_recording.config import ENV_VAR, RecordingConfig, load_config
from sma_recording.core import decide
from sma_recording.telemetry import LOGGER_NAME, CallLogger

__all__ = ["ENV_VAR", "FACTS_QUEUE_ENV", "LOG_LEVEL_ENV", "RecordingHandler", "handler"]


class RecordingHandler:
    """A Lambda handler bound to one configuration (what :func:`handler` runs after a cold start).

    :param config: the configuration to run with.
    :param problems: why ``config`` is a disabled fallback, logged once. Default: none.
    :param log_level: level of the package logger. Default: INFO.
    :param clock: seconds since the epoch, for metric timestamps and the facts' ``at``. Default:
        :func:`time.time`.
    :param facts_queue: where to send the call facts. Default: none (no facts are sent).
    """

    def __init__(
        self,
        config: RecordingConfig,
        *,
        problems: Sequence[str] = (),
        log_level: str | int | None = None,
        clock: Callable[[], float] = time.time,
        facts_queue: FactsQueue | None = None,
    ) -> None:
        self.runtime = Runtime(
            config, problems, log_level=log_level, clock=clock, facts_queue=facts_queue
        )

    @property
    def config(self) -> RecordingConfig:
        """The configuration in use."""
        return self.runtime.config

    def __call__(self, event: object, context: object = None) -> dict[str, Any]:
        log: CallLogger | None = None
        try:
            log = self.runtime.call_logger(event, context)
            if log.logger.isEnabledFor(logging.DEBUG):
                log.log(logging.DEBUG, "event", {"event": event})
            state = self.runtime.state_of(event, log)
            decision = decide(event, state, self.runtime.config)
            body = decision.response()
            self.runtime.emit(decision, log)
            self.runtime.send_facts(event, state, decision, log)
            log.log(logging.INFO, "response", {"actions": body["Actions"]})
            return body
        except Exception:
            (log or CallLogger(logging.getLogger(LOGGER_NAME), {})).log(
                logging.ERROR, "internal error; answered with no actions", exc_info=True
            )
            return fallback_response(event)


@functools.cache
def _cold_start() -> RecordingHandler:
    config, problems = load_config(os.environ.get(ENV_VAR))
    queue_url = os.environ.get(FACTS_QUEUE_ENV)
    return RecordingHandler(
        config,
        problems=problems,
        log_level=os.environ.get(LOG_LEVEL_ENV),
        facts_queue=FactsQueue(queue_url) if queue_url else None,
    )


def handler(event: object, context: object = None) -> dict[str, Any]:
    """The Lambda handler (``index.handler``): answers one SIP media application invocation."""
    try:
        recording_handler = _cold_start()
    except (
        Exception
    ):  # pragma: no cover - load_config never raises; this is the last line of defence
        logging.getLogger(LOGGER_NAME).exception("cannot set up the recording handler")
        return fallback_response(event)
    return recording_handler(event, context)
