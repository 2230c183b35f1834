"""Post-call transcription after a simulated arrival: the real transcription function's tasks over
moto, with Amazon Transcribe played by a botocore ``Stubber``.

For every ``Recording Available`` event of the call, :func:`transcribe_arrival` runs
``recording_processor.transcription.handler.handler`` in the per-recording state machine's order,
passing each task's output on as Step Functions would: ``plan`` -> ``start`` -> rounds of
``await`` (the ``.waitForTaskToken`` step: the token is stored on the item) and ``status`` ->
``record``. The job runs ``polls`` minutes. When it ends within a round, Transcribe's state change
event reaches the function (``job-event``, the rule's input), which returns the token with
``SendTaskSuccess`` and so ends the wait at once; with ``events=False`` (the events are best
effort) each round waits the step's 10-minute timeout instead. A job that ``FAILED`` goes to
``fail`` with ``{"Error": "TranscriptionJobFailed", "Cause": <FailureReason>}``, and any task that
raises goes to ``fail`` with the Lambda error (``{"Error": <class>, "Cause": {"errorMessage",
"errorType"}}``). The catalog is the arrival's moto table, the events go to its bus (and are
captured like the arrival's), the clock is simulated from the recording's ``deliveredAt``.
Step Functions' ``SendTaskSuccess`` is a real ``stepfunctions`` client under a ``Stubber``, which
expects exactly the token and output the state machine would receive.

Transcribe is a real ``transcribe`` client under a ``Stubber``: each ``Start*Job`` is expected
with exactly the plan's request, and every request and answer is validated against botocore's
model. It answers as Transcribe would (``_transcribe_stub.py``): the start ``QUEUED``; status
reads ``IN_PROGRESS`` until the :class:`~cdk_recording.testing.TranscriptionPlan`'s ``polls``-th,
which says ``COMPLETED`` (with ``TranscriptFileUri`` under ``transcripts/<transactionId>/``, where
a stand-in transcript, not a transcription of the audio, is put first) or ``FAILED``.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from boto3.dynamodb.types import TypeDeserializer
from botocore.exceptions import ClientError
from botocore.stub import Stubber

from cdk_recording._records import iso_now
from cdk_recording._transcript_format import (
    TranscriptFormatError,
    format_turns,
    parse_transcript,
)
from cdk_recording.testing._arrival import ArrivalReport
from cdk_recording.testing._arrival_moto import (
    CATALOG_TABLE,
    ArrivalDouble,
    _ensure_processor_importable,
    _plain_items,
)
from cdk_recording.testing._report import CallReport, RecordingRecord
from cdk_recording.testing._transcribe_stub import (
    CALL_ANALYTICS,
    StubbedJob,
    stand_in_transcript,
)
from cdk_recording.testing._transcription_report import (
    AVAILABLE,
    FAILED,
    TranscriptionPlan,
    TranscriptionReport,
    TranscriptionRun,
    TranscriptionTask,
)

__all__ = ["parse_transcription_options", "transcribe_arrival"]

#: How long a ``polls`` unit of a stubbed job lasts: the job runs ``polls`` of them.
POLL_SECONDS = 60
#: The per-recording state machine's ``AwaitJobEvent`` timeout (``_transcription_flow``).
AWAIT_SECONDS = 600
#: The state machine's round bound (``_transcription_flow.MAX_ROUNDS``).
MAX_ROUNDS = 30


def parse_transcription_options(plan: TranscriptionPlan) -> Any:
    """The runtime's ``TranscriptionOptions`` for ``plan.options``, read by its own parser.

    :raises OptionsError: (a ``ValueError``) the options are invalid; the message names each
        option, its value and what is allowed.
    """
    _ensure_processor_importable()
    from recording_processor.transcription._options import parse_options

    return parse_options(json.dumps(dict(plan.options)))


def transcribe_arrival(
    double: ArrivalDouble,
    report: CallReport,
    arrival: ArrivalReport,
    plan: TranscriptionPlan,
    *,
    turn_ms: int = 3000,
) -> ArrivalReport:
    """``arrival`` with its ``transcription``: every recording it announced, transcribed.

    :param turn_ms: the synthetic audio's talk turn (``SimulatorOptions.audio.turn_ms``).
    :raises OptionsError: ``plan.options`` is not a valid ``TRANSCRIPTION`` document.
    """
    options = parse_transcription_options(plan)
    player = _Player(double, plan, options, turn_ms)
    recordings = {r.call_id: r for r in report.recordings}
    runs = [
        player.run(event["detail"], recordings.get(str(event["detail"].get("callId"))))
        for event in arrival.events_of("Recording Available")
    ]
    events = tuple(
        event
        for event in double.captured_events()
        if event.get("detail-type") in (AVAILABLE, FAILED)
        and (event.get("detail") or {}).get("transactionId") == report.transaction_id
    )
    result = TranscriptionReport(
        runs=tuple(runs),
        catalog=player.items(report.transaction_id),
        events=events,
        plan=plan,
        log=tuple(player.log),
    )
    problems = _disagreements(report, result)
    return dataclasses.replace(
        arrival, transcription=dataclasses.replace(result, problems=tuple(problems))
    )


class _Player:
    """Plays the per-recording state machine over the double and a stubbed Transcribe."""

    def __init__(
        self, double: ArrivalDouble, plan: TranscriptionPlan, options: Any, turn_ms: int
    ) -> None:
        import boto3

        self.double = double
        self.plan = plan
        self.options = options
        self.turn_ms = turn_ms
        self.log: list[str] = []
        session = boto3.session.Session(
            aws_access_key_id="testing",
            aws_secret_access_key="testing",  # noqa: S106 - fake credentials: the client is stubbed
            region_name=double.region,
        )
        self.client = session.client(
            "transcribe", endpoint_url=f"https://transcribe.{double.region}.amazonaws.com"
        )
        self.stepfunctions = session.client(
            "stepfunctions", endpoint_url=f"https://states.{double.region}.amazonaws.com"
        )
        self.now = datetime.fromtimestamp(0, UTC)

    def _runtime(self, bucket: str, prefix: str) -> Any:
        from recording_processor.transcription._options import TranscriptionConfig
        from recording_processor.transcription.handler import TranscriptionRuntime

        return TranscriptionRuntime(
            config=TranscriptionConfig(
                catalog_table=CATALOG_TABLE,
                recording_bucket=bucket,
                data_access_role_arn=(
                    f"arn:aws:iam::{self.double.account_id}:role/cdk-recording-transcription"
                ),
                recording_prefix=prefix,
                application="cdk-recording-simulator",
                options=self.options,
            ),
            transcribe=self.client,
            stepfunctions=self.stepfunctions,
            dynamodb=self.double.dynamodb,
            events=self.double.events,
            clock=lambda: self.now,
            write=self._write,
        )

    def _write(self, text: str) -> None:
        self.log.extend(line for line in text.splitlines() if line)

    def run(self, detail: Mapping[str, Any], recording: RecordingRecord | None) -> TranscriptionRun:
        """One execution of the state machine for a ``Recording Available`` detail."""
        from recording_processor.transcription.handler import handler

        prefix = "" if recording is None else recording.location.partition("/")[2].strip("/")
        runtime = self._runtime(str(detail.get("bucket")), prefix)
        self.now = _parse_time(detail.get("deliveredAt")) or self.now
        tasks: list[TranscriptionTask] = []
        transcript_uri: str | None = None

        def task(event: dict[str, Any]) -> tuple[Any, dict[str, str] | None]:
            at = iso_now(self.now)
            try:
                output = handler(event, None, runtime=runtime)
            except Exception as error:  # the state machine catches every error
                name = type(error).__name__
                cause = json.dumps({"errorMessage": str(error), "errorType": name})
                failure = {"Error": name, "Cause": cause}
                tasks.append(TranscriptionTask(at, event["action"], failure, name))
                return None, failure
            tasks.append(TranscriptionTask(at, event["action"], output))
            return output, None

        def fail(plan: Mapping[str, Any] | None, error: Mapping[str, Any]) -> None:
            task({"action": "fail", "plan": plan, "error": dict(error), "recording": detail})

        with Stubber(self.client) as stubber, Stubber(self.stepfunctions) as states:
            plan, error = task({"action": "plan", "recording": dict(detail)})
            if error is not None:
                fail(None, error)
            elif not plan["skip"]:
                transcript_uri = self._job(plan, recording, _Stubs(stubber, states), task, fail)
        rendered = self._rendered(tasks)
        return TranscriptionRun(
            recording=dict(detail),
            tasks=tuple(tasks),
            plan=plan,
            transcript_uri=transcript_uri,
            transcript=rendered,
        )

    def _job(
        self,
        plan: Mapping[str, Any],
        recording: RecordingRecord | None,
        stubs: _Stubs,
        task: Any,
        fail: Any,
    ) -> str | None:
        """start -> (await, status) rounds -> record or fail; returns where the transcript was
        put."""
        job = StubbedJob(
            plan,
            self.double.account_id,
            self.double.region,
            sample_rate=8000 if recording is None else recording.sample_rate,
        )
        stubs.transcribe.add_response(
            job.start_method, job.started(self.now), dict(plan["request"])
        )
        started, error = task({"action": "start", "plan": plan})
        if error is not None:
            fail(plan, error)
            return None
        ends_at = self.now + timedelta(seconds=POLL_SECONDS * self.plan.polls)
        token = f"simulated-task-token-{plan['callId']}"
        uri: str | None = None

        def answer() -> dict[str, Any]:
            """Transcribe's ``Get*Job`` answer now; the outputs are put when the job ends."""
            nonlocal uri
            ended = self.now >= ends_at
            if ended and self.plan.job == "completed" and uri is None:
                uri = self._put_outputs(job, recording)
            return job.status(self.now, self.plan if ended else None)

        def returns_token(source: str) -> None:
            final = "COMPLETED" if self.plan.job == "completed" else "FAILED"
            output = json.dumps({"status": final, "source": source}, separators=(",", ":"))
            stubs.states.add_response(
                "send_task_success", {}, {"taskToken": token, "output": output}
            )

        for _ in range(MAX_ROUNDS):
            # AwaitJobEvent: the token is stored, and returned at once if the job has ended.
            stubs.transcribe.add_response(job.get_method, answer(), job.name_param)
            if self.now >= ends_at:
                returns_token("await")
            waited, error = task(
                {"action": "await", "taskToken": token, "plan": plan, "job": started}
            )
            if error is not None:
                fail(plan, error)
                return uri
            if not waited["woken"]:
                if self.plan.events and ends_at <= self.now + timedelta(seconds=AWAIT_SECONDS):
                    # The job ends within the round: its state change event wakes the execution.
                    self.now = ends_at
                    answer()
                    returns_token("event")
                    task(self._job_event(job, started))
                else:
                    self.now += timedelta(seconds=AWAIT_SECONDS)  # States.Timeout
            stubs.transcribe.add_response(job.get_method, answer(), job.name_param)
            status, error = task(
                {"action": "status", "jobName": started["jobName"], "jobType": started["jobType"]}
            )
            if error is not None:
                fail(plan, error)
                return uri
            if status["status"] == "COMPLETED":
                _, error = task({"action": "record", "plan": plan, "status": status})
                if error is not None:
                    fail(plan, error)
                return uri
            if status["status"] == "FAILED":
                fail(plan, {"Error": "TranscriptionJobFailed", "Cause": status["failureReason"]})
                return uri
        fail(plan, {"Error": "TranscriptionTimedOut", "Cause": f"{MAX_ROUNDS} rounds"})
        return uri

    def _job_event(self, job: StubbedJob, started: Mapping[str, Any]) -> dict[str, Any]:
        """The rule's input for Transcribe's state change event of the ended job."""
        status = "COMPLETED" if self.plan.job == "completed" else "FAILED"
        if job.analytics:
            detail_type = "Call Analytics Job State Change"
            detail: dict[str, Any] = {"JobName": started["jobName"], "JobStatus": status}
        else:
            detail_type = "Transcribe Job State Change"
            detail = {"TranscriptionJobName": started["jobName"], "TranscriptionJobStatus": status}
        if status == "FAILED":
            detail["FailureReason"] = self.plan.failure_reason
        return {"action": "job-event", "detailType": detail_type, "detail": detail}

    def _put_outputs(self, job: StubbedJob, recording: RecordingRecord | None) -> str:
        documents = stand_in_transcript(
            job.plan, recording, turn_ms=self.turn_ms, account_id=self.double.account_id
        )
        s3 = self.double.s3
        bucket = job.bucket
        if job.keeps_unredacted:
            s3.put_object(Bucket=bucket, Key=job.transcript_key, Body=_body(documents["plain"]))
        if job.redaction is not None:
            s3.put_object(Bucket=bucket, Key=job.redacted_key, Body=_body(documents["redacted"]))
            if job.redacted_media_key is not None:
                s3.copy_object(
                    Bucket=bucket,
                    Key=job.redacted_media_key,
                    CopySource={"Bucket": bucket, "Key": str(job.plan["key"])},
                )
        served = job.redacted_key if job.redaction is not None else job.transcript_key
        return f"s3://{bucket}/{served}"

    def _rendered(self, tasks: Sequence[TranscriptionTask]) -> str | None:
        """The served transcript of a recorded item, rendered as ``recordings transcript`` does."""
        if not tasks or tasks[-1].action != "record" or tasks[-1].error is not None:
            return None
        item = tasks[-1].output
        bucket = str((tasks[0].output or {}).get("bucket"))
        try:
            body = self.double.s3.get_object(Bucket=bucket, Key=item["transcriptKey"])["Body"]
            document = json.loads(body.read())
            return format_turns(parse_transcript(document, item.get("channelRoles")))
        except (ClientError, KeyError, ValueError, TranscriptFormatError) as error:
            return f"(cannot render: {error})"

    def items(self, transaction_id: str) -> tuple[dict[str, Any], ...]:
        """The call's ``TRANSCRIPT#`` items, JSON-ready."""
        response = self.double.dynamodb.query(
            TableName=CATALOG_TABLE,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :sk)",
            ExpressionAttributeValues={
                ":pk": {"S": f"TX#{transaction_id}"},
                ":sk": {"S": "TRANSCRIPT#"},
            },
            ConsistentRead=True,
        )
        deserializer = TypeDeserializer()
        return _plain_items(
            [
                {name: deserializer.deserialize(value) for name, value in item.items()}
                for item in response.get("Items", [])
            ]
        )


@dataclasses.dataclass(frozen=True)
class _Stubs:
    """The stubbed clients of one run: Transcribe, and Step Functions' ``SendTaskSuccess``."""

    transcribe: Stubber
    states: Stubber


def _disagreements(report: CallReport, result: TranscriptionReport) -> list[str]:
    """Each announced recording transcribed once as the stubbed job ended, with its leg's roles."""
    problems: list[str] = []
    expected = "completed" if result.plan.job == "completed" else "failed"
    directions = {leg.tag: leg.direction.lower() for leg in report.legs}
    recordings = {r.call_id: r for r in report.recordings}
    for run in result.runs:
        call_id = run.call_id
        if run.outcome == "skipped":
            problems.append(f"{call_id}: not transcribed: {run.plan and run.plan.get('reason')}")
            continue
        item = result.item(call_id)
        if item is None or item.get("status") != expected:
            status = None if item is None else item.get("status")
            problems.append(f"{call_id}: transcript item is {status}, the job {expected}")
        kind = AVAILABLE if expected == "completed" else FAILED
        for detail_type in (AVAILABLE, FAILED):
            count = len(result.events_of(detail_type, call_id))
            if count != (1 if detail_type == kind else 0):
                wanted = "exactly 1" if detail_type == kind else "none"
                problems.append(f"{call_id}: {count} {detail_type} events (expected {wanted})")
        recording = recordings.get(call_id)
        if recording is not None and run.plan is not None:
            problems += _roles(recording, directions.get("LEG-A"), run.plan)
    return problems


def _roles(recording: RecordingRecord, direction: str | None, plan: Mapping[str, Any]) -> list[str]:
    """The plan's channel roles against the simulator's own leg and call direction."""
    roles = plan.get("channelRoles")
    if recording.track != "BOTH":
        if roles is not None or plan.get("jobType") == CALL_ANALYTICS:
            return [f"{recording.call_id}: a mono recording got channel roles {roles}"]
        return []
    if direction not in ("inbound", "outbound"):
        return []
    # Channel 0 is the recorded leg's party: the caller for LEG-A of an inbound call.
    customer_first = (recording.leg == "LEG-A") == (direction == "inbound")
    wanted = {"0": "CUSTOMER", "1": "AGENT"} if customer_first else {"0": "AGENT", "1": "CUSTOMER"}
    if roles != wanted:
        return [
            f"{recording.call_id}: {recording.leg} of an {direction} call has channel roles "
            f"{roles}, expected {wanted}"
        ]
    return []


def _body(document: Mapping[str, Any]) -> bytes:
    return json.dumps(document, indent=2).encode("utf-8")


def _parse_time(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%f%z")
    except ValueError:
        return None
