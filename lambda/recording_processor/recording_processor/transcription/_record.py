"""The catalog's ``TRANSCRIPT#<callId>`` item and the transcription events.

Item (partition ``TX#<transactionId>``, see docs/catalog.md): ``transactionId``, ``callId``,
``recordingKey``, ``status`` (``started`` -> ``completed`` | ``failed``), ``jobName``, ``jobType``,
``fallbackReason``, ``languageCode``, ``channelRoles`` (absent for mono), ``redaction`` (absent
without), ``transcriptKey`` (what is served by default: the redacted transcript when redaction is
on), ``unredactedTranscriptKey`` (only with ``redacted_and_unredacted``), ``redactedAudioKey``
(Call Analytics with redaction), ``startedAt``, ``completedAt``, ``failedAt``, ``failureReason``,
``eventSent``, with retention the outputs' ``retentionClass`` and ``retainUntil`` (``_retain``),
and ``taskToken`` and ``taskTokenAt`` while an execution waits for the job (written by
:mod:`~recording_processor.transcription._wake`, dropped when ``record`` or ``fail`` replace the
item).

Every write is conditional on the item not being ``completed``: a completed transcript is never
replaced by a later start or failure. ``Transcript Available`` is sent after the item is written
and ``eventSent`` set after it is sent, so a retried ``record`` finds a completed item without
``eventSent`` and sends the event then; one with ``eventSent`` changes nothing (and the planner
skips it). ``Transcription Failed`` is sent on every ``fail`` that wrote its item: delivery is at
least once, deduplicate on ``transactionId`` + ``callId`` + ``jobName``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import BotoCoreError, ClientError

from recording_processor._errors import Transient, error_code
from recording_processor._keys import iso_utc
from recording_processor._publish import (
    TRANSCRIPT_DETAIL_TYPE,
    TRANSCRIPTION_FAILED_DETAIL_TYPE,
    EventPublisher,
)
from recording_processor.transcription._plan import CALL_ANALYTICS, COMPLETED, transcript_key
from recording_processor.transcription._retain import is_redacted_output, output_keys

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

__all__ = [
    "ERASED",
    "FAILED",
    "STARTED",
    "TranscriptCatalog",
    "completed_attributes",
    "failure_reason",
    "plan_attributes",
]

STARTED: Final = "started"
FAILED: Final = "failed"
SCHEMA_VERSION: Final = 1
_MAX_REASON = 1000
#: The item may be written unless it is completed, or erased (``recordings erase`` left a
#: tombstone: a job that ends after the erasure never replaces it).
_NOT_COMPLETED: Final = "attribute_not_exists(pk) OR NOT (#status IN (:completed, :erased))"
ERASED: Final = "erased"
_SERIALIZER = TypeSerializer()
_DESERIALIZER = TypeDeserializer()


def _redaction_of(plan: Mapping[str, Any]) -> dict[str, Any] | None:
    request = plan.get("request") or {}
    found = (
        (request.get("Settings") or {}).get("ContentRedaction")
        if plan.get("jobType") == CALL_ANALYTICS
        else request.get("ContentRedaction")
    )
    if not isinstance(found, Mapping):
        return None
    return {
        "entityTypes": list(found.get("PiiEntityTypes") or []),
        "output": found["RedactionOutput"],
    }


def _requested_language(plan: Mapping[str, Any]) -> str | None:
    request = plan.get("request") or {}
    if isinstance(request.get("LanguageCode"), str):
        return str(request["LanguageCode"])
    options = (request.get("Settings") or {}).get("LanguageOptions") or []
    return str(options[0]) if len(options) == 1 else None


def plan_attributes(plan: Mapping[str, Any]) -> dict[str, Any]:
    """What every write of the item says about the job (None: leave out)."""
    return {
        "transactionId": plan["transactionId"],
        "callId": plan["callId"],
        "recordingKey": plan["key"],
        "jobName": plan["jobName"],
        "jobType": plan["jobType"],
        "fallbackReason": plan.get("fallbackReason"),
        "channelRoles": plan.get("channelRoles") or None,
        "redaction": _redaction_of(plan),
        "languageCode": _requested_language(plan),
        "schemaVersion": SCHEMA_VERSION,
    }


def completed_attributes(
    plan: Mapping[str, Any], status: Mapping[str, Any], now: datetime
) -> dict[str, Any]:
    """The completed item's attributes (None: leave out).

    :raises ValueError: the job is not completed; an output is outside the plan's bucket or the
        call's transcripts folder; or redaction was asked for and the job names no redacted
        transcript (serving the unredacted one instead is never an option).
    """
    if status.get("status") != "COMPLETED":
        raise ValueError(f"record: the job's status is {status.get('status')!r}, not 'COMPLETED'")
    # Whatever is served or kept must be in the plan's bucket and the call's transcripts folder
    # (where erasure and legal hold look), with or without retention.
    output_keys(plan, status)
    outputs = status.get("outputs") or {}
    attributes = plan_attributes(plan)
    redaction = attributes["redaction"]
    plain, redacted = outputs.get("transcriptKey"), outputs.get("redactedTranscriptKey")
    if redaction is None:
        served, unredacted = plain, None
    elif redaction["output"] == "redacted_and_unredacted":
        served, unredacted = redacted, plain
    else:
        # With "redacted" only, the job writes one transcript, the redacted one.
        served, unredacted = redacted or plain, None
    if not isinstance(served, str) or not served:
        raise ValueError(
            f"record: job {plan['jobName']} names no {'redacted ' if redaction else ''}transcript"
        )
    if redaction is not None and not is_redacted_output(served):
        raise ValueError(
            f"record: job {plan['jobName']} names {served!r} as its transcript; allowed with "
            "redaction: a redacted output (a file named redacted-* or in redacted-analytics/)"
        )
    if redaction is not None and unredacted is None and redaction["output"] != "redacted":
        raise ValueError(f"record: job {plan['jobName']} names no unredacted transcript")
    attributes.update(
        {
            "status": COMPLETED,
            "languageCode": status.get("languageCode") or attributes["languageCode"],
            "transcriptKey": served,
            "unredactedTranscriptKey": unredacted,
            "redactedAudioKey": outputs.get("redactedMediaKey") if redaction else None,
            "completedAt": iso_utc(now),
        }
    )
    return attributes


def failure_reason(error: object, status: object = None) -> str:
    """A short reason from a Step Functions error (``{"Error", "Cause"}``) or a failed job status.

    A Lambda task's ``Cause`` is a JSON document with ``errorMessage``; other causes are text.
    """
    if isinstance(status, Mapping) and isinstance(status.get("failureReason"), str):
        return str(status["failureReason"])[:_MAX_REASON]
    if not isinstance(error, Mapping):
        return "unknown"
    name = str(error.get("Error") or "Error")
    cause = error.get("Cause")
    message = cause if isinstance(cause, str) else ""
    try:
        parsed = json.loads(message) if message.startswith("{") else None
    except json.JSONDecodeError:
        parsed = None
    if isinstance(parsed, Mapping) and isinstance(parsed.get("errorMessage"), str):
        message = parsed["errorMessage"]
    return (f"{name}: {message}" if message else name)[:_MAX_REASON]


class TranscriptCatalog:
    """Conditional writes of the ``TRANSCRIPT#`` item and the events that announce them."""

    def __init__(
        self, client: DynamoDBClient, table: str, publisher: EventPublisher, partition: str
    ) -> None:
        self._client = client
        self.table = table
        self._publisher = publisher
        self._partition = partition

    def get(self, transaction_id: str, call_id: str) -> dict[str, Any] | None:
        """The item (strongly consistent), or None. :raises Transient: the read failed."""
        try:
            response = self._client.get_item(
                TableName=self.table,
                Key=_serialize(transcript_key(transaction_id, call_id)),
                ConsistentRead=True,
            )
        except (ClientError, BotoCoreError) as error:
            raise Transient("catalog-read", f"GetItem failed: {error_code(error)}") from error
        item = response.get("Item")
        return None if item is None else _deserialize(item)

    def started(self, plan: Mapping[str, Any], now: datetime) -> bool:
        """Mark the job started (``startedAt`` kept from an earlier attempt); False when the item
        is already completed.
        """
        values = {k: v for k, v in plan_attributes(plan).items() if v is not None}
        values["status"] = STARTED
        removed = ["completedAt", "failedAt", "failureReason", "eventSent", "eventSentAt"]
        names = {"#status": "status"}
        expression = []
        placeholders: dict[str, Any] = {
            ":completed": COMPLETED,
            ":erased": ERASED,
            ":now": iso_utc(now),
        }
        for index, (name, value) in enumerate(values.items()):
            names[f"#a{index}"] = name
            placeholders[f":a{index}"] = value
            expression.append(f"#a{index} = :a{index}")
        names["#startedAt"] = "startedAt"
        expression.append("#startedAt = if_not_exists(#startedAt, :now)")
        for index, name in enumerate(removed):
            names[f"#r{index}"] = name
        remove = ", ".join(f"#r{index}" for index in range(len(removed)))
        return self._write(
            "UpdateItem",
            lambda: self._client.update_item(
                TableName=self.table,
                Key=_serialize(transcript_key(plan["transactionId"], plan["callId"])),
                UpdateExpression=f"SET {', '.join(expression)} REMOVE {remove}",
                ConditionExpression=_NOT_COMPLETED,
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=_serialize(placeholders),
            ),
        )

    def record(
        self,
        plan: Mapping[str, Any],
        status: Mapping[str, Any],
        now: datetime,
        retention: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Write the completed item and send ``Transcript Available``; returns the item.

        ``retention``: the ``retentionClass`` and ``retainUntil`` the outputs were given
        (``_retain``), written with the item.

        :raises ValueError: the status is not a completed job with the transcripts asked for.
        :raises Transient: a read, the write or the event failed (retry: it is idempotent).
        """
        existing = self.get(plan["transactionId"], plan["callId"])
        if existing is not None and existing.get("status") == ERASED:
            # Erased while the job ran: the tombstone stays, nothing is announced.
            return existing
        if existing is None or existing.get("status") != COMPLETED:
            attributes = {**completed_attributes(plan, status, now), **(retention or {})}
            if existing is not None and existing.get("jobName") == plan["jobName"]:
                attributes["startedAt"] = existing.get("startedAt")
            item = {
                **transcript_key(plan["transactionId"], plan["callId"]),
                **{k: v for k, v in attributes.items() if v is not None},
            }
            if self._put(item):
                existing = item
            else:
                # Completed in between by a concurrent attempt: announce that one's item.
                existing = self.get(plan["transactionId"], plan["callId"])
                if existing is not None and existing.get("status") == ERASED:
                    return existing
                if existing is None or existing.get("status") != COMPLETED:
                    raise Transient("catalog-write", "the transcript item changed; try again")
        if existing.get("eventSent") is True:
            return existing
        self._publisher.publish(
            _available_detail(existing, plan["bucket"]),
            self._resources(plan),
            TRANSCRIPT_DETAIL_TYPE,
        )
        self._mark_sent(existing, now)
        return {**existing, "eventSent": True, "eventSentAt": iso_utc(now)}

    def fail(
        self,
        plan: Mapping[str, Any] | None,
        recording: tuple[str, str, str] | None,
        reason: str,
        now: datetime,
    ) -> dict[str, Any] | None:
        """Write the failed item (unless completed) and send ``Transcription Failed``.

        Without a plan (the planning itself failed) the ids come from ``recording``,
        ``(transactionId, callId, key)`` of the input's recording key; without either, only the
        event is sent, with null ids. Returns the item written, the completed item left as it
        was (then no event is sent), or None when there is no item to write.
        """
        ids = (plan["transactionId"], plan["callId"]) if plan else None
        if ids is None and recording is not None:
            ids = recording[:2]
        recording_key = plan["key"] if plan else recording[2] if recording else None
        item: dict[str, Any] | None = None
        if ids is not None:
            attributes: dict[str, Any] = dict(plan_attributes(plan)) if plan else {
                "transactionId": ids[0], "callId": ids[1], "recordingKey": recording_key,
                "schemaVersion": SCHEMA_VERSION,
            }  # fmt: skip
            existing = self.get(*ids)
            if existing is not None and existing.get("status") in (COMPLETED, ERASED):
                return existing
            if existing is not None and existing.get("startedAt"):
                attributes["startedAt"] = existing["startedAt"]
            attributes.update({"status": FAILED, "failedAt": iso_utc(now), "failureReason": reason})
            item = {
                **transcript_key(*ids),
                **{k: v for k, v in attributes.items() if v is not None},
            }
            if not self._put(item):
                return self.get(*ids)
        detail = {
            "schemaVersion": str(SCHEMA_VERSION),
            "transactionId": ids[0] if ids else None,
            "callId": ids[1] if ids else None,
            "jobName": plan.get("jobName") if plan else None,
            "reason": reason,
        }
        self._publisher.publish(detail, self._resources(plan), TRANSCRIPTION_FAILED_DETAIL_TYPE)
        return item

    def _resources(self, plan: Mapping[str, Any] | None) -> list[str]:
        if (
            not plan
            or not isinstance(plan.get("bucket"), str)
            or not isinstance(plan.get("key"), str)
        ):
            return []
        return [f"arn:{self._partition}:s3:::{plan['bucket']}/{plan['key']}"]

    def _put(self, item: Mapping[str, Any]) -> bool:
        return self._write(
            "PutItem",
            lambda: self._client.put_item(
                TableName=self.table,
                Item=_serialize(item),
                ConditionExpression=_NOT_COMPLETED,
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues=_serialize({":completed": COMPLETED, ":erased": ERASED}),
            ),
        )

    def _mark_sent(self, item: Mapping[str, Any], now: datetime) -> None:
        self._write(
            "UpdateItem",
            lambda: self._client.update_item(
                TableName=self.table,
                Key=_serialize({"pk": item["pk"], "sk": item["sk"]}),
                UpdateExpression="SET #sent = :true, #sentAt = :now",
                ConditionExpression="#jobName = :job",
                ExpressionAttributeNames={
                    "#sent": "eventSent",
                    "#sentAt": "eventSentAt",
                    "#jobName": "jobName",
                },
                ExpressionAttributeValues=_serialize(
                    {":true": True, ":now": iso_utc(now), ":job": item["jobName"]}
                ),
            ),
        )

    def _write(self, operation: str, call: Any) -> bool:
        try:
            call()
        except ClientError as error:
            if error_code(error) == "ConditionalCheckFailedException":
                return False
            raise Transient("catalog-write", f"{operation} failed: {error_code(error)}") from error
        except BotoCoreError as error:
            raise Transient("catalog-write", f"{operation} failed: {error_code(error)}") from error
        return True


def _available_detail(item: Mapping[str, Any], bucket: str) -> dict[str, Any]:
    return {
        "schemaVersion": str(SCHEMA_VERSION),
        "transactionId": item["transactionId"],
        "callId": item["callId"],
        "jobName": item["jobName"],
        "jobType": item["jobType"],
        "bucket": bucket,
        "transcriptKey": item["transcriptKey"],
        "redacted": "redaction" in item,
        "languageCode": item.get("languageCode"),
    }


def _serialize(item: Mapping[str, Any]) -> dict[str, Any]:
    return {name: _SERIALIZER.serialize(value) for name, value in item.items()}


def _deserialize(item: Mapping[str, Any]) -> dict[str, Any]:
    return {name: _DESERIALIZER.deserialize(value) for name, value in item.items()}
