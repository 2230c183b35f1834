"""The ``TRANSCRIPT#`` item and the transcription events (moto DynamoDB and EventBridge)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from recording_processor.transcription._plan import decide_plan
from recording_processor.transcription._record import completed_attributes, failure_reason

from tests.processor.conftest import BUCKET, CALL_ID, TRANSACTION_ID, Aws, Output
from tests.transcription.conftest import (
    KEY,
    LATER,
    NOW,
    REDACTION,
    Transcribe,
    config,
    invoke,
    make_runtime,
    seed_recording,
    transcript_item,
)

OUTPUT = f"transcripts/{TRANSACTION_ID}"


def a_plan(track: str = "BOTH", **options: Any) -> dict[str, Any]:
    rec = {"key": KEY, "leg": "LEG-A", "track": track, "channels": 2 if track == "BOTH" else 1}
    return decide_plan(
        BUCKET, KEY, TRANSACTION_ID, CALL_ID, rec, {"direction": "inbound"}, config(options or None)
    )


def completed(**outputs: Any) -> dict[str, Any]:
    files = {"transcriptKey": None, "redactedTranscriptKey": None, "redactedMediaKey": None}
    files.update(outputs)
    return {
        "status": "COMPLETED",
        "failureReason": None,
        "languageCode": "en-US",
        "outputs": {"bucket": BUCKET, **files},
    }


BOTH = completed(
    transcriptKey=f"{OUTPUT}/analytics/j.json",
    redactedTranscriptKey=f"{OUTPUT}/redacted-analytics/j.json",
    redactedMediaKey=f"{OUTPUT}/redacted-analytics/j.wav",
)

# -- the completed item, pure ----------------------------------------------------------------


def test_redacted_and_unredacted_serves_the_redacted_transcript() -> None:
    attributes = completed_attributes(a_plan(redaction=REDACTION), BOTH, NOW)
    assert attributes["transcriptKey"] == f"{OUTPUT}/redacted-analytics/j.json"
    assert attributes["unredactedTranscriptKey"] == f"{OUTPUT}/analytics/j.json"
    assert attributes["redactedAudioKey"] == f"{OUTPUT}/redacted-analytics/j.wav"
    assert attributes["redaction"] == REDACTION


def test_redacted_only_has_no_unredacted_key() -> None:
    plan = a_plan(redaction={"output": "redacted", "entityTypes": ["SSN"]})
    attributes = completed_attributes(
        plan, completed(redactedTranscriptKey=f"{OUTPUT}/redacted-analytics/j.json"), NOW
    )
    assert attributes["transcriptKey"] == f"{OUTPUT}/redacted-analytics/j.json"
    assert attributes["unredactedTranscriptKey"] is None


def test_without_redaction_the_transcript_is_served_and_no_redaction_is_recorded() -> None:
    attributes = completed_attributes(a_plan(), completed(transcriptKey=f"{OUTPUT}/j.json"), NOW)
    assert (attributes["transcriptKey"], attributes["redaction"]) == (f"{OUTPUT}/j.json", None)
    assert attributes["redactedAudioKey"] is None


def test_standard_job_redaction_is_read_from_its_request() -> None:
    plan = a_plan("INCOMING", redaction=REDACTION)
    attributes = completed_attributes(plan, BOTH, NOW)
    assert attributes["redaction"] == REDACTION
    assert attributes["fallbackReason"] == "mono-track"
    assert attributes["channelRoles"] is None


def test_missing_redacted_transcript_is_never_replaced_by_the_unredacted_one() -> None:
    with pytest.raises(ValueError, match="no redacted transcript"):
        completed_attributes(
            a_plan(redaction=REDACTION), completed(transcriptKey=f"{OUTPUT}/j.json"), NOW
        )


def test_redacted_only_never_serves_a_transcript_that_is_not_a_redacted_output() -> None:
    plan = a_plan("INCOMING", redaction={"output": "redacted", "entityTypes": ["SSN"]})
    with pytest.raises(ValueError, match=r"names 'transcripts/.*/j\.json' as its transcript"):
        completed_attributes(plan, completed(transcriptKey=f"{OUTPUT}/j.json"), NOW)


def test_a_redacted_key_that_is_not_a_redacted_output_is_refused() -> None:
    status = completed(
        transcriptKey=f"{OUTPUT}/analytics/j.json",
        redactedTranscriptKey=f"{OUTPUT}/analytics/k.json",
    )
    with pytest.raises(ValueError, match="allowed with redaction: a redacted output"):
        completed_attributes(a_plan(redaction=REDACTION), status, NOW)


def test_a_standard_redacted_transcript_is_served() -> None:
    plan = a_plan("INCOMING", redaction={"output": "redacted", "entityTypes": ["SSN"]})
    status = completed(redactedTranscriptKey=f"{OUTPUT}/redacted-j.json")
    assert completed_attributes(plan, status, NOW)["transcriptKey"] == f"{OUTPUT}/redacted-j.json"


@pytest.mark.parametrize(
    ("outputs", "match"),
    [
        ({"transcriptKey": "transcripts/other/j.json"}, f"outside transcripts/{TRANSACTION_ID}/"),
        ({"transcriptKey": "elsewhere/j.json"}, f"outside transcripts/{TRANSACTION_ID}/"),
        ({"transcriptKey": f"{OUTPUT}/j.json", "bucket": "other"}, "bucket 'other'"),
    ],
)
def test_outputs_are_checked_without_retention(outputs: dict[str, Any], match: str) -> None:
    # Served keys must be where erasure and legal hold look, retention configured or not.
    status = completed(**{k: v for k, v in outputs.items() if k != "bucket"})
    if "bucket" in outputs:
        status["outputs"]["bucket"] = outputs["bucket"]
    with pytest.raises(ValueError, match=match):
        completed_attributes(a_plan(), status, NOW)


def test_only_a_completed_job_is_recorded() -> None:
    with pytest.raises(ValueError, match="'IN_PROGRESS', not 'COMPLETED'"):
        completed_attributes(a_plan(), {"status": "IN_PROGRESS"}, NOW)


@pytest.mark.parametrize(
    ("error", "status", "expected"),
    [
        (
            {
                "Error": "TranscribeRejected",
                "Cause": json.dumps(
                    {
                        "errorMessage": "start j: BadRequestException: bad",
                        "errorType": "TranscribeRejected",
                    }
                ),
            },
            None,
            "TranscribeRejected: start j: BadRequestException: bad",
        ),
        ({"Error": "States.Timeout", "Cause": "timed out"}, None, "States.Timeout: timed out"),
        ({"Error": "States.Timeout"}, None, "States.Timeout"),
        (None, {"status": "FAILED", "failureReason": "media too short"}, "media too short"),
        (None, None, "unknown"),
    ],
)
def test_failure_reason(error: object, status: object, expected: str) -> None:
    assert failure_reason(error, status) == expected


# -- writes and events through the handler ---------------------------------------------------


def events(aws: Aws, detail_type: str) -> list[dict[str, Any]]:
    return [e for e in aws.emitted() if e["detail-type"] == detail_type]


def test_record_writes_the_item_and_announces_it(
    aws: Aws, transcribe: Transcribe, output: Output
) -> None:
    plan = a_plan(redaction=REDACTION)
    item = invoke(make_runtime(aws, transcribe, output), action="record", plan=plan, status=BOTH)
    stored = transcript_item(aws)
    assert stored is not None
    assert stored["status"] == "completed"
    assert stored["eventSent"] is True
    assert item["transcriptKey"] == stored["transcriptKey"]
    json.dumps(item)  # a task's output is JSON
    [event] = events(aws, "Transcript Available")
    assert event["source"] == "cdk-recording"
    assert event["resources"] == [f"arn:aws:s3:::{BUCKET}/{KEY}"]
    assert event["detail"] == {
        "schemaVersion": "1",
        "transactionId": TRANSACTION_ID,
        "callId": CALL_ID,
        "jobName": plan["jobName"],
        "jobType": "call-analytics",
        "bucket": BUCKET,
        "transcriptKey": f"{OUTPUT}/redacted-analytics/j.json",
        "redacted": True,
        "languageCode": "en-US",
    }
    assert output.metric_values("TranscriptAvailable") == [1]


def test_record_again_changes_nothing_and_sends_nothing(
    aws: Aws, transcribe: Transcribe, output: Output
) -> None:
    plan = a_plan()
    status = completed(transcriptKey=f"{OUTPUT}/j.json")
    invoke(make_runtime(aws, transcribe, output), action="record", plan=plan, status=status)
    first = transcript_item(aws)
    invoke(
        make_runtime(aws, transcribe, output, clock=LATER),
        action="record",
        plan=plan,
        status=status,
    )
    assert transcript_item(aws) == first
    assert len(events(aws, "Transcript Available")) == 1


def test_record_of_a_completed_item_without_its_event_sends_it(
    aws: Aws, transcribe: Transcribe, output: Output
) -> None:
    plan = a_plan()
    key = {"pk": f"TX#{TRANSACTION_ID}", "sk": f"TRANSCRIPT#{CALL_ID}"}
    aws.table.put_item(
        Item={
            **key,
            "transactionId": TRANSACTION_ID,
            "callId": CALL_ID,
            "status": "completed",
            "jobName": plan["jobName"],
            "jobType": plan["jobType"],
            "transcriptKey": f"{OUTPUT}/old.json",
        }
    )
    status = completed(transcriptKey=f"{OUTPUT}/new.json")
    invoke(make_runtime(aws, transcribe, output), action="record", plan=plan, status=status)
    [event] = events(aws, "Transcript Available")
    assert event["detail"]["transcriptKey"] == f"{OUTPUT}/old.json"
    stored = transcript_item(aws)
    assert stored is not None
    assert (stored["transcriptKey"], stored["eventSent"]) == (f"{OUTPUT}/old.json", True)


def test_start_marks_started_and_record_keeps_the_start_time(
    aws: Aws, transcribe: Transcribe, output: Output
) -> None:
    plan = a_plan()
    transcribe.add(
        "start_call_analytics_job",
        {
            "CallAnalyticsJob": {
                "CallAnalyticsJobName": plan["jobName"],
                "CallAnalyticsJobStatus": "QUEUED",
            }
        },
        plan["request"],
    )
    invoke(make_runtime(aws, transcribe, output), action="start", plan=plan)
    started = transcript_item(aws)
    assert started is not None
    assert (started["status"], started["startedAt"]) == ("started", "2026-11-24T12:10:00.000Z")
    assert started["channelRoles"] == {"0": "CUSTOMER", "1": "AGENT"}
    assert started["recordingKey"] == KEY
    assert "redaction" not in started
    status = completed(transcriptKey=f"{OUTPUT}/j.json")
    invoke(
        make_runtime(aws, transcribe, output, clock=LATER),
        action="record",
        plan=plan,
        status=status,
    )
    done = transcript_item(aws)
    assert done is not None
    assert (done["startedAt"], done["completedAt"]) == (
        "2026-11-24T12:10:00.000Z",
        "2026-11-24T12:20:00.000Z",
    )
    assert output.metric_values("TranscriptionStarted") == [1]


def test_fail_writes_the_failed_item_and_reports_it(
    aws: Aws, transcribe: Transcribe, output: Output
) -> None:
    plan = a_plan()
    error = {"Error": "States.Timeout", "Cause": "the job took longer than 4 hours"}
    item = invoke(make_runtime(aws, transcribe, output), action="fail", plan=plan, error=error)
    assert item["status"] == "failed"
    assert item["failureReason"] == "States.Timeout: the job took longer than 4 hours"
    assert item["failedAt"] == "2026-11-24T12:10:00.000Z"
    [event] = events(aws, "Transcription Failed")
    assert event["detail"] == {
        "schemaVersion": "1",
        "transactionId": TRANSACTION_ID,
        "callId": CALL_ID,
        "jobName": plan["jobName"],
        "reason": "States.Timeout: the job took longer than 4 hours",
    }


def test_fail_never_overwrites_a_completed_transcript(
    aws: Aws, transcribe: Transcribe, output: Output
) -> None:
    plan = a_plan()
    runtime = make_runtime(aws, transcribe, output)
    invoke(runtime, action="record", plan=plan, status=completed(transcriptKey=f"{OUTPUT}/j.json"))
    item = invoke(runtime, action="fail", plan=plan, error={"Error": "States.TaskFailed"})
    assert item["status"] == "completed"
    assert events(aws, "Transcription Failed") == []


def test_fail_before_a_plan_takes_the_ids_from_the_recording_key(
    aws: Aws, transcribe: Transcribe, output: Output
) -> None:
    invoke(
        make_runtime(aws, transcribe, output),
        action="fail",
        plan=None,
        recording={"bucket": BUCKET, "key": KEY},
        error={"Error": "Transient", "Cause": "GetItem failed"},
    )
    stored = transcript_item(aws)
    assert stored is not None
    assert (stored["status"], stored["recordingKey"]) == ("failed", KEY)
    [event] = events(aws, "Transcription Failed")
    assert (event["detail"]["transactionId"], event["detail"]["jobName"]) == (TRANSACTION_ID, None)


def test_fail_without_any_ids_only_reports(
    aws: Aws, transcribe: Transcribe, output: Output
) -> None:
    result = invoke(
        make_runtime(aws, transcribe, output), action="fail", plan=None, error={"Error": "X"}
    )
    assert result is None
    assert [i for i in aws.items() if i["sk"].startswith("TRANSCRIPT#")] == []
    [event] = events(aws, "Transcription Failed")
    assert event["detail"]["transactionId"] is None


def test_failed_job_status_gives_the_reason(
    aws: Aws, transcribe: Transcribe, output: Output
) -> None:
    seed_recording(aws)
    status = {"status": "FAILED", "failureReason": "Invalid file size: file size too large."}
    item = invoke(
        make_runtime(aws, transcribe, output),
        action="fail",
        plan=a_plan(),
        status=status,
        error={"Error": "TranscriptionJobFailed", "Cause": "see status"},
    )
    assert item["failureReason"] == "Invalid file size: file size too large."
