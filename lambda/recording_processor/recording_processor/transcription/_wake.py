"""Waking a waiting execution when Transcribe says its job finished.

The per-recording state machine waits for a job in rounds: its ``AwaitJobEvent`` step hands the
function a Step Functions task token (``action: "await"``), which is stored on the recording's
``TRANSCRIPT#<callId>`` item (attribute ``taskToken``, with ``taskTokenAt``), only while that item
is ``started`` for the same job. Transcribe's state change event for the job (``action:
"job-event"``) is mapped back to the item, and ``SendTaskSuccess`` returns the token with
``{"status", "source"}``; the machine then reads the job's status as it does after a timeout.

Transcribe's events are best effort (post-call.md §2.5), so nothing depends on them: an event
that never comes costs one round's timeout. Two event shapes exist, with different field names:

* ``Transcribe Job State Change``: ``detail.TranscriptionJobName``, ``TranscriptionJobStatus``;
* ``Call Analytics Job State Change``: ``detail.JobName``, ``JobStatus``.

**Job name to recording.** A job name is the recording's file name (unsafe characters as ``-``)
and ``_`` with 16 hex digits (``_plan.job_name``), and a recording's file name starts with the
leg's date: the key is rebuilt under the configured folder and parsed with ``_keys``, which
yields the transaction and call ids. The item's ``jobName`` must equal the event's, so a job of
someone else (another application, another stack's recordings) that happens to parse is still
ignored; one that does not parse is ignored without a catalog read.

**Stale tokens.** A token whose task already ended (the round timed out, the execution moved on
or stopped) is answered ``TaskTimedOut``, ``InvalidToken`` or ``TaskDoesNotExist``: ignored.
The token is a capability to resume one waiting step, not a secret that opens anything else;
it is still never printed by the command line.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from boto3.dynamodb.types import TypeSerializer
from botocore.exceptions import BotoCoreError, ClientError

from recording_processor._errors import Transient, error_code
from recording_processor._keys import KeyFormatError, iso_utc, parse_recording_key, recording_folder
from recording_processor.transcription._plan import CALL_ANALYTICS, STANDARD, transcript_key
from recording_processor.transcription._record import STARTED

__all__ = [
    "FINISHED",
    "JOB_EVENT_TYPES",
    "STALE_TOKEN_CODES",
    "JobEvent",
    "TaskTokens",
    "job_ids",
    "read_job_event",
    "valid_token",
]

#: Job statuses that end the wait.
FINISHED: Final = ("COMPLETED", "FAILED")
#: ``detail-type`` -> (name field, status field, job type).
JOB_EVENT_TYPES: Final = {
    "Transcribe Job State Change": ("TranscriptionJobName", "TranscriptionJobStatus", STANDARD),
    "Call Analytics Job State Change": ("JobName", "JobStatus", CALL_ANALYTICS),
}
#: SendTaskSuccess's answers for a task that is no longer waiting.
STALE_TOKEN_CODES: Final = frozenset({"TaskTimedOut", "InvalidToken", "TaskDoesNotExist"})
#: Errors of SendTaskSuccess worth the event's redelivery (Lambda retries an async invocation).
_RETRYABLE_CODES: Final = frozenset(
    {"ThrottlingException", "ServiceUnavailable", "InternalServerError", "KmsThrottlingException"}
)
_JOB_NAME: Final = re.compile(r"(?P<stem>[0-9a-zA-Z._-]+)_[0-9a-f]{16}")
_MAX_TOKEN = 2048
_SERIALIZER = TypeSerializer()


@dataclass(frozen=True)
class JobEvent:
    """A Transcribe job's state change: its name, type and (finished) status."""

    job_name: str
    job_type: str
    status: str
    failure_reason: str | None = None


def read_job_event(event: Mapping[str, Any]) -> JobEvent | None:
    """The job state change in ``event``, or None when it is none of ours to act on.

    Reads the rule's input (``{"action": "job-event", "detailType", "detail"}``) and the raw
    EventBridge event (``detail-type``, ``detail``) alike. Only COMPLETED and FAILED count.
    """
    detail_type = event.get("detailType") or event.get("detail-type")
    detail = event.get("detail")
    if detail_type not in JOB_EVENT_TYPES or not isinstance(detail, Mapping):
        return None
    name_field, status_field, job_type = JOB_EVENT_TYPES[str(detail_type)]
    name, status = detail.get(name_field), detail.get(status_field)
    if not isinstance(name, str) or not name or status not in FINISHED:
        return None
    reason = detail.get("FailureReason")
    return JobEvent(name, job_type, str(status), reason if isinstance(reason, str) else None)


def job_ids(job_name: str, recording_prefix: str) -> tuple[str, str] | None:
    """``(transactionId, callId)`` of the recording a job of ours was named after, else None."""
    match = _JOB_NAME.fullmatch(job_name)
    if match is None:
        return None
    stem = match.group("stem")
    # The file name starts with the leg's date, YYYY?MM?DD: the date folder is in it.
    folder = f"{recording_folder(recording_prefix)}/{stem[0:4]}/{stem[5:7]}/{stem[8:10]}"
    try:
        parsed = parse_recording_key(f"{folder}/{stem}.wav", recording_prefix)
    except KeyFormatError:
        return None
    return parsed.transaction_id, parsed.call_id


def valid_token(token: object) -> str:
    """``token`` when it can be a task token. :raises ValueError: it cannot."""
    if not isinstance(token, str) or not 1 <= len(token) <= _MAX_TOKEN:
        raise ValueError(f"'taskToken' must be a string of 1 to {_MAX_TOKEN} characters")
    return token


class TaskTokens:
    """The ``taskToken`` of a ``TRANSCRIPT#`` item, and ``SendTaskSuccess`` with it."""

    def __init__(self, dynamodb: Any, table: str, stepfunctions: Any) -> None:
        self._dynamodb = dynamodb
        self.table = table
        self._stepfunctions = stepfunctions

    def store(self, plan: Mapping[str, Any], token: str, now: datetime) -> bool:
        """Store ``token`` on the plan's item; False when the item is not ``started`` for the
        plan's job (recorded or failed meanwhile, or a later plan's job).

        :raises Transient: the write failed.
        """
        try:
            self._dynamodb.update_item(
                TableName=self.table,
                Key=_serialize(transcript_key(plan["transactionId"], plan["callId"])),
                UpdateExpression="SET #token = :token, #tokenAt = :now",
                ConditionExpression="#jobName = :job AND #status = :started",
                ExpressionAttributeNames={
                    "#token": "taskToken",
                    "#tokenAt": "taskTokenAt",
                    "#jobName": "jobName",
                    "#status": "status",
                },
                ExpressionAttributeValues=_serialize(
                    {
                        ":token": token,
                        ":now": iso_utc(now),
                        ":job": plan["jobName"],
                        ":started": STARTED,
                    }
                ),
            )
        except ClientError as error:
            if error_code(error) == "ConditionalCheckFailedException":
                return False
            raise Transient("catalog-write", f"UpdateItem failed: {error_code(error)}") from error
        except BotoCoreError as error:
            raise Transient("catalog-write", f"UpdateItem failed: {error_code(error)}") from error
        return True

    def waiting(self, transaction_id: str, call_id: str, job_name: str) -> str | None:
        """The token stored for ``job_name`` on the item, or None (no item, another job's item,
        no execution waiting).

        :raises Transient: the read failed.
        """
        try:
            response = self._dynamodb.get_item(
                TableName=self.table,
                Key=_serialize(transcript_key(transaction_id, call_id)),
                ConsistentRead=True,
                ProjectionExpression="#jobName, #token",
                ExpressionAttributeNames={"#jobName": "jobName", "#token": "taskToken"},
            )
        except (ClientError, BotoCoreError) as error:
            raise Transient("catalog-read", f"GetItem failed: {error_code(error)}") from error
        item = response.get("Item") or {}
        if item.get("jobName", {}).get("S") != job_name:
            return None
        token = item.get("taskToken", {}).get("S")
        return token if isinstance(token, str) and token else None

    def send(self, token: str, status: str, source: str) -> bool:
        """Return ``token`` to its waiting step with ``{"status", "source"}``; False when the step
        is no longer waiting.

        :raises Transient: Step Functions throttled or failed (the event is delivered again).
        :raises ClientError: any other refusal (a missing permission): it is ours, let it show.
        """
        try:
            self._stepfunctions.send_task_success(
                taskToken=token,
                output=json.dumps({"status": status, "source": source}, separators=(",", ":")),
            )
        except ClientError as error:
            code = error_code(error)
            if code in STALE_TOKEN_CODES:
                return False
            if code in _RETRYABLE_CODES:
                raise Transient("task-token", f"SendTaskSuccess failed: {code}") from error
            raise
        except BotoCoreError as error:
            raise Transient("task-token", f"SendTaskSuccess failed: {error_code(error)}") from error
        return True


def _serialize(item: Mapping[str, Any]) -> dict[str, Any]:
    return {name: _SERIALIZER.serialize(value) for name, value in item.items()}
