"""The read side (recording_processor.catalog) over a catalog the processor wrote."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from recording_processor import catalog
from recording_processor.handler import Runtime

from tests.processor.conftest import (
    CALL_ID,
    LEG_START,
    TRANSACTION_ID,
    Aws,
    key_for,
    metadata_for,
    run,
    s3_event,
    sqs_batch,
    stereo_wav,
)

OTHER_TX = "1e2d3c4b-5a69-4788-9a0b-1c2d3e4f5a6b"
OTHER_CALL = "2f3e4d5c-6b7a-4899-8a1b-2c3d4e5f6a7b"


def deliver(
    aws: Aws, runtime: Runtime, transaction_id: str, call_id: str, days: int, seconds: float
) -> None:
    start = LEG_START + timedelta(days=days)
    key = key_for(transaction_id, call_id, start)
    version = aws.put_recording(
        key, stereo_wav(seconds), metadata_for(seconds, transaction_id, call_id)
    )
    assert run(sqs_batch(s3_event(key, version)), runtime) == []


def test_day_index_name_is_a_constant() -> None:
    assert catalog.DAY_INDEX == "byDay"


def test_get_call_returns_the_call_and_its_recordings(aws: Aws, runtime: Runtime) -> None:
    deliver(aws, runtime, TRANSACTION_ID, CALL_ID, 0, 61)
    deliver(aws, runtime, TRANSACTION_ID, OTHER_CALL, 0, 30)
    deliver(aws, runtime, OTHER_TX, CALL_ID, 0, 5)

    call = catalog.get_call(aws.table, TRANSACTION_ID.upper())

    assert call.transaction_id == TRANSACTION_ID
    assert call.item is not None
    assert call.item["billedMinutes"] == 3
    assert sorted(r["callId"] for r in call.recordings) == sorted([CALL_ID, OTHER_CALL])


def test_get_call_of_an_unknown_transaction_is_empty(aws: Aws) -> None:
    call = catalog.get_call(aws.table, OTHER_TX)

    assert call.item is None
    assert call.recordings == ()


def test_list_day_returns_that_days_recordings_in_leg_start_order(
    aws: Aws, runtime: Runtime
) -> None:
    deliver(aws, runtime, OTHER_TX, OTHER_CALL, 0, 5)
    deliver(aws, runtime, TRANSACTION_ID, CALL_ID, 1, 5)

    first_day = list(catalog.list_day(aws.table, "2026-11-24"))
    second_day = list(catalog.list_day(aws.table, date(2026, 11, 25)))

    assert [r["transactionId"] for r in first_day] == [OTHER_TX]
    assert [r["transactionId"] for r in second_day] == [TRANSACTION_ID]
    assert list(catalog.list_day(aws.table, "2026-11-26")) == []


def test_list_day_follows_pagination(aws: Aws) -> None:
    with aws.table.batch_writer() as batch:
        for n in range(30):
            batch.put_item(
                Item={
                    "pk": f"TX#{n}",
                    "sk": "REC#x",
                    "status": "delivered",
                    "billedMinutes": 1,
                    "gsi2pk": "DAY#2026-11-24",
                    "gsi2sk": f"2026-11-24T00:00:{n:02d}.000Z#{n}#x",
                    "padding": "x" * 40_000,
                }
            )

    assert len(list(catalog.list_day(aws.table, "2026-11-24"))) == 30


def test_sum_billed_minutes_over_an_inclusive_range_of_days(aws: Aws, runtime: Runtime) -> None:
    deliver(aws, runtime, TRANSACTION_ID, CALL_ID, 0, 61)  # 2 minutes
    deliver(aws, runtime, OTHER_TX, OTHER_CALL, 2, 125)  # 3 minutes
    aws.table.put_item(
        Item={
            "pk": "TX#started",
            "sk": "REC#y",
            "status": "started",
            "billedMinutes": 100,
            "gsi2pk": "DAY#2026-11-25",
            "gsi2sk": "2026-11-25T00:00:00.000Z#started#y",
        }
    )

    assert catalog.sum_billed_minutes(aws.table, "2026-11-24", "2026-11-26") == 5
    assert catalog.sum_billed_minutes(aws.table, "2026-11-25", "2026-11-26") == 3
    assert catalog.sum_billed_minutes(aws.table, "2026-11-24", "2026-11-24") == 2


@pytest.mark.parametrize(
    ("since", "until", "problem"),
    [("2026-11-25", "2026-11-24", "after"), ("yesterday", "2026-11-24", "not a day")],
)
def test_sum_billed_minutes_rejects_bad_ranges(
    aws: Aws, since: str, until: str, problem: str
) -> None:
    with pytest.raises(ValueError, match=problem):
        catalog.sum_billed_minutes(aws.table, since, until)
