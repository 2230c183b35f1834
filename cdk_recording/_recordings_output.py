"""Rendering catalog items for ``cdk-recording recordings``: masking, JSON values, text tables.

Phone numbers are masked (every digit but the last four, as in the handler's logs) in both output
formats unless the operator asks for them with ``--unmask``: a listing pasted into a ticket or a
chat should not carry full numbers by accident. Masking runs over every string value, the way the
log formatter does (:func:`sma_recording.telemetry.mask_phone_numbers`), so a number inside a fact's
detail is masked too, not only the ``fromNumber``/``toNumber`` fields.

DynamoDB numbers (:class:`~decimal.Decimal`) become JSON integers when whole and JSON numbers
otherwise; string sets become sorted arrays; binary values become base64 strings.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import Binary
from sma_recording.telemetry import mask_phone_numbers

__all__ = [
    "KEY_ATTRIBUTES",
    "cell",
    "clean",
    "plain",
    "presented",
    "table",
    "to_json",
]

#: Table and index keys: how the catalog finds an item, not what it says (left out of the output).
KEY_ATTRIBUTES = frozenset({"pk", "sk", "gsi1pk", "gsi1sk", "gsi2pk", "gsi2sk", "gsi3pk", "gsi3sk"})

_EMPTY = "-"


def plain(value: Any) -> Any:
    """``value`` as JSON-ready Python: Decimals to int or float, sets to sorted lists, binary to
    base64, mappings and sequences recursively.
    """
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, Binary):
        wrapped: Any = value  # the type stubs do not declare Binary.value
        return base64.b64encode(wrapped.value).decode("ascii")
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, Mapping):
        return {str(key): plain(item) for key, item in value.items()}
    if isinstance(value, set | frozenset):
        return sorted((plain(item) for item in value), key=str)
    if isinstance(value, list | tuple):
        return [plain(item) for item in value]
    return value


def presented(value: Any, *, unmask: bool) -> Any:
    """:func:`plain`, with phone numbers masked in every string unless ``unmask``."""
    value = plain(value)
    return value if unmask else _masked(value)


def _masked(value: Any) -> Any:
    if isinstance(value, str):
        return mask_phone_numbers(value)
    if isinstance(value, dict):
        return {key: _masked(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_masked(item) for item in value]
    return value


def clean(item: Mapping[str, Any]) -> dict[str, Any]:
    """``item`` without its table and index keys."""
    return {key: value for key, value in item.items() if key not in KEY_ATTRIBUTES}


def to_json(document: Any) -> str:
    """One JSON document, indented, keys in the order given, with a trailing newline."""
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def cell(value: Any) -> str:
    """A value as one table cell: ``-`` when absent, JSON for structures, text otherwise."""
    if value is None or value == "":
        return _EMPTY
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return " ".join(str(value).split())


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """Left-aligned columns two spaces apart, a header line first; no trailing spaces."""
    body = [[cell(value) for value in row] for row in rows]
    widths = [len(header) for header in headers]
    for row in body:
        widths = [max(width, len(text)) for width, text in zip(widths, row, strict=True)]
    lines = [
        "  ".join(text.ljust(width) for text, width in zip(line, widths, strict=True)).rstrip()
        for line in [list(headers), *body]
    ]
    return "\n".join(lines) + "\n"
