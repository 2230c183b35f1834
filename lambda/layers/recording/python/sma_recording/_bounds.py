"""Size bounds checked before anything from outside is parsed, converted or repeated in a message.

Python itself fails on some values a hostile or corrupted input can carry: ``int()`` and ``str()``
refuse integers of more than 4,300 digits (``ValueError``), ``json.loads`` and ``json.dumps``
recurse once per level of nesting (``RecursionError``, which is not a ``ValueError``), and
``repr()`` of such a value in an error message fails the same way. So every number the handler
reads, every JSON document it decodes and every value it quotes goes through this module first;
what is out of bounds is malformed input, answered like any other malformed input.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = [
    "MAX_DEPTH",
    "MAX_ID_LENGTH",
    "MAX_INT_DIGITS",
    "bounded_int",
    "describe",
    "json_depth",
    "object_depth",
]

#: Digits of the largest integer read from an event (a sequence number or an epoch in ms): 19
#: digits hold every value below 2**63.
MAX_INT_DIGITS = 19
#: Deepest nesting of objects and arrays accepted in a JSON document the handler decodes (the
#: configuration is 3 levels deep, the state 3 with a wrapped handler's action).
MAX_DEPTH = 16
#: Longest identifier (transaction id, call id) accepted; the service's are UUIDs (36 characters).
MAX_ID_LENGTH = 128
_INT_LIMIT = 2**63


def bounded_int(value: object) -> int | None:
    """A non-negative integer below 2**63 given as an int or a string of ASCII digits, else None.

    Checked before conversion: ``str.isdigit`` alone accepts characters ``int`` rejects (``'²'``)
    and strings long enough to hit the interpreter's digit limit.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if 0 <= value < _INT_LIMIT else None
    if (
        isinstance(value, str)
        and 0 < len(value) <= MAX_INT_DIGITS
        and value.isascii()
        and value.isdigit()
    ):
        number = int(value)
        return number if number < _INT_LIMIT else None
    return None


def describe(value: object, limit: int = 60) -> str:
    """A short description of ``value`` for a message; never raises, never longer than ``limit``."""
    if isinstance(value, bool) or value is None:
        text = repr(value)
    elif isinstance(value, int):
        text = repr(value) if abs(value) < _INT_LIMIT else f"<integer of {value.bit_length()} bits>"
    elif isinstance(value, float):
        text = repr(value)
    elif isinstance(value, str):
        text = repr(value[: limit + 1])
    elif isinstance(value, Mapping):
        text = f"<object of {len(value)} keys>"
    elif isinstance(value, (list, tuple)):
        text = f"<array of {len(value)} items>"
    else:
        text = f"<{type(value).__name__}>"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def json_depth(text: str | bytes, limit: int = MAX_DEPTH) -> int:
    """Nesting depth of the JSON text, counted without decoding it; ``limit + 1`` once it is
    exceeded (the scan stops there). Brackets inside strings do not count."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    depth = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > limit:
                    return limit + 1
        elif char in "]}":
            depth -= 1
    return deepest


def object_depth(value: Any, limit: int = MAX_DEPTH) -> int:
    """Nesting depth of decoded JSON-like data (dicts and lists), walked without recursion;
    ``limit + 1`` once it is exceeded."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, Mapping):
            children: Any = item.values()
        elif isinstance(item, (list, tuple)):
            children = item
        else:
            continue
        depth += 1
        if depth > deepest:
            deepest = depth
            if deepest > limit:
                return limit + 1
        stack.extend((child, depth) for child in children)
    return deepest
