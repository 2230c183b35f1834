"""The call facts in the arrival: the real handler sends them, the real facts consumer gets them.

During a call with the arrival on, the recording handler's runtime gets a facts queue in the
arrival's moto session (:func:`capturing_facts`): the handler builds each message with
``sma_recording.facts`` and sends it through ``sma_recording._facts_queue.FactsQueue`` exactly as
in Lambda, only over moto's SQS. After the call, :func:`drain_facts` plays the event source
mapping: it receives the queue in batches of up to 10, hands each batch to
``recording_processor.handler.facts_handler`` as SQS records, deletes what the consumer accepted
and makes what it asked to retry visible again. :func:`sweep_after` then runs the missing sweep at
the first 5-minute tick past the call's latest pending deadline.

Nothing here imports moto or the processor at module level: the arrival imports them when played.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from cdk_recording.testing._arrival import SweepRun

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient
    from recording_processor.handler import CatalogRuntime

__all__ = [
    "FACTS_QUEUE",
    "SWEEP_PERIOD_S",
    "FactsFeed",
    "capturing_facts",
    "drain_facts",
    "sweep_after",
]

#: The facts queue's name in the double.
FACTS_QUEUE = "recording-facts"
#: The sweep's schedule (docs/catalog.md: every 5 minutes).
SWEEP_PERIOD_S = 300
#: Lambda's largest SQS batch by default; the construct's mapping uses it.
_BATCH_SIZE = 10
#: Rounds of redelivery before the drain gives up on what the consumer keeps retrying.
_MAX_ROUNDS = 5


@contextlib.contextmanager
def capturing_facts(handler: object, queue_url: str, client: SQSClient) -> Iterator[bool]:
    """Give ``handler``'s runtime a facts queue for the duration; yields whether it has one.

    The recording handler (``sma_recording.entry.RecordingHandler``) keeps its cold start's
    ``Runtime`` in ``runtime``, whose ``facts_queue`` is what ``SMA_RECORDING_FACTS_QUEUE_URL``
    sets in Lambda. Any other handler (the wrapper included) sends no facts the simulator can
    capture (yields False). The
    runtime's previous queue is put back afterwards.
    """
    from sma_recording._facts_queue import FactsQueue
    from sma_recording.entry import RecordingHandler

    # Only the recording handler sends facts: the wrapper (sma_recording.wrapper) shares the
    # Runtime class but never calls send_facts, so a queue given to it would stay empty.
    if not isinstance(handler, RecordingHandler):
        yield False
        return
    runtime = handler.runtime
    previous = runtime.facts_queue
    runtime.facts_queue = FactsQueue(queue_url, client=client)
    try:
        yield True
    finally:
        runtime.facts_queue = previous


@dataclass(frozen=True)
class FactsFeed:
    """What draining the facts queue into the consumer did.

    :param messages: distinct messages handed over.
    :param batches: ``facts_handler`` invocations.
    :param retried: records the consumer asked SQS to deliver again.
    :param left: messages still retried after the last round (not consumed).
    """

    messages: int
    batches: int
    retried: int
    left: int


def drain_facts(
    sqs: SQSClient, queue_url: str, runtime: CatalogRuntime, *, region: str, account_id: str
) -> FactsFeed:
    """Receive the queue in batches and hand each to ``facts_handler`` until it is empty."""
    from recording_processor.handler import facts_handler

    seen: set[str] = set()
    batches = retried = 0
    left: set[str] = set()
    for _ in range(_MAX_ROUNDS):
        again: list[str] = []
        while True:
            messages = sqs.receive_message(
                QueueUrl=queue_url,
                MaxNumberOfMessages=_BATCH_SIZE,
                MessageAttributeNames=["All"],
                MessageSystemAttributeNames=["ApproximateReceiveCount", "SentTimestamp"],
            ).get("Messages", [])
            if not messages:
                break
            records = [_record(m, queue_url, region, account_id) for m in messages]
            response = facts_handler({"Records": records}, None, runtime=runtime)
            batches += 1
            failed = {f["itemIdentifier"] for f in response["batchItemFailures"]}
            for message in messages:
                seen.add(message["MessageId"])
                if message["MessageId"] in failed:
                    again.append(message["ReceiptHandle"])
                else:
                    sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
            retried += len(failed)
            left = failed
        if not again:
            left = set()
            break
        for handle in again:  # the visibility timeout, elapsed at once on the simulated clock
            sqs.change_message_visibility(
                QueueUrl=queue_url, ReceiptHandle=handle, VisibilityTimeout=0
            )
    return FactsFeed(messages=len(seen), batches=batches, retried=retried, left=len(left))


def _record(
    message: Mapping[str, Any], queue_url: str, region: str, account_id: str
) -> dict[str, Any]:
    """The SQS record Lambda's event source mapping makes of a received message."""
    attributes = {str(k): str(v) for k, v in dict(message.get("Attributes") or {}).items()}
    message_attributes = {
        str(name): {
            "stringValue": value.get("StringValue"),
            "dataType": value.get("DataType"),
            "stringListValues": [],
            "binaryListValues": [],
        }
        for name, value in dict(message.get("MessageAttributes") or {}).items()
    }
    name = queue_url.rstrip("/").rsplit("/", 1)[-1]
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": attributes,
        "messageAttributes": message_attributes,
        "md5OfBody": message.get("MD5OfBody"),
        "eventSource": "aws:sqs",
        "eventSourceARN": f"arn:aws:sqs:{region}:{account_id}:{name}",
        "awsRegion": region,
    }


def sweep_after(
    runtime_at: Any, recordings: tuple[Mapping[str, Any], ...], not_before: datetime
) -> SweepRun:
    """Run the missing sweep once, at the first schedule tick past every deadline still pending
    among ``recordings`` (their ``gsi3sk``), and not before ``not_before``.

    :param runtime_at: builds the sweep's ``CatalogRuntime`` for a simulated moment.
    """
    from recording_processor.handler import sweep_handler

    moment = not_before
    for item in recordings:
        deadline = item.get("gsi3sk")
        if isinstance(deadline, str):
            moment = max(moment, _parse(deadline))
    tick = math.floor(moment.timestamp() / SWEEP_PERIOD_S) * SWEEP_PERIOD_S + SWEEP_PERIOD_S
    at = datetime.fromtimestamp(tick, UTC)
    counts = sweep_handler(None, None, runtime=runtime_at(at))
    return SweepRun(at=at.strftime("%Y-%m-%dT%H:%M:%SZ"), counts=dict(counts))


def _parse(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%f%z")
