"""The handler: one recording through plan, start, status and record, and the dispatch rules."""

from __future__ import annotations

import json
from typing import Any

import pytest
from recording_processor.transcription import handler as handler_module
from recording_processor.transcription._jobs import TranscribeThrottled
from recording_processor.transcription._options import OptionsError
from recording_processor.transcription.handler import ACTIONS, handler

from tests.processor.conftest import BUCKET, CALL_ID, TRANSACTION_ID, Aws, Output
from tests.transcription.conftest import (
    KEY,
    LATER,
    REDACTION,
    Transcribe,
    config,
    invoke,
    make_runtime,
    seed_recording,
    transcript_item,
)

OUTPUT = f"transcripts/{TRANSACTION_ID}"

#: A "Recording Available" detail as the arrival processor sends it.
AVAILABLE = {
    "schemaVersion": "1",
    "transactionId": TRANSACTION_ID,
    "callId": CALL_ID,
    "bucket": BUCKET,
    "key": KEY,
    "versionId": "3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY",
    "s3Uri": f"s3://{BUCKET}/{KEY}",
    "channels": 2,
}


def test_a_recording_end_to_end(aws: Aws, transcribe: Transcribe, output: Output) -> None:
    """The state machine's happy path, task by task, as Step Functions would pass the data."""
    seed_recording(aws, leg="LEG-B", call_direction="inbound")
    runtime = make_runtime(aws, transcribe, output, config({"redaction": REDACTION}))
    plan = invoke(runtime, action="plan", recording=AVAILABLE)
    assert (plan["skip"], plan["jobType"], plan["channelRoles"]) == (
        False,
        "call-analytics",
        {"0": "AGENT", "1": "CUSTOMER"},
    )
    name = plan["jobName"]
    job = {"CallAnalyticsJobName": name}
    transcribe.add(
        "start_call_analytics_job",
        {"CallAnalyticsJob": {**job, "CallAnalyticsJobStatus": "QUEUED"}},
        plan["request"],
    )
    started = invoke(runtime, action="start", plan=plan)
    assert started == {
        "jobName": name,
        "jobType": "call-analytics",
        "status": "QUEUED",
        "alreadyStarted": False,
    }
    transcribe.add(
        "get_call_analytics_job",
        {"CallAnalyticsJob": {**job, "CallAnalyticsJobStatus": "IN_PROGRESS"}},
        job,
    )
    assert invoke(runtime, action="status", jobName=name, jobType="call-analytics")["status"] == (
        "IN_PROGRESS"
    )
    transcribe.add(
        "get_call_analytics_job",
        {
            "CallAnalyticsJob": {
                **job,
                "CallAnalyticsJobStatus": "COMPLETED",
                "LanguageCode": "en-US",
                "Transcript": {
                    "TranscriptFileUri": f"s3://{BUCKET}/{OUTPUT}/analytics/{name}.json",
                    "RedactedTranscriptFileUri": f"s3://{BUCKET}/{OUTPUT}/redacted-analytics/{name}.json",
                },
                "Media": {
                    "MediaFileUri": f"s3://{BUCKET}/{KEY}",
                    "RedactedMediaFileUri": f"s3://{BUCKET}/{OUTPUT}/redacted-analytics/{name}.wav",
                },
            }
        },
        job,
    )
    status = invoke(runtime, action="status", jobName=name, jobType="call-analytics")
    item = invoke(runtime, action="record", plan=plan, status=status)
    json.dumps([plan, started, status, item])
    stored = transcript_item(aws)
    assert stored is not None
    assert {k: v for k, v in stored.items() if k not in ("eventSentAt",)} == {
        "pk": f"TX#{TRANSACTION_ID}",
        "sk": f"TRANSCRIPT#{CALL_ID}",
        "transactionId": TRANSACTION_ID,
        "callId": CALL_ID,
        "recordingKey": KEY,
        "status": "completed",
        "jobName": name,
        "jobType": "call-analytics",
        "languageCode": "en-US",
        "channelRoles": {"0": "AGENT", "1": "CUSTOMER"},
        "redaction": REDACTION,
        "transcriptKey": f"{OUTPUT}/redacted-analytics/{name}.json",
        "unredactedTranscriptKey": f"{OUTPUT}/analytics/{name}.json",
        "redactedAudioKey": f"{OUTPUT}/redacted-analytics/{name}.wav",
        "startedAt": "2026-11-24T12:10:00.000Z",
        "completedAt": "2026-11-24T12:10:00.000Z",
        "schemaVersion": 1,
        "eventSent": True,
    }
    # The recording is done: a second event for it (or a backfill) is skipped.
    assert invoke(runtime, action="plan", recording={"bucket": BUCKET, "key": KEY}) == {
        "skip": True,
        "reason": "already transcribed",
    }


def test_a_retried_start_reads_the_running_job(
    aws: Aws, transcribe: Transcribe, output: Output
) -> None:
    seed_recording(aws, track="OUTGOING", channels=1)
    runtime = make_runtime(aws, transcribe, output)
    plan = invoke(runtime, action="plan", recording=AVAILABLE)
    assert (plan["jobType"], plan["fallbackReason"]) == ("standard", "mono-track")
    job = {"TranscriptionJobName": plan["jobName"]}
    transcribe.add_error("start_transcription_job", "ConflictException", plan["request"])
    transcribe.add(
        "get_transcription_job",
        {"TranscriptionJob": {**job, "TranscriptionJobStatus": "IN_PROGRESS"}},
        job,
    )
    started = invoke(make_runtime(aws, transcribe, output, clock=LATER), action="start", plan=plan)
    assert (started["status"], started["alreadyStarted"]) == ("IN_PROGRESS", True)
    assert output.metric_values("TranscriptionStarted") == []


def test_throttled_start_raises_by_name_and_counts(
    aws: Aws, transcribe: Transcribe, output: Output
) -> None:
    seed_recording(aws)
    runtime = make_runtime(aws, transcribe, output)
    plan = invoke(runtime, action="plan", recording=AVAILABLE)
    transcribe.add_error("start_call_analytics_job", "LimitExceededException", plan["request"])
    with pytest.raises(TranscribeThrottled):
        invoke(runtime, action="start", plan=plan)
    assert output.metric_values("TranscribeThrottled") == [1]
    assert transcript_item(aws) is None


def test_skip_is_logged_with_its_reason(aws: Aws, transcribe: Transcribe, output: Output) -> None:
    plan = invoke(make_runtime(aws, transcribe, output), action="plan", recording=AVAILABLE)
    assert plan["skip"] is True
    assert any(log.get("reason") == plan["reason"] for log in output.logs)


@pytest.mark.parametrize("action", [None, "transcribe", "PLAN"])
def test_unknown_action_is_a_clear_error(
    aws: Aws, transcribe: Transcribe, output: Output, action: Any
) -> None:
    with pytest.raises(
        ValueError, match=r"action is .*; allowed: plan, start, status, record, fail"
    ):
        invoke(make_runtime(aws, transcribe, output), action=action)


def test_input_that_is_not_an_object_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="allowed: an object with 'action'"):
        handler([], None)  # type: ignore[arg-type]


@pytest.mark.parametrize("action", ["start", "record"])
def test_plan_less_task_is_a_clear_error(
    aws: Aws, transcribe: Transcribe, output: Output, action: str
) -> None:
    with pytest.raises(ValueError, match="'plan' must be"):
        invoke(make_runtime(aws, transcribe, output), action=action, plan={"skip": True})


def test_actions_are_the_contracts() -> None:
    assert ACTIONS == ("plan", "start", "status", "record", "fail", "await", "job-event")


def test_configuration_is_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    handler_module._lambda_runtime.cache_clear()
    monkeypatch.setenv("CATALOG_TABLE", "catalog")
    monkeypatch.setenv("RECORDING_BUCKET", "recordings")
    monkeypatch.delenv("DATA_ACCESS_ROLE_ARN", raising=False)
    monkeypatch.setenv("TRANSCRIPTION", '{"callanalytics": true}')
    try:
        with pytest.raises(OptionsError, match=r"DATA_ACCESS_ROLE_ARN is not set.*callanalytics"):
            handler({"action": "status", "jobName": "j", "jobType": "standard"}, None)
    finally:
        handler_module._lambda_runtime.cache_clear()
