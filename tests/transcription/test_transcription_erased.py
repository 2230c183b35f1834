"""A call erased or held while it is transcribed (``recordings erase`` / ``hold``).

An erasure leaves tombstones (status ``erased`` on the ``TRANSCRIPT#`` item, ``erasedAt`` on the
``CALL`` item): a job that ends after it never replaces the tombstone or announces anything, and a
recording of an erased call is not planned. A legal hold on the call (``legalHold`` on ``CALL``)
covers the transcripts written after it was placed.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from moto import mock_aws
from recording_processor._retention import RetentionPolicy

from tests.processor.conftest import BUCKET, CALL_ID, TRANSACTION_ID, Aws, Output
from tests.processor.test_processor_retention import LockedS3
from tests.transcription.conftest import (
    KEY,
    NOW,
    REDACTION,
    Transcribe,
    invoke,
    make_runtime,
    seed_recording,
    transcript_item,
)
from tests.transcription.test_transcription_record import OUTPUT, a_plan, completed, events
from tests.transcription.test_transcription_retention import FILES, STATUS, _runtime, _written

POLICY = RetentionPolicy("GOVERNANCE", (), None)


def _erase_transcript(aws: Aws) -> None:
    aws.table.put_item(
        Item={
            "pk": f"TX#{TRANSACTION_ID}",
            "sk": f"TRANSCRIPT#{CALL_ID}",
            "transactionId": TRANSACTION_ID,
            "callId": CALL_ID,
            "status": "erased",
            "erasedAt": "2026-11-24T12:05:00.000Z",
        }
    )


def _set_call(aws: Aws, **attributes: Any) -> None:
    aws.table.update_item(
        Key={"pk": f"TX#{TRANSACTION_ID}", "sk": "CALL"},
        UpdateExpression="SET " + ", ".join(f"#{name} = :{name}" for name in attributes),
        ExpressionAttributeNames={f"#{name}": name for name in attributes},
        ExpressionAttributeValues={f":{name}": value for name, value in attributes.items()},
    )


def test_a_recording_of_an_erased_call_is_not_planned(
    aws: Aws, transcribe: Transcribe, output: Output
) -> None:
    seed_recording(aws)
    _set_call(aws, erasedAt="2026-11-24T12:05:00.000Z")
    plan = invoke(
        make_runtime(aws, transcribe, output),
        action="plan",
        recording={"bucket": BUCKET, "key": KEY},
    )
    assert plan == {"skip": True, "reason": "the call was erased"}


def test_a_recording_that_arrived_after_the_erasure_is_not_planned(
    aws: Aws, transcribe: Transcribe, output: Output
) -> None:
    seed_recording(aws)
    aws.table.update_item(
        Key={"pk": f"TX#{TRANSACTION_ID}", "sk": f"REC#{CALL_ID}"},
        UpdateExpression="SET afterErasure = :true",
        ExpressionAttributeValues={":true": True},
    )
    plan = invoke(
        make_runtime(aws, transcribe, output),
        action="plan",
        recording={"bucket": BUCKET, "key": KEY},
    )
    assert plan["skip"] is True


def test_a_job_that_completes_after_the_erasure_leaves_the_tombstone(
    aws: Aws, transcribe: Transcribe, output: Output
) -> None:
    seed_recording(aws)
    _erase_transcript(aws)
    tombstone = transcript_item(aws)
    invoke(
        make_runtime(aws, transcribe, output),
        action="record",
        plan=a_plan(redaction=REDACTION),
        status=completed(transcriptKey=f"{OUTPUT}/j.json"),
    )
    assert transcript_item(aws) == tombstone
    assert events(aws, "Transcript Available") == []


def test_a_job_that_fails_after_the_erasure_leaves_the_tombstone(
    aws: Aws, transcribe: Transcribe, output: Output
) -> None:
    seed_recording(aws)
    _erase_transcript(aws)
    tombstone = transcript_item(aws)
    invoke(
        make_runtime(aws, transcribe, output),
        action="fail",
        plan=a_plan(),
        error={"Error": "TranscriptionJobFailed", "Cause": "The media file is gone"},
    )
    assert transcript_item(aws) == tombstone
    assert events(aws, "Transcription Failed") == []


def test_a_start_after_the_erasure_does_not_replace_the_tombstone(
    aws: Aws, transcribe: Transcribe, output: Output
) -> None:
    seed_recording(aws)
    _erase_transcript(aws)
    tombstone = transcript_item(aws)
    catalog = make_runtime(aws, transcribe, output).catalog()
    assert catalog.started(a_plan(), NOW) is False  # the condition refused the write
    assert transcript_item(aws) == tombstone


@pytest.fixture
def locked() -> Iterator[tuple[Aws, LockedS3]]:
    with mock_aws():
        aws = Aws()
        aws.s3.delete_bucket(Bucket=BUCKET)
        aws.s3.create_bucket(Bucket=BUCKET, ObjectLockEnabledForBucket=True)
        yield aws, LockedS3(aws.s3)


def test_transcripts_of_a_held_call_are_held(
    locked: tuple[Aws, LockedS3], transcribe: Transcribe, output: Output
) -> None:
    aws, s3 = locked
    seed_recording(aws)
    _set_call(aws, legalHold=True)
    _written(aws)
    invoke(
        _runtime(aws, s3, transcribe, output, POLICY),
        action="record",
        plan=a_plan(redaction=REDACTION),
        status=STATUS,
    )
    for key in FILES.values():
        hold = aws.s3.get_object_legal_hold(Bucket=BUCKET, Key=key)["LegalHold"]
        assert hold == {"Status": "ON"}
    stored = transcript_item(aws)
    assert stored is not None
    assert (stored["status"], stored["legalHold"]) == ("completed", True)


def test_transcripts_of_a_call_not_held_get_no_hold(
    locked: tuple[Aws, LockedS3], transcribe: Transcribe, output: Output
) -> None:
    aws, s3 = locked
    seed_recording(aws)
    _written(aws)
    invoke(
        _runtime(aws, s3, transcribe, output, POLICY),
        action="record",
        plan=a_plan(redaction=REDACTION),
        status=STATUS,
    )
    assert "put_object_legal_hold" not in s3.calls
    stored = transcript_item(aws)
    assert stored is not None
    assert "legalHold" not in stored


# -- an execution that ended outside its catches (the ExecutionEndedRule) -----------------------


def _ended(status: str = "TIMED_OUT") -> dict[str, Any]:
    """The function's input as the rule renders it: the execution's input is JSON text."""
    return {
        "action": "fail",
        "ended": True,
        "recording": json.dumps({"bucket": BUCKET, "key": KEY}),
        "error": {"Error": status, "Cause": "arn:aws:states:us-east-1:123456789012:execution:m:e"},
    }


def _transcript(aws: Aws, status: str) -> None:
    aws.table.put_item(
        Item={
            "pk": f"TX#{TRANSACTION_ID}",
            "sk": f"TRANSCRIPT#{CALL_ID}",
            "transactionId": TRANSACTION_ID,
            "callId": CALL_ID,
            "status": status,
            "jobName": "j",
        }
    )


def test_a_started_transcript_of_an_ended_execution_is_recorded_failed(
    aws: Aws, transcribe: Transcribe, output: Output
) -> None:
    seed_recording(aws)
    _transcript(aws, "started")
    invoke(make_runtime(aws, transcribe, output), **_ended())
    stored = transcript_item(aws)
    assert stored is not None
    assert stored["status"] == "failed"
    assert "TIMED_OUT" in stored["failureReason"]
    [event] = events(aws, "Transcription Failed")
    assert event["detail"]["callId"] == CALL_ID


def test_an_ended_execution_with_no_transcript_yet_is_recorded_failed(
    aws: Aws, transcribe: Transcribe, output: Output
) -> None:
    seed_recording(aws)
    invoke(make_runtime(aws, transcribe, output), **_ended("ABORTED"))
    stored = transcript_item(aws)
    assert stored is not None
    assert stored["status"] == "failed"
    assert len(events(aws, "Transcription Failed")) == 1


@pytest.mark.parametrize("status", ["failed", "completed", "erased"])
def test_an_ended_execution_never_overrides_a_recorded_outcome(
    aws: Aws, transcribe: Transcribe, output: Output, status: str
) -> None:
    seed_recording(aws)
    _transcript(aws, status)
    before = transcript_item(aws)
    invoke(make_runtime(aws, transcribe, output), **_ended("FAILED"))
    assert transcript_item(aws) == before
    assert events(aws, "Transcription Failed") == []


def test_an_ended_execution_of_no_recording_changes_nothing(
    aws: Aws, transcribe: Transcribe, output: Output
) -> None:
    event = {**_ended(), "recording": "not json"}
    assert invoke(make_runtime(aws, transcribe, output), **event) is None
    assert transcript_item(aws) is None
    assert events(aws, "Transcription Failed") == []
