"""How a failed AWS call is judged: worth retrying (the message goes back to the queue) or final.

The queue's redrive policy bounds retries (5 receives, then the dead-letter queue), so anything not
known to be final is retried: a misconfiguration (a missing grant, a wrong table name) then shows up
as messages in the dead-letter queue that can be redriven once it is fixed, instead of recordings
silently missing from the catalog.
"""

from __future__ import annotations

from botocore.exceptions import BotoCoreError, ClientError

__all__ = ["NOT_FOUND_CODES", "Transient", "error_code", "is_not_found"]

#: HeadObject answers 404 without a body (code "404"); GetObject names the case.
NOT_FOUND_CODES = frozenset({"404", "NoSuchKey", "NoSuchVersion", "NotFound"})


class Transient(Exception):  # noqa: N818 - a verdict, like Unprocessable
    """A failure that may pass: report the record in ``batchItemFailures`` so SQS delivers it again.

    ``reason`` is a short code for logs and metrics.
    """

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def error_code(error: ClientError | BotoCoreError) -> str:
    """The service's error code, or the exception's class name for a client-side failure."""
    if isinstance(error, ClientError):
        return str(error.response.get("Error", {}).get("Code") or "UnknownError")
    return type(error).__name__


def is_not_found(error: ClientError) -> bool:
    """Whether S3 says the object (or that version of it) does not exist."""
    return error_code(error) in NOT_FOUND_CODES
