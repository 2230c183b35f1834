"""Lambda entry point of post-call transcription: the tasks of the per-recording state machine.

``handler(event, context)`` dispatches on ``event["action"]`` (the transcription contract):

* ``{"action": "plan", "recording": <Recording Available detail> | {"bucket", "key"}}`` -> the plan
  (``{"skip": false, ..., "request": {...}}``) or ``{"skip": true, "reason": ...}``; a skip with
  ``"failure": true`` (too long for Transcribe) is first cataloged and announced as failed;
* ``{"action": "start", "plan": {...}}`` -> ``{"jobName", "jobType", "status", "alreadyStarted"}``,
  and the catalog item marked ``started``;
* ``{"action": "status", "jobName", "jobType"}`` -> ``{"status", "failureReason", "languageCode",
  "outputs"}``;
* ``{"action": "record", "plan": {...}, "status": {...}}`` -> the completed catalog item, after
  ``Transcript Available`` is sent;
* ``{"action": "fail", "plan": {...} | null, "error": {"Error", "Cause"}}`` (optionally
  ``"status"``, a failed job's, and ``"recording"``, the execution's input) -> the failed item (or
  null), after ``Transcription Failed`` is sent;
* ``{"action": "await", "plan": {...}, "taskToken"}`` (the ``.waitForTaskToken`` step) -> the
  token stored on the ``TRANSCRIPT#`` item; when the job has already finished, the token is
  returned at once (``SendTaskSuccess``), since its event may have gone by before the token was
  stored. Returns ``{"stored", "status", "woken"}`` (Step Functions ignores it); a refused
  ``SendTaskSuccess`` is logged and counted, not raised (the round's timeout and status read
  decide);
* ``{"action": "job-event", "detailType", "detail"}`` (the rule on Transcribe's job state change
  events; the raw event, ``source`` ``aws.transcribe``, is read too) -> the waiting execution's
  token returned with the job's status, or nothing for a job that is not ours:
  ``{"woken": bool, "reason"}``. See :mod:`~recording_processor.transcription._wake`.

Errors are raised, for the state machine to retry or catch by name: ``TranscribeThrottled``
(retry with backoff), ``TranscribeRejected``, ``Transient`` (a catalog or EventBridge call failed;
every action is idempotent, so a retry is safe), ``ValueError`` (bad input: an unknown action, a
plan without its fields), ``OptionsError`` (the configuration).

This is the only module of the package that reads the environment or builds boto3 clients.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from functools import cache
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from recording_processor._errors import Transient
from recording_processor._keys import KeyFormatError, parse_recording_key
from recording_processor._publish import EventPublisher
from recording_processor._store import CatalogStore
from recording_processor._telemetry import Logger, Metrics
from recording_processor.transcription._jobs import (
    TranscribeJobs,
    TranscribeRejected,
    TranscribeThrottled,
)
from recording_processor.transcription._options import TranscriptionConfig
from recording_processor.transcription._plan import read_plan, recording_location
from recording_processor.transcription._record import STARTED, TranscriptCatalog, failure_reason
from recording_processor.transcription._retain import retain_transcripts
from recording_processor.transcription._wake import (
    FINISHED,
    TaskTokens,
    job_ids,
    read_job_event,
    valid_token,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_events import EventBridgeClient

__all__ = ["ACTIONS", "TranscriptionRuntime", "handler"]

ACTIONS = ("plan", "start", "status", "record", "fail", "await", "job-event")
#: The source of Transcribe's events: such an event without an action is a ``job-event``.
_TRANSCRIBE_SOURCE = "aws.transcribe"

#: Throttling is retried by the state machine with backoff; the client retries only briefly.
_CLIENT_CONFIG = Config(
    retries={"mode": "standard", "total_max_attempts": 3}, connect_timeout=5, read_timeout=20
)


def _now() -> datetime:
    return datetime.now(UTC)


def _stdout(text: str) -> None:
    sys.stdout.write(text)
    sys.stdout.flush()


@dataclass(frozen=True)
class TranscriptionRuntime:
    """What the handler needs from the outside world.

    :param config: the configuration. Default (in Lambda): read from the environment.
    :param transcribe: Transcribe client. Default: a boto3 client.
    :param dynamodb: DynamoDB client. Default: a boto3 client.
    :param events: EventBridge client. Default: a boto3 client.
    :param s3: S3 client (locks and tags transcripts when ``config.retention`` is set). Default:
        a boto3 client.
    :param stepfunctions: Step Functions client (``SendTaskSuccess``). Default: a boto3 client.
    :param clock: the wall clock (UTC). Default: :func:`datetime.now`.
    :param write: where log lines and EMF documents go. Default: stdout.
    :param log_level: ``DEBUG``, ``INFO``, ``WARNING`` or ``ERROR``. Default: ``INFO``.
    """

    config: TranscriptionConfig
    transcribe: Any
    dynamodb: DynamoDBClient
    events: EventBridgeClient
    s3: Any = None
    stepfunctions: Any = None
    clock: Callable[[], datetime] = _now
    write: Callable[[str], object] = field(default=_stdout)
    log_level: str = "INFO"

    @property
    def partition(self) -> str:
        """The AWS partition, from the data access role's ARN (``arn:<partition>:iam::...``)."""
        return self.config.data_access_role_arn.split(":", 2)[1]

    def catalog(self) -> TranscriptCatalog:
        return TranscriptCatalog(
            self.dynamodb,
            self.config.catalog_table,
            EventPublisher(self.events, self.config.event_bus),
            self.partition,
        )

    def tokens(self) -> TaskTokens:
        if self.stepfunctions is None:
            raise ValueError("the runtime has no Step Functions client")
        return TaskTokens(self.dynamodb, self.config.catalog_table, self.stepfunctions)

    def metrics(self) -> Metrics:
        return Metrics(
            self.write, self.config.metrics_namespace, self.config.application, self.clock
        )


@cache
def _lambda_runtime() -> TranscriptionRuntime:
    return TranscriptionRuntime(
        config=TranscriptionConfig.from_environ(os.environ),
        transcribe=boto3.client("transcribe", config=_CLIENT_CONFIG),
        dynamodb=boto3.client("dynamodb", config=_CLIENT_CONFIG),
        events=boto3.client("events", config=_CLIENT_CONFIG),
        stepfunctions=boto3.client("stepfunctions", config=_CLIENT_CONFIG),
        s3=boto3.client("s3", config=_CLIENT_CONFIG),
        log_level=os.environ.get("LOG_LEVEL", "INFO"),
    )


def handler(
    event: Mapping[str, Any],
    context: object = None,
    *,
    runtime: TranscriptionRuntime | None = None,
) -> Any:
    """Run one task of the state machine; see the module docstring."""
    if not isinstance(event, Mapping):
        raise ValueError(f"the input is {type(event).__name__}; allowed: an object with 'action'")
    action = event.get("action")
    if action is None and event.get("source") == _TRANSCRIBE_SOURCE:
        action = "job-event"
    if action not in ACTIONS:
        raise ValueError(f"action is {action!r}; allowed: {', '.join(ACTIONS)}")
    runtime = runtime or _lambda_runtime()
    plan = event.get("plan") if isinstance(event.get("plan"), Mapping) else None
    log = Logger(
        runtime.write,
        {"requestId": getattr(context, "aws_request_id", None), "action": action},
        runtime.log_level,
        runtime.clock,
    ).bind(
        transactionId=plan.get("transactionId") if plan else None,
        callId=plan.get("callId") if plan else None,
        jobName=(plan or event).get("jobName"),
    )
    try:
        result = _ACTIONS[action](event, runtime, log)
    except TranscribeThrottled as error:
        runtime.metrics().emit({"TranscribeThrottled": (1, "Count")}, action=action)
        log.warning("Transcribe throttled the request", detail=str(error))
        raise
    except Exception as error:
        log.error("task failed", errorType=type(error).__name__, detail=str(error))
        raise
    return _json_ready(result)


def _plan(event: Mapping[str, Any], runtime: TranscriptionRuntime, log: Logger) -> Any:
    store = CatalogStore(runtime.dynamodb, runtime.config.catalog_table)
    plan = read_plan(event.get("recording"), runtime.config, store)
    if plan["skip"] and plan.get("failure"):
        # A recording Transcribe cannot take (too long): cataloged and announced as failed.
        runtime.catalog().fail(
            None,
            (plan["transactionId"], plan["callId"], plan["key"]),
            plan["reason"],
            runtime.clock(),
        )
        runtime.metrics().emit({"TranscriptionFailed": (1, "Count")}, reason=plan["reason"][:200])
        log.warning("recording cannot be transcribed", reason=plan["reason"])
    elif plan["skip"]:
        log.info("recording skipped", reason=plan["reason"])
    else:
        log.bind(transactionId=plan["transactionId"], callId=plan["callId"]).info(
            "planned",
            jobName=plan["jobName"],
            jobType=plan["jobType"],
            fallbackReason=plan["fallbackReason"],
        )
    return plan


def _start(event: Mapping[str, Any], runtime: TranscriptionRuntime, log: Logger) -> Any:
    plan = _required_plan(event)
    started = TranscribeJobs(runtime.transcribe).start(plan)
    runtime.catalog().started(plan, runtime.clock())
    if not started["alreadyStarted"]:
        runtime.metrics().emit({"TranscriptionStarted": (1, "Count")}, jobType=plan["jobType"])
    log.info("job started", status=started["status"], alreadyStarted=started["alreadyStarted"])
    return started


def _status(event: Mapping[str, Any], runtime: TranscriptionRuntime, log: Logger) -> Any:
    status = TranscribeJobs(runtime.transcribe).status(event.get("jobName"), event.get("jobType"))
    log.debug("job status", status=status["status"])
    return status


def _record(event: Mapping[str, Any], runtime: TranscriptionRuntime, log: Logger) -> Any:
    plan = _required_plan(event)
    status = event.get("status")
    if not isinstance(status, Mapping):
        raise ValueError("record: 'status' must be the status task's output (an object)")
    # The outputs are retained before the item says completed: a failure here is retried.
    retention = retain_transcripts(
        plan,
        status,
        runtime.config,
        CatalogStore(runtime.dynamodb, runtime.config.catalog_table),
        runtime.s3,
        runtime.clock(),
    )
    if retention:
        log.info("transcripts retained", **retention)
    item = runtime.catalog().record(plan, status, runtime.clock(), retention)
    runtime.metrics().emit(
        {"TranscriptAvailable": (1, "Count")},
        jobType=plan["jobType"],
        fallbackReason=plan.get("fallbackReason"),
    )
    log.info("transcript recorded", transcriptKey=item.get("transcriptKey"))
    return item


def _fail(event: Mapping[str, Any], runtime: TranscriptionRuntime, log: Logger) -> Any:
    plan = event.get("plan") if isinstance(event.get("plan"), Mapping) else None
    if plan is not None and plan.get("skip") is not False:
        plan = None
    if plan is not None:
        _required_plan({"plan": plan})
    reason = failure_reason(event.get("error"), event.get("status"))
    given = event.get("recording")
    if isinstance(given, str):
        # An execution's input, as Step Functions' status change event carries it (JSON text).
        try:
            given = json.loads(given)
        except ValueError:
            given = None
    recording = None if plan else _recording_ids(given, runtime.config)
    catalog = runtime.catalog()
    if event.get("ended") is True:
        # The execution ended outside its catches (timed out, stopped, a runtime error): record
        # it only where nothing else did, i.e. a transcript still `started` (or none at all).
        if recording is None:
            log.info("ended execution of no recording", reason=reason)
            return None
        existing = catalog.get(recording[0], recording[1])
        if existing is not None and existing.get("status") != STARTED:
            log.info("ended execution already recorded", status=existing.get("status"))
            return _json_ready(existing)
    item = catalog.fail(plan, recording, reason, runtime.clock())
    runtime.metrics().emit({"TranscriptionFailed": (1, "Count")}, reason=reason[:200])
    log.warning("transcription failed", reason=reason)
    return item


def _await(event: Mapping[str, Any], runtime: TranscriptionRuntime, log: Logger) -> Any:
    plan = _required_plan(event)
    token = valid_token(event.get("taskToken"))
    tokens = runtime.tokens()
    stored = tokens.store(plan, token, runtime.clock())
    try:
        status = TranscribeJobs(runtime.transcribe).status(plan["jobName"], plan["jobType"])
    except (TranscribeThrottled, TranscribeRejected) as error:
        # Best effort: the round's timeout and status read still decide.
        log.warning("job status not read while awaiting", detail=str(error), stored=stored)
        return {"stored": stored, "status": None, "woken": False}
    try:
        woken = status["status"] in FINISHED and tokens.send(token, status["status"], "await")
    except (Transient, ClientError) as error:
        # Raising would send a finished job down the catch-all to "fail": the round's timeout
        # and status read decide instead.
        runtime.metrics().emit(
            {"TranscriptionTokenSendFailed": (1, "Count")}, jobType=plan["jobType"]
        )
        log.warning(
            "task token not returned while awaiting",
            errorType=type(error).__name__,
            detail=str(error),
            status=status["status"],
        )
        return {"stored": stored, "status": status["status"], "woken": False}
    log.info("awaiting the job's event", stored=stored, status=status["status"], woken=woken)
    return {"stored": stored, "status": status["status"], "woken": woken}


def _job_event(event: Mapping[str, Any], runtime: TranscriptionRuntime, log: Logger) -> Any:
    job = read_job_event(event)
    if job is None:
        log.debug("not a finished Transcribe job")
        return {"woken": False, "reason": "not a finished job's state change"}
    ids = job_ids(job.job_name, runtime.config.recording_prefix)
    if ids is None:
        log.debug("not a job of this application", jobName=job.job_name)
        return {"woken": False, "reason": "not our job"}
    log = log.bind(transactionId=ids[0], callId=ids[1], jobName=job.job_name)
    tokens = runtime.tokens()
    token = tokens.waiting(*ids, job.job_name)
    if token is None:
        log.info("no execution waiting for the job", status=job.status)
        return {"woken": False, "reason": "no execution waiting"}
    woken = tokens.send(token, job.status, "event")
    metric = "TranscriptionWoken" if woken else "TranscriptionTokenStale"
    runtime.metrics().emit({metric: (1, "Count")}, jobType=job.job_type, status=job.status)
    log.info("job event", status=job.status, woken=woken)
    return {"woken": woken, "reason": None if woken else "the execution no longer waits"}


def _required_plan(event: Mapping[str, Any]) -> Mapping[str, Any]:
    plan = event.get("plan")
    if not isinstance(plan, Mapping) or plan.get("skip") is not False:
        raise ValueError("'plan' must be the plan task's output with skip false")
    missing = [
        name
        for name in ("transactionId", "callId", "bucket", "key", "jobName", "jobType", "request")
        if not plan.get(name)
    ]
    if missing:
        raise ValueError(f"'plan' lacks {', '.join(missing)}")
    return plan


def _recording_ids(recording: object, config: TranscriptionConfig) -> tuple[str, str, str] | None:
    try:
        _, key = recording_location(recording)
        parsed = parse_recording_key(key, config.recording_prefix)
    except (ValueError, KeyFormatError):
        return None
    return parsed.transaction_id, parsed.call_id, key


def _json_ready(value: Any) -> Any:
    """DynamoDB's numbers as JSON numbers, sets as sorted lists: a task's output is JSON."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, Mapping):
        return {str(k): _json_ready(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_ready(v) for v in value]
    if isinstance(value, set | frozenset):
        return sorted(_json_ready(v) for v in value)
    return value


_ACTIONS: dict[str, Callable[[Mapping[str, Any], TranscriptionRuntime, Logger], Any]] = {
    "plan": _plan,
    "start": _start,
    "status": _status,
    "record": _record,
    "fail": _fail,
    "await": _await,
    "job-event": _job_event,
}
