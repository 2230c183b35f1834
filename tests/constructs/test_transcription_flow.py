"""The transcription state machines: every state, retry, catch, bound and setting, from the template."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk.assertions import Template

from cdk_recording import CallRecording, TranscriptionOptions
from tests.constructs.conftest import template_of


def _name(expression: dict[str, Any]) -> str:
    if "Ref" in expression:
        return str(expression["Ref"])
    if "Fn::GetAtt" in expression:
        return ".".join(expression["Fn::GetAtt"])
    return "<expression>"


def _definition(resource: dict[str, Any]) -> dict[str, Any]:
    """The ASL of a state machine; each CloudFormation expression becomes the name it refers to."""
    body = resource["Properties"]["DefinitionString"]
    if isinstance(body, str):
        return dict(json.loads(body))
    parts = body["Fn::Join"][1]
    return dict(json.loads("".join(p if isinstance(p, str) else _name(p) for p in parts)))


@pytest.fixture(scope="module")
def template() -> Template:
    return template_of(
        lambda stack: CallRecording(
            stack, "CallRecording", transcription=TranscriptionOptions(backfill_concurrency=40)
        )
    )


def _machine(template: Template, comment_start: str) -> tuple[dict[str, Any], dict[str, Any]]:
    for resource in template.find_resources("AWS::StepFunctions::StateMachine").values():
        asl = _definition(resource)
        if str(asl.get("Comment", "")).startswith(comment_start):
            return resource, asl
    raise AssertionError(f"no state machine whose comment starts with {comment_start!r}")


@pytest.fixture(scope="module")
def recording(template: Template) -> tuple[dict[str, Any], dict[str, Any]]:
    return _machine(template, "cdk-recording: transcribe one recording")


@pytest.fixture(scope="module")
def backfill(template: Template) -> tuple[dict[str, Any], dict[str, Any]]:
    return _machine(template, "cdk-recording: transcribe every recording")


def _payload(state: dict[str, Any]) -> dict[str, Any]:
    return dict(state["Parameters"])


# -- per recording ----------------------------------------------------------------------------------


def test_recording_machine_has_exactly_the_documented_states(
    recording: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    _, asl = recording
    assert asl["StartAt"] == "Init"
    assert set(asl["States"]) == {
        "Init",
        "Plan",
        "Skip?",
        "Skipped",
        "StartJob",
        "JobRunning?",
        "AwaitJobEvent",
        "GetJobStatus",
        "CountRound",
        "JobDone?",
        "RecordTranscript",
        "Transcribed",
        "JobFailed",
        "PollsExhausted",
        "RecordFailure",
        "TranscriptionFailed",
    }


def test_init_keeps_the_input_and_starts_with_a_null_plan_and_zero_polls(
    recording: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    init = recording[1]["States"]["Init"]
    assert init["Parameters"] == {
        "recording.$": "$",
        "plan.$": "States.StringToJson('null')",
        "poll": {"count": 0},
    }
    assert init["Next"] == "Plan"


@pytest.mark.parametrize(
    ("state", "payload", "result_path"),
    [
        ("Plan", {"action": "plan", "recording.$": "$.recording"}, "$.plan"),
        ("StartJob", {"action": "start", "plan.$": "$.plan"}, "$.job"),
        (
            "GetJobStatus",
            {"action": "status", "jobName.$": "$.job.jobName", "jobType.$": "$.job.jobType"},
            "$.status",
        ),
        (
            "RecordTranscript",
            {"action": "record", "plan.$": "$.plan", "status.$": "$.status"},
            "$.transcript",
        ),
        (
            "RecordFailure",
            {
                "action": "fail",
                "plan.$": "$.plan",
                "error.$": "$.error",
                "recording.$": "$.recording",
            },
            "$.failure",
        ),
    ],
)
def test_each_task_sends_the_contract_action(
    recording: tuple[dict[str, Any], dict[str, Any]],
    state: str,
    payload: dict[str, Any],
    result_path: str,
) -> None:
    task = recording[1]["States"][state]
    assert task["Type"] == "Task"
    assert _payload(task) == payload
    assert task["ResultPath"] == result_path
    assert "TranscriptionFunction" in task["Resource"]


def test_plan_skip_ends_the_execution_successfully(
    recording: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    states = recording[1]["States"]
    assert states["Plan"]["Next"] == "Skip?"
    assert states["Skip?"]["Choices"] == [
        {
            "And": [
                {"Variable": "$.plan.skip", "IsPresent": True},
                {"Variable": "$.plan.skip", "BooleanEquals": True},
            ],
            "Next": "Skipped",
        }
    ]
    assert states["Skip?"]["Default"] == "StartJob"
    assert states["Skipped"]["Type"] == "Succeed"


_THROTTLED_RETRY = {
    "ErrorEquals": ["TranscribeThrottled"],
    "IntervalSeconds": 2,
    "BackoffRate": 2,
    "MaxDelaySeconds": 300,
    "MaxAttempts": 20,
    "JitterStrategy": "FULL",
}
_STATUS_THROTTLED_RETRY = {**_THROTTLED_RETRY, "MaxDelaySeconds": 60, "MaxAttempts": 5}


def _longest_delays(retrier: dict[str, Any]) -> list[float]:
    """Each retry's longest delay (full jitter draws between 0 and it), with ASL's defaults."""
    interval = retrier.get("IntervalSeconds", 1)
    rate = retrier.get("BackoffRate", 2.0)
    cap = retrier.get("MaxDelaySeconds", float("inf"))
    return [min(interval * rate**n, cap) for n in range(retrier.get("MaxAttempts", 3))]


def test_start_retries_throttling_for_about_an_hour_with_capped_jittered_backoff(
    recording: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    retries = recording[1]["States"]["StartJob"]["Retry"]
    throttled = [r for r in retries if r["ErrorEquals"] == ["TranscribeThrottled"]]
    assert throttled == [_THROTTLED_RETRY]
    # The longest the synthesized retrier can wait: about an hour, at most 70 minutes.
    assert 3600 <= sum(_longest_delays(throttled[0])) <= 4200


def test_status_reads_retry_throttling_briefly_then_go_round_again(
    recording: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    status = recording[1]["States"]["GetJobStatus"]
    throttled = [r for r in status["Retry"] if r["ErrorEquals"] == ["TranscribeThrottled"]]
    assert throttled == [_STATUS_THROTTLED_RETRY]
    assert sum(_longest_delays(throttled[0])) <= 120
    # Still throttled: the round is counted and the next one reads the status again.
    assert status["Catch"][0] == {
        "ErrorEquals": ["TranscribeThrottled"],
        "ResultPath": "$.status",
        "Next": "CountRound",
    }
    assert status["Catch"][-1]["ErrorEquals"] == ["States.ALL"]


@pytest.mark.parametrize(
    "state",
    ["Plan", "StartJob", "AwaitJobEvent", "GetJobStatus", "RecordTranscript", "RecordFailure"],
)
def test_every_task_retries_transient_catalog_errors(
    recording: tuple[dict[str, Any], dict[str, Any]], state: str
) -> None:
    assert {
        "ErrorEquals": ["Transient"],
        "IntervalSeconds": 2,
        "BackoffRate": 2,
        "MaxAttempts": 5,
        "JitterStrategy": "FULL",
    } in recording[1]["States"][state]["Retry"]


def test_rejected_jobs_are_not_retried(recording: tuple[dict[str, Any], dict[str, Any]]) -> None:
    for retry in recording[1]["States"]["StartJob"]["Retry"]:
        assert "TranscribeRejected" not in retry["ErrorEquals"]
        assert "States.ALL" not in retry["ErrorEquals"]


@pytest.mark.parametrize("state", ["Plan", "StartJob", "GetJobStatus", "RecordTranscript"])
def test_every_error_of_a_step_goes_to_the_fail_step(
    recording: tuple[dict[str, Any], dict[str, Any]], state: str
) -> None:
    assert recording[1]["States"][state]["Catch"][-1] == {
        "ErrorEquals": ["States.ALL"],
        "ResultPath": "$.error",
        "Next": "RecordFailure",
    }


def test_the_fail_step_ends_the_execution_failed(
    recording: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    states = recording[1]["States"]
    assert "Catch" not in states["RecordFailure"]
    assert states["RecordFailure"]["Next"] == "TranscriptionFailed"
    assert states["TranscriptionFailed"]["Type"] == "Fail"
    assert states["TranscriptionFailed"]["Error"] == "TranscriptionFailed"


def test_a_started_job_is_awaited_unless_it_already_finished(
    recording: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    states = recording[1]["States"]
    assert states["StartJob"]["Next"] == "JobRunning?"
    choice = states["JobRunning?"]

    def finished(value: str) -> dict[str, Any]:
        return {
            "And": [
                {"Variable": "$.job.status", "IsPresent": True},
                {"Variable": "$.job.status", "StringEquals": value},
            ]
        }

    assert choice["Choices"] == [
        {"Or": [finished("COMPLETED"), finished("FAILED")], "Next": "GetJobStatus"}
    ]
    assert choice["Default"] == "AwaitJobEvent"


def test_await_hands_the_task_token_to_the_function_and_times_out_after_10_minutes(
    recording: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    task = recording[1]["States"]["AwaitJobEvent"]
    assert task["Type"] == "Task"
    assert task["Resource"].endswith(":states:::lambda:invoke.waitForTaskToken")
    assert "TranscriptionFunction" in task["Parameters"]["FunctionName"]
    assert task["Parameters"]["Payload"] == {
        "action": "await",
        "taskToken.$": "$$.Task.Token",
        "plan.$": "$.plan",
        "job.$": "$.job",
    }
    assert task["TimeoutSeconds"] == 600
    assert task["ResultPath"] == "$.wake"
    assert task["Next"] == "GetJobStatus"


def test_await_timeout_reads_the_status_and_other_errors_are_recorded(
    recording: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    # Catchers are tried in order: the timeout must come before the catch-all.
    assert recording[1]["States"]["AwaitJobEvent"]["Catch"] == [
        {"ErrorEquals": ["States.Timeout"], "ResultPath": "$.wake", "Next": "GetJobStatus"},
        {"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "RecordFailure"},
    ]


def test_each_round_reads_the_status_and_counts(
    recording: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    states = recording[1]["States"]
    assert states["GetJobStatus"]["Next"] == "CountRound"
    assert states["CountRound"]["Parameters"] == {"count.$": "States.MathAdd($.poll.count, 1)"}
    assert states["CountRound"]["ResultPath"] == "$.poll"
    assert states["CountRound"]["Next"] == "JobDone?"


def test_job_done_choice_routes_completed_failed_and_bounds_the_rounds(
    recording: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    choice = recording[1]["States"]["JobDone?"]
    present = {"Variable": "$.status.status", "IsPresent": True}
    assert choice["Choices"] == [
        {
            "And": [present, {"Variable": "$.status.status", "StringEquals": "COMPLETED"}],
            "Next": "RecordTranscript",
        },
        {
            "And": [present, {"Variable": "$.status.status", "StringEquals": "FAILED"}],
            "Next": "JobFailed",
        },
        {"Variable": "$.poll.count", "NumericGreaterThanEquals": 30, "Next": "PollsExhausted"},
    ]
    assert choice["Default"] == "AwaitJobEvent"


def test_no_state_waits_on_a_fixed_timer(
    recording: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    assert all(state["Type"] != "Wait" for state in recording[1]["States"].values())


def test_failed_and_exhausted_jobs_are_recorded_with_an_error(
    recording: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    states = recording[1]["States"]
    assert states["JobFailed"]["Parameters"] == {
        "Error": "TranscriptionJobFailed",
        "Cause.$": "$.status.failureReason",
    }
    assert states["PollsExhausted"]["Parameters"]["Error"] == "TranscriptionTimedOut"
    for name in ("JobFailed", "PollsExhausted"):
        assert states[name]["ResultPath"] == "$.error"
        assert states[name]["Next"] == "RecordFailure"
    assert states["RecordTranscript"]["Next"] == "Transcribed"
    assert states["Transcribed"]["Type"] == "Succeed"


def _worst_case_seconds(state: dict[str, Any], attempt: float) -> float:
    """A task at its worst: every retrier's every retry at its longest delay, each failed attempt
    lasting ``attempt`` seconds and the last one the state's own timeout (else ``attempt``)."""
    retries = state.get("Retry", [])
    delays = sum(sum(_longest_delays(r)) for r in retries)
    failed = sum(r.get("MaxAttempts", 3) for r in retries)
    return delays + failed * attempt + state.get("TimeoutSeconds", attempt)


def test_recording_machine_times_out_after_the_round_bound_and_the_retries(
    template: Template, recording: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    _, asl = recording
    states = asl["States"]
    functions = template.find_resources(
        "AWS::Lambda::Function",
        {"Properties": {"Handler": "recording_processor.transcription.handler.handler"}},
    )
    (function,) = functions.values()
    attempt = function["Properties"]["Timeout"]
    rounds = states["JobDone?"]["Choices"][2]["NumericGreaterThanEquals"]

    def worst(name: str) -> float:
        return _worst_case_seconds(states[name], attempt)

    bound = (
        worst("Plan")
        + worst("StartJob")
        + rounds * (worst("AwaitJobEvent") + worst("GetJobStatus"))
        + worst("RecordTranscript")
        + worst("RecordFailure")
    )
    # The round counter, which records the failure, binds before the machine's timeout.
    assert asl["TimeoutSeconds"] > bound


@pytest.mark.parametrize("which", ["recording", "backfill"])
def test_machines_log_everything_to_an_encrypted_group_and_trace(
    request: pytest.FixtureRequest, template: Template, which: str
) -> None:
    resource, _ = request.getfixturevalue(which)
    properties = resource["Properties"]
    assert properties["TracingConfiguration"] == {"Enabled": True}
    logging = properties["LoggingConfiguration"]
    assert logging["Level"] == "ALL"
    assert logging["IncludeExecutionData"] is True
    group_id = logging["Destinations"][0]["CloudWatchLogsLogGroup"]["LogGroupArn"]["Fn::GetAtt"][0]
    group = template.find_resources("AWS::Logs::LogGroup")[group_id]
    assert "KmsKeyId" in group["Properties"]
    assert group["DeletionPolicy"] == "Retain"


# -- backfill -----------------------------------------------------------------------------------------


def test_backfill_checks_the_number_of_prefixes(
    backfill: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    states = backfill[1]["States"]
    # States.ArrayLength of a missing field would fail the execution in a Pass state: a Choice
    # checks there is a first prefix before CheckInput counts them.
    assert backfill[1]["StartAt"] == "HasPrefixes?"
    assert states["HasPrefixes?"]["Choices"] == [
        {"Variable": "$.prefixes[0]", "IsPresent": True, "Next": "CheckInput"}
    ]
    assert states["HasPrefixes?"]["Default"] == "InvalidInput"
    assert states["CheckInput"]["Parameters"]["count.$"] == "States.ArrayLength($.prefixes)"
    choice = states["PrefixCount?"]
    assert choice["Choices"][0]["And"] == [
        {"Variable": "$.count", "NumericGreaterThanEquals": 1},
        {"Variable": "$.count", "NumericLessThanEquals": 366},
    ]
    assert choice["Choices"][0]["Next"] == "EachPrefix"
    assert choice["Default"] == "InvalidInput"
    assert states["InvalidInput"]["Type"] == "Fail"


def test_backfill_takes_one_prefix_at_a_time(
    backfill: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    each_prefix = backfill[1]["States"]["EachPrefix"]
    assert each_prefix["Type"] == "Map"
    assert each_prefix["ItemsPath"] == "$.prefixes"
    assert each_prefix["MaxConcurrency"] == 1
    # Distributed, so that the inner Distributed Map runs in a Standard child workflow rather
    # than nested in an inline Map's iteration.
    assert each_prefix["ItemProcessor"]["ProcessorConfig"] == {
        "Mode": "DISTRIBUTED",
        "ExecutionType": "STANDARD",
    }
    assert each_prefix["ResultPath"] is None


def test_distributed_map_lists_the_prefix_in_the_recording_bucket(
    backfill: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    each_prefix = backfill[1]["States"]["EachPrefix"]
    inner = each_prefix["ItemProcessor"]["States"]["EachRecording"]
    assert inner["ItemProcessor"]["ProcessorConfig"] == {
        "Mode": "DISTRIBUTED",
        "ExecutionType": "STANDARD",
    }
    reader = inner["ItemReader"]
    assert reader["Resource"].endswith(":states:::s3:listObjectsV2")
    assert reader["Parameters"]["Prefix.$"] == "$.prefix"
    assert "StorageBucket" in reader["Parameters"]["Bucket"]
    assert inner["MaxConcurrency"] == 40
    assert inner["ToleratedFailurePercentage"] == 10
    assert inner["ResultPath"] is None
    assert inner["ItemSelector"]["key.$"] == "$$.Map.Item.Value.Key"


def test_each_recording_runs_the_per_recording_machine_synchronously(
    backfill: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    inner = backfill[1]["States"]["EachPrefix"]["ItemProcessor"]["States"]["EachRecording"]
    states = inner["ItemProcessor"]["States"]
    task = states["TranscribeRecording"]
    assert task["Resource"].endswith(":states:::states:startExecution.sync:2")
    assert task["Parameters"]["Input"]["bucket.$"] == "$.bucket"
    assert task["Parameters"]["Input"]["key.$"] == "$.key"
    assert "TranscriptionStateMachine" in task["Parameters"]["StateMachineArn"]
    # Each child reports a single number, so a prefix's results stay far below 256 KiB.
    assert states["Done"] == {"Type": "Pass", "Result": 1, "End": True}


def test_default_backfill_concurrency_is_50() -> None:
    template = template_of(
        lambda stack: CallRecording(stack, "CallRecording", transcription=TranscriptionOptions())
    )
    _, asl = _machine(template, "cdk-recording: transcribe every recording")
    inner = asl["States"]["EachPrefix"]["ItemProcessor"]["States"]["EachRecording"]
    assert inner["MaxConcurrency"] == 50


def test_backfill_machine_has_a_timeout(backfill: tuple[dict[str, Any], dict[str, Any]]) -> None:
    assert backfill[1]["TimeoutSeconds"] == 30 * 24 * 3600
