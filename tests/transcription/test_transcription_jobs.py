"""Starting and reading Transcribe jobs, every call under a Stubber (validated against the model)."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from recording_processor.transcription._jobs import (
    TranscribeJobs,
    TranscribeRejected,
    TranscribeThrottled,
    s3_location,
)
from recording_processor.transcription._plan import decide_plan

from tests.processor.conftest import BUCKET, CALL_ID, REGION, TRANSACTION_ID
from tests.transcription.conftest import KEY, REDACTION, Transcribe, config

OUTPUT = f"transcripts/{TRANSACTION_ID}"


def a_plan(track: str = "BOTH", **options: Any) -> dict[str, Any]:
    rec = {"key": KEY, "leg": "LEG-A", "track": track, "channels": 2 if track == "BOTH" else 1}
    return decide_plan(
        BUCKET, KEY, TRANSACTION_ID, CALL_ID, rec, {"direction": "inbound"}, config(options or None)
    )


CA_PLAN = a_plan(redaction=REDACTION)
STANDARD_PLAN = a_plan("INCOMING")
CA_NAME = {"CallAnalyticsJobName": CA_PLAN["jobName"]}
STANDARD_NAME = {"TranscriptionJobName": STANDARD_PLAN["jobName"]}


def ca_job(status: str, **fields: Any) -> dict[str, Any]:
    return {"CallAnalyticsJob": {**CA_NAME, "CallAnalyticsJobStatus": status, **fields}}


def standard_job(status: str, **fields: Any) -> dict[str, Any]:
    return {"TranscriptionJob": {**STANDARD_NAME, "TranscriptionJobStatus": status, **fields}}


def test_starts_a_call_analytics_job(transcribe: Transcribe) -> None:
    transcribe.add("start_call_analytics_job", ca_job("QUEUED"), CA_PLAN["request"])
    assert TranscribeJobs(transcribe.client).start(CA_PLAN) == {
        "jobName": CA_PLAN["jobName"],
        "jobType": "call-analytics",
        "status": "QUEUED",
        "alreadyStarted": False,
    }


def test_starts_a_standard_job(transcribe: Transcribe) -> None:
    transcribe.add("start_transcription_job", standard_job("IN_PROGRESS"), STANDARD_PLAN["request"])
    started = TranscribeJobs(transcribe.client).start(STANDARD_PLAN)
    assert (started["jobType"], started["status"], started["alreadyStarted"]) == (
        "standard",
        "IN_PROGRESS",
        False,
    )


def test_conflict_on_call_analytics_start_is_already_started(transcribe: Transcribe) -> None:
    transcribe.add_error("start_call_analytics_job", "ConflictException", CA_PLAN["request"])
    transcribe.add("get_call_analytics_job", ca_job("IN_PROGRESS"), CA_NAME)
    started = TranscribeJobs(transcribe.client).start(CA_PLAN)
    assert (started["status"], started["alreadyStarted"]) == ("IN_PROGRESS", True)


def test_conflict_on_standard_start_is_already_started(transcribe: Transcribe) -> None:
    transcribe.add_error("start_transcription_job", "ConflictException", STANDARD_PLAN["request"])
    transcribe.add("get_transcription_job", standard_job("COMPLETED"), STANDARD_NAME)
    started = TranscribeJobs(transcribe.client).start(STANDARD_PLAN)
    assert (started["status"], started["alreadyStarted"]) == ("COMPLETED", True)


@pytest.mark.parametrize(
    "code", ["LimitExceededException", "ThrottlingException", "InternalFailureException"]
)
@pytest.mark.parametrize("plan", [CA_PLAN, STANDARD_PLAN], ids=["call-analytics", "standard"])
def test_throttling_raises_transcribe_throttled(
    transcribe: Transcribe, code: str, plan: dict[str, Any]
) -> None:
    method = "start_call_analytics_job" if plan is CA_PLAN else "start_transcription_job"
    transcribe.add_error(method, code, plan["request"])
    with pytest.raises(TranscribeThrottled, match=code) as raised:
        TranscribeJobs(transcribe.client).start(plan)
    # Step Functions matches the error by this name.
    assert type(raised.value).__name__ == "TranscribeThrottled"


def test_bad_request_raises_transcribe_rejected(transcribe: Transcribe) -> None:
    transcribe.add_error("start_call_analytics_job", "BadRequestException", CA_PLAN["request"])
    with pytest.raises(TranscribeRejected, match="BadRequestException") as raised:
        TranscribeJobs(transcribe.client).start(CA_PLAN)
    assert type(raised.value).__name__ == "TranscribeRejected"


def test_misspelt_request_field_is_rejected_not_sent() -> None:
    # No Stubber: the client's own validation must refuse the request before anything is sent
    # (a Stubber would answer first). Nothing can reach AWS: the credentials are dummies.
    client = boto3.client("transcribe", region_name=REGION, endpoint_url="http://127.0.0.1:9")
    request = dict(CA_PLAN["request"])
    request["Settings"] = {"contentRedaction": request["Settings"]["ContentRedaction"]}
    with pytest.raises(TranscribeRejected, match="contentRedaction"):
        TranscribeJobs(client).start({**CA_PLAN, "request": request})


@pytest.mark.parametrize(
    "plan",
    [
        {"skip": True, "reason": "already transcribed"},
        {**CA_PLAN, "jobType": "medical"},
        {**CA_PLAN, "jobName": "another"},
        {**CA_PLAN, "request": None},
    ],
    ids=["skip", "job-type", "other-name", "no-request"],
)
def test_plan_that_is_not_a_plan_to_start_is_rejected(transcribe: Transcribe, plan: Any) -> None:
    with pytest.raises(TranscribeRejected, match="start"):
        TranscribeJobs(transcribe.client).start(plan)


def test_completed_call_analytics_status_names_every_output(transcribe: Transcribe) -> None:
    name = CA_PLAN["jobName"]
    transcribe.add(
        "get_call_analytics_job",
        ca_job(
            "COMPLETED",
            LanguageCode="en-US",
            Transcript={
                "TranscriptFileUri": f"s3://{BUCKET}/{OUTPUT}/analytics/{name}.json",
                "RedactedTranscriptFileUri": f"s3://{BUCKET}/{OUTPUT}/redacted-analytics/{name}.json",
            },
            Media={
                "MediaFileUri": f"s3://{BUCKET}/{KEY}",
                "RedactedMediaFileUri": f"s3://{BUCKET}/{OUTPUT}/redacted-analytics/{name}.wav",
            },
        ),
        CA_NAME,
    )
    assert TranscribeJobs(transcribe.client).status(name, "call-analytics") == {
        "status": "COMPLETED",
        "failureReason": None,
        "languageCode": "en-US",
        "outputs": {
            "bucket": BUCKET,
            "transcriptKey": f"{OUTPUT}/analytics/{name}.json",
            "redactedTranscriptKey": f"{OUTPUT}/redacted-analytics/{name}.json",
            "redactedMediaKey": f"{OUTPUT}/redacted-analytics/{name}.wav",
        },
    }


def test_completed_standard_status_reads_https_uris(transcribe: Transcribe) -> None:
    name = STANDARD_PLAN["jobName"]
    uri = f"https://s3.us-east-1.amazonaws.com/{BUCKET}/{OUTPUT}/{name}.json"
    transcribe.add(
        "get_transcription_job",
        standard_job("COMPLETED", LanguageCode="en-US", Transcript={"TranscriptFileUri": uri}),
        STANDARD_NAME,
    )
    status = TranscribeJobs(transcribe.client).status(name, "standard")
    assert status["outputs"] == {
        "bucket": BUCKET,
        "transcriptKey": f"{OUTPUT}/{name}.json",
        "redactedTranscriptKey": None,
        "redactedMediaKey": None,
    }


@pytest.mark.parametrize("job_type", ["call-analytics", "standard"])
def test_failed_status_carries_the_reason(transcribe: Transcribe, job_type: str) -> None:
    reason = "The media format provided does not match the detected media format."
    if job_type == "call-analytics":
        transcribe.add("get_call_analytics_job", ca_job("FAILED", FailureReason=reason), CA_NAME)
        name = CA_PLAN["jobName"]
    else:
        transcribe.add(
            "get_transcription_job", standard_job("FAILED", FailureReason=reason), STANDARD_NAME
        )
        name = STANDARD_PLAN["jobName"]
    status = TranscribeJobs(transcribe.client).status(name, job_type)
    assert (status["status"], status["failureReason"]) == ("FAILED", reason)
    assert status["outputs"]["transcriptKey"] is None


def test_in_progress_status_has_no_failure_reason(transcribe: Transcribe) -> None:
    transcribe.add("get_call_analytics_job", ca_job("IN_PROGRESS"), CA_NAME)
    status = TranscribeJobs(transcribe.client).status(CA_PLAN["jobName"], "call-analytics")
    assert (status["status"], status["failureReason"]) == ("IN_PROGRESS", None)


def test_unknown_job_is_rejected(transcribe: Transcribe) -> None:
    transcribe.add_error("get_transcription_job", "NotFoundException", STANDARD_NAME)
    with pytest.raises(TranscribeRejected, match="NotFoundException"):
        TranscribeJobs(transcribe.client).status(STANDARD_PLAN["jobName"], "standard")


def test_throttled_status_read_raises_transcribe_throttled(transcribe: Transcribe) -> None:
    transcribe.add_error("get_call_analytics_job", "LimitExceededException", CA_NAME)
    with pytest.raises(TranscribeThrottled):
        TranscribeJobs(transcribe.client).status(CA_PLAN["jobName"], "call-analytics")


@pytest.mark.parametrize(
    ("name", "job_type", "message"),
    [("", "standard", "jobName is ''"), ("job", "medical", "jobType is 'medical'")],
)
def test_status_arguments_are_checked(
    transcribe: Transcribe, name: str, job_type: str, message: str
) -> None:
    with pytest.raises(TranscribeRejected, match=message):
        TranscribeJobs(transcribe.client).status(name, job_type)


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("s3://b/transcripts/t/x.json", ("b", "transcripts/t/x.json")),
        ("https://s3.eu-west-1.amazonaws.com/b/t/x.json", ("b", "t/x.json")),
        ("https://s3.amazonaws.com/b/t/x.json", ("b", "t/x.json")),
        ("https://s3-eu-west-1.amazonaws.com/b/t/x.json", ("b", "t/x.json")),
        ("https://b.s3.eu-west-1.amazonaws.com/t/x.json", ("b", "t/x.json")),
        ("https://b.s3.eu-west-1.amazonaws.com/t/a%20b.json", ("b", "t/a b.json")),
        ("https://example.com/b/t/x.json", None),
        ("s3://b", None),
        ("", None),
        (None, None),
    ],
)
def test_s3_location(uri: object, expected: tuple[str, str] | None) -> None:
    assert s3_location(uri) == expected


def test_conflict_with_a_failed_call_analytics_job_deletes_it_and_starts_again(
    transcribe: Transcribe,
) -> None:
    # A failed job keeps its name for 90 days: without the delete no re-run could start.
    transcribe.add_error("start_call_analytics_job", "ConflictException", CA_PLAN["request"])
    transcribe.add("get_call_analytics_job", ca_job("FAILED", FailureReason="bad"), CA_NAME)
    transcribe.add("delete_call_analytics_job", {}, CA_NAME)
    transcribe.add("start_call_analytics_job", ca_job("QUEUED"), CA_PLAN["request"])
    started = TranscribeJobs(transcribe.client).start(CA_PLAN)
    assert (started["status"], started["alreadyStarted"]) == ("QUEUED", False)
    transcribe.stubber.assert_no_pending_responses()


def test_conflict_with_a_failed_standard_job_deletes_it_and_starts_again(
    transcribe: Transcribe,
) -> None:
    transcribe.add_error("start_transcription_job", "ConflictException", STANDARD_PLAN["request"])
    transcribe.add("get_transcription_job", standard_job("FAILED"), STANDARD_NAME)
    transcribe.add("delete_transcription_job", {}, STANDARD_NAME)
    transcribe.add("start_transcription_job", standard_job("IN_PROGRESS"), STANDARD_PLAN["request"])
    started = TranscribeJobs(transcribe.client).start(STANDARD_PLAN)
    assert (started["status"], started["alreadyStarted"]) == ("IN_PROGRESS", False)
    transcribe.stubber.assert_no_pending_responses()


def test_failed_job_is_deleted_once_a_second_conflict_reads_the_new_job(
    transcribe: Transcribe,
) -> None:
    transcribe.add_error("start_call_analytics_job", "ConflictException", CA_PLAN["request"])
    transcribe.add("get_call_analytics_job", ca_job("FAILED"), CA_NAME)
    transcribe.add_error("delete_call_analytics_job", "NotFoundException", CA_NAME)
    transcribe.add_error("start_call_analytics_job", "ConflictException", CA_PLAN["request"])
    transcribe.add("get_call_analytics_job", ca_job("IN_PROGRESS"), CA_NAME)
    started = TranscribeJobs(transcribe.client).start(CA_PLAN)
    assert (started["status"], started["alreadyStarted"]) == ("IN_PROGRESS", True)
    transcribe.stubber.assert_no_pending_responses()


def test_refused_delete_of_a_failed_job_is_rejected(transcribe: Transcribe) -> None:
    transcribe.add_error("start_transcription_job", "ConflictException", STANDARD_PLAN["request"])
    transcribe.add("get_transcription_job", standard_job("FAILED"), STANDARD_NAME)
    transcribe.add_error("delete_transcription_job", "AccessDeniedException", STANDARD_NAME)
    with pytest.raises(TranscribeRejected, match=r"delete .*AccessDeniedException"):
        TranscribeJobs(transcribe.client).start(STANDARD_PLAN)
