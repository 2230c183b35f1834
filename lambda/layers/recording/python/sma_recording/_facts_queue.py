"""Sending the facts message (:mod:`sma_recording.facts`) to the catalog's SQS queue.

On only when :data:`FACTS_QUEUE_ENV` names a queue (the construct sets it and grants
``sqs:SendMessage``). One ``SendMessage`` per invocation at most, after the decision: the call waits
for it, so it is bounded. The SIP media application retries an invocation after 5 s and hangs up
after 20 s (reference §2); the handler itself answers in well under a millisecond, and a
``SendMessage`` in the same Region takes a few milliseconds (tens on a new connection). The bounds:

* :data:`CONNECT_TIMEOUT_S` (0.2 s) for the TCP and TLS handshake, :data:`READ_TIMEOUT_S` (0.3 s)
  for the answer, and a single attempt (no retry): at most about half a second added to one
  invocation in the worst case (plus name resolution, which botocore does not bound; in a Lambda
  function it is served by the Region's resolver), far from the 5 s after which the service would
  invoke again. A retry would double that bound for an outcome that is already counted.
* boto3 is imported, and the client built, on the first message of an execution environment, so a
  handler without the queue never pays for them; the client (and its connection) is then reused.

What is not sent is logged (numbers masked, like every line) and counted as ``FactsFailed`` by
``ErrorType``; the call and the response are never affected. The queue is a standard queue (no
``MessageGroupId``): the consumer orders facts by ``sequence`` and ``at``, and the transaction id
is also a message attribute, for filtering and tracing without parsing the body.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

__all__ = [
    "CONNECT_TIMEOUT_S",
    "FACTS_QUEUE_ENV",
    "MAX_BODY_BYTES",
    "READ_TIMEOUT_S",
    "FactsQueue",
    "client_config",
    "error_type",
]

#: Environment variable with the URL of the facts queue; unset or empty: no facts are sent.
FACTS_QUEUE_ENV = "SMA_RECORDING_FACTS_QUEUE_URL"
#: Seconds allowed for the TCP and TLS handshake with SQS.
CONNECT_TIMEOUT_S = 0.2
#: Seconds allowed for SQS's answer once the request is sent.
READ_TIMEOUT_S = 0.3
#: Largest body sent (SQS accepts 256 KiB; a facts message is a few KiB by construction).
MAX_BODY_BYTES = 64 * 1024

_QUEUE_REGION = re.compile(r"^https://sqs[.-]([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?/")
_METRIC_SAFE = re.compile(r"[^A-Za-z0-9_.:-]")


class BodyTooLargeError(ValueError):
    """The body exceeds :data:`MAX_BODY_BYTES` (never expected: the message is bounded)."""


def error_type(error: BaseException) -> str:
    """A short, metric-safe name for why a message was not sent: the service's error code
    (``AccessDenied``, ``AWS.SimpleQueueService.NonExistentQueue``...) or the exception's class
    (``ConnectTimeoutError``, ``EndpointConnectionError``...)."""
    code: object = None
    response = getattr(error, "response", None)
    if isinstance(response, dict):
        details = response.get("Error")
        code = details.get("Code") if isinstance(details, dict) else None
    name = code if isinstance(code, str) and code else type(error).__name__
    return _METRIC_SAFE.sub("", name)[:64] or "Unknown"


def _region_of(queue_url: str) -> str | None:
    match = _QUEUE_REGION.match(queue_url)
    return match.group(1) if match else None


def client_config() -> Any:
    """The botocore ``Config`` of the facts client: the bounds of the module docstring."""
    from botocore.config import Config

    return Config(
        connect_timeout=CONNECT_TIMEOUT_S,
        read_timeout=READ_TIMEOUT_S,
        retries={"total_max_attempts": 1, "mode": "standard"},
    )


def _default_client(queue_url: str) -> Any:
    """An SQS client in the queue's Region with :func:`client_config` (boto3 imported only now)."""
    import boto3

    return boto3.client("sqs", region_name=_region_of(queue_url), config=client_config())


class FactsQueue:
    """The facts queue of one execution environment.

    :param queue_url: the queue's URL.
    :param client: an SQS client to use (tests, benchmarks). Default: built on first use with
        ``client_factory``.
    :param client_factory: builds the client from the queue URL. Default: boto3 with the bounds
        of the module docstring.
    """

    def __init__(
        self,
        queue_url: str,
        *,
        client: Any = None,
        client_factory: Callable[[str], Any] = _default_client,
    ) -> None:
        self.queue_url = queue_url
        self._client = client
        self._factory = client_factory

    @property
    def client(self) -> Any:
        """The SQS client, built once."""
        if self._client is None:
            self._client = self._factory(self.queue_url)
        return self._client

    def send(self, body: str, transaction_id: str) -> str | None:
        """Send one message; returns its MessageId. Raises whatever the client raises."""
        if len(body.encode()) > MAX_BODY_BYTES:
            raise BodyTooLargeError(f"the facts message is larger than {MAX_BODY_BYTES} bytes")
        answer = self.client.send_message(
            QueueUrl=self.queue_url,
            MessageBody=body,
            MessageAttributes={
                "transactionId": {"DataType": "String", "StringValue": transaction_id}
            },
        )
        message_id = answer.get("MessageId") if isinstance(answer, dict) else None
        return message_id if isinstance(message_id, str) else None
