"""The catalog's audit trail (cdk_recording._audit) over moto DynamoDB and STS."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import boto3
import pytest
from moto import mock_aws
from recording_processor import schema

from cdk_recording import _audit
from cdk_recording._command import CommandError

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

TX = "7E4F2B1C-0000-4000-8000-000000000002"
WHO = "arn:aws:iam::123456789012:user/auditor"


@pytest.fixture
def table(aws_credentials: None) -> Iterator[Table]:
    with mock_aws():
        dynamodb = boto3.session.Session().resource("dynamodb", region_name="us-east-1")
        dynamodb.create_table(**schema.create_table_arguments("catalog"))
        yield dynamodb.Table("catalog")


def test_record_writes_an_audit_item_in_the_call_partition(table: Table) -> None:
    at = datetime(2026, 12, 3, 20, 27, 9, 123456, tzinfo=UTC)
    entry = _audit.record(table, TX, "hold", WHO, reason="case 41", detail={"objects": 2}, now=at)
    items = table.scan()["Items"]
    assert len(items) == 1
    item = items[0]
    assert item["pk"] == f"TX#{TX.lower()}"
    assert str(item["sk"]).startswith("AUDIT#2026-12-03T20:27:09.123Z#")
    assert len(str(item["sk"]).rsplit("#", 1)[1]) == 8
    assert item["action"] == "hold"
    assert item["by"] == WHO
    assert item["reason"] == "case 41"
    assert item["detail"] == {"objects": 2}
    assert entry.at == "2026-12-03T20:27:09.123Z"


def test_two_actions_in_the_same_millisecond_are_both_kept_in_order_of_time(table: Table) -> None:
    first = datetime(2026, 12, 3, 20, 0, 0, tzinfo=UTC)
    later = datetime(2026, 12, 3, 21, 0, 0, tzinfo=UTC)
    _audit.record(table, TX, "download", WHO, now=later)
    _audit.record(table, TX, "presign", WHO, now=first)
    _audit.record(table, TX, "presign", WHO, now=first)
    entries = _audit.audit_entries(table, TX)
    assert [(e.action, e.at) for e in entries] == [
        ("presign", "2026-12-03T20:00:00.000Z"),
        ("presign", "2026-12-03T20:00:00.000Z"),
        ("download", "2026-12-03T21:00:00.000Z"),
    ]
    assert entries[0].reason is None


@pytest.mark.parametrize(
    ("action", "by", "reason", "message"),
    [
        ("delete", WHO, None, "audit action 'delete' is not one of"),
        ("hold", "", None, "needs the caller's identity"),
        ("hold", WHO, "x" * 1025, "1025 characters long; at most 1024"),
    ],
)
def test_record_refuses_bad_entries(
    table: Table, action: str, by: str, reason: str | None, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        _audit.record(table, TX, action, by, reason=reason)
    assert table.scan()["Items"] == []


def test_a_phase_is_recorded_and_read_back_with_the_entry_s_key(table: Table) -> None:
    at = datetime(2026, 12, 3, 20, 27, 9, tzinfo=UTC)
    intent = _audit.record(table, TX, "erase", WHO, reason="GDPR", now=at, phase="intent")
    _audit.record(table, TX, "erase", WHO, detail={"intent": intent.key}, now=at, phase="done")
    read_done, read_intent = sorted(_audit.audit_entries(table, TX), key=lambda e: e.phase or "")
    assert (read_done.phase, read_intent.phase) == ("done", "intent")
    assert read_intent == intent
    assert read_done.detail == {"intent": intent.key}
    assert intent.key.startswith("AUDIT#2026-12-03T20:27:09.000Z#")


def test_an_unknown_phase_is_refused(table: Table) -> None:
    with pytest.raises(
        ValueError, match="audit phase 'started' is not one of intent, done, failed"
    ):
        _audit.record(table, TX, "erase", WHO, phase="started")
    assert table.scan()["Items"] == []


def test_caller_arn_reads_sts(aws_credentials: None) -> None:
    with mock_aws():
        sts = boto3.session.Session().client("sts", region_name="us-east-1")
        assert _audit.caller_arn(sts).startswith("arn:aws:")


@pytest.mark.parametrize("action", ["playback", "transcript"])
def test_reads_of_call_content_are_actions_of_the_trail(table: Table, action: str) -> None:
    _audit.record_access(table, TX, action, WHO, detail={"keys": ["k"]}, nothing="nothing read")
    [entry] = _audit.audit_entries(table, TX)
    assert (entry.action, entry.detail) == (action, {"keys": ["k"]})


def test_a_refused_access_entry_says_what_was_not_handed_over(aws_credentials: None) -> None:
    with mock_aws():  # no table: the write fails as a refused PutItem would
        absent = boto3.session.Session().resource("dynamodb", region_name="us-east-1")
        with pytest.raises(CommandError) as raised:
            _audit.record_access(
                absent.Table("absent"), TX, "transcript", WHO, detail={}, nothing="nothing read"
            )
    message = str(raised.value)
    assert "could not write the audit entry" in message
    assert "ResourceNotFoundException" in message
    assert "nothing read: the caller needs dynamodb:PutItem" in message
