"""One JSON line per operation, with phone numbers masked down to their last four digits."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping

__all__ = ["EventLogger", "mask_phone_number", "mask_phone_numbers"]

LOGGER = logging.getLogger("chime_provider")

# An E.164 number written with its "+" anywhere in a text. Service ids (UUIDs) and hostnames never
# carry a "+", so masking on that shape does not hide anything an operator needs.
_E164_IN_TEXT = re.compile(r"\+[1-9]\d{5,14}")
_VISIBLE_DIGITS = 4


def mask_phone_number(number: str) -> str:
    """``+12065550100`` -> ``+*******0100``: enough to tell numbers apart, not to dial one."""
    digits = number.removeprefix("+")
    hidden = max(len(digits) - _VISIBLE_DIGITS, 0)
    return ("+" if number.startswith("+") else "") + "*" * hidden + digits[hidden:]


def mask_phone_numbers(text: str) -> str:
    """Mask every E.164 number found in ``text``."""
    return _E164_IN_TEXT.sub(lambda match: mask_phone_number(match.group()), text)


class EventLogger:
    """Writes JSON lines that all carry the CloudFormation request's correlation fields."""

    def __init__(self, context: Mapping[str, object]) -> None:
        self._context = dict(context)

    def info(self, message: str, **fields: object) -> None:
        self.log(logging.INFO, message, **fields)

    def warning(self, message: str, **fields: object) -> None:
        self.log(logging.WARNING, message, **fields)

    def log(self, level: int, message: str, **fields: object) -> None:
        if not LOGGER.isEnabledFor(level):
            return
        record = {
            "level": logging.getLevelName(level),
            "message": message,
            **self._context,
            **fields,
        }
        LOGGER.log(level, mask_phone_numbers(json.dumps(record, default=str)))
