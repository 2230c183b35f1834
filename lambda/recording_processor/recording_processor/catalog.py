"""Reading the recording catalog: one call, a number's calls, days of recordings, billed minutes,
a call's transcripts.

For tools (the ``cdk-recording recordings`` command, a report) rather than the Lambda. ``table`` is
a boto3 DynamoDB ``Table`` resource (``boto3.resource("dynamodb").Table(name)``), so items come back
as plain Python values (numbers as :class:`~decimal.Decimal`, string sets as ``set``). The items and
indexes are described in ``docs/catalog.md``; every read is a paginated Query (never a Scan).

The number index :data:`~recording_processor.schema.NUMBER_INDEX` is keyed
``gsi1pk = NUM#<e164>`` and ``gsi1sk = <startedAt>#<transactionId>``; ``startedAt`` is the
fixed-width ``YYYY-MM-DDThh:mm:ss.mmmZ``, so a time range is a range on the sort key.

The day index :data:`DAY_INDEX` is keyed ``gsi2pk = DAY#<YYYY-MM-DD>`` and
``gsi2sk = <legStartTime>#<transactionId>#<callId>``, so a day's recordings come back in order of leg
start. :func:`sum_billed_minutes` reads ``billedMinutes`` and ``status`` from it, so the index must
project them (``ALL``, or ``INCLUDE`` of both).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Final

from boto3.dynamodb.conditions import Key

from recording_processor import schema
from recording_processor._keys import iso_utc
from recording_processor._record import CALL_SK, DELIVERED

if TYPE_CHECKING:
    from boto3.dynamodb.conditions import ConditionBase
    from mypy_boto3_dynamodb.service_resource import Table

__all__ = [
    "DAY_INDEX",
    "Call",
    "billed_minutes_by_day",
    "get_call",
    "list_day",
    "list_days",
    "list_number",
    "list_transcripts",
    "sum_billed_minutes",
]

#: Name of the catalog's global secondary index by day.
DAY_INDEX: Final = schema.DAY_INDEX

_RECORDING_PREFIX = "REC#"
_NUMBER_PREFIX = "NUM#"
_FACT_PREFIX = "FACT#"
_TRANSCRIPT_PREFIX = "TRANSCRIPT#"
_E164 = re.compile(r"\+[1-9][0-9]{1,14}")
# Sorts after every character of a timestamp or a transaction id, so ``<until>~`` bounds from above
# every sort key that starts with ``<until>``.
_AFTER = "~"


@dataclass(frozen=True)
class Call:
    """A call's catalog entries.

    :param item: the ``CALL`` item (parties, first start, day, delivered call ids, billed minutes);
        None when neither the facts consumer nor a delivery has written it yet.
    :param recordings: its recording items (``started``, ``missing`` or ``delivered``), by call id.
    :param numbers: its ``NUM#`` items (each number that took part, with its role and leg).
    :param facts: its ``FACT#`` items, in order (the SMA sequence, then position in the message).
    """

    transaction_id: str
    item: dict[str, Any] | None
    recordings: tuple[dict[str, Any], ...]
    numbers: tuple[dict[str, Any], ...] = ()
    facts: tuple[dict[str, Any], ...] = ()

    @property
    def found(self) -> bool:
        """Whether the catalog holds anything at all about the call."""
        return bool(self.item or self.recordings or self.numbers or self.facts)


def get_call(table: Table, transaction_id: str) -> Call:
    """Every item of ``transaction_id``: the call, its recordings, numbers and facts (one paginated
    Query on ``pk``).
    """
    transaction_id = transaction_id.strip().lower()
    call: dict[str, Any] | None = None
    recordings: list[dict[str, Any]] = []
    numbers: list[dict[str, Any]] = []
    facts: list[dict[str, Any]] = []
    for item in _pages(table, KeyConditionExpression=Key("pk").eq(f"TX#{transaction_id}")):
        sort_key = item.get("sk")
        if sort_key == CALL_SK:
            call = item
        elif not isinstance(sort_key, str):
            continue
        elif sort_key.startswith(_RECORDING_PREFIX):
            recordings.append(item)
        elif sort_key.startswith(_NUMBER_PREFIX):
            numbers.append(item)
        elif sort_key.startswith(_FACT_PREFIX):
            facts.append(item)
    # A Query returns its items by sort key already; sorting says so rather than relies on it.
    facts.sort(key=lambda fact: str(fact["sk"]))
    return Call(
        transaction_id=transaction_id,
        item=call,
        recordings=tuple(recordings),
        numbers=tuple(numbers),
        facts=tuple(facts),
    )


def list_transcripts(table: Table, transaction_id: str) -> list[dict[str, Any]]:
    """The ``TRANSCRIPT#<callId>`` items of ``transaction_id`` (one per transcribed recording,
    whatever its status), by call id: one paginated Query on ``pk`` and the sort-key prefix.
    """
    transaction_id = transaction_id.strip().lower()
    condition = Key("pk").eq(f"TX#{transaction_id}") & Key("sk").begins_with(_TRANSCRIPT_PREFIX)
    return list(_pages(table, KeyConditionExpression=condition))


def list_number(
    table: Table,
    number: str,
    since: str | date | None = None,
    until: str | date | None = None,
) -> Iterator[dict[str, Any]]:
    """The ``NUM#`` items of ``number`` (E.164) for calls started from ``since`` through ``until``,
    by start time: one paginated Query on the number index.

    Bounds are inclusive and either may be None (open). A day (``date`` or ``YYYY-MM-DD``) covers
    the whole UTC day; a ``datetime`` (or ISO 8601 string with a time) is a moment, naive meaning
    UTC. Each item has ``transactionId``, ``number``, ``role``, ``leg`` and ``gsi1sk``
    (``<startedAt>#<transactionId>``).

    :raises ValueError: ``number`` is not E.164, a bound is not a day or moment, or ``since`` is
        after ``until``.
    """
    if not isinstance(number, str) or not _E164.fullmatch(number):
        raise ValueError(f"{number!r} is not an E.164 number (+ then 2 to 15 digits)")
    low = None if since is None else _sort_prefix(since)
    high = None if until is None else _sort_prefix(until)
    if low is not None and high is not None and low > high + _AFTER:
        raise ValueError(f"since {low} is after until {high}")
    partition, sort = schema.INDEXES[schema.NUMBER_INDEX]
    condition: ConditionBase = Key(partition).eq(f"{_NUMBER_PREFIX}{number}")
    if low is not None and high is not None:
        condition = condition & Key(sort).between(low, high + _AFTER)
    elif low is not None:
        condition = condition & Key(sort).gte(low)
    elif high is not None:
        condition = condition & Key(sort).lte(high + _AFTER)
    yield from _pages(table, IndexName=schema.NUMBER_INDEX, KeyConditionExpression=condition)


def list_day(table: Table, day: str | date) -> Iterator[dict[str, Any]]:
    """Every recording item of ``day`` (UTC ``YYYY-MM-DD`` of the leg start), by leg start.

    :raises ValueError: ``day`` is not a date.
    """
    partition, _ = schema.INDEXES[DAY_INDEX]
    key = Key(partition).eq(f"DAY#{_day(day).isoformat()}")
    yield from _pages(table, IndexName=DAY_INDEX, KeyConditionExpression=key)


def list_days(table: Table, since: str | date, until: str | date) -> Iterator[dict[str, Any]]:
    """Every recording item with a leg start from ``since`` through ``until`` (both included, UTC
    days), by leg start: one paginated day-index Query per day, run as the items are consumed.

    :raises ValueError: a day is not a date, or ``since`` is after ``until``.
    """
    for day in _days(since, until):
        yield from list_day(table, day)


def billed_minutes_by_day(
    table: Table, since: str | date, until: str | date
) -> dict[date, tuple[int, int]]:
    """Per UTC day from ``since`` through ``until``, ``(delivered recordings, billed minutes)``;
    days without a delivered recording are left out.

    :raises ValueError: a day is not a date, or ``since`` is after ``until``.
    """
    totals: dict[date, tuple[int, int]] = {}
    for day in _days(since, until):
        count = minutes = 0
        for item in list_day(table, day):
            billed = item.get("billedMinutes")
            if item.get("status") == DELIVERED and isinstance(billed, Decimal | int):
                count += 1
                minutes += int(billed)
        if count:
            totals[day] = (count, minutes)
    return totals


def sum_billed_minutes(table: Table, since_day: str | date, until_day: str | date) -> int:
    """Billed minutes of the recordings delivered with a leg start from ``since_day`` through
    ``until_day`` (both included, UTC days): one day-index query per day.

    :raises ValueError: a day is not a date, or ``since_day`` is after ``until_day``.
    """
    return sum(
        minutes for _, minutes in billed_minutes_by_day(table, since_day, until_day).values()
    )


def _pages(table: Table, **query: Any) -> Iterator[dict[str, Any]]:
    while True:
        response = table.query(**query)
        yield from response.get("Items", [])
        last_key = response.get("LastEvaluatedKey")
        if not last_key:
            return
        query["ExclusiveStartKey"] = last_key


def _days(since: str | date, until: str | date) -> Iterator[date]:
    first, last = _day(since), _day(until)
    if first > last:
        raise ValueError(f"since day {first} is after until day {last}")
    day = first
    while day <= last:
        yield day
        day += timedelta(days=1)


def _day(value: str | date) -> date:
    if isinstance(value, datetime):
        raise ValueError(f"{value!r} is a moment, not a day (YYYY-MM-DD)")
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(value.strip())
    except (AttributeError, ValueError):
        raise ValueError(f"{value!r} is not a day (YYYY-MM-DD)") from None


def _sort_prefix(value: str | date) -> str:
    """The catalog form of a bound: ``YYYY-MM-DD`` for a day, ``YYYY-MM-DDThh:mm:ss.mmmZ`` for a
    moment (naive meaning UTC); every sort key at or within the bound starts with it.
    """
    if isinstance(value, str):
        text = value.strip()
        try:
            if len(text) == len("YYYY-MM-DD"):
                value = date.fromisoformat(text)
            else:
                value = datetime.fromisoformat(text)
        except ValueError:
            raise ValueError(f"{value!r} is not a day (YYYY-MM-DD) or an ISO 8601 moment") from None
    if isinstance(value, datetime):
        return iso_utc(value if value.tzinfo else value.replace(tzinfo=UTC))
    if isinstance(value, date):
        return value.isoformat()
    raise ValueError(f"{value!r} is not a day (YYYY-MM-DD) or an ISO 8601 moment")
