"""The catalog table as the processor writes it: consistent reads and one transaction per write.

A :class:`~recording_processor._record.CatalogWrite` becomes a TransactWriteItems of two updates
(recording item, call item), each conditioned on the attributes the decision was read from. When a
condition fails, someone else changed the items in between (a racing duplicate, a newer version, a
``started`` item just written): :meth:`CatalogStore.commit` says so and the caller reads again and
decides again, instead of overwriting.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import BotoCoreError, ClientError

from recording_processor import schema
from recording_processor._errors import Transient, error_code
from recording_processor._record import ABSENT, Update

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

__all__ = ["CatalogStore"]

_SERIALIZER = TypeSerializer()
_DESERIALIZER = TypeDeserializer()
# A cancelled transaction for these reasons means "the items changed or are busy": read again.
_RACE_CODES = frozenset({"ConditionalCheckFailed", "TransactionConflict"})


class CatalogStore:
    """Reads and conditional writes of one catalog table."""

    def __init__(self, client: DynamoDBClient, table: str) -> None:
        self._client = client
        self.table = table

    def get(self, key: Mapping[str, str]) -> dict[str, Any] | None:
        """The item at ``key`` (strongly consistent), or None.

        :raises Transient: the read failed.
        """
        try:
            response = self._client.get_item(
                TableName=self.table, Key=_serialize(key), ConsistentRead=True
            )
        except (ClientError, BotoCoreError) as error:
            raise Transient("catalog-read", f"GetItem failed: {error_code(error)}") from error
        item = response.get("Item")
        return None if item is None else _deserialize(item)

    def commit(self, *updates: Update) -> bool:
        """Apply ``updates`` atomically; False when a condition no longer held (read again).

        :raises Transient: any other failure.
        """
        items: list[Any] = [{"Update": self._update_params(update)} for update in updates]
        try:
            self._client.transact_write_items(TransactItems=items)
        except ClientError as error:
            if error_code(error) == "TransactionCanceledException" and _raced(error):
                return False
            raise _write_failed("TransactWriteItems", error) from error
        except BotoCoreError as error:
            raise _write_failed("TransactWriteItems", error) from error
        return True

    def update(self, update: Update) -> bool:
        """Apply one update; False when its condition no longer held.

        :raises Transient: any other failure.
        """
        try:
            self._client.update_item(**self._update_params(update))
        except ClientError as error:
            if error_code(error) == "ConditionalCheckFailedException":
                return False
            raise _write_failed("UpdateItem", error) from error
        except BotoCoreError as error:
            raise _write_failed("UpdateItem", error) from error
        return True

    def put_new(self, item: Mapping[str, Any]) -> bool:
        """Write ``item`` unless an item with its key exists; False when one did.

        :raises Transient: any other failure.
        """
        try:
            self._client.put_item(
                TableName=self.table,
                Item=_serialize(item),
                ConditionExpression="attribute_not_exists(pk)",
            )
        except ClientError as error:
            if error_code(error) == "ConditionalCheckFailedException":
                return False
            raise _write_failed("PutItem", error) from error
        except BotoCoreError as error:
            raise _write_failed("PutItem", error) from error
        return True

    def items_of(self, partition: str, sort_prefix: str) -> list[dict[str, Any]]:
        """Every item of ``partition`` whose sort key starts with ``sort_prefix`` (consistent).

        For the few items of one call; paginated, unbounded.

        :raises Transient: the query failed.
        """
        params: dict[str, Any] = {
            "TableName": self.table,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :prefix)",
            "ExpressionAttributeValues": _serialize({":pk": partition, ":prefix": sort_prefix}),
            "ConsistentRead": True,
        }
        items: list[dict[str, Any]] = []
        while True:
            page = self._query(params)
            items.extend(_deserialize(item) for item in page.get("Items", []))
            last = page.get("LastEvaluatedKey")
            if not last:
                return items
            params["ExclusiveStartKey"] = last

    def overdue(
        self,
        partition: str,
        before: str,
        limit: int,
        start: Mapping[str, Any] | None = None,
        *,
        count_only: bool = False,
    ) -> tuple[list[dict[str, Any]], int, dict[str, Any] | None]:
        """One page of the pending index: items of ``partition`` with ``gsi3sk <= before``.

        Returns the items (none when ``count_only``), how many matched, and where to go on from
        (None at the end). Index reads are eventually consistent: callers condition their writes.

        :raises Transient: the query failed.
        """
        params: dict[str, Any] = {
            "TableName": self.table,
            "IndexName": schema.PENDING_INDEX,
            "KeyConditionExpression": "gsi3pk = :shard AND gsi3sk <= :before",
            "ExpressionAttributeValues": _serialize({":shard": partition, ":before": before}),
            "Limit": limit,
        }
        if count_only:
            params["Select"] = "COUNT"
        if start:
            params["ExclusiveStartKey"] = dict(start)
        page = self._query(params)
        items = [_deserialize(item) for item in page.get("Items", [])]
        return items, int(page.get("Count", len(items))), page.get("LastEvaluatedKey") or None

    def _query(self, params: Mapping[str, Any]) -> Any:
        try:
            return self._client.query(**params)
        except (ClientError, BotoCoreError) as error:
            raise Transient("catalog-read", f"Query failed: {error_code(error)}") from error

    def _update_params(self, update: Update) -> dict[str, Any]:
        names: dict[str, str] = {}
        values: dict[str, Any] = {}

        def name(attribute: str) -> str:
            placeholder = f"#n{len(names)}"
            names[placeholder] = attribute
            return placeholder

        def value(content: object) -> str:
            placeholder = f":v{len(values)}"
            values[placeholder] = _SERIALIZER.serialize(content)
            return placeholder

        clauses = []
        if update.set:
            clauses.append(
                "SET " + ", ".join(f"{name(a)} = {value(v)}" for a, v in update.set.items())
            )
        if update.remove:
            clauses.append("REMOVE " + ", ".join(name(a) for a in update.remove))
        if update.add:
            clauses.append(
                "ADD " + ", ".join(f"{name(a)} {value(v)}" for a, v in update.add.items())
            )
        params: dict[str, Any] = {
            "TableName": self.table,
            "Key": _serialize(update.key),
            "UpdateExpression": " ".join(clauses),
        }
        if update.expect:
            params["ConditionExpression"] = " AND ".join(
                f"attribute_not_exists({name(a)})" if v is ABSENT else f"{name(a)} = {value(v)}"
                for a, v in update.expect.items()
            )
        params["ExpressionAttributeNames"] = names
        if values:
            params["ExpressionAttributeValues"] = values
        return params


def _write_failed(operation: str, error: ClientError | BotoCoreError) -> Transient:
    return Transient("catalog-write", f"{operation} failed: {error_code(error)}")


def _raced(error: ClientError) -> bool:
    reasons = error.response.get("CancellationReasons") or []
    codes = {str(reason.get("Code")) for reason in reasons} - {"None"}
    # Without reasons (older SDKs put them only in the message) assume a race: the caller reads
    # again, and a persistent failure still ends as Transient after its bounded retries.
    return not codes or codes <= _RACE_CODES


def _serialize(item: Mapping[str, Any]) -> dict[str, Any]:
    return {name: _SERIALIZER.serialize(value) for name, value in item.items()}


def _deserialize(item: Mapping[str, Any]) -> dict[str, Any]:
    return {name: _DESERIALIZER.deserialize(value) for name, value in item.items()}
