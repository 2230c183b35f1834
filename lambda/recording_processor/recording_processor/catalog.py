"""Reading the recording catalog: one call, one day's recordings, billed minutes over days.

For tools (a CLI, a report) rather than the Lambda. ``table`` is a boto3 DynamoDB ``Table``
resource (``boto3.resource("dynamodb").Table(name)``), so items come back as plain Python values
(numbers as :class:`~decimal.Decimal`, string sets as ``set``). The item schema is described in
``recording_processor._record``.

The day index :data:`DAY_INDEX` is keyed ``gsi2pk = DAY#<YYYY-MM-DD>`` and
``gsi2sk = <legStartTime>#<transactionId>#<callId>``, so a day's recordings come back in order of leg
start. :func:`sum_billed_minutes` reads ``billedMinutes`` and ``status`` from it, so the index must
project them (``ALL``, or ``INCLUDE`` of both).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Final

from boto3.dynamodb.conditions import Key

from recording_processor import schema
from recording_processor._record import CALL_SK, DELIVERED

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

__all__ = ["DAY_INDEX", "Call", "get_call", "list_day", "sum_billed_minutes"]

#: Name of the catalog's global secondary index by day.
DAY_INDEX: Final = schema.DAY_INDEX

_RECORDING_PREFIX = "REC#"


@dataclass(frozen=True)
class Call:
    """A call's catalog entries.

    :param item: the ``CALL`` item (first start, day, delivered call ids, billed minutes); None
        when no recording of the call has been delivered yet.
    :param recordings: its recording items (``started``, ``missing`` or ``delivered``), by call id.
    """

    transaction_id: str
    item: dict[str, Any] | None
    recordings: tuple[dict[str, Any], ...]


def get_call(table: Table, transaction_id: str) -> Call:
    """The call item and recording items of ``transaction_id`` (one paginated Query on ``pk``)."""
    transaction_id = transaction_id.strip().lower()
    call: dict[str, Any] | None = None
    recordings: list[dict[str, Any]] = []
    for item in _pages(table, KeyConditionExpression=Key("pk").eq(f"TX#{transaction_id}")):
        sort_key = item.get("sk")
        if sort_key == CALL_SK:
            call = item
        elif isinstance(sort_key, str) and sort_key.startswith(_RECORDING_PREFIX):
            recordings.append(item)
    return Call(transaction_id=transaction_id, item=call, recordings=tuple(recordings))


def list_day(table: Table, day: str | date) -> Iterator[dict[str, Any]]:
    """Every recording item of ``day`` (UTC ``YYYY-MM-DD`` of the leg start), by leg start.

    :raises ValueError: ``day`` is not a date.
    """
    key = Key("gsi2pk").eq(f"DAY#{_day(day).isoformat()}")
    yield from _pages(table, IndexName=DAY_INDEX, KeyConditionExpression=key)


def sum_billed_minutes(table: Table, since_day: str | date, until_day: str | date) -> int:
    """Billed minutes of the recordings delivered with a leg start from ``since_day`` through
    ``until_day`` (both included, UTC days): one day-index query per day.

    :raises ValueError: a day is not a date, or ``since_day`` is after ``until_day``.
    """
    first, last = _day(since_day), _day(until_day)
    if first > last:
        raise ValueError(f"since_day {first} is after until_day {last}")
    total = 0
    day = first
    while day <= last:
        for item in list_day(table, day):
            minutes = item.get("billedMinutes")
            if item.get("status") == DELIVERED and isinstance(minutes, Decimal | int):
                total += int(minutes)
        day += timedelta(days=1)
    return total


def _pages(table: Table, **query: Any) -> Iterator[dict[str, Any]]:
    while True:
        response = table.query(**query)
        yield from response.get("Items", [])
        last_key = response.get("LastEvaluatedKey")
        if not last_key:
            return
        query["ExclusiveStartKey"] = last_key


def _day(value: str | date) -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(value.strip())
    except (AttributeError, ValueError):
        raise ValueError(f"{value!r} is not a day (YYYY-MM-DD)") from None
