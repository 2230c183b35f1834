"""Structured JSON logs and CloudWatch Embedded Metric Format (EMF) metrics, printed to stdout.

Every log line is one JSON object carrying the call's ``transactionId``, ``sequence`` and
``eventType`` (and the Lambda ``requestId``), so one call can be followed with a single Logs Insights
filter. Phone numbers are never logged in full: every ``+`` followed by 7-15 digits, and every
free-standing run of 7-15 digits, is masked to its last four digits in every line, whatever the level
(the users of this library are regulated call centres).

Metrics are EMF documents (one JSON object per line, no API call): namespace from the configuration,
dimension set ``[["Application"]]``; ``RecordingFailed`` and ``FactsFailed`` additionally
``[["Application", "ErrorType"]]``.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

__all__ = [
    "LOGGER_NAME",
    "CallLogger",
    "JsonFormatter",
    "emf_document",
    "mask_phone",
    "mask_phone_numbers",
    "print_metrics",
    "setup_logger",
]

#: Name of the logger the package writes to.
LOGGER_NAME = "sma_recording"

# E.164 (with +) anywhere, or 7-15 digits that are not part of a longer token (so UUID groups,
# which touch a hyphen, and hex strings are left alone).
_PHONE = re.compile(r"\+\d{7,15}|(?<![\w\-.])\d{7,15}(?![\w\-.])")


def mask_phone(value: str | None) -> str | None:
    """``value`` with every digit but the last four replaced by ``*`` (``None`` stays ``None``)."""
    if value is None:
        return None
    digits = sum(char.isdigit() for char in value)
    keep = 4
    out: list[str] = []
    for char in value:
        if char.isdigit():
            out.append(char if digits <= keep else "*")
            digits -= 1
        else:
            out.append(char)
    return "".join(out)


def mask_phone_numbers(text: str) -> str:
    """``text`` with everything that looks like a phone number masked (see :func:`mask_phone`)."""
    return _PHONE.sub(lambda match: mask_phone(match.group(0)) or "", text)


class JsonFormatter(logging.Formatter):
    """Formats a record as one JSON line: timestamp, level, message, context, then fields.

    Context comes from ``record.sma_context`` and fields from ``record.sma_fields`` (both mappings,
    set by :class:`CallLogger`); the whole line is passed through :func:`mask_phone_numbers`.
    """

    def format(self, record: logging.LogRecord) -> str:
        document: dict[str, Any] = {
            "timestamp": datetime.fromtimestamp(record.created, UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "message": record.getMessage(),
            "logger": record.name,
        }
        document.update(getattr(record, "sma_context", None) or {})
        for key, value in (getattr(record, "sma_fields", None) or {}).items():
            document.setdefault(key, value)
        if record.exc_info:
            document["exception"] = self.formatException(record.exc_info)
        return mask_phone_numbers(json.dumps(document, default=str, ensure_ascii=False))


class _StdoutHandler(logging.Handler):
    """Writes to whatever ``sys.stdout`` is at the time (so test capture and Lambda both work)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            sys.stdout.write(self.format(record) + "\n")
            sys.stdout.flush()
        except Exception:  # pragma: no cover - logging must never break a call
            self.handleError(record)


def setup_logger(level: str | int = "INFO") -> logging.Logger:
    """The package logger, writing JSON lines to stdout (idempotent; safe on every cold start).

    It does not propagate to the root logger, so the Lambda runtime does not print lines twice.
    """
    logger = logging.getLogger(LOGGER_NAME)
    if not any(isinstance(h, _StdoutHandler) for h in logger.handlers):
        handler = _StdoutHandler()
        handler.setFormatter(JsonFormatter())
        logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.setLevel(level.upper() if isinstance(level, str) else level)
    except ValueError:
        logger.setLevel(logging.INFO)
    return logger


class CallLogger:
    """Logs with the same correlation context on every line (a small Powertools-like adapter)."""

    def __init__(self, logger: logging.Logger, context: Mapping[str, Any]) -> None:
        self.logger = logger
        self.context = dict(context)

    def log(
        self, level: int, message: str, fields: Mapping[str, Any] | None = None, **kw: Any
    ) -> None:
        """Log ``message`` with the context and ``fields`` (``exc_info`` may be passed in ``kw``)."""
        self.logger.log(
            level,
            message,
            extra={"sma_context": self.context, "sma_fields": dict(fields or {})},
            stacklevel=2,
            **kw,
        )


def emf_document(
    name: str,
    *,
    namespace: str,
    application: str,
    error_type: str | None = None,
    properties: Mapping[str, Any] | None = None,
    timestamp_ms: int | None = None,
) -> dict[str, Any]:
    """One EMF document with metric ``name`` = 1 (unit Count).

    Dimensions: ``[["Application"]]``, plus ``["Application", "ErrorType"]`` when ``error_type`` is
    given. ``properties`` are added as searchable, non-dimension fields.
    """
    dimensions = [["Application"]]
    if error_type is not None:
        dimensions.append(["Application", "ErrorType"])
    document: dict[str, Any] = dict(properties or {})
    document.update(
        {
            "_aws": {
                "Timestamp": timestamp_ms if timestamp_ms is not None else int(time.time() * 1000),
                "CloudWatchMetrics": [
                    {
                        "Namespace": namespace,
                        "Dimensions": dimensions,
                        "Metrics": [{"Name": name, "Unit": "Count"}],
                    }
                ],
            },
            "Application": application,
            name: 1,
        }
    )
    if error_type is not None:
        document["ErrorType"] = error_type
    return document


def print_metrics(
    documents: Iterable[Mapping[str, Any]], write: Callable[[str], Any] | None = None
) -> None:
    """Print EMF documents, one JSON object per line, to stdout (or ``write``)."""
    out = write or sys.stdout.write
    for document in documents:
        out(json.dumps(document, separators=(",", ":"), default=str) + "\n")
