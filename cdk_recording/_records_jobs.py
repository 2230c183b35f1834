"""The Transcribe jobs of a call, deleted by ``recordings erase --yes``.

A Transcribe job record names the media and output S3 URIs of the recording it transcribed and is
kept by the service for 90 days; erasing a call deletes the job of each ``TRANSCRIPT#`` item with a
``jobName``: ``DeleteCallAnalyticsJob`` for ``jobType`` ``call-analytics``,
``DeleteTranscriptionJob`` for ``standard``. A job the service no longer has counts as already gone.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from botocore.exceptions import ClientError

if TYPE_CHECKING:
    from cdk_recording._records import CallRecords

__all__ = ["DELETED", "GONE", "TranscribeJob", "delete_jobs", "transcribe_jobs"]

#: A job this erasure deleted.
DELETED: Final = "deleted"
#: A job the service did not have any more (deleted before, or expired).
GONE: Final = "already-gone"
_CALL_ANALYTICS = "call-analytics"
_STANDARD = "standard"
# What Transcribe answers for a job it does not have: NotFoundException, or BadRequestException
# saying so (the Delete*Job operations document BadRequestException for a missing entity).
_NOT_FOUND = "NotFoundException"
_BAD_REQUEST = "BadRequestException"
_MISSING_WORDS = ("couldn't be found", "could not be found", "not found", "does not exist")


@dataclass(frozen=True)
class TranscribeJob:
    """The Transcribe job of one ``TRANSCRIPT#`` item."""

    item_key: str
    call_id: str
    name: str
    job_type: str

    def as_json(self, result: str | None = None) -> dict[str, Any]:
        document: dict[str, Any] = {
            "callId": self.call_id,
            "jobName": self.name,
            "jobType": self.job_type,
        }
        if result is not None:
            document["result"] = result
        return document


def transcribe_jobs(records: CallRecords) -> list[TranscribeJob]:
    """The jobs of the call's ``TRANSCRIPT#`` items that name one and have not been deleted yet
    (``transcribeJobDeleted`` unset)."""
    return [
        TranscribeJob(
            str(item["sk"]),
            str(item.get("callId", "")),
            str(item["jobName"]),
            str(item.get("jobType") or _STANDARD),
        )
        for item in records.transcripts
        if item.get("jobName") and not item.get("transcribeJobDeleted")
    ]


def _missing(error: ClientError) -> bool:
    details = error.response.get("Error", {})
    code = str(details.get("Code", ""))
    message = str(details.get("Message", "")).lower()
    return code == _NOT_FOUND or (
        code == _BAD_REQUEST and any(words in message for words in _MISSING_WORDS)
    )


def delete_jobs(transcribe: Any, jobs: Iterable[TranscribeJob]) -> dict[TranscribeJob, str]:
    """Delete each job (``transcribe`` is a boto3 Transcribe client); each job's result,
    :data:`DELETED` or :data:`GONE`. Any other error is raised."""
    results: dict[TranscribeJob, str] = {}
    for job in jobs:
        try:
            if job.job_type == _CALL_ANALYTICS:
                transcribe.delete_call_analytics_job(CallAnalyticsJobName=job.name)
            else:
                transcribe.delete_transcription_job(TranscriptionJobName=job.name)
        except ClientError as error:
            if not _missing(error):
                raise
            results[job] = GONE
            continue
        results[job] = DELETED
    return results
