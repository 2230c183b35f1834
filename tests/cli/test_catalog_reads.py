"""The catalog read side (recording_processor.catalog) over items seeded as docs/catalog.md says."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from moto import mock_aws
from recording_processor import catalog, schema

from tests.cli.catalog_seed import (
    AGENT,
    CALL_A1,
    CALL_A2,
    CALL_B1,
    CALLER,
    FACTS_A,
    OTHER,
    STARTED_A,
    STARTED_B,
    TX_A,
    TX_B,
    TX_C,
    TX_D,
    seed,
    seed_many_delivered,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

TABLE = "recording-catalog"


@pytest.fixture
def table(aws_credentials: None) -> Iterator[Table]:
    with mock_aws():
        dynamodb = boto3.session.Session().resource("dynamodb", region_name="us-east-1")
        dynamodb.create_table(**schema.create_table_arguments(TABLE))
        catalog_table = dynamodb.Table(TABLE)
        seed(catalog_table)
        yield catalog_table


class CountingTable:
    """Passes Queries through to the table, counting them (one per page)."""

    def __init__(self, table: Table) -> None:
        self.table = table
        self.queries: list[dict[str, Any]] = []

    def query(self, **query: Any) -> Any:
        self.queries.append(dict(query))
        return self.table.query(**query)


def test_get_call_returns_call_numbers_recordings_and_facts_in_order(table: Table) -> None:
    call = catalog.get_call(table, TX_A.upper())

    assert call.found
    assert call.item is not None
    assert call.item["billedMinutes"] == 2
    assert sorted(r["callId"] for r in call.recordings) == sorted([CALL_A1, CALL_A2])
    assert sorted((n["number"], n["role"]) for n in call.numbers) == [
        (CALLER, "from"),
        (AGENT, "to"),
    ]
    assert [(f["kind"], f["sequence"]) for f in call.facts] == [(k, s) for _, s, _, k, _ in FACTS_A]


def test_get_call_of_a_call_without_recordings_has_its_numbers(table: Table) -> None:
    call = catalog.get_call(table, TX_D)

    assert call.found
    assert call.recordings == ()
    assert len(call.numbers) == 2


def test_get_call_of_an_unknown_transaction_finds_nothing(table: Table) -> None:
    call = catalog.get_call(table, "00000000-0000-4000-8000-000000000000")

    assert not call.found
    assert (call.item, call.recordings, call.numbers, call.facts) == (None, (), (), ())


def test_list_number_returns_the_numbers_calls_by_start(table: Table) -> None:
    assert [n["transactionId"] for n in catalog.list_number(table, CALLER)] == [TX_A, TX_B, TX_D]
    assert [n["transactionId"] for n in catalog.list_number(table, OTHER)] == [TX_C]
    assert [n["role"] for n in catalog.list_number(table, CALLER)] == ["from", "to", "from"]


@pytest.mark.parametrize(
    ("since", "until", "expected"),
    [
        ("2026-12-04", "2026-12-04", [TX_B]),
        (date(2026, 12, 3), date(2026, 12, 4), [TX_A, TX_B]),
        ("2026-12-04", None, [TX_B, TX_D]),
        (None, "2026-12-03", [TX_A]),
        # A moment bound is inclusive to the millisecond.
        (STARTED_B, STARTED_B, [TX_B]),
        (datetime(2026, 12, 4, 9, 0, 0, 501000, tzinfo=UTC), None, [TX_D]),
        # Naive means UTC; another offset is converted.
        (datetime(2026, 12, 3, 20, 27, 9, 123000), "2026-12-03", [TX_A]),
        (
            datetime(2026, 12, 4, 10, 0, 0, 500000, tzinfo=timezone(timedelta(hours=1))),
            None,
            [TX_B, TX_D],
        ),
        ("2026-12-06", None, []),
    ],
    ids=[
        "one-day",
        "dates",
        "since-only",
        "until-only",
        "exact-moment",
        "after-moment",
        "naive",
        "offset",
        "empty",
    ],
)
def test_list_number_ranges_on_the_start_time(
    table: Table, since: Any, until: Any, expected: list[str]
) -> None:
    found = [n["transactionId"] for n in catalog.list_number(table, CALLER, since, until)]
    assert found == expected


@pytest.mark.parametrize(
    ("number", "since", "until", "problem"),
    [
        ("12065550100", None, None, "not an E.164"),
        ("+0123", None, None, "not an E.164"),
        (CALLER, "2026-12-05", "2026-12-04", "after"),
        (CALLER, "yesterday", None, "not a day"),
    ],
)
def test_list_number_rejects_bad_arguments(
    table: Table, number: str, since: Any, until: Any, problem: str
) -> None:
    with pytest.raises(ValueError, match=problem):
        list(catalog.list_number(table, number, since, until))


def test_list_number_follows_pagination(table: Table) -> None:
    with table.batch_writer() as batch:
        for n in range(30):
            tx = f"{n:08x}-1111-4000-8000-000000000000"
            batch.put_item(
                Item={
                    "pk": f"TX#{tx}",
                    "sk": f"NUM#{OTHER}",
                    "transactionId": tx,
                    "number": OTHER,
                    "role": "from",
                    "leg": "LEG-A",
                    "gsi1pk": f"NUM#{OTHER}",
                    "gsi1sk": f"2026-11-01T00:00:{n:02d}.000Z#{tx}",
                    "padding": "x" * 40_000,
                }
            )
    counting = CountingTable(table)

    found = list(catalog.list_number(counting, OTHER))  # type: ignore[arg-type]

    assert len(found) == 31
    assert len(counting.queries) > 1
    assert all(q["IndexName"] == schema.NUMBER_INDEX for q in counting.queries)


def test_list_days_returns_delivered_and_missing_recordings_by_start(table: Table) -> None:
    found = list(catalog.list_days(table, "2026-12-01", date(2026, 12, 31)))

    assert [(r["transactionId"], r["callId"], r["status"]) for r in found] == [
        (TX_A, CALL_A1, "delivered"),
        (TX_A, CALL_A2, "missing"),
        (TX_B, CALL_B1, "delivered"),
    ]
    assert found[0]["legStartTime"] == STARTED_A
    assert list(catalog.list_days(table, "2026-12-05", "2026-12-05")) == []


def test_list_days_rejects_a_reversed_range(table: Table) -> None:
    with pytest.raises(ValueError, match="after"):
        list(catalog.list_days(table, "2026-12-04", "2026-12-03"))


def test_list_days_follows_pagination_one_query_per_page(table: Table) -> None:
    seed_many_delivered(table, "2026-11-02", 30)
    counting = CountingTable(table)

    found = list(catalog.list_days(counting, "2026-11-01", "2026-11-03"))  # type: ignore[arg-type]

    assert len(found) == 30
    days = [q["KeyConditionExpression"].get_expression()["values"][1] for q in counting.queries]
    assert days.count("DAY#2026-11-02") > 1
    assert {"DAY#2026-11-01", "DAY#2026-11-03"} <= set(days)


def test_billed_minutes_by_day_counts_delivered_recordings_only(table: Table) -> None:
    table.put_item(
        Item={
            "pk": f"TX#{TX_C}",
            "sk": "REC#odd",
            "status": "started",
            "billedMinutes": 100,
            "gsi2pk": "DAY#2026-12-04",
            "gsi2sk": f"2026-12-04T00:00:00.000Z#{TX_C}#odd",
        }
    )

    by_day = catalog.billed_minutes_by_day(table, "2026-12-01", "2026-12-31")

    assert by_day == {date(2026, 12, 3): (1, 2), date(2026, 12, 4): (1, 3)}
    assert catalog.sum_billed_minutes(table, "2026-12-01", "2026-12-31") == 5
    assert catalog.sum_billed_minutes(table, "2026-12-04", "2026-12-04") == 3
