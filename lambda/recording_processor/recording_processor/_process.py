"""One SQS record, from the S3 event in its body to a cataloged and announced recording.

The steps, each of which may end the record:

1. Parse the EventBridge event; accept only ``aws.s3`` ``Object Created`` in the recording bucket,
   under the recording folder, ending ``.wav``, with a §3.4 key (else: ignored, never retried).
2. Read the recording's catalog item and decide (:func:`~recording_processor._record.decide`):
   a duplicate or an older version stops here without touching S3; a version already cataloged
   whose event was never confirmed gets its event sent now.
3. HeadObject (by version) for the user metadata; a missing object is ignored, not retried.
4. Stream the version once for its SHA-256 and WAV header (a non-WAV is cataloged as
   ``format: unknown`` with a warning).
5. With a retention policy: classify the call by its numbers as cataloged so far (complete only
   once the call item has ``endedAt``) and lock this version (:mod:`~recording_processor._retention`).
   With retention classes, a record whose call has not ended in the catalog is deferred once,
   before step 3 (``deferred``: the handler hands it back to the queue for
   :data:`DEFER_SECONDS`), since the call's facts usually land moments later; on a later receive
   it is classified with what is known (``retentionDefaulted``);
   with ``legalHold`` on the call item, put a legal hold on it too. A transient failure retries the
   record before anything is cataloged; a request S3 refuses for good is cataloged as
   ``retentionFailed``. A call already erased (``erasedAt`` on the call item) gets no lock (so the
   erasure can be run again) and no event: ``afterErasure``.
6. Commit the recording and call items in one conditional transaction; when it loses a race, read
   again and decide again.
7. Send "Recording Available" (not for a recording after erasure), then flag the item ``eventSent``. A rejected PutEvents is a
   transient failure: the record comes back, step 2 finds the flag missing, and the event is sent.

Every outcome is one JSON log line and, except duplicates and stale versions, one EMF document.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from recording_processor._config import ProcessorConfig
from recording_processor._errors import Transient
from recording_processor._events import (
    ObjectCreated,
    Unprocessable,
    parse_object_created,
    recording_key_of,
)
from recording_processor._keys import RecordingKey, iso_utc
from recording_processor._publish import EventPublisher
from recording_processor._record import (
    ABSENT,
    NULL_VERSION,
    CatalogWrite,
    Delivery,
    Update,
    Verdict,
    call_key,
    catalog_write,
    decide,
    event_detail,
    object_arn,
    read_metadata,
    recording_attributes,
    recording_key_attributes,
)
from recording_processor._retention import (
    RetentionApplier,
    RetentionPolicy,
    call_numbers,
    classify,
)
from recording_processor._s3 import RecordingObjects
from recording_processor._store import CatalogStore
from recording_processor._telemetry import Logger, Metrics
from recording_processor._wav import WavHeaderError, WavInfo, parse_wav_header

__all__ = [
    "DEFER_RECEIVES",
    "DEFER_SECONDS",
    "MAX_COMMIT_ATTEMPTS",
    "Outcome",
    "Services",
    "process_body",
]

#: Reads and conditional writes tried before a contended record is handed back to the queue.
MAX_COMMIT_ATTEMPTS = 4

#: Receives before which a record of a call not yet ended is deferred (only the first); with
#: retention classes the construct gives the arrival queue a sixth receive to make up for it.
DEFER_RECEIVES = 2
#: How long a deferred record stays invisible: time for the call's facts to land.
DEFER_SECONDS = 60

Status = Literal["delivered", "event-sent", "duplicate", "stale", "ignored", "failed", "deferred"]


@dataclass(frozen=True)
class Services:
    """What processing needs from the outside world; tests build it over moto or stubs."""

    config: ProcessorConfig
    objects: RecordingObjects
    store: CatalogStore
    publisher: EventPublisher
    metrics: Metrics
    clock: Callable[[], datetime]
    #: Applies the configured retention; None when the configuration has no retention policy.
    retention: RetentionApplier | None = None


@dataclass(frozen=True)
class Outcome:
    """How a record ended; ``retry`` puts it in ``batchItemFailures``."""

    status: Status
    retry: bool = False
    reason: str | None = None


class _Run:
    """The logger of one record, rebound as the record reveals its ids."""

    def __init__(self, log: Logger) -> None:
        self.log = log


def process_body(
    body: object, services: Services, log: Logger, *, receive_count: int | None = None
) -> Outcome:
    """Process one SQS record body; never raises.

    ``receive_count`` is the record's ``ApproximateReceiveCount``; None (unknown) never defers.
    """
    run = _Run(log)
    try:
        return _process(body, services, run, receive_count)
    except Unprocessable as ignored:
        run.log.warning("object ignored", reason=ignored.reason, detail=str(ignored))
        services.metrics.emit(
            {"ObjectIgnored": (1, "Count")},
            reason=ignored.reason,
            **_ids(run.log),
        )
        return Outcome("ignored", reason=ignored.reason)
    except Transient as failed:
        run.log.error(
            "processing failed; the record will be retried",
            reason=failed.reason,
            detail=str(failed),
        )
        services.metrics.emit(
            {"ProcessorFailed": (1, "Count")}, reason=failed.reason, **_ids(run.log)
        )
        return Outcome("failed", retry=True, reason=failed.reason)
    except Exception as error:
        # A defect, not a verdict on the record: retry it (the redrive policy bounds that and
        # parks it in the dead-letter queue) rather than lose a recording from the catalog.
        run.log.error(
            "unexpected error; the record will be retried",
            reason="unexpected",
            errorType=type(error).__name__,
            detail=str(error),
            stack=traceback.format_exc(limit=8),
        )
        services.metrics.emit(
            {"ProcessorFailed": (1, "Count")}, reason="unexpected", **_ids(run.log)
        )
        return Outcome("failed", retry=True, reason="unexpected")


def _process(body: object, services: Services, run: _Run, receive_count: int | None) -> Outcome:
    if not isinstance(body, str):
        raise Unprocessable("malformed-body", "the SQS record has no text body")
    config = services.config
    event = parse_object_created(body)
    run.log = run.log.bind(eventId=event.event_id or None, versionId=event.version_id)
    key = recording_key_of(event, config.recording_bucket, config.recording_prefix)
    run.log = run.log.bind(transactionId=key.transaction_id, callId=key.call_id, key=key.key)
    if key.key != event.key:
        run.log.warning("event key was URL-encoded; decoded it", eventKey=event.key)
    version_id = event.version_id or NULL_VERSION
    record_key = recording_key_attributes(key.transaction_id, key.call_id)

    existing = services.store.get(record_key)
    verdict = decide(existing, version_id, event.sequencer)
    if not verdict.writes:
        return _settled(verdict, existing, event, services, run.log)

    if _awaits_call_end(services, key.transaction_id, receive_count):
        run.log.info(
            "the call has not ended in the catalog: the record is deferred so that the call's "
            "numbers decide its retention class",
            deferSeconds=DEFER_SECONDS,
        )
        services.metrics.emit({"RetentionDeferred": (1, "Count")}, **_ids(run.log))
        return Outcome("deferred", retry=True, reason="call-not-ended")
    delivery = _read_delivery(event, key, version_id, services, run.log)
    attributes = recording_attributes(delivery, services.clock())
    call = services.store.get(call_key(key.transaction_id))
    attributes.update(_retain(delivery, existing, call, services, run.log))
    for _ in range(MAX_COMMIT_ATTEMPTS):
        write = catalog_write(attributes, existing, call)
        if services.store.commit(write.recording, write.call):
            break
        existing = services.store.get(record_key)
        verdict = decide(existing, version_id, event.sequencer)
        if not verdict.writes:
            # Another delivery of this key got there first; its own record owns the event.
            run.log.info("a concurrent delivery cataloged this key first", verdict=verdict.value)
            return Outcome("duplicate" if verdict is not Verdict.STALE else "stale")
        call = services.store.get(call_key(key.transaction_id))
    else:
        raise Transient(
            "catalog-contention",
            f"the catalog items kept changing over {MAX_COMMIT_ATTEMPTS} attempts",
        )

    _delivered(write, attributes, delivery, services, run.log)
    if attributes.get("afterErasure") is True:
        return Outcome("delivered")
    _announce(attributes, event, services, run.log)
    return Outcome("delivered")


def _awaits_call_end(services: Services, transaction_id: str, receive_count: int | None) -> bool:
    """Whether to defer a record: retention classes to choose from, the record's first receive,
    and a call the catalog does not show as ended (nor erased)."""
    policy = services.config.retention
    if policy is None or not policy.classes:
        return False  # without classes the call's numbers decide nothing
    if receive_count is None or receive_count >= DEFER_RECEIVES:
        return False
    call = services.store.get(call_key(transaction_id)) or {}
    return not isinstance(call.get("endedAt"), str) and call.get("erasedAt") is None


def _settled(
    verdict: Verdict,
    existing: Mapping[str, Any] | None,
    event: ObjectCreated,
    services: Services,
    log: Logger,
) -> Outcome:
    current = existing or {}
    if verdict is Verdict.EVENT_PENDING and current.get("afterErasure") is True:
        log.info("recording arrived after its call was erased; no event is sent")
        return Outcome("duplicate")
    if verdict is Verdict.EVENT_PENDING:
        log.info("recording already cataloged; sending its pending event")
        _announce(current, event, services, log)
        return Outcome("event-sent")
    if verdict is Verdict.DUPLICATE:
        log.info("duplicate event: this version is already cataloged and announced")
        return Outcome("duplicate")
    log.info(
        "older version: a newer one is already cataloged",
        catalogedVersionId=current.get("versionId"),
        catalogedSequencer=current.get("sequencer"),
        sequencer=event.sequencer or None,
    )
    return Outcome("stale")


def _read_delivery(
    event: ObjectCreated, key: RecordingKey, version_id: str, services: Services, log: Logger
) -> Delivery:
    head = services.objects.head(event.bucket, key.key, event.version_id)
    metadata = read_metadata(head.metadata)
    for problem in metadata.problems:
        log.warning("unusable recording metadata", problem=problem)
    content = services.objects.read(event.bucket, key.key, event.version_id)
    if content.size != head.content_length:
        raise Transient(
            "short-read",
            f"read {content.size} bytes of a {head.content_length}-byte object",
        )
    wav: WavInfo | None
    try:
        wav = parse_wav_header(content.header)
    except WavHeaderError as error:
        log.warning("not a WAV recording; cataloged with format unknown", detail=str(error))
        wav = None
    delivered_at = event.time
    if delivered_at is None:
        delivered_at = services.clock()
        log.warning("event has no readable time; deliveredAt is the processing time")
    delivery = Delivery(
        key=key,
        bucket=event.bucket,
        version_id=version_id,
        sequencer=event.sequencer,
        size_bytes=content.size,
        etag=head.etag or event.etag,
        sha256=content.sha256,
        delivered_at=delivered_at,
        metadata=metadata,
        wav=wav,
        last_modified=head.last_modified,
    )
    if delivery.mismatched_fields:
        log.warning(
            "metadata names other ids than the key; cataloged under the key's ids",
            mismatched=list(delivery.mismatched_fields),
            metadataTransactionId=metadata.transaction_id,
            metadataCallId=metadata.call_id,
        )
    if delivery.duration_disagrees:
        log.warning(
            "recording-duration and the WAV data size disagree by more than a second",
            metadataSeconds=str(metadata.duration_seconds),
            headerSeconds=str(delivery.header_duration),
        )
    return delivery


def _retain(
    delivery: Delivery,
    existing: Mapping[str, Any] | None,
    call: Mapping[str, Any] | None,
    services: Services,
    log: Logger,
) -> dict[str, Any]:
    """Lock, tag and hold the version; the recording item's retention attributes (None removes)."""
    attributes: dict[str, Any] = {
        "retentionClass": None,
        "deletionClass": None,
        "retainUntil": None,
        "retentionDefaulted": None,
        "retentionFailed": None,
        "legalHold": None,
        "afterErasure": None,
    }
    facts = call or {}
    failures: list[str] = []
    erased = isinstance(facts.get("erasedAt"), str)
    if erased:
        attributes["afterErasure"] = True
        log.warning(
            "recording arrived after its call was erased: cataloged, not announced, not locked; "
            "run the erasure again",
            erasedAt=facts.get("erasedAt"),
        )
        services.metrics.emit({"RecordingAfterErasure": (1, "Count")}, **_ids(log))
    policy, applier = services.config.retention, services.retention
    if policy is None or applier is None:
        # Nothing is locked: no retention attribute to write or remove.
        return {"afterErasure": True} if erased else {}
    version = None if delivery.version_id == NULL_VERSION else delivery.version_id
    if facts.get("legalHold") is True:
        failure = applier.hold(delivery.bucket, delivery.key.key, version)
        if failure is None:
            attributes["legalHold"] = True
            log.info("legal hold put on the version: the call is under legal hold")
        else:
            failures.append(failure)
    if not erased:
        attributes.update(
            _lock(policy, applier, delivery, existing, call, services, log, version, failures)
        )
    if failures:
        attributes["retentionFailed"] = "; ".join(failures)
        log.error(
            "retention refused by S3; cataloged without it", detail=attributes["retentionFailed"]
        )
        services.metrics.emit({"RetentionFailed": (1, "Count")}, reason="refused", **_ids(log))
    return attributes


def _lock(
    policy: RetentionPolicy,
    applier: RetentionApplier,
    delivery: Delivery,
    existing: Mapping[str, Any] | None,
    call: Mapping[str, Any] | None,
    services: Services,
    log: Logger,
    version: str | None,
    failures: list[str],
) -> dict[str, Any]:
    tx = delivery.key.transaction_id
    numbers = call_numbers(existing, call, number_items=services.store.items_of(f"TX#{tx}", "NUM#"))
    # Numbers may still arrive until the call has ended: only then is the classification complete.
    ended = isinstance((call or {}).get("endedAt"), str)
    choice = classify(policy, numbers, complete=ended)
    if choice is None:
        log.info("the call's numbers match no retention class and there is no default")
        return {}
    if choice.defaulted:
        log.warning(
            "the call's numbers are not known to be complete; locked for the longest class and "
            "tagged for no class",
            retentionClass=choice.name,
            days=choice.days,
            numbersKnown=len(numbers),
            callEnded=ended,
        )
        services.metrics.emit({"RetentionClassDefaulted": (1, "Count")}, **_ids(log))
    # LastModified and the event's time are both S3's creation time; HeadObject's is exact.
    created = delivery.last_modified or delivery.delivered_at
    applied = applier.apply(
        delivery.bucket, delivery.key.key, version, created, choice, services.clock()
    )
    if applied.failure is not None:
        failures.append(applied.failure)
    until = None if applied.retain_until is None else iso_utc(applied.retain_until)
    if applied.retain_until is None and applied.failure is None:
        log.info(
            "retention period already over: nothing to lock",
            retentionClass=applied.name,
            ended=iso_utc(created + timedelta(days=choice.days)),
        )
    log.info(
        "retention applied",
        retentionClass=applied.name,
        deletionClass=choice.deletion,
        mode=applied.mode,
        retainUntil=until,
        changed=applied.changed,
    )
    return {
        "retentionClass": applied.name,
        # A refusal stops before or at the tag: the version is then not tagged for the class.
        "deletionClass": choice.deletion if applied.failure is None else None,
        "retainUntil": until,
        "retentionDefaulted": True if choice.defaulted else None,
    }


def _delivered(
    write: CatalogWrite,
    attributes: Mapping[str, Any],
    delivery: Delivery,
    services: Services,
    log: Logger,
) -> None:
    duration = attributes.get("durationSeconds")
    billed = attributes.get("billedMinutes")
    log.info(
        "recording cataloged",
        verdict=write.verdict.value,
        sizeBytes=attributes["sizeBytes"],
        sha256=attributes["sha256"],
        durationSeconds=None if duration is None else str(duration),
        billedMinutes=billed,
        format=attributes["format"],
        channels=attributes.get("channels"),
        integrity=attributes["integrity"],
    )
    values: dict[str, tuple[float, str]] = {"RecordingDelivered": (1, "Count")}
    if write.late:
        # "Recording Missing" went out for it; "Recording Available" follows now.
        log.warning("late delivery: this recording had been reported missing")
        values["RecordingDeliveredLate"] = (1, "Count")
    if billed is not None:
        values["RecordedMinutes"] = (billed, "Count")
    latency = _delivery_latency(delivery)
    if latency is not None:
        values["DeliveryLatency"] = (latency, "Seconds")
    services.metrics.emit(values, **_ids(log))


def _delivery_latency(delivery: Delivery) -> float | None:
    """Seconds from the recording's end to the object's creation, as an upper bound.

    The key's timestamp is the leg's start, not the recording's, so leg start + recorded length
    is at or before the moment recording stopped: exact when recording starts with the leg (as
    the construct's handler does), an overestimate for a recording started later. Unknown
    length, or a negative result (clocks or the unconfirmed UTC reading of the key), gives none.
    """
    duration, _ = delivery.duration
    if duration is None:
        return None
    ended = delivery.key.leg_start + timedelta(seconds=float(duration))
    latency = (delivery.delivered_at - ended).total_seconds()
    return round(latency, 3) if latency >= 0 else None


def _announce(
    item: Mapping[str, Any], event: ObjectCreated, services: Services, log: Logger
) -> None:
    event_id = services.publisher.publish(
        event_detail(item), [object_arn(event.partition, str(item["bucket"]), str(item["key"]))]
    )
    sequencer = item.get("sequencer")
    flag = Update(
        key={"pk": item["pk"], "sk": item["sk"]},
        set={"eventSent": True, "eventSentAt": iso_utc(services.clock())},
        expect={
            "versionId": item["versionId"],
            "sequencer": sequencer if isinstance(sequencer, str) else ABSENT,
        },
    )
    try:
        flagged = services.store.update(flag)
    except Transient as error:
        # The event is out; failing the record now would only send it a second time.
        log.warning("event sent but not flagged on the item", eventId=event_id, detail=str(error))
        return
    log.info("Recording Available sent", eventId=event_id, flagged=flagged)


def _ids(log: Logger) -> dict[str, object]:
    return {name: log.context[name] for name in ("transactionId", "callId") if name in log.context}
