"""``cdk-recording recordings erase``: erase one call, a dry run unless ``--yes``.

It refuses while a legal hold, an unexpired retention, a recording still awaited or a transcription
in flight applies. With ``--yes`` it writes an ``intent`` audit entry (the objects with their
version ids and SHA-256s, the Transcribe jobs, the reason) before any change, marks the ``CALL``
item erased, deletes every version and delete marker and the call's Transcribe jobs, leaves an
additive tombstone in the catalog, writes the ``done`` (or ``failed``) entry and puts
``Recording Erased`` on the catalog's event bus.
"""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime
from typing import Any, Final

from cdk_recording import _audit, _recordings_aws, _records, _records_jobs
from cdk_recording._command import EXIT_FAILURE, EXIT_OK, EXIT_USAGE, CommandError
from cdk_recording._recordings_aws import Where, aws_errors, stack_output
from cdk_recording._records_cli import (
    CLIENT_CONFIG,
    ERASE_PERMISSIONS,
    EVENT_BUS_OUTPUT_PREFIX,
    Clients,
    after,
    needs,
    open_clients,
    print_document,
    record_failure,
    versions_table,
)

__all__ = ["EVENT_OBJECT_LIMIT", "EVENT_VERSION_LIMIT", "event_objects", "run_erase"]

#: At most this many objects in ``Recording Erased`` (an EventBridge entry is at most 256 KB).
EVENT_OBJECT_LIMIT: Final = 100
#: At most this many version ids in all in ``Recording Erased``; the counts are always whole.
EVENT_VERSION_LIMIT: Final = 1000
_EVENT_SOURCE = "cdk-recording"
_ERASED_EVENT = "Recording Erased"


def _event_bus(args: argparse.Namespace, clients: Clients) -> str | None:
    if args.event_bus:
        return str(args.event_bus)
    if args.stack is None:
        return None
    cloudformation = _recordings_aws.cloudformation_client(clients.session, args.region)
    return stack_output(
        cloudformation, args.stack, EVENT_BUS_OUTPUT_PREFIX, "an event bus", "--event-bus"
    )


def event_objects(objects: list[dict[str, Any]]) -> dict[str, Any]:
    """The ``objects`` of ``Recording Erased``: the first :data:`EVENT_OBJECT_LIMIT` objects, each
    with its ``versionCount`` and its version ids in order until :data:`EVENT_VERSION_LIMIT` are
    listed in all; ``objectCount``, ``versionCount`` and ``truncated`` say what was left out."""
    budget = EVENT_VERSION_LIMIT
    listed: list[dict[str, Any]] = []
    for entry in objects[:EVENT_OBJECT_LIMIT]:
        ids = list(entry["versionIds"][:budget])
        budget -= len(ids)
        listed.append(
            {
                "key": entry["key"],
                "versionIds": ids,
                "versionCount": len(entry["versionIds"]),
                "sha256": entry.get("sha256"),
            }
        )
    versions = sum(len(entry["versionIds"]) for entry in objects)
    shown = sum(len(entry["versionIds"]) for entry in listed)
    return {
        "objects": listed,
        "objectCount": len(objects),
        "versionCount": versions,
        "truncated": len(listed) < len(objects) or shown < versions,
    }


def run_erase(args: argparse.Namespace) -> int:
    """The ``erase`` action."""
    if args.yes and args.stack is None and not args.event_bus:
        raise CommandError(
            "--event-bus is required with --table for erase --yes: name the bus of "
            f"{_ERASED_EVENT} (the stack output {EVENT_BUS_OUTPUT_PREFIX}*, or `default` for the "
            "account's default bus)",
            EXIT_USAGE,
        )
    where = Where()
    with aws_errors(where), needs(ERASE_PERMISSIONS):
        clients = open_clients(args, where)
        records = _records.load_call(clients.table, args.transaction_id)
        versions = _records.object_versions(clients.s3, records)
        now = datetime.now(UTC)
        refusals = _records.refusals(clients.s3, clients.retention, records, versions, now)
        jobs = _records_jobs.transcribe_jobs(records)
        if not args.yes:
            return _erase_plan(args, clients, records, versions, refusals, jobs)
        if refusals:
            raise _records.refused(refusals, records.transaction_id)
        return _erase(args, clients, records, versions, jobs, now)


def _erase(
    args: argparse.Namespace,
    clients: Clients,
    records: _records.CallRecords,
    versions: list[_records.ObjectVersion],
    jobs: list[_records_jobs.TranscribeJob],
    now: datetime,
) -> int:
    tx = records.transaction_id
    settled = all(
        item.get("status") == _records.ERASED
        for item in [*records.recordings, *records.transcripts]
    )
    numbers_left = args.erase_numbers and _records.numbers_present(records) > 0
    if not versions and not jobs and settled and not numbers_left:
        print(f"transaction {tx}: nothing left to erase")
        return EXIT_OK
    bus = _event_bus(args, clients)
    if bus is None:  # run_erase asked for --event-bus before any request; kept for the type
        raise CommandError("--event-bus is required with --table for erase --yes", EXIT_USAGE)
    by = _audit.caller_arn(clients.sts)
    objects = _records.object_list(versions, records.sha256_by_key)
    intent = _audit.record(
        clients.table,
        tx,
        "erase",
        by,
        reason=args.reason,
        detail={
            "objects": objects,
            "transcribeJobs": [job.as_json() for job in jobs],
            "eraseNumbers": bool(args.erase_numbers),
            "eventBus": bus,
        },
        now=now,
        phase="intent",
    )
    at = intent.at
    try:
        _records.mark_call_erased(clients.table, tx, by, at)
        _records.delete_versions(clients.s3, versions)
        remaining = _records.object_versions(clients.s3, records)
        if remaining:
            raise CommandError(
                f"erase {tx}: {len(remaining)} version(s) appeared while erasing (first: "
                f"{remaining[0].key} version {remaining[0].version_id}); run erase again",
                EXIT_FAILURE,
            )
        results = _records_jobs.delete_jobs(clients.transcribe, jobs)
        tombstoned = _records.tombstone(
            clients.table,
            records,
            versions,
            by,
            args.reason,
            at,
            {job.item_key: result for job, result in results.items()},
        )
        numbers = _records.erase_numbers(clients.table, records) if args.erase_numbers else None
    except Exception as error:
        record_failure(clients, intent, args.reason, error)
        raise
    job_results = [job.as_json(result) for job, result in results.items()]
    detail: dict[str, Any] = {
        "intent": intent.key,
        "versions": len(versions),
        "tombstones": tombstoned,
        "transcribeJobs": job_results,
    }
    if numbers is not None:
        detail["numbersErased"] = numbers
    _audit.record(
        clients.table,
        tx,
        "erase",
        by,
        reason=args.reason,
        detail=detail,
        now=after(intent),
        phase="done",
    )
    # The event carries no reason (free text that may hold personal data: it stays in the audit
    # trail) and capped lists.
    event = {"schemaVersion": "1", "transactionId": tx, "erasedAt": at, **event_objects(objects)}
    _put_event(clients, bus, event)
    document = {
        **event,
        "objects": objects,
        "erasedBy": by,
        "reason": args.reason,
        "eventBus": bus,
        "dryRun": False,
        "numbersErased": numbers,
        "transcribeJobs": job_results,
    }
    gone = sum(1 for result in results.values() if result == _records_jobs.GONE)
    text = (
        versions_table(versions, {})
        + f"erased {len(versions)} version(s) of {len(objects)} object(s) of transaction {tx}; "
        f"{tombstoned} catalog item(s) tombstoned"
        + (f"; {len(results)} Transcribe job(s) deleted ({gone} already gone)" if results else "")
        + (", phone numbers removed" if numbers is not None else "")
        + f"; {_ERASED_EVENT} put on {bus}\n"
    )
    print_document(args, document, text)
    return EXIT_OK


def _erase_plan(
    args: argparse.Namespace,
    clients: Clients,
    records: _records.CallRecords,
    versions: list[_records.ObjectVersion],
    refusals: list[_records.Refusal],
    jobs: list[_records_jobs.TranscribeJob],
) -> int:
    tx = records.transaction_id
    blocked: dict[Any, str] = {}
    for refusal in refusals:
        for version in versions:
            if (version.key, version.version_id) == (refusal.key, refusal.version_id):
                blocked[version] = "; ".join(filter(None, [blocked.get(version), refusal.reason]))
    numbers = _records.numbers_present(records) if args.erase_numbers else None
    bus = _event_bus(args, clients)
    document = {
        "transactionId": tx,
        "dryRun": True,
        "objects": _records.object_list(versions, records.sha256_by_key),
        "transcribeJobs": [job.as_json() for job in jobs],
        "eventBus": bus,
        "refusals": [str(refusal) for refusal in refusals],
        "itemsWithNumbers": numbers,
    }
    lines = [versions_table(versions, blocked)]
    lines.append(f"dry run: would erase {len(versions)} version(s) of transaction {tx}")
    if jobs:
        lines.append(
            f", delete {len(jobs)} Transcribe job(s) ("
            + ", ".join(f"{job.job_type} {job.name}" for job in jobs)
            + ")"
        )
    if numbers is not None:
        lines.append(f" and remove phone numbers from {numbers} catalog item(s)")
    lines.append("; nothing deleted\n")
    if bus is None:
        lines.append(f"{_ERASED_EVENT} would need --event-bus (required with --table for --yes)\n")
    else:
        lines.append(f"{_ERASED_EVENT} would be put on the event bus {bus}\n")
    if refusals:
        lines.append(
            "erase would be refused: " + "; ".join(str(refusal) for refusal in refusals) + "\n"
        )
    else:
        lines.append("pass --yes to erase\n")
    print_document(args, document, "".join(lines))
    return EXIT_FAILURE if refusals else EXIT_OK


def _put_event(clients: Clients, bus: str, detail: dict[str, Any]) -> None:
    events = clients.session.client(
        "events",
        region_name=clients.s3.meta.region_name,
        config=CLIENT_CONFIG,
    )
    answer = events.put_events(
        Entries=[
            {
                "Source": _EVENT_SOURCE,
                "DetailType": _ERASED_EVENT,
                "Detail": json.dumps(detail, separators=(",", ":")),
                "EventBusName": bus,
            }
        ]
    )
    if answer.get("FailedEntryCount"):
        entry = answer.get("Entries", [{}])[0]
        raise CommandError(
            f"erased {detail['transactionId']}, but {_ERASED_EVENT} was not put on {bus} "
            f"({entry.get('ErrorCode')}: {entry.get('ErrorMessage')}); the catalog and the audit "
            "trail record the erasure"
        )
