"""The catalog table's keys and indexes: one definition for the runtime, the tests and the construct.

See ``docs/catalog.md`` for the items. The construct (``cdk_recording``) declares the same table;
a construct test compares the synthesized table with :func:`create_table_arguments`.
"""

from __future__ import annotations

from typing import Any, Final

__all__ = [
    "DAY_INDEX",
    "INDEXES",
    "NUMBER_INDEX",
    "PENDING_INDEX",
    "PENDING_SHARDS",
    "create_table_arguments",
    "pending_shard",
]

#: Calls of a phone number in a time range: ``gsi1pk = NUM#<e164>``, ``gsi1sk = <startedAt>#<tx>``.
NUMBER_INDEX: Final = "byNumber"
#: A day's delivered recordings: ``gsi2pk = DAY#<day>``, ``gsi2sk = <legStart>#<tx>#<callId>``.
DAY_INDEX: Final = "byDay"
#: Recordings started and not yet delivered: ``gsi3pk = PENDING#<n>``, ``gsi3sk = <deadline>``.
PENDING_INDEX: Final = "byPending"
#: Partitions of the pending index (spreads writes; the sweep queries each).
PENDING_SHARDS: Final = 8

#: Index name -> (partition key attribute, sort key attribute). Every index projects ALL.
INDEXES: Final = {
    NUMBER_INDEX: ("gsi1pk", "gsi1sk"),
    DAY_INDEX: ("gsi2pk", "gsi2sk"),
    PENDING_INDEX: ("gsi3pk", "gsi3sk"),
}


def pending_shard(transaction_id: str) -> str:
    """``gsi3pk`` of a recording of ``transaction_id``: ``PENDING#<first hex digit mod 8>``."""
    head = transaction_id[:1].lower()
    digit = int(head, 16) if head and head in "0123456789abcdef" else 0
    return f"PENDING#{digit % PENDING_SHARDS}"


def create_table_arguments(table_name: str) -> dict[str, Any]:
    """Keyword arguments of DynamoDB ``CreateTable`` for the catalog (on-demand billing)."""
    attributes = ["pk", "sk", *(name for pair in INDEXES.values() for name in pair)]
    return {
        "TableName": table_name,
        "KeySchema": [
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        "AttributeDefinitions": [{"AttributeName": a, "AttributeType": "S"} for a in attributes],
        "GlobalSecondaryIndexes": [
            {
                "IndexName": index,
                "KeySchema": [
                    {"AttributeName": partition, "KeyType": "HASH"},
                    {"AttributeName": sort, "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
            for index, (partition, sort) in INDEXES.items()
        ],
        "BillingMode": "PAY_PER_REQUEST",
    }
