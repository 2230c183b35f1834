"""The catalog's audit trail of records management and access: one ``AUDIT#`` item per action.

Every operator action on a call's recordings (legal hold and release, erasure, download, a presigned
URL, verification, a playback page's waveforms, a printed transcript) is recorded in the call's partition of the catalog (``docs/catalog.md``), beside
CloudTrail where the construct turns S3 data events on:

* ``pk = TX#<transactionId>``, ``sk = AUDIT#<at>#<8 hex>`` (``at`` first, so the partition lists
  the actions in time order; the random suffix keeps two actions in the same millisecond apart);
* ``transactionId``, ``action``, ``at`` (ISO 8601 UTC with milliseconds), ``by`` (the caller's ARN,
  from STS ``GetCallerIdentity``), ``reason`` (when one was given), ``detail`` (a map) and, for an
  action that changes S3, ``phase``: ``intent`` (written before the first change), then ``done`` or
  ``failed`` (after; its ``detail.intent`` is the sort key of the intent entry).

Each item is written with a condition that it is new, so the command never overwrites an entry;
who may delete items is a matter of IAM (no grant of this library gives ``DeleteItem`` except the
erase grant, for the call's ``NUM#`` items).
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final

from botocore.exceptions import BotoCoreError, ClientError

from cdk_recording._command import CommandError
from cdk_recording._records import iso_now

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

__all__ = [
    "ACTIONS",
    "AUDIT_PREFIX",
    "PHASES",
    "AuditEntry",
    "access_caller",
    "audit_entries",
    "caller_arn",
    "record",
    "record_access",
]

#: Sort key prefix of the audit items.
AUDIT_PREFIX: Final = "AUDIT#"
#: The actions the trail records.
ACTIONS: Final = frozenset(
    {"hold", "release", "erase", "download", "presign", "verify", "playback", "transcript"}
)
#: The phases of an action that changes S3: before the first change, then its outcome.
PHASES: Final = ("intent", "done", "failed")
_MAX_REASON = 1024


@dataclass(frozen=True)
class AuditEntry:
    """One recorded action, as read back from the catalog."""

    transaction_id: str
    action: str
    at: str
    by: str
    reason: str | None
    detail: Mapping[str, Any]
    #: ``intent``, ``done`` or ``failed`` for hold, release and erase; ``None`` for the others.
    phase: str | None = None
    #: The item's sort key (``AUDIT#<at>#<8 hex>``), how a ``done`` entry names its intent.
    key: str = ""


def caller_arn(sts: Any) -> str:
    """The ARN of the identity making the requests (``sts`` is a boto3 STS client)."""
    return str(sts.get_caller_identity()["Arn"])


def access_caller(sts: Any, nothing: str) -> str:
    """The caller's ARN for the entry of a read about to happen.

    :param nothing: what was not handed over when STS cannot say (``"no file was downloaded"``).
    :raises CommandError: ``GetCallerIdentity`` was refused.
    """
    try:
        return caller_arn(sts)
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "error")
        raise CommandError(
            f"could not identify the caller with STS GetCallerIdentity ({code}: {error}); "
            f"{nothing}: the audit entry needs the caller's ARN"
        ) from error


def record_access(
    table: Table,
    transaction_id: str,
    action: str,
    by: str,
    *,
    detail: Mapping[str, Any],
    nothing: str,
    now: datetime | None = None,
) -> AuditEntry:
    """Write the entry of a read of call content about to happen (:func:`record`); nothing may
    be read when it cannot be written.

    :param nothing: what is not handed over when the write fails (``"no transcript was read"``).
    :raises CommandError: the write failed (exit 1), naming what the caller needs.
    """
    try:
        return record(table, transaction_id, action, by, detail=detail, now=now)
    except (ClientError, BotoCoreError) as error:
        said = (
            error.response.get("Error", {}).get("Code", "error")
            if isinstance(error, ClientError)
            else type(error).__name__
        )
        raise CommandError(
            f"could not write the audit entry to the catalog ({said}: {error}); {nothing}: "
            "the caller needs dynamodb:PutItem on the catalog table"
        ) from error


def record(
    table: Table,
    transaction_id: str,
    action: str,
    by: str,
    *,
    reason: str | None = None,
    detail: Mapping[str, Any] | None = None,
    now: datetime | None = None,
    phase: str | None = None,
) -> AuditEntry:
    """Write one audit item for ``action`` on the call ``transaction_id`` and return it.

    :raises ValueError: an unknown action or phase, an empty ``by``, or a reason longer than 1,024
        characters.
    """
    if action not in ACTIONS:
        raise ValueError(f"audit action {action!r} is not one of {', '.join(sorted(ACTIONS))}")
    if phase is not None and phase not in PHASES:
        raise ValueError(f"audit phase {phase!r} is not one of {', '.join(PHASES)}")
    if not by:
        raise ValueError("audit entry needs the caller's identity (by)")
    if reason is not None and len(reason) > _MAX_REASON:
        raise ValueError(f"reason is {len(reason)} characters long; at most {_MAX_REASON}")
    transaction_id = transaction_id.lower()
    at = iso_now(now)
    item: dict[str, Any] = {
        "pk": f"TX#{transaction_id}",
        "sk": f"{AUDIT_PREFIX}{at}#{secrets.token_hex(4)}",
        "transactionId": transaction_id,
        "action": action,
        "at": at,
        "by": by,
        "detail": dict(detail or {}),
    }
    if reason is not None:
        item["reason"] = reason
    if phase is not None:
        item["phase"] = phase
    table.put_item(Item=item, ConditionExpression="attribute_not_exists(pk)")
    return AuditEntry(transaction_id, action, at, by, reason, item["detail"], phase, item["sk"])


def audit_entries(table: Table, transaction_id: str) -> list[AuditEntry]:
    """The call's audit trail, oldest first (a paginated Query of its ``AUDIT#`` items)."""
    from boto3.dynamodb.conditions import Key

    condition = Key("pk").eq(f"TX#{transaction_id.lower()}") & Key("sk").begins_with(AUDIT_PREFIX)
    entries: list[AuditEntry] = []
    kwargs: dict[str, Any] = {"KeyConditionExpression": condition}
    while True:
        page = table.query(**kwargs)
        for item in page.get("Items", []):
            entries.append(
                AuditEntry(
                    str(item["transactionId"]),
                    str(item["action"]),
                    str(item["at"]),
                    str(item["by"]),
                    str(item["reason"]) if "reason" in item else None,
                    _detail(item.get("detail")),
                    str(item["phase"]) if "phase" in item else None,
                    str(item["sk"]),
                )
            )
        if "LastEvaluatedKey" not in page:
            return entries
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _detail(value: object) -> dict[str, Any]:
    return {str(k): v for k, v in value.items()} if isinstance(value, Mapping) else {}
