"""The edge shared by the entry module and the wrapper: logging, metrics, state extraction, and
sending the call facts (:mod:`sma_recording.facts`) when a facts queue is configured."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sma_recording._facts_queue import FactsQueue, error_type
from sma_recording.config import RecordingConfig
from sma_recording.core import Decision, MetricName, MetricRecord
from sma_recording.events import peek_context
from sma_recording.state import CallState
from sma_recording.telemetry import CallLogger, emf_document, print_metrics, setup_logger

__all__ = ["LOG_LEVEL_ENV", "Runtime", "event_attributes"]

#: Environment variable with the log level (DEBUG, INFO, WARNING, ERROR). Default: INFO.
LOG_LEVEL_ENV = "LOG_LEVEL"


def event_attributes(event: object) -> dict[str, str]:
    """The string entries of ``CallDetails.TransactionAttributes`` (never raises)."""
    if not isinstance(event, Mapping):
        return {}
    details = event.get("CallDetails")
    if not isinstance(details, Mapping):
        return {}
    attributes = details.get("TransactionAttributes")
    if not isinstance(attributes, Mapping):
        return {}
    return {k: v for k, v in attributes.items() if isinstance(k, str) and isinstance(v, str)}


class Runtime:
    """One cold start's configuration, logger, clock and facts queue (None: no facts are sent)."""

    def __init__(
        self,
        config: RecordingConfig,
        problems: Sequence[str] = (),
        *,
        log_level: str | int | None = None,
        clock: Callable[[], float] = time.time,
        facts_queue: FactsQueue | None = None,
    ) -> None:
        self.config = config
        self.facts_queue = facts_queue
        self.logger = setup_logger(log_level if log_level is not None else "INFO")
        self.clock = clock
        self._cold_start = True
        if problems:
            CallLogger(self.logger, {"application": config.application}).log(
                logging.ERROR,
                "invalid recording configuration: recording is disabled for every call",
                {"problems": list(problems)},
            )

    def call_logger(self, event: object, context: object) -> CallLogger:
        """A logger whose every line carries the event's correlation fields."""
        fields = peek_context(event)
        fields["requestId"] = getattr(context, "aws_request_id", None)
        fields["coldStart"] = self._cold_start
        fields["application"] = self.config.application
        self._cold_start = False
        return CallLogger(self.logger, fields)

    def state_of(self, event: object, log: CallLogger) -> CallState:
        """The call state stored in the event's transaction attributes."""
        state, warning = CallState.from_attributes(event_attributes(event))
        if warning:
            log.log(logging.WARNING, warning)
        return state

    def emit(self, decision: Decision, log: CallLogger) -> None:
        """Write the decision's log lines and print its metrics (EMF)."""
        for record in decision.logs:
            log.log(record.level, record.message, record.fields)
        self._print_metrics(decision.metrics, log)

    def send_facts(
        self, event: object, before: CallState, decision: Decision, log: CallLogger
    ) -> None:
        """Send the invocation's facts message, if there is a queue and something to send.

        Never raises: a message that cannot be built (a fault in :mod:`sma_recording.facts`) or
        sent (endpoint, timeout, permission) is logged as an error and counted as ``FactsFailed``
        by ``ErrorType`` (``BuildError`` for the former); the call goes on as if facts were off.
        ``FactsSent`` counts what SQS accepted.
        """
        if self.facts_queue is None:
            return
        kinds: list[str] = []
        try:
            try:
                # Loaded with the first message: a handler without a queue never compiles it.
                from sma_recording.facts import encode, facts_of

                message = facts_of(event, before, decision, self.config, now=self.clock())
                if message is None:
                    return
                kinds = [str(fact.get("kind")) for fact in message["facts"]]
                body = encode(message)
            except Exception:
                log.log(logging.ERROR, "call facts could not be built; not sent", exc_info=True)
                self._print_metrics((MetricRecord(MetricName.FACTS_FAILED, "BuildError"),), log)
                return
            try:
                message_id = self.facts_queue.send(body, str(message["transactionId"]))
            except Exception as error:
                reason = error_type(error)
                log.log(
                    logging.ERROR,
                    "call facts not sent; the call goes on",
                    {"errorType": reason, "error": str(error)[:300], "kinds": kinds},
                )
                self._print_metrics((MetricRecord(MetricName.FACTS_FAILED, reason),), log)
                return
            log.log(logging.DEBUG, "call facts sent", {"kinds": kinds, "messageId": message_id})
            self._print_metrics((MetricRecord(MetricName.FACTS_SENT),), log)
        except Exception:  # pragma: no cover - logging or printing failed: nothing left to do
            return

    def _print_metrics(self, metrics: Sequence[MetricRecord], log: CallLogger) -> None:
        now_ms = int(self.clock() * 1000)
        properties: dict[str, Any] = {
            "transactionId": log.context.get("transactionId"),
            "requestId": log.context.get("requestId"),
        }
        print_metrics(
            emf_document(
                metric.name.value,
                namespace=self.config.metrics_namespace,
                application=self.config.application,
                error_type=metric.error_type,
                properties=properties,
                timestamp_ms=now_ms,
            )
            for metric in metrics
        )
