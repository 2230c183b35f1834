"""One facts message, from its SQS body to the call's catalog items.

The steps, in an order that matters:

1. Parse and check the message (:mod:`~recording_processor._facts`); a malformed one is rejected:
   logged, counted (``FactsRejected``), dropped.
2. Put its ``FACT#`` items, each only if absent (the audit trail; a duplicate changes nothing).
3. Merge it into the ``CALL`` item, then into each ``NUM#`` item
   (:mod:`~recording_processor._ledger`): read, merge, conditional write, and again on a race.
   A number's ``gsi1sk`` follows the call's ``startedAt``, which a later-processed message may
   lower: so every message brings the call's ``startedAt`` into every ``NUM#`` item of the call
   after writing its own, and reads ``startedAt`` again after (the pattern of step 4).
4. Merge it into each ``REC#`` item a recording fact names. A recording's stop also follows the
   call's end, which another message may bring at the same time, so each side writes first and
   reads the other after: a ``REC#`` merge reads ``endedAt`` again after its write and merges once
   more if it moved, and a ``call-ended`` message, after writing ``endedAt`` (step 3), merges it into
   every ``REC#`` item of the call. Whatever the interleaving, one of the two sees the other.

A failure to read or write is :class:`~recording_processor._errors.Transient`: the message comes
back, and every step is idempotent, so the retry finishes what the first attempt started.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any, Literal

from recording_processor._errors import Transient
from recording_processor._facts import FactsMessage, MalformedFacts, parse_facts_message
from recording_processor._ledger import (
    RecordingFacts,
    Timing,
    call_facts,
    call_update,
    fact_items,
    number_facts,
    number_key,
    number_update,
    recording_facts,
    recording_update,
)
from recording_processor._record import Update, call_key, recording_key_attributes
from recording_processor._store import CatalogStore
from recording_processor._telemetry import Logger, Metrics

__all__ = ["MAX_MERGE_ATTEMPTS", "FactsOutcome", "FactsServices", "process_facts"]

#: Reads and conditional writes tried per item before the message goes back to the queue.
MAX_MERGE_ATTEMPTS = 5

FactsStatus = Literal["processed", "rejected", "failed"]


@dataclass(frozen=True)
class FactsServices:
    """What the facts consumer needs from the outside world."""

    store: CatalogStore
    metrics: Metrics
    timing: Timing
    clock: Callable[[], datetime]


@dataclass(frozen=True)
class FactsOutcome:
    """How a message ended; ``retry`` puts it in ``batchItemFailures``."""

    status: FactsStatus
    retry: bool = False
    reason: str | None = None


@dataclass
class _Written:
    facts: int = 0
    items: int = 0


def process_facts(body: object, services: FactsServices, log: Logger) -> FactsOutcome:
    """Process one SQS record body; never raises."""
    try:
        message = parse_facts_message(body)
    except MalformedFacts as malformed:
        log.warning("facts message rejected", reason=malformed.reason, detail=str(malformed))
        services.metrics.emit({"FactsRejected": (1, "Count")}, reason=malformed.reason)
        return FactsOutcome("rejected", reason=malformed.reason)
    log = log.bind(
        transactionId=message.transaction_id,
        sequence=message.sequence,
        eventType=message.event_type,
    )
    properties: dict[str, object] = {
        "transactionId": message.transaction_id,
        "sequence": message.sequence,
    }
    for kind in message.ignored_kinds:
        log.warning("fact of an unknown kind ignored", kind=kind)
    for where in message.unusable:
        log.warning("participant number is not E.164; not kept", field=where)
    try:
        written = _apply(message, services, log)
    except Transient as failed:
        log.error(
            "facts not written; the message will be retried",
            reason=failed.reason,
            detail=str(failed),
        )
        services.metrics.emit({"ProcessorFailed": (1, "Count")}, reason=failed.reason, **properties)
        return FactsOutcome("failed", retry=True, reason=failed.reason)
    except Exception as error:
        log.error(
            "unexpected error; the message will be retried",
            reason="unexpected",
            errorType=type(error).__name__,
            detail=str(error),
            stack=traceback.format_exc(limit=8),
        )
        services.metrics.emit({"ProcessorFailed": (1, "Count")}, reason="unexpected", **properties)
        return FactsOutcome("failed", retry=True, reason="unexpected")
    log.info(
        "facts processed",
        kinds=[fact.kind for fact in message.facts],
        newFacts=written.facts,
        itemsWritten=written.items,
    )
    values: dict[str, tuple[float, str]] = {"FactsProcessed": (1, "Count")}
    if message.ignored_kinds:
        values["FactsUnknownKind"] = (len(message.ignored_kinds), "Count")
    services.metrics.emit(values, **properties)
    return FactsOutcome("processed")


def _apply(message: FactsMessage, services: FactsServices, log: Logger) -> _Written:
    store, tx = services.store, message.transaction_id
    written = _Written()
    for item in fact_items(message):
        if store.put_new(item):
            written.facts += 1
    contribution = call_facts(message)
    written.items += _merge(
        store, call_key(tx), lambda item: call_update(tx, item, contribution), log
    )
    written.items += _merge_numbers(message, store, log)
    recordings = recording_facts(message)
    for call_id, facts in recordings.items():
        written.items += _merge_recording(message, call_id, facts, services, log)
    if any(fact.kind == "call-ended" for fact in message.facts):
        for item in store.items_of(f"TX#{tx}", "REC#"):
            call_id = str(item["sk"]).removeprefix("REC#")
            if call_id not in recordings:
                written.items += _merge_recording(message, call_id, None, services, log)
    return written


def _merge(
    store: CatalogStore,
    key: Mapping[str, str],
    merge: Callable[[Mapping[str, Any] | None], Update | None],
    log: Logger,
) -> int:
    """Read, merge, write conditionally; again while someone else wrote in between."""
    for _ in range(MAX_MERGE_ATTEMPTS):
        update = merge(store.get(key))
        if update is None:
            return 0
        if store.update(update):
            return 1
        log.debug("item changed while merging; merging again", sk=key["sk"])
    raise Transient(
        "catalog-contention", f"{key['sk']} kept changing over {MAX_MERGE_ATTEMPTS} attempts"
    )


def _merge_numbers(message: FactsMessage, store: CatalogStore, log: Logger) -> int:
    """The message's numbers, and the call's ``startedAt`` into every number of the call."""
    tx = message.transaction_id
    own = {number.number: number for number in number_facts(message)}
    writes = 0
    started = _call_attribute(store.get(call_key(tx)), "startedAt")
    for _ in range(MAX_MERGE_ATTEMPTS):
        known = {
            str(item["sk"]).removeprefix("NUM#") for item in store.items_of(f"TX#{tx}", "NUM#")
        }
        for number in sorted(known | set(own)):
            writes += _merge(
                store,
                number_key(tx, number),
                partial(number_update, tx, facts=own.get(number), started_at=started),
                log,
            )
        # Written first, read after, as for the call's end (module docstring).
        now_started = _call_attribute(store.get(call_key(tx)), "startedAt")
        if now_started == started:
            return writes
        started = now_started
    raise Transient(
        "catalog-contention", f"the call's start kept moving over {MAX_MERGE_ATTEMPTS} attempts"
    )


def _merge_recording(
    message: FactsMessage,
    call_id: str,
    facts: RecordingFacts | None,
    services: FactsServices,
    log: Logger,
) -> int:
    store, tx = services.store, message.transaction_id
    key = recording_key_attributes(tx, call_id)
    writes = 0
    ended = _call_attribute(store.get(call_key(tx)), "endedAt")
    for _ in range(MAX_MERGE_ATTEMPTS):
        writes += _merge(
            store,
            key,
            partial(
                recording_update,
                tx,
                call_id,
                facts=facts,
                call_ended_at=ended,
                timing=services.timing,
            ),
            log,
        )
        # Written first, read after: a call-ended message racing this one sees our item or we
        # see its end (module docstring).
        now_ended = _call_attribute(store.get(call_key(tx)), "endedAt")
        if now_ended == ended:
            return writes
        ended = now_ended
    raise Transient(
        "catalog-contention", f"the call's end kept moving over {MAX_MERGE_ATTEMPTS} attempts"
    )


def _call_attribute(call: Mapping[str, Any] | None, name: str) -> str | None:
    value = (call or {}).get(name)
    return value if isinstance(value, str) else None
