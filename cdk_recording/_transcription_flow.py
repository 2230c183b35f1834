"""The states of the transcription state machines (Step Functions L2s, no loop of our own).

Per recording (input: a ``Recording Available`` detail, or ``{"bucket", "key"}``)::

    Init -> Plan -> Skip? --skip--> Skipped (succeed)
                      `-> StartJob (retries TranscribeThrottled: 2 s, x2, at most 300 s apart,
                          20 attempts, full jitter)
                          -> JobRunning? --already COMPLETED or FAILED--> GetJobStatus
                               `-> AwaitJobEvent (.waitForTaskToken, 10 minutes)
                                     token sent back, or States.Timeout -> GetJobStatus
                          GetJobStatus (still throttled after 5 retries: CountRound)
                            -> CountRound -> JobDone?
                               COMPLETED -> RecordTranscript -> Transcribed (succeed)
                               FAILED    -> JobFailed -> RecordFailure -> TranscriptionFailed (fail)
                               30 rounds -> PollsExhausted -> RecordFailure
                               otherwise -> AwaitJobEvent
    Any other error of Plan, StartJob, AwaitJobEvent, GetJobStatus or RecordTranscript ->
    RecordFailure. Every task retries the runtime's Transient errors (2 s, x2, 5 retries, full
    jitter); GetJobStatus also retries TranscribeThrottled, 5 times (2 s, x2, at most 60 s apart).

**Event and poll.** ``AwaitJobEvent`` calls the function with ``{"action": "await", "taskToken"}``:
it stores the task token on the ``TRANSCRIPT#<callId>`` item, then reads the job once and, when
the job has already finished, returns the token itself (so a job that finished before the token
was stored is not missed). Transcribe's ``Transcribe Job State Change`` / ``Call Analytics Job
State Change`` event (default bus, a rule of ``RecordingTranscription``) calls the function with
``{"action": "job-event"}``, which returns the stored token with ``SendTaskSuccess``. Those
events are best effort: when none comes, the task times out after 10 minutes and the status read
decides. A round reads the job twice in at most 10 minutes (when the token is stored, and after
the wait), a fifth of the former 60-second poll's Get*Job calls: 5,000 waiting recordings read
about 17 times a second, under the 20-a-second GetCallAnalyticsJob quota, where the poll needed
83. The job's end is seen within seconds when its event arrives.
A job still queued or running goes round again, at most :data:`MAX_ROUNDS` times (5 hours when
nothing is retried).

**Bounds.** A throttled start is retried for up to about 68 minutes (20 retries, delays doubling
from 2 s and capped at 300 s: 510 s + 12 x 300 s = 4,110 s at most; full jitter draws each delay
between 0 and that cap, so about half of it on average): a burst of thousands of recordings
outlasts Transcribe's start rate (10 Call Analytics and 25 standard starts a second) instead of
failing. A throttled status read is retried 5 times only (62 s of delays at most): one that
still fails counts its round and goes round again, since the next round reads the status anyway.
The machine's timeout (:data:`RECORDING_TIMEOUT`, 18 hours) covers the worst case of every retry
at its longest delay and every failed attempt lasting the function's 30-second timeout (about
17.6 hours, see :data:`RECORDING_TIMEOUT`), so the round counter, which records the failure,
binds first. An execution that ends anyway (stopped by hand, or aborted with its backfill) leaves
its ``TRANSCRIPT#`` item ``started``: see ``docs/compliance.md``.

The state document is ``{"recording", "plan", "job", "wake", "status", "poll": {"count"},
"error"}``; ``plan`` starts as JSON null so that a failure before planning still reaches ``fail``
with ``"plan": null`` (the contract's input).

Backfill (input ``{"prefixes": ["recordings/2026/01/", ...]}``, 1 to 366 entries)::

    HasPrefixes? --no non-empty prefixes array--> InvalidInput (fail)
      `-> CheckInput -> PrefixCount? --more than 366--> InvalidInput
      `-> EachPrefix (Distributed Map over $.prefixes, Standard child workflows, one prefix at
          a time; a Distributed Map nested in an inline Map's iteration is not relied on)
            -> EachRecording (Distributed Map, ItemReader S3 ListObjectsV2 of the prefix,
               MaxConcurrency backfill_concurrency, tolerated failures 10 %)
                 -> TranscribeRecording (StartExecution.sync:2 of the per-recording machine)
                 -> Done (each child outputs 1, so a prefix holds about 100,000 recordings
                    within the 256 KiB state output limit)
               -> PrefixDone
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

__all__ = [
    "AWAIT_TIMEOUT",
    "BACKFILL_TIMEOUT",
    "MAX_PREFIXES",
    "MAX_ROUNDS",
    "RECORDING_TIMEOUT",
    "STATUS_THROTTLED_MAX_ATTEMPTS",
    "STATUS_THROTTLED_MAX_DELAY",
    "THROTTLED_ERROR",
    "THROTTLED_MAX_ATTEMPTS",
    "THROTTLED_MAX_DELAY",
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
#: How long one round waits for the job's state change event before the status is read anyway.
AWAIT_TIMEOUT = cdk.Duration.minutes(10)
#: Rounds (an await, then a status read) before the job is given up: 30 x 10 minutes = 5 hours,
#: Transcribe's longest audio (4 hours) plus time in Transcribe's queue.
MAX_ROUNDS = 30
#: Throttled starts: retries, and the longest delay between two of them.
THROTTLED_MAX_ATTEMPTS = 20
THROTTLED_MAX_DELAY = cdk.Duration.seconds(300)
#: Throttled status reads: a few retries only, since the next round reads the status again.
STATUS_THROTTLED_MAX_ATTEMPTS = 5
STATUS_THROTTLED_MAX_DELAY = cdk.Duration.seconds(60)
#: The whole execution, at its worst: every retrier (Transient, TranscribeThrottled, and the
#: Lambda service errors aws-cdk-lib's LambdaInvoke retries 6 times) taking every retry at its
#: longest delay, every failed attempt lasting the function's 30-second timeout: plan 548 s, start
#: 5,258 s, 30 rounds of 1,878 s (an await: 1,118 s, its last attempt waiting 10 minutes; a status
#: read: 760 s) 56,340 s, record and fail 548 s each: 63,242 s, 17.6 hours. The round counter,
#: which records the failure, binds first.
RECORDING_TIMEOUT = cdk.Duration.hours(18)
#: Prefixes one backfill execution accepts: a year of day prefixes.
MAX_PREFIXES = 366
#: Failed recordings a backfill of one prefix tolerates before it stops (failed transcriptions
#: are cataloged ``failed`` and announced either way).
TOLERATED_FAILURE_PERCENTAGE = 10
#: A backfill of a year at the default concurrency: days of work; Standard workflows allow a year.
BACKFILL_TIMEOUT = cdk.Duration.days(30)


def _retry_transient(task: sfn.TaskStateBase) -> None:
    task.add_retry(
        errors=[TRANSIENT_ERROR],
        interval=cdk.Duration.seconds(2),
        backoff_rate=2,
        max_attempts=5,
        jitter_strategy=sfn.JitterType.FULL,
    )


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
    _retry_transient(task)
    return task


def _retry_throttling(
    task: tasks.LambdaInvoke, *, max_attempts: int, max_delay: cdk.Duration
) -> None:
    # Each delay is drawn at random up to its cap so that the executions spread out.
    task.add_retry(
        errors=[THROTTLED_ERROR],
        interval=cdk.Duration.seconds(2),
        backoff_rate=2,
        max_delay=max_delay,
        max_attempts=max_attempts,
        jitter_strategy=sfn.JitterType.FULL,
    )


def recording_definition(scope: Construct, function: lambda_.IFunction) -> sfn.IChainable:
    """The per-recording definition: plan, start, await the job's event or poll, record (or fail)."""
    init = sfn.Pass(
        scope,
        "Init",
        comment="Keep the input; plan is null until planned, rounds start at 0",
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
    # A burst of recordings can meet the start quota for a long time: keep trying for about an hour.
    _retry_throttling(start, max_attempts=THROTTLED_MAX_ATTEMPTS, max_delay=THROTTLED_MAX_DELAY)
    await_event = tasks.LambdaInvoke(
        scope,
        "AwaitJobEvent",
        comment="Store the task token for the job's state change event; the status is read "
        "when the event returns it or after the timeout",
        lambda_function=function,
        integration_pattern=sfn.IntegrationPattern.WAIT_FOR_TASK_TOKEN,
        payload=sfn.TaskInput.from_object(
            {
                "action": "await",
                "taskToken": sfn.JsonPath.task_token,
                "plan.$": "$.plan",
                "job.$": "$.job",
            }
        ),
        task_timeout=sfn.Timeout.duration(AWAIT_TIMEOUT),
        result_path="$.wake",
    )
    _retry_transient(await_event)
    status = _invoke(
        scope,
        "GetJobStatus",
        function,
        {"action": "status", "jobName.$": "$.job.jobName", "jobType.$": "$.job.jobType"},
        "$.status",
    )
    # Get*Job allows 20 requests per second per account: many recordings reading at once can hit
    # it. A few short retries: a read that still fails goes round again (the next round reads
    # anyway), so the rounds, not these retries, bound the execution.
    _retry_throttling(
        status, max_attempts=STATUS_THROTTLED_MAX_ATTEMPTS, max_delay=STATUS_THROTTLED_MAX_DELAY
    )
    count = sfn.Pass(
        scope,
        "CountRound",
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
            "Cause": f"The job did not finish within {MAX_ROUNDS} rounds of waiting up to "
            f"{AWAIT_TIMEOUT.to_minutes()} minutes for its event and reading its status",
        },
        result_path="$.error",
    ).next(record_failure)
    # No event within the timeout is the normal case the status read is there for.
    await_event.add_catch(status, errors=["States.Timeout"], result_path="$.wake")
    # A status read still throttled after its retries: the next round reads again.
    status.add_catch(count, errors=[THROTTLED_ERROR], result_path="$.status")
    for step in (plan, start, await_event, status, record):
        step.add_catch(record_failure, errors=["States.ALL"], result_path="$.error")

    # A Choice cannot catch: a missing field must fall through to the loop, not fail the
    # execution before the failure is recorded.
    def status_is(path: str, value: str) -> sfn.Condition:
        return sfn.Condition.and_(
            sfn.Condition.is_present(path),
            sfn.Condition.string_equals(path, value),
        )

    done = (
        sfn.Choice(scope, "JobDone?")
        .when(status_is("$.status.status", "COMPLETED"), record)
        .when(status_is("$.status.status", "FAILED"), job_failed)
        .when(sfn.Condition.number_greater_than_equals("$.poll.count", MAX_ROUNDS), polls_exhausted)
        .otherwise(await_event)
    )
    status.next(count.next(done))
    await_event.next(status)
    # A job that was already started by an earlier attempt may have finished: no event will come.
    running = (
        sfn.Choice(scope, "JobRunning?")
        .when(
            sfn.Condition.or_(
                status_is("$.job.status", "COMPLETED"), status_is("$.job.status", "FAILED")
            ),
            status,
        )
        .otherwise(await_event)
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
        .otherwise(start.next(running))
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
    invalid = sfn.Fail(
        scope,
        "InvalidInput",
        error="InvalidInput",
        cause=f'Give {{"prefixes": [...]}} with 1 to {MAX_PREFIXES} key prefixes',
    )
    # States.ArrayLength fails the execution (a Pass state cannot catch) when the field is
    # missing or not an array: check that first.
    check = sfn.Pass(
        scope,
        "CheckInput",
        parameters={"prefixes.$": "$.prefixes", "count.$": "States.ArrayLength($.prefixes)"},
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
    # Distributed, not inline: the inner Distributed Map then runs in a Standard child workflow
    # of this one rather than in an inline Map's iteration, which AWS's pages do not show as
    # allowed. (That a Standard child workflow may run a Distributed Map is not confirmed here
    # either: see docs/compliance.md.)
    each_prefix = sfn.DistributedMap(
        scope,
        "EachPrefix",
        items_path="$.prefixes",
        item_selector={"prefix.$": "$$.Map.Item.Value"},
        max_concurrency=1,
        result_path=sfn.JsonPath.DISCARD,
    )
    each_prefix.item_processor(
        each_recording.next(sfn.Pass(scope, "PrefixDone", result=sfn.Result.from_number(1))),
        mode=sfn.ProcessorMode.DISTRIBUTED,
        execution_type=sfn.ProcessorType.STANDARD,
    )
    valid = sfn.Condition.and_(
        sfn.Condition.number_greater_than_equals("$.count", 1),
        sfn.Condition.number_less_than_equals("$.count", MAX_PREFIXES),
    )
    count = check.next(
        sfn.Choice(scope, "PrefixCount?")
        .when(valid, each_prefix.next(sfn.Succeed(scope, "BackfillDone")))
        .otherwise(invalid)
    )
    return (
        sfn.Choice(scope, "HasPrefixes?")
        .when(sfn.Condition.is_present("$.prefixes[0]"), count)
        .otherwise(invalid)
    )
