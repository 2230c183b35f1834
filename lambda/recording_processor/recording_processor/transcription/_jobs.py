"""Starting a Transcribe job and reading its status (Call Analytics or standard).

Step Functions matches a Lambda task's error by the name of the exception class the function
raised, so the two failures the state machine tells apart are classes of those names:

* :class:`TranscribeThrottled`: throttling or ``LimitExceededException`` (too many requests; the
  TCA start quota is 10 per second), and Transcribe's own internal failures: worth retrying with
  backoff (the state machine retries a start up to 20 times, about an hour in all);
* :class:`TranscribeRejected`: any other client error (a bad request, a missing job): final.

A ``ConflictException`` on start means a job of that name exists: the job names are derived from
the recording key (``_plan.job_name``), so it is this recording's job, started by an earlier
attempt. It is not a failure: its status is read and returned with ``alreadyStarted: true``.
Unless that job FAILED: Transcribe keeps a job's name for 90 days, so a failed job would block
every re-run of the recording for that long. A FAILED job is deleted (``DeleteCallAnalyticsJob`` /
``DeleteTranscriptionJob``, by job type) and the job started again, once.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final
from urllib.parse import unquote, urlsplit

from botocore.exceptions import BotoCoreError, ClientError, ParamValidationError

from recording_processor._errors import error_code
from recording_processor.transcription._plan import CALL_ANALYTICS, STANDARD

__all__ = [
    "JOB_TYPES",
    "RETRYABLE_CODES",
    "TranscribeJobs",
    "TranscribeRejected",
    "TranscribeThrottled",
    "s3_location",
]

JOB_TYPES: Final = (CALL_ANALYTICS, STANDARD)
#: Error codes worth a retry with backoff. ``LimitExceededException`` is how Transcribe answers
#: a request rate over the quota; the 5xx codes are the service's own failures.
RETRYABLE_CODES: Final = frozenset(
    {
        "LimitExceededException",
        "ThrottlingException",
        "TooManyRequestsException",
        "Throttling",
        "RequestLimitExceeded",
        "InternalFailureException",
        "ServiceUnavailableException",
    }
)
_STATUSES: Final = frozenset({"QUEUED", "IN_PROGRESS", "COMPLETED", "FAILED"})


class TranscribeThrottled(Exception):  # noqa: N818 - the state machine matches this exact name
    """Transcribe throttled the call or failed internally; retry with backoff."""


class TranscribeRejected(Exception):  # noqa: N818 - the state machine matches this exact name
    """Transcribe refused the call for good (a bad request, an unknown job)."""


def s3_location(uri: object) -> tuple[str, str] | None:
    """``(bucket, key)`` of an output URI, or None when it is not an S3 location.

    Call Analytics answers ``s3://bucket/key``; standard jobs writing to ``OutputBucketName``
    answer ``https://s3.<region>.amazonaws.com/bucket/key`` (path style). Virtual-hosted
    ``https://bucket.s3.<region>.amazonaws.com/key`` is read too.
    """
    if not isinstance(uri, str) or not uri:
        return None
    parts = urlsplit(uri)
    path = unquote(parts.path).lstrip("/")
    host = parts.netloc.lower()
    if parts.scheme == "s3":
        bucket, key = parts.netloc, path
    elif parts.scheme == "https" and host.endswith(".amazonaws.com"):
        if host.startswith(("s3.", "s3-")):
            bucket, _, key = path.partition("/")
        elif ".s3." in host or ".s3-" in host:
            bucket, key = parts.netloc.split(".s3", 1)[0], path
        else:
            return None
    else:
        return None
    return (bucket, key) if bucket and key else None


class TranscribeJobs:
    """Start and read Transcribe jobs of either type through one client."""

    def __init__(self, client: Any) -> None:
        self._client = client

    def start(self, plan: Mapping[str, Any]) -> dict[str, Any]:
        """Start the plan's job: ``{"jobName", "jobType", "status", "alreadyStarted"}``.

        :raises TranscribeThrottled: throttled (retry with backoff).
        :raises TranscribeRejected: refused, or the plan is not a plan to start.
        """
        job_type, name, request = _job_of(plan)
        started = self._start_unless_named(job_type, name, request)
        if started is not None:
            return started
        current = self.status(name, job_type)
        if current["status"] == "FAILED":
            # A failed job holds its name for 90 days: delete it and start again, once.
            self._delete(job_type, name)
            started = self._start_unless_named(job_type, name, request)
            if started is not None:
                return started
            # Another attempt started it in between: that job is the recording's job now.
            current = self.status(name, job_type)
        return {
            "jobName": name,
            "jobType": job_type,
            "status": current["status"],
            "alreadyStarted": True,
        }

    def _start_unless_named(
        self, job_type: str, name: str, request: Mapping[str, Any]
    ) -> dict[str, Any] | None:
        """The started job, or None when a job of that name exists (``ConflictException``)."""
        try:
            return self._start(job_type, name, request)
        except ClientError as error:
            if error_code(error) != "ConflictException":
                raise _translated("start", name, error) from error
        except BotoCoreError as error:
            raise _client_side("start", name, error) from error
        return None

    def _start(self, job_type: str, name: str, request: Mapping[str, Any]) -> dict[str, Any]:
        if job_type == CALL_ANALYTICS:
            response = self._client.start_call_analytics_job(**request)
            status = response["CallAnalyticsJob"]["CallAnalyticsJobStatus"]
        else:
            response = self._client.start_transcription_job(**request)
            status = response["TranscriptionJob"]["TranscriptionJobStatus"]
        return {"jobName": name, "jobType": job_type, "status": status, "alreadyStarted": False}

    def _delete(self, job_type: str, name: str) -> None:
        try:
            if job_type == CALL_ANALYTICS:
                self._client.delete_call_analytics_job(CallAnalyticsJobName=name)
            else:
                self._client.delete_transcription_job(TranscriptionJobName=name)
        except ClientError as error:
            if error_code(error) == "NotFoundException":
                return  # deleted in between: the name is free either way
            raise _translated("delete", name, error) from error
        except BotoCoreError as error:
            raise _client_side("delete", name, error) from error

    def status(self, name: object, job_type: object) -> dict[str, Any]:
        """``{"status", "failureReason", "languageCode", "outputs"}`` of the job.

        ``outputs`` holds the output ``bucket`` and the keys ``transcriptKey``,
        ``redactedTranscriptKey`` and ``redactedMediaKey`` (None when the job has no such file).

        :raises TranscribeThrottled: throttled (retry with backoff).
        :raises TranscribeRejected: the job does not exist, or the arguments are invalid.
        """
        if not isinstance(name, str) or not name:
            raise TranscribeRejected(f"status: jobName is {name!r}; allowed: a job name")
        if job_type not in JOB_TYPES:
            raise TranscribeRejected(
                f"status: jobType is {job_type!r}; allowed: {' or '.join(JOB_TYPES)}"
            )
        try:
            if job_type == CALL_ANALYTICS:
                job = self._client.get_call_analytics_job(CallAnalyticsJobName=name)[
                    "CallAnalyticsJob"
                ]
                status = job.get("CallAnalyticsJobStatus")
            else:
                job = self._client.get_transcription_job(TranscriptionJobName=name)[
                    "TranscriptionJob"
                ]
                status = job.get("TranscriptionJobStatus")
        except ClientError as error:
            raise _translated("status", name, error) from error
        except BotoCoreError as error:
            raise _client_side("status", name, error) from error
        if status not in _STATUSES:
            raise TranscribeRejected(f"status {name}: unknown job status {status!r}")
        transcript = job.get("Transcript") or {}
        media = job.get("Media") or {}
        files = {
            "transcriptKey": s3_location(transcript.get("TranscriptFileUri")),
            "redactedTranscriptKey": s3_location(transcript.get("RedactedTranscriptFileUri")),
            "redactedMediaKey": s3_location(media.get("RedactedMediaFileUri")),
        }
        buckets = {found[0] for found in files.values() if found is not None}
        outputs: dict[str, Any] = {"bucket": min(buckets) if buckets else None}
        outputs.update({name: None if f is None else f[1] for name, f in files.items()})
        return {
            "status": status,
            "failureReason": job.get("FailureReason") if status == "FAILED" else None,
            "languageCode": job.get("LanguageCode"),
            "outputs": outputs,
        }


def _job_of(plan: Mapping[str, Any]) -> tuple[str, str, dict[str, Any]]:
    if not isinstance(plan, Mapping) or plan.get("skip") is not False:
        raise TranscribeRejected("start: the plan is not a plan to start (skip must be false)")
    job_type, name, request = plan.get("jobType"), plan.get("jobName"), plan.get("request")
    if job_type not in JOB_TYPES:
        raise TranscribeRejected(
            f"start: jobType is {job_type!r}; allowed: {' or '.join(JOB_TYPES)}"
        )
    if not isinstance(name, str) or not isinstance(request, Mapping):
        raise TranscribeRejected("start: the plan has no jobName or request")
    named = request.get(
        "CallAnalyticsJobName" if job_type == CALL_ANALYTICS else "TranscriptionJobName"
    )
    if named != name:
        raise TranscribeRejected(f"start: the request names job {named!r}, the plan {name!r}")
    return str(job_type), name, dict(request)


def _translated(operation: str, name: str, error: ClientError) -> Exception:
    code = error_code(error)
    message = error.response.get("Error", {}).get("Message") or ""
    text = f"{operation} {name}: {code}: {message}".rstrip(": ")
    if code in RETRYABLE_CODES:
        return TranscribeThrottled(text)
    return TranscribeRejected(text)


def _client_side(operation: str, name: str, error: BotoCoreError) -> Exception:
    # A request the model rejects never passes; a connection failure or timeout may.
    if isinstance(error, ParamValidationError):
        return TranscribeRejected(f"{operation} {name}: invalid request: {error}")
    return TranscribeThrottled(f"{operation} {name}: {error_code(error)}")
