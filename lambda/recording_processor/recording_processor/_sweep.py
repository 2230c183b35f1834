"""The missing sweep: started recordings whose file is overdue become ``missing``, announced once.

Every 5 minutes (an EventBridge schedule) the sweep reads each partition of the ``byPending``
index up to now, with bounded work per run (:data:`MAX_SWEEP_ITEMS`, split evenly over the
partitions so that one busy partition cannot starve the others). For each overdue item it makes
one conditional update: ``started`` -> ``missing``, ``missingAt`` set, pending keys removed, on
condition that the item is still ``started``, still has no ``versionId`` and still has the deadline
it was found under. Only the winner of that condition sends "Recording Missing": a delivery that
got there first, a facts message that moved the deadline, or a second sweep all make the condition
fail and the sweep sends nothing. The index is eventually consistent; the condition is read on the
table, so a stale index entry can only cost a failed condition.

If PutEvents then fails, the item is put back (``started``, same deadline, conditioned on it still
being the sweep's ``missing``), so the next run tries again: the event is sent at least once per
missing recording and, barring that rare failure after an accepted PutEvents, exactly once.

What is left after the budget is counted (``SweepBacklog``), up to :data:`BACKLOG_COUNT_CAP`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any, Final

from recording_processor import schema
from recording_processor._errors import Transient
from recording_processor._keys import iso_utc
from recording_processor._ledger import MISSING, STARTED
from recording_processor._publish import MISSING_DETAIL_TYPE, EventPublisher
from recording_processor._record import ABSENT, SCHEMA_VERSION, Update
from recording_processor._store import CatalogStore
from recording_processor._telemetry import Logger, Metrics

__all__ = [
    "BACKLOG_COUNT_CAP",
    "MAX_SWEEP_ITEMS",
    "MISSING_DETAIL_FIELDS",
    "SweepReport",
    "SweepServices",
    "missing_detail",
    "sweep",
]

#: Overdue items examined per run, over all partitions.
MAX_SWEEP_ITEMS: Final = 1000
#: Items left over are counted up to this many per partition (a COUNT query still reads them).
BACKLOG_COUNT_CAP: Final = 10_000
#: The fields of the "Recording Missing" event's detail, besides ``schemaVersion``.
MISSING_DETAIL_FIELDS: Final = (
    "transactionId",
    "callId",
    "leg",
    "startedAt",
    "stoppedAt",
    "deadline",
    "detectedAt",
)


@dataclass(frozen=True)
class SweepServices:
    """What the sweep needs from the outside world."""

    store: CatalogStore
    publisher: EventPublisher
    metrics: Metrics
    clock: Callable[[], datetime]


@dataclass
class SweepReport:
    """What one run did: items examined, marked missing, lost to a race, failed; backlog left."""

    examined: int = 0
    missing: int = 0
    raced: int = 0
    failed: int = 0
    backlog: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def missing_detail(item: Mapping[str, Any], deadline: str, detected_at: str) -> dict[str, Any]:
    """The "Recording Missing" detail of a recording item found overdue."""
    values = {**item, "deadline": deadline, "detectedAt": detected_at}
    detail: dict[str, Any] = {"schemaVersion": str(SCHEMA_VERSION)}
    for name in MISSING_DETAIL_FIELDS:
        value = values.get(name)
        detail[name] = value if isinstance(value, str) else None
    return detail


def sweep(services: SweepServices, log: Logger, max_items: int = MAX_SWEEP_ITEMS) -> SweepReport:
    """One run over every partition of the pending index; never raises."""
    now = iso_utc(services.clock())
    report = SweepReport()
    per_shard = max(1, max_items // schema.PENDING_SHARDS)
    for shard in range(schema.PENDING_SHARDS):
        partition = f"PENDING#{shard}"
        try:
            _sweep_partition(partition, now, per_shard, services, log, report)
        except Transient as error:
            report.failed += 1
            log.error(
                "pending partition not swept",
                partition=partition,
                reason=error.reason,
                detail=str(error),
            )
    values: dict[str, tuple[float, str]] = {
        "SweepBacklog": (report.backlog, "Count"),
        "SweepExamined": (report.examined, "Count"),
    }
    if report.raced:
        values["SweepRaced"] = (report.raced, "Count")
    if report.failed:
        values["SweepFailed"] = (report.failed, "Count")
        # The catalog's one failure metric, which the ProcessorFailing alarm watches.
        values["ProcessorFailed"] = (report.failed, "Count")
    services.metrics.emit(values)
    level = "WARNING" if report.backlog or report.failed else "INFO"
    log.log(level, "sweep finished", **report.as_dict(), limit=max_items, now=now)
    return report


def _sweep_partition(
    partition: str,
    now: str,
    budget: int,
    services: SweepServices,
    log: Logger,
    report: SweepReport,
) -> None:
    start: Mapping[str, Any] | None = None
    while budget > 0:
        items, _, start = services.store.overdue(partition, now, budget, start)
        budget -= len(items)
        for item in items:
            report.examined += 1
            _mark(item, now, services, log, report)
        if start is None:
            return
    left = 0
    while start is not None and left < BACKLOG_COUNT_CAP:
        _, count, start = services.store.overdue(
            partition, now, BACKLOG_COUNT_CAP - left, start, count_only=True
        )
        left += count
    report.backlog += left
    if left:
        log.warning(
            "overdue recordings left for the next run",
            partition=partition,
            left=left,
            capped=left >= BACKLOG_COUNT_CAP,
        )


def _mark(
    item: Mapping[str, Any], now: str, services: SweepServices, log: Logger, report: SweepReport
) -> None:
    key = {"pk": str(item["pk"]), "sk": str(item["sk"])}
    deadline = item.get("gsi3sk")
    item_log = log.bind(transactionId=item.get("transactionId"), callId=item.get("callId"))
    if not isinstance(deadline, str):
        return
    marked = Update(
        key=key,
        set={"status": MISSING, "missingAt": now, **_day_index(item)},
        remove=("gsi3pk", "gsi3sk"),
        expect={"status": STARTED, "versionId": ABSENT, "gsi3sk": deadline},
    )
    try:
        if not services.store.update(marked):
            report.raced += 1
            item_log.info(
                "overdue entry changed before the sweep's write; left alone", deadline=deadline
            )
            return
    except Transient as error:
        report.failed += 1
        item_log.error("recording not marked missing", reason=error.reason, detail=str(error))
        return
    detail = missing_detail(item, deadline, now)
    try:
        event_id = services.publisher.publish(detail, [], detail_type=MISSING_DETAIL_TYPE)
    except Transient as error:
        report.failed += 1
        _unmark(key, item, deadline, now, services, item_log, error)
        return
    report.missing += 1
    item_log.warning(
        "recording missing",
        deadline=deadline,
        leg=item.get("leg"),
        startedAt=item.get("startedAt"),
        stoppedAt=item.get("stoppedAt"),
        eventId=event_id,
    )
    services.metrics.emit(
        {"RecordingMissing": (1, "Count")},
        transactionId=item.get("transactionId"),
        callId=item.get("callId"),
    )


def _day_index(item: Mapping[str, Any]) -> dict[str, str]:
    """The day index keys of a missing recording, so a day's listing shows it next to the
    delivered ones (``recordings list --day ... --status missing``); a late delivery rewrites
    them from its key."""
    start = item.get("startedAt") or item.get("requestedAt")
    if not isinstance(start, str) or len(start) < 10:
        return {}
    return {
        "gsi2pk": f"DAY#{start[:10]}",
        "gsi2sk": f"{start}#{item.get('transactionId')}#{item.get('callId')}",
    }


def _unmark(
    key: Mapping[str, str],
    item: Mapping[str, Any],
    deadline: str,
    now: str,
    services: SweepServices,
    log: Logger,
    cause: Transient,
) -> None:
    """Put a recording back in the pending index after its event could not be sent."""
    restore = Update(
        key=key,
        set={"status": STARTED, "gsi3pk": str(item.get("gsi3pk")), "gsi3sk": deadline},
        remove=("missingAt", *_day_index(item)),
        expect={"status": MISSING, "versionId": ABSENT, "missingAt": now},
    )
    try:
        restored = services.store.update(restore)
    except Transient as error:
        restored = False
        log.error("could not restore the pending entry", reason=error.reason, detail=str(error))
    log.error(
        "Recording Missing not sent",
        reason=cause.reason,
        detail=str(cause),
        restored=restored,
    )
