"""Catalog items written exactly as ``docs/catalog.md`` describes them, for the read-side tests.

Four calls:

* ``TX_A`` (2026-12-03, inbound, ``CALLER`` -> ``AGENT``): LEG-A delivered (2 billed minutes), LEG-B
  missing, two numbers, four facts;
* ``TX_B`` (2026-12-04, outbound, ``AGENT`` -> ``CALLER``): LEG-A delivered (3 billed minutes);
* ``TX_C`` (2026-12-04, inbound, ``OTHER`` -> ``AGENT``): LEG-A still ``started`` (pending index);
* ``TX_D`` (2026-12-05, inbound, ``CALLER`` -> ``AGENT``): the call and its numbers, no recording
  (the recording failed to start).
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from recording_processor.schema import pending_shard

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

CALLER = "+12065550100"
AGENT = "+13125550199"
OTHER = "+442079460123"
SMA_ID = "a1b2c3d4-0000-4000-8000-000000000001"
BUCKET = "recordings-123456789012"

TX_A = "5b1a6c2e-8d4f-4a1b-9c3e-7f6a5b4c3d2e"
TX_B = "1e2d3c4b-5a69-4788-9a0b-1c2d3e4f5a6b"
TX_C = "9c8b7a69-5847-4362-8150-4f3e2d1c0b0a"
TX_D = "3f4e5d6c-7b8a-4990-8a1b-2c3d4e5f6071"
CALL_A1 = "0c9e8d7f-6a5b-4c3d-8e2f-1a0b9c8d7e6f"
CALL_A2 = "2f3e4d5c-6b7a-4899-8a1b-2c3d4e5f6a7b"
CALL_B1 = "4a5b6c7d-8e9f-4a0b-9c1d-2e3f4a5b6c7d"
CALL_C1 = "6c7d8e9f-0a1b-4c2d-8e3f-4a5b6c7d8e9f"
CALL_D1 = "7d8e9f0a-1b2c-4d3e-9f4a-5b6c7d8e9f0a"


def call_item(
    tx: str, direction: str, from_: str, to: str, started: str, ended: str, delivered: list[str]
) -> dict[str, Any]:
    item: dict[str, Any] = {
        "pk": f"TX#{tx}",
        "sk": "CALL",
        "transactionId": tx,
        "smaId": SMA_ID,
        "direction": direction,
        "fromNumber": from_,
        "toNumber": to,
        "startedAt": started,
        "endedAt": ended,
        "day": started[:10],
        "consent": {"playedAt": started, "legs": ["LEG-A"]},
        "schemaVersion": 1,
    }
    if delivered:
        item["firstStart"] = started
        item["recordings"] = set(delivered)
        item["billedMinutes"] = 0
    return item


def recording_item(
    tx: str,
    call_id: str,
    leg: str,
    status: str,
    call: dict[str, Any],
    started: str,
    *,
    seconds: str = "0",
    minutes: int = 0,
) -> dict[str, Any]:
    item: dict[str, Any] = {
        "pk": f"TX#{tx}",
        "sk": f"REC#{call_id}",
        "transactionId": tx,
        "callId": call_id,
        "leg": leg,
        "track": "BOTH",
        "direction": call["direction"],
        "fromNumber": call["fromNumber"],
        "toNumber": call["toNumber"],
        "smaId": SMA_ID,
        "status": status,
        "requestedAt": started,
        "startedAt": started,
        "pausedSeconds": Decimal(0),
        "destination": f"{BUCKET}/calls",
    }
    if status == "started":
        item["gsi3pk"] = pending_shard(tx)
        item["gsi3sk"] = "2026-12-04T23:59:00.000Z"
    if status == "missing":
        # As the missing sweep writes it: in the day index under the recording's start.
        item["stoppedAt"] = started
        item["gsi2pk"] = f"DAY#{started[:10]}"
        item["gsi2sk"] = f"{started}#{tx}#{call_id}"
    if status == "delivered":
        key = f"calls/{started[:10].replace('-', '/')}/{tx}_{call_id}.wav"
        item.update(
            {
                "stoppedAt": started,
                "bucket": BUCKET,
                "key": key,
                "versionId": "3HL4kqtJlcpXroDTDmjVBH40Nrjfkd",
                "s3Uri": f"s3://{BUCKET}/{key}",
                "sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
                "sizeBytes": 1_960_044,
                "durationSeconds": Decimal(seconds),
                "billedMinutes": minutes,
                "channels": 2,
                "sampleRate": 8000,
                "legStartTime": started,
                "deliveredAt": started,
                "integrity": "ok",
                "eventSent": True,
                "gsi2pk": f"DAY#{started[:10]}",
                "gsi2sk": f"{started}#{tx}#{call_id}",
            }
        )
    return item


def number_item(tx: str, number: str, role: str, leg: str, started: str) -> dict[str, Any]:
    return {
        "pk": f"TX#{tx}",
        "sk": f"NUM#{number}",
        "transactionId": tx,
        "number": number,
        "role": role,
        "leg": leg,
        "gsi1pk": f"NUM#{number}",
        "gsi1sk": f"{started}#{tx}",
    }


def fact_item(
    tx: str, at: str, sequence: int, n: int, kind: str, call_id: str, detail: dict[str, Any]
) -> dict[str, Any]:
    return {
        "pk": f"TX#{tx}",
        "sk": f"FACT#{sequence:06d}#{n:02d}",
        "transactionId": tx,
        "kind": kind,
        "at": at,
        "sequence": sequence,
        "callId": call_id,
        "leg": "LEG-A",
        "detail": detail,
    }


def one_call(
    tx: str, direction: str, from_: str, to: str, started: str, recordings: list[tuple[Any, ...]]
) -> list[dict[str, Any]]:
    """A call's CALL and NUM# items, and a REC# item per ``(call_id, leg, status, seconds,
    minutes)``."""
    delivered = [r[0] for r in recordings if r[2] == "delivered"]
    call = call_item(tx, direction, from_, to, started, started, delivered)
    items = [call]
    for call_id, leg, status, seconds, minutes in recordings:
        items.append(
            recording_item(
                tx, call_id, leg, status, call, started, seconds=seconds, minutes=minutes
            )
        )
        if status == "delivered":
            call["billedMinutes"] += minutes
    items.append(number_item(tx, from_, "from", "LEG-A", started))
    items.append(number_item(tx, to, "to", "LEG-A", started))
    return items


STARTED_A = "2026-12-03T20:27:09.123Z"
STARTED_B = "2026-12-04T09:00:00.500Z"
STARTED_C = "2026-12-04T10:15:00.000Z"
STARTED_D = "2026-12-05T08:00:00.000Z"

#: TX_A's facts in time order (the order ``show`` must print them in).
FACTS_A = [
    ("2026-12-03T20:27:09.123Z", 1, 0, "call-started", {}),
    ("2026-12-03T20:27:10.000Z", 2, 0, "consent-played", {"legs": ["LEG-A"]}),
    ("2026-12-03T20:27:10.000Z", 2, 1, "leg-joined", {"from": CALLER, "to": AGENT}),
    ("2026-12-03T20:27:11.500Z", 3, 0, "recording-started", {"track": "BOTH"}),
]


def catalog_items() -> list[dict[str, Any]]:
    items = [
        *one_call(
            TX_A,
            "inbound",
            CALLER,
            AGENT,
            STARTED_A,
            [(CALL_A1, "LEG-A", "delivered", "61.25", 2), (CALL_A2, "LEG-B", "missing", "0", 0)],
        ),
        *one_call(
            TX_B, "outbound", AGENT, CALLER, STARTED_B, [(CALL_B1, "LEG-A", "delivered", "150", 3)]
        ),
        *one_call(TX_C, "inbound", OTHER, AGENT, STARTED_C, [(CALL_C1, "LEG-A", "started", 0, 0)]),
        *one_call(TX_D, "inbound", CALLER, AGENT, STARTED_D, []),
    ]
    # Written newest first, so order in the output comes from the keys, not from the writes.
    for at, sequence, n, kind, detail in reversed(FACTS_A):
        items.append(fact_item(TX_A, at, sequence, n, kind, CALL_A1, detail))
    return items


def seed(table: Table) -> None:
    with table.batch_writer() as batch:
        for item in catalog_items():
            batch.put_item(Item=item)


def seed_many_delivered(table: Table, day: str, count: int, padding: int = 40_000) -> None:
    """``count`` delivered recordings of ``day`` (one billed minute each), padded so that the
    day-index Query needs more than one page (DynamoDB pages at 1 MB).
    """
    with table.batch_writer() as batch:
        for n in range(count):
            tx = f"{n:08x}-0000-4000-8000-000000000000"
            call = call_item(tx, "inbound", CALLER, AGENT, f"{day}T00:00:00.000Z", "", [])
            item = recording_item(
                tx, CALL_A1, "LEG-A", "delivered", call, f"{day}T00:{n // 60:02d}:{n % 60:02d}.000Z"
            )
            item["billedMinutes"] = 1
            item["padding"] = "x" * padding
            batch.put_item(Item=item)
