"""The states of the transcription state machines (Step Functions L2s, no loop of our own).

Per recording (input: a ``Recording Available`` detail, or ``{"bucket", "key"}``)::

    Init -> Plan -> Skip? --skip--> Skipped (succeed)
                      `-> StartJob (retries TranscribeThrottled: 2 s, x2, 8 attempts, full jitter)
                          -> WaitForJob (60 s) -> GetJobStatus -> CountPoll -> JobDone?
                               COMPLETED -> RecordTranscript -> Transcribed (succeed)
                               FAILED    -> JobFailed -> RecordFailure -> TranscriptionFailed (fail)
                               240 polls -> PollsExhausted -> RecordFailure
                               otherwise -> WaitForJob
    Any error of Plan, StartJob, GetJobStatus or RecordTranscript -> RecordFailure. Every task
    retries the runtime's Transient errors (2 s, x2, 5 attempts, full jitter); GetJobStatus also
    retries TranscribeThrottled.

The state document is ``{"recording", "plan", "job", "status", "poll": {"count"}, "error"}``;
``plan`` starts as JSON null so that a failure before planning still reaches ``fail`` with
``"plan": null`` (the contract's input). Transcribe's job state change events are best effort, so
the bounded poll is the mechanism; a job queued by Transcribe is simply polled for longer.

Backfill (input ``{"prefixes": ["recordings/2026/01/", ...]}``, 1 to 366 entries)::

    CheckInput -> PrefixCount? --bad--> InvalidInput (fail)
      `-> EachPrefix (Map, one prefix at a time)
            -> EachRecording (Distributed Map, ItemReader S3 ListObjectsV2 of the prefix,
               MaxConcurrency backfill_concurrency, tolerated failures 10 %)
                 -> TranscribeRecording (StartExecution.sync:2 of the per-recording machine)
                 -> Done (each child outputs 1, so a prefix holds about 100,000 recordings
                    within the 256 KiB state output limit)
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

__all__ = [
    "BACKFILL_TIMEOUT",
    "MAX_POLLS",
    "MAX_PREFIXES",
    "POLL_INTERVAL",
    "RECORDING_TIMEOUT",
    "THROTTLED_ERROR",
    "TOLERATED_FAILURE_PERCENTAGE",
    "TRANSIENT_ERROR",
    "backfill_definition",
    "recording_definition",
]

#: The error name the runtime raises on Transcribe throttling or LimitExceeded (the contract).
THROTTLED_ERROR = "TranscribeThrottled"
#: The error name the runtime raises when a catalog or EventBridge call failed; every action is
#: idempotent, so it is retried before the failure is recorded.
TRANSIENT_ERROR = "Transient"
#: How long the machine waits between two status reads of a job.
POLL_INTERVAL = cdk.Duration.seconds(60)
#: Status reads before the job is given up: 240 x 60 s = 4 hours, Transcribe's longest audio.
MAX_POLLS = 240
#: The whole execution: the polls, plus the throttling retries and the catalog writes.
RECORDING_TIMEOUT = cdk.Duration.hours(5)
#: Prefixes one backfill execution accepts: a year of day prefixes.
MAX_PREFIXES = 366
#: Failed recordings a backfill of one prefix tolerates before it stops (failed transcriptions
#: are cataloged ``failed`` and announced either way).
TOLERATED_FAILURE_PERCENTAGE = 10
#: A backfill of a year at the default concurrency: days of work; Standard workflows allow a year.
BACKFILL_TIMEOUT = cdk.Duration.days(30)


def _invoke(
    scope: Construct, name: str, function: lambda_.IFunction, payload: dict[str, object], path: str
) -> tasks.LambdaInvoke:
    task = tasks.LambdaInvoke(
        scope,
        name,
        lambda_function=function,
        payload=sfn.TaskInput.from_object(payload),
        payload_response_only=True,
        result_path=path,
    )
    task.add_retry(
        errors=[TRANSIENT_ERROR],
        interval=cdk.Duration.seconds(2),
        backoff_rate=2,
        max_attempts=5,
        jitter_strategy=sfn.JitterType.FULL,
    )
    return task


def _retry_throttling(task: tasks.LambdaInvoke) -> None:
    task.add_retry(
        errors=[THROTTLED_ERROR],
        interval=cdk.Duration.seconds(2),
        backoff_rate=2,
        max_attempts=8,
        jitter_strategy=sfn.JitterType.FULL,
    )


def recording_definition(scope: Construct, function: lambda_.IFunction) -> sfn.IChainable:
    """The per-recording definition: plan, start, poll, record (or fail)."""
    init = sfn.Pass(
        scope,
        "Init",
        comment="Keep the input; plan is null until planned, polls start at 0",
        parameters={
            "recording.$": "$",
            "plan.$": "States.StringToJson('null')",
            "poll": {"count": 0},
        },
    )
    plan = _invoke(
        scope,
        "Plan",
        function,
        {"action": "plan", "recording.$": "$.recording"},
        "$.plan",
    )
    start = _invoke(scope, "StartJob", function, {"action": "start", "plan.$": "$.plan"}, "$.job")
    _retry_throttling(start)
    wait = sfn.Wait(scope, "WaitForJob", time=sfn.WaitTime.duration(POLL_INTERVAL))
    status = _invoke(
        scope,
        "GetJobStatus",
        function,
        {"action": "status", "jobName.$": "$.job.jobName", "jobType.$": "$.job.jobType"},
        "$.status",
    )
    # Get*Job allows 20 requests per second per account: many recordings polling at once can hit it.
    _retry_throttling(status)
    count = sfn.Pass(
        scope,
        "CountPoll",
        parameters={"count.$": "States.MathAdd($.poll.count, 1)"},
        result_path="$.poll",
    )
    record = _invoke(
        scope,
        "RecordTranscript",
        function,
        {"action": "record", "plan.$": "$.plan", "status.$": "$.status"},
        "$.transcript",
    )
    record_failure = _invoke(
        scope,
        "RecordFailure",
        function,
        {"action": "fail", "plan.$": "$.plan", "error.$": "$.error", "recording.$": "$.recording"},
        "$.failure",
    )
    record_failure.next(
        sfn.Fail(
            scope,
            "TranscriptionFailed",
            error="TranscriptionFailed",
            cause="The transcription failed; the catalog item and the Transcription Failed "
            "event carry the reason",
        )
    )
    job_failed = sfn.Pass(
        scope,
        "JobFailed",
        parameters={"Error": "TranscriptionJobFailed", "Cause.$": "$.status.failureReason"},
        result_path="$.error",
    ).next(record_failure)
    polls_exhausted = sfn.Pass(
        scope,
        "PollsExhausted",
        parameters={
            "Error": "TranscriptionTimedOut",
            "Cause": f"The job did not finish within {MAX_POLLS} status reads "
            f"{POLL_INTERVAL.to_seconds()} seconds apart",
        },
        result_path="$.error",
    ).next(record_failure)
    for step in (plan, start, status, record):
        step.add_catch(record_failure, errors=["States.ALL"], result_path="$.error")

    # A Choice cannot catch: a missing field must fall through to the loop, not fail the
    # execution before the failure is recorded.
    def status_is(value: str) -> sfn.Condition:
        return sfn.Condition.and_(
            sfn.Condition.is_present("$.status.status"),
            sfn.Condition.string_equals("$.status.status", value),
        )

    done = (
        sfn.Choice(scope, "JobDone?")
        .when(status_is("COMPLETED"), record)
        .when(status_is("FAILED"), job_failed)
        .when(sfn.Condition.number_greater_than_equals("$.poll.count", MAX_POLLS), polls_exhausted)
        .otherwise(wait)
    )
    record.next(sfn.Succeed(scope, "Transcribed"))
    skip = (
        sfn.Choice(scope, "Skip?")
        .when(
            sfn.Condition.and_(
                sfn.Condition.is_present("$.plan.skip"),
                sfn.Condition.boolean_equals("$.plan.skip", True),
            ),
            sfn.Succeed(scope, "Skipped", comment="Not a recording, not delivered, or done"),
        )
        .otherwise(start.next(wait.next(status.next(count.next(done)))))
    )
    return init.next(plan.next(skip))


def backfill_definition(
    scope: Construct,
    *,
    bucket: s3.IBucket,
    recording_machine: sfn.IStateMachine,
    concurrency: int,
) -> sfn.IChainable:
    """The backfill definition: each prefix in turn, its objects ``concurrency`` at a time."""
    check = sfn.Pass(
        scope,
        "CheckInput",
        parameters={"prefixes.$": "$.prefixes", "count.$": "States.ArrayLength($.prefixes)"},
    )
    invalid = sfn.Fail(
        scope,
        "InvalidInput",
        error="InvalidInput",
        cause=f'Give {{"prefixes": [...]}} with 1 to {MAX_PREFIXES} key prefixes',
    )
    transcribe = tasks.StepFunctionsStartExecution(
        scope,
        "TranscribeRecording",
        state_machine=recording_machine,
        integration_pattern=sfn.IntegrationPattern.RUN_JOB,
        associate_with_parent=True,
        input=sfn.TaskInput.from_object(
            {"bucket.$": "$.bucket", "key.$": "$.key"},
        ),
    )
    each_recording = sfn.DistributedMap(
        scope,
        "EachRecording",
        item_reader=sfn.S3ObjectsItemReader(
            bucket=bucket, prefix=sfn.JsonPath.string_at("$.prefix")
        ),
        item_selector={
            "bucket": bucket.bucket_name,
            "key.$": "$$.Map.Item.Value.Key",
        },
        max_concurrency=concurrency,
        tolerated_failure_percentage=TOLERATED_FAILURE_PERCENTAGE,
        result_path=sfn.JsonPath.DISCARD,
    )
    each_recording.item_processor(
        transcribe.next(sfn.Pass(scope, "Done", result=sfn.Result.from_number(1))),
        mode=sfn.ProcessorMode.DISTRIBUTED,
        execution_type=sfn.ProcessorType.STANDARD,
    )
    each_prefix = sfn.Map(
        scope,
        "EachPrefix",
        items_path="$.prefixes",
        item_selector={"prefix.$": "$$.Map.Item.Value"},
        max_concurrency=1,
        result_path=sfn.JsonPath.DISCARD,
    )
    each_prefix.item_processor(each_recording)
    valid = sfn.Condition.and_(
        sfn.Condition.number_greater_than_equals("$.count", 1),
        sfn.Condition.number_less_than_equals("$.count", MAX_PREFIXES),
    )
    return check.next(
        sfn.Choice(scope, "PrefixCount?")
        .when(valid, each_prefix.next(sfn.Succeed(scope, "BackfillDone")))
        .otherwise(invalid)
    )
