"""Waking a waiting execution: ``await`` stores the task token, ``job-event`` returns it.

Step Functions is a botocore ``Stubber`` (validated against the real model): moto's Step
Functions backend does not run ``.waitForTaskToken`` tasks, so it has no token to accept.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber
from hypothesis import given
from hypothesis import strategies as st
from recording_processor._errors import Transient
from recording_processor.transcription._plan import job_name
from recording_processor.transcription._wake import job_ids, read_job_event
from recording_processor.transcription.handler import TranscriptionRuntime

from tests.processor.conftest import (
    BUCKET,
    CALL_ID,
    PREFIX,
    REGION,
    TRANSACTION_ID,
    Aws,
    Output,
    key_for,
)
from tests.transcription.conftest import (
    KEY,
    Transcribe,
    invoke,
    make_runtime,
    seed_recording,
    transcript_item,
)
from tests.transcription.test_transcription_handler import AVAILABLE

TOKEN = "AQCEAAAAKgAAAAMAAAAAAAAAAd1example-task-token-of-the-await-step"
OLD_TOKEN = "AQCEAAAAKgAAAAMAAAAAAAAAAd1example-token-of-an-earlier-round"


class StepFunctions:
    """A Step Functions client and its stubber."""

    def __init__(self) -> None:
        self.client = boto3.client("stepfunctions", region_name=REGION)
        self.stubber = Stubber(self.client)

    def expect_success(self, token: str, status: str, source: str) -> None:
        self.stubber.add_response(
            "send_task_success",
            {},
            {
                "taskToken": token,
                "output": json.dumps({"status": status, "source": source}, separators=(",", ":")),
            },
        )

    def refuse(self, code: str) -> None:
        self.stubber.add_client_error(
            "send_task_success", service_error_code=code, http_status_code=400
        )


@pytest.fixture
def sfn() -> Iterator[StepFunctions]:
    stubbed = StepFunctions()
    with stubbed.stubber:
        yield stubbed
        stubbed.stubber.assert_no_pending_responses()


def _runtime(
    aws: Aws, transcribe: Transcribe, output: Output, sfn: StepFunctions
) -> TranscriptionRuntime:
    base = make_runtime(aws, transcribe, output)
    return TranscriptionRuntime(
        config=base.config,
        transcribe=base.transcribe,
        dynamodb=base.dynamodb,
        events=base.events,
        clock=base.clock,
        write=base.write,
        stepfunctions=sfn.client,
    )


def _started(aws: Aws, transcribe: Transcribe, runtime: TranscriptionRuntime) -> dict[str, Any]:
    """A delivered stereo recording, planned and started: the plan."""
    seed_recording(aws)
    plan: dict[str, Any] = invoke(runtime, action="plan", recording=AVAILABLE)
    name = plan["jobName"]
    transcribe.add(
        "start_call_analytics_job",
        {"CallAnalyticsJob": {"CallAnalyticsJobName": name, "CallAnalyticsJobStatus": "QUEUED"}},
        plan["request"],
    )
    invoke(runtime, action="start", plan=plan)
    return plan


def _job_status(transcribe: Transcribe, name: str, status: str) -> None:
    transcribe.add(
        "get_call_analytics_job",
        {"CallAnalyticsJob": {"CallAnalyticsJobName": name, "CallAnalyticsJobStatus": status}},
        {"CallAnalyticsJobName": name},
    )


def _ca_event(name: str, status: str = "COMPLETED") -> dict[str, Any]:
    """The rule's input for a Call Analytics job (post-call.md §2.5: JobName, JobStatus)."""
    return {
        "action": "job-event",
        "detailType": "Call Analytics Job State Change",
        "detail": {"JobName": name, "JobStatus": status},
    }


def _raw_standard_event(name: str, status: str = "COMPLETED") -> dict[str, Any]:
    """A standard job's event as EventBridge delivers it (TranscriptionJobName, ...Status)."""
    detail: dict[str, Any] = {"TranscriptionJobName": name, "TranscriptionJobStatus": status}
    if status == "FAILED":
        detail["FailureReason"] = "The media format is not supported"
    return {
        "version": "0",
        "id": "4a1b9c3e-0000-4000-8000-7f6a5b4c3d2e",
        "detail-type": "Transcribe Job State Change",
        "source": "aws.transcribe",
        "account": "123456789012",
        "time": "2026-11-24T12:15:00Z",
        "region": REGION,
        "resources": [],
        "detail": detail,
    }


# -- await -------------------------------------------------------------------------------------------


def test_await_stores_the_token_on_the_started_item(
    aws: Aws, transcribe: Transcribe, output: Output, sfn: StepFunctions
) -> None:
    runtime = _runtime(aws, transcribe, output, sfn)
    plan = _started(aws, transcribe, runtime)
    _job_status(transcribe, plan["jobName"], "IN_PROGRESS")
    result = invoke(runtime, action="await", plan=plan, taskToken=TOKEN)
    assert result == {"stored": True, "status": "IN_PROGRESS", "woken": False}
    item = transcript_item(aws)
    assert item is not None
    assert (item["taskToken"], item["jobName"], item["status"]) == (
        TOKEN,
        plan["jobName"],
        "started",
    )
    assert item["taskTokenAt"] == "2026-11-24T12:10:00.000Z"
    assert TOKEN not in "\n".join(output.lines)


def test_await_replaces_an_earlier_rounds_token(
    aws: Aws, transcribe: Transcribe, output: Output, sfn: StepFunctions
) -> None:
    runtime = _runtime(aws, transcribe, output, sfn)
    plan = _started(aws, transcribe, runtime)
    for token in (OLD_TOKEN, TOKEN):
        _job_status(transcribe, plan["jobName"], "IN_PROGRESS")
        invoke(runtime, action="await", plan=plan, taskToken=token)
    item = transcript_item(aws)
    assert item is not None
    assert item["taskToken"] == TOKEN


def test_await_does_not_store_on_a_completed_item_and_wakes_itself(
    aws: Aws, transcribe: Transcribe, output: Output, sfn: StepFunctions
) -> None:
    runtime = _runtime(aws, transcribe, output, sfn)
    plan = _started(aws, transcribe, runtime)
    aws.table.update_item(
        Key={"pk": f"TX#{TRANSACTION_ID}", "sk": f"TRANSCRIPT#{CALL_ID}"},
        UpdateExpression="SET #s = :c",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":c": "completed"},
    )
    _job_status(transcribe, plan["jobName"], "COMPLETED")
    sfn.expect_success(TOKEN, "COMPLETED", "await")
    result = invoke(runtime, action="await", plan=plan, taskToken=TOKEN)
    assert result == {"stored": False, "status": "COMPLETED", "woken": True}
    item = transcript_item(aws)
    assert item is not None
    assert "taskToken" not in item


def test_await_does_not_store_on_another_jobs_item(
    aws: Aws, transcribe: Transcribe, output: Output, sfn: StepFunctions
) -> None:
    runtime = _runtime(aws, transcribe, output, sfn)
    plan = _started(aws, transcribe, runtime)
    other = {**plan, "jobName": "another-job_0123456789abcdef"}
    _job_status(transcribe, other["jobName"], "QUEUED")
    assert invoke(runtime, action="await", plan=other, taskToken=TOKEN)["stored"] is False
    item = transcript_item(aws)
    assert item is not None
    assert "taskToken" not in item


def test_await_returns_the_token_when_the_job_finished_before_it_was_stored(
    aws: Aws, transcribe: Transcribe, output: Output, sfn: StepFunctions
) -> None:
    runtime = _runtime(aws, transcribe, output, sfn)
    plan = _started(aws, transcribe, runtime)
    _job_status(transcribe, plan["jobName"], "FAILED")
    sfn.expect_success(TOKEN, "FAILED", "await")
    assert invoke(runtime, action="await", plan=plan, taskToken=TOKEN)["woken"] is True


def test_await_survives_a_throttled_status_read(
    aws: Aws, transcribe: Transcribe, output: Output, sfn: StepFunctions
) -> None:
    runtime = _runtime(aws, transcribe, output, sfn)
    plan = _started(aws, transcribe, runtime)
    transcribe.add_error("get_call_analytics_job", "LimitExceededException")
    result = invoke(runtime, action="await", plan=plan, taskToken=TOKEN)
    assert result == {"stored": True, "status": None, "woken": False}


@pytest.mark.parametrize("code", ["AccessDeniedException", "ThrottlingException"])
def test_await_survives_a_refused_send_for_a_finished_job(
    aws: Aws, transcribe: Transcribe, output: Output, sfn: StepFunctions, code: str
) -> None:
    # Raising would record a completed job as failed: the round's timeout and status read decide.
    runtime = _runtime(aws, transcribe, output, sfn)
    plan = _started(aws, transcribe, runtime)
    _job_status(transcribe, plan["jobName"], "COMPLETED")
    sfn.refuse(code)
    result = invoke(runtime, action="await", plan=plan, taskToken=TOKEN)
    assert result == {"stored": True, "status": "COMPLETED", "woken": False}
    lines = "\n".join(output.lines)
    assert '"TranscriptionTokenSendFailed":1' in lines
    assert "task token not returned while awaiting" in lines
    assert TOKEN not in lines


@pytest.mark.parametrize("token", [None, "", 5, "x" * 2049])
def test_await_rejects_a_missing_or_malformed_token(
    aws: Aws, transcribe: Transcribe, output: Output, sfn: StepFunctions, token: object
) -> None:
    runtime = _runtime(aws, transcribe, output, sfn)
    plan = _started(aws, transcribe, runtime)
    with pytest.raises(ValueError, match="taskToken"):
        invoke(runtime, action="await", plan=plan, taskToken=token)


# -- job-event ---------------------------------------------------------------------------------------


def _waiting(aws: Aws, transcribe: Transcribe, runtime: TranscriptionRuntime) -> dict[str, Any]:
    plan = _started(aws, transcribe, runtime)
    _job_status(transcribe, plan["jobName"], "IN_PROGRESS")
    invoke(runtime, action="await", plan=plan, taskToken=TOKEN)
    return plan


def test_our_call_analytics_event_returns_the_token_with_the_status(
    aws: Aws, transcribe: Transcribe, output: Output, sfn: StepFunctions
) -> None:
    runtime = _runtime(aws, transcribe, output, sfn)
    plan = _waiting(aws, transcribe, runtime)
    sfn.expect_success(TOKEN, "COMPLETED", "event")
    assert invoke(runtime, **_ca_event(plan["jobName"])) == {"woken": True, "reason": None}
    assert '"TranscriptionWoken":1' in "\n".join(output.lines)
    assert TOKEN not in "\n".join(output.lines)


def test_a_raw_standard_job_event_is_read_too(
    aws: Aws, transcribe: Transcribe, output: Output, sfn: StepFunctions
) -> None:
    runtime = _runtime(aws, transcribe, output, sfn)
    plan = _waiting(aws, transcribe, runtime)
    sfn.expect_success(TOKEN, "FAILED", "event")
    result = runtime_handler(runtime, _raw_standard_event(plan["jobName"], "FAILED"))
    assert result["woken"] is True


def runtime_handler(runtime: TranscriptionRuntime, event: dict[str, Any]) -> Any:
    from recording_processor.transcription.handler import handler

    return handler(event, None, runtime=runtime)


@pytest.mark.parametrize("code", ["TaskTimedOut", "InvalidToken", "TaskDoesNotExist"])
def test_a_stale_token_is_ignored_and_counted(
    aws: Aws, transcribe: Transcribe, output: Output, sfn: StepFunctions, code: str
) -> None:
    runtime = _runtime(aws, transcribe, output, sfn)
    plan = _waiting(aws, transcribe, runtime)
    sfn.refuse(code)
    result = invoke(runtime, **_ca_event(plan["jobName"]))
    assert result == {"woken": False, "reason": "the execution no longer waits"}
    assert '"TranscriptionTokenStale":1' in "\n".join(output.lines)


def test_throttled_send_is_transient_for_the_events_redelivery(
    aws: Aws, transcribe: Transcribe, output: Output, sfn: StepFunctions
) -> None:
    runtime = _runtime(aws, transcribe, output, sfn)
    plan = _waiting(aws, transcribe, runtime)
    sfn.refuse("ThrottlingException")
    with pytest.raises(Transient):
        invoke(runtime, **_ca_event(plan["jobName"]))


def test_a_refused_send_of_our_job_shows(
    aws: Aws, transcribe: Transcribe, output: Output, sfn: StepFunctions
) -> None:
    runtime = _runtime(aws, transcribe, output, sfn)
    plan = _waiting(aws, transcribe, runtime)
    sfn.refuse("AccessDeniedException")
    with pytest.raises(ClientError):
        invoke(runtime, **_ca_event(plan["jobName"]))


def test_an_event_for_another_job_name_of_the_same_recording_is_ignored(
    aws: Aws, transcribe: Transcribe, output: Output, sfn: StepFunctions
) -> None:
    runtime = _runtime(aws, transcribe, output, sfn)
    plan = _waiting(aws, transcribe, runtime)
    stem = plan["jobName"].rsplit("_", 1)[0]
    result = invoke(runtime, **_ca_event(f"{stem}_ffffffffffffffff"))
    assert result == {"woken": False, "reason": "no execution waiting"}


def test_an_event_for_a_started_item_without_a_token_is_ignored(
    aws: Aws, transcribe: Transcribe, output: Output, sfn: StepFunctions
) -> None:
    runtime = _runtime(aws, transcribe, output, sfn)
    plan = _started(aws, transcribe, runtime)
    result = invoke(runtime, **_ca_event(plan["jobName"]))
    assert result == {"woken": False, "reason": "no execution waiting"}


def test_an_event_for_an_unknown_recording_of_ours_is_ignored(
    aws: Aws, transcribe: Transcribe, output: Output, sfn: StepFunctions
) -> None:
    runtime = _runtime(aws, transcribe, output, sfn)
    result = invoke(runtime, **_ca_event(job_name(BUCKET, KEY)))
    assert result == {"woken": False, "reason": "no execution waiting"}


@pytest.mark.parametrize(
    "name",
    [
        "customer-support-call-42",
        "my-job_0123456789abcdef",
        "2026-11-24-12-00-00-000_not-a-uuid_0c9e8d7f_0123456789abcdef",
        "",
    ],
)
def test_someone_elses_job_is_ignored_without_a_catalog_read(
    aws: Aws, transcribe: Transcribe, output: Output, name: str
) -> None:
    # No Step Functions client at all: a foreign job must not even need one.
    runtime = make_runtime(aws, transcribe, output)
    result = invoke(runtime, **_ca_event(name))
    assert result["woken"] is False


@pytest.mark.parametrize(
    "event",
    [
        {"action": "job-event", "detailType": "Vocabulary State Change", "detail": {}},
        {"action": "job-event", "detailType": "Call Analytics Job State Change"},
        _ca_event("x_0123456789abcdef", status="IN_PROGRESS"),
        {
            "action": "job-event",
            "detailType": "Transcribe Job State Change",
            "detail": {"JobName": "wrong-field_0123456789abcdef", "JobStatus": "COMPLETED"},
        },
    ],
)
def test_events_that_are_not_a_finished_job_are_ignored(
    aws: Aws, transcribe: Transcribe, output: Output, event: dict[str, Any]
) -> None:
    result = invoke(make_runtime(aws, transcribe, output), **event)
    assert result == {"woken": False, "reason": "not a finished job's state change"}


# -- job names back to recordings ----------------------------------------------------------------------


def test_job_ids_reads_the_ids_back_from_a_real_job_name() -> None:
    assert job_ids(job_name(BUCKET, KEY), PREFIX) == (TRANSACTION_ID, CALL_ID)


def test_job_ids_reads_the_default_folder_too() -> None:
    key = key_for(prefix="")
    assert job_ids(job_name(BUCKET, key), "") == (TRANSACTION_ID, CALL_ID)


@given(
    st.uuids(),
    st.uuids(),
    st.datetimes(
        min_value=datetime(2000, 1, 1), max_value=datetime(2999, 12, 31), timezones=st.just(UTC)
    ),
)
def test_job_ids_inverts_job_name_for_any_recording(tx: Any, call: Any, start: datetime) -> None:
    key = key_for(str(tx), str(call), start)
    assert job_ids(job_name(BUCKET, key), PREFIX) == (str(tx), str(call))


def test_read_job_event_reads_both_shapes() -> None:
    ca = read_job_event(_ca_event("a_0123456789abcdef", "FAILED"))
    assert ca is not None
    assert (ca.job_type, ca.status) == ("call-analytics", "FAILED")
    standard = read_job_event(_raw_standard_event("b_0123456789abcdef", "FAILED"))
    assert standard is not None
    assert (standard.job_name, standard.job_type, standard.failure_reason) == (
        "b_0123456789abcdef",
        "standard",
        "The media format is not supported",
    )


def test_the_runtime_without_a_step_functions_client_says_so(
    aws: Aws, transcribe: Transcribe, output: Output
) -> None:
    runtime = make_runtime(aws, transcribe, output)
    with pytest.raises(ValueError, match="Step Functions"):
        runtime.tokens()
