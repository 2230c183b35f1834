"""JSON log lines and CloudWatch Embedded Metric Format (EMF) documents, written to stdout.

Every log line is one JSON object with the SQS ``messageId`` and, once known, the recording's
``transactionId`` and ``callId``, so one recording can be followed with a single Logs Insights
filter. Recordings concern regulated calls: nothing here logs a phone number, and as a second line of
defence every string value is masked to its last four digits where it looks like one (a ``+`` and
7-15 digits, or a free-standing run of 7-15 digits). Numbers (sizes, durations) are left alone.

Metrics are EMF documents, one JSON object per line (no API call), in the configured namespace with
the dimension set ``[["Application"]]``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, Final

__all__ = ["LEVELS", "Logger", "Metrics", "mask_phone_numbers"]

LEVELS: Final = {"DEBUG": 10, "INFO": 20, "WARNING": 30, "ERROR": 40}

# Same shape as the call handler's masking (sma_recording.telemetry): digits that touch a word
# character, hyphen or dot belong to an id, a hash or a timestamp and are left alone.
_PHONE = re.compile(r"\+\d{7,15}|(?<![\w\-.])\d{7,15}(?![\w\-.])")
_VISIBLE_DIGITS = 4

Write = Callable[[str], object]


def mask_phone_numbers(text: str) -> str:
    """``text`` with every phone-number-like run masked to its last four digits."""
    return _PHONE.sub(lambda match: _mask(match.group(0)), text)


def _mask(number: str) -> str:
    digits = sum(char.isdigit() for char in number)
    hidden = digits - _VISIBLE_DIGITS
    out = []
    for char in number:
        if char.isdigit() and hidden > 0:
            out.append("*")
            hidden -= 1
        else:
            out.append(char)
    return "".join(out)


def _masked(value: object) -> object:
    if isinstance(value, str):
        return mask_phone_numbers(value)
    if isinstance(value, Mapping):
        return {str(k): _masked(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_masked(v) for v in value]
    return value


class Logger:
    """Writes JSON lines carrying the same correlation context (a small Powertools-like logger)."""

    def __init__(
        self,
        write: Write,
        context: Mapping[str, object] | None = None,
        level: str = "INFO",
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self._write = write
        self.context = dict(context or {})
        self._threshold = LEVELS.get(level.upper(), LEVELS["INFO"])
        self._clock = clock or (lambda: datetime.now(UTC))

    def bind(self, **fields: object) -> Logger:
        """A logger with ``fields`` added to the context (None values are left out)."""
        context = {**self.context, **{k: v for k, v in fields.items() if v is not None}}
        bound = Logger(self._write, context, clock=self._clock)
        bound._threshold = self._threshold
        return bound

    def debug(self, message: str, **fields: object) -> None:
        self.log("DEBUG", message, **fields)

    def info(self, message: str, **fields: object) -> None:
        self.log("INFO", message, **fields)

    def warning(self, message: str, **fields: object) -> None:
        self.log("WARNING", message, **fields)

    def error(self, message: str, **fields: object) -> None:
        self.log("ERROR", message, **fields)

    def log(self, level: str, message: str, **fields: object) -> None:
        if LEVELS[level] < self._threshold:
            return
        document: dict[str, object] = {
            "timestamp": self._clock().isoformat(timespec="milliseconds"),
            "level": level,
            "message": message,
            **self.context,
        }
        for key, value in fields.items():
            document.setdefault(key, value)
        self._write(json.dumps(_masked(document), default=str, ensure_ascii=False) + "\n")


class Metrics:
    """Writes EMF documents in one namespace, with the ``Application`` dimension."""

    def __init__(
        self,
        write: Write,
        namespace: str,
        application: str,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self._write = write
        self.namespace = namespace
        self.application = application
        self._clock = clock or (lambda: datetime.now(UTC))

    def emit(self, values: Mapping[str, tuple[float, str]], **properties: object) -> None:
        """One document with each metric ``name: (value, unit)``; ``properties`` are searchable
        fields, not dimensions (so a transaction id never becomes a metric of its own).
        """
        if not values:
            return
        document: dict[str, Any] = {
            k: v for k, v in properties.items() if v is not None and k not in values
        }
        document.update(
            {
                "_aws": {
                    "Timestamp": int(self._clock().timestamp() * 1000),
                    "CloudWatchMetrics": [
                        {
                            "Namespace": self.namespace,
                            "Dimensions": [["Application"]],
                            "Metrics": [
                                {"Name": name, "Unit": unit} for name, (_, unit) in values.items()
                            ],
                        }
                    ],
                },
                "Application": self.application,
            }
        )
        document.update({name: value for name, (value, _) in values.items()})
        self._write(json.dumps(document, separators=(",", ":"), default=str) + "\n")
