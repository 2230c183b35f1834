"""Where the arrival disagrees with the call the simulator ran.

The simulator knows what happened (when each recording started, paused, resumed and stopped, who
called whom, what was billed, which recordings were lost on the way); the catalog holds what the
processor's three writers made of the delivered files and of the handler's facts messages. Every
difference is one line of :attr:`~cdk_recording.testing.ArrivalReport.problems`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from sma_recording.telemetry import mask_phone

from cdk_recording.testing._arrival import ArrivalReport
from cdk_recording.testing._report import CallReport, RecordingRecord

__all__ = ["disagreements"]

AVAILABLE = "Recording Available"
MISSING = "Recording Missing"


def disagreements(report: CallReport, arrival: ArrivalReport) -> list[str]:
    """Every disagreement: the delivery checks, and the facts checks when facts were fed."""
    problems = _delivery(report, arrival)
    if arrival.facts_fed is not None:
        problems += _facts(report, arrival)
    return problems


def _delivery(report: CallReport, arrival: ArrivalReport) -> list[str]:
    """Every delivered recording cataloged once, with the simulator's billed minutes, announced by
    exactly one event; every lost one reported missing by exactly one event."""
    problems: list[str] = []
    delivered: list[str] = []
    billed = 0
    for bill in report.billing:
        item = arrival.recording_item(bill.call_id)
        if arrival.plan.dropped(bill.leg):
            problems += _missing(bill.leg, bill.call_id, item, arrival)
            continue
        delivered.append(bill.call_id)
        billed += bill.billable_minutes
        if item is None or item.get("status") != "delivered":
            problems.append(f"{bill.leg} ({bill.call_id}): not cataloged as delivered")
        elif item.get("billedMinutes") != bill.billable_minutes:
            problems.append(
                f"{bill.leg}: catalog bills {item.get('billedMinutes')} min, "
                f"the simulator {bill.billable_minutes} min"
            )
        announced = arrival.events_of(AVAILABLE, bill.call_id)
        if len(announced) != 1:
            problems.append(f"{bill.leg}: {len(announced)} {AVAILABLE} events (expected exactly 1)")
        if arrival.facts_fed is not None and arrival.events_of(MISSING, bill.call_id):
            problems.append(f"{bill.leg}: delivered, yet announced as {MISSING}")
    call = arrival.call_item()
    if delivered:
        call_billed = None if call is None else call.get("billedMinutes")
        if call_billed != billed:
            problems.append(f"the CALL item bills {call_billed} min, the simulator {billed} min")
    if report.billing:
        cataloged = sorted(call.get("recordings", [])) if call else []
        if cataloged != sorted(delivered):
            problems.append(f"the CALL item lists recordings {cataloged}")
    return problems


def _missing(
    leg: str, call_id: str, item: Mapping[str, Any] | None, arrival: ArrivalReport
) -> list[str]:
    problems: list[str] = []
    if arrival.events_of(AVAILABLE, call_id):
        problems.append(f"{leg}: dropped, yet announced as {AVAILABLE}")
    if arrival.facts_fed is None:
        return problems  # without the facts nothing awaits the recording: nothing to sweep
    status = None if item is None else item.get("status")
    if status != "missing":
        problems.append(f"{leg} ({call_id}): dropped, but cataloged as {status} (expected missing)")
    reported = arrival.events_of(MISSING, call_id)
    if len(reported) != 1:
        problems.append(f"{leg}: {len(reported)} {MISSING} events (expected exactly 1)")
    return problems


def _facts(report: CallReport, arrival: ArrivalReport) -> list[str]:
    """The catalog's view of the call, from the handler's facts, against the simulator's."""
    problems: list[str] = []
    started = {
        str(fact.get("callId")) for fact in arrival.facts if fact.get("kind") == "recording-started"
    }
    for recording in report.recordings:
        where = f"{recording.leg} ({recording.call_id})"
        if recording.call_id not in started:
            problems.append(
                f"{where}: recording started at {_iso(report, recording.started_ms)} per the "
                "simulator, but no recording-started fact"
            )
        item = arrival.recording_item(recording.call_id)
        if item is None:
            continue  # already a delivery problem
        problems += _times(report, recording, item, where)
    problems += _parties(report, arrival)
    return problems


def _times(
    report: CallReport, recording: RecordingRecord, item: Mapping[str, Any], where: str
) -> list[str]:
    problems: list[str] = []
    for name, offset in (("startedAt", recording.started_ms), ("stoppedAt", recording.stopped_ms)):
        expected = _iso(report, offset)
        if item.get(name) != expected:
            problems.append(f"{where}: catalog {name} {item.get(name)}, the simulator {expected}")
    paused = item.get("pausedSeconds", 0)
    expected_paused = recording.paused_ms / 1000
    if not isinstance(paused, int | float) or abs(paused - expected_paused) > 0.0005:
        problems.append(
            f"{where}: catalog pausedSeconds {paused}, the simulator {expected_paused:.3f}"
        )
    return problems


def _parties(report: CallReport, arrival: ArrivalReport) -> list[str]:
    call = arrival.call_item()
    leg_a = next((leg for leg in report.legs if leg.tag == "LEG-A"), None)
    if leg_a is None:
        return []
    if call is None:
        return ["no CALL item: the facts consumer cataloged nothing about the call"]
    problems: list[str] = []
    for name, expected in (("fromNumber", leg_a.from_number), ("toNumber", leg_a.to_number)):
        value = call.get(name)
        if value != expected:
            shown = mask_phone(value) if isinstance(value, str) else value
            problems.append(f"the CALL item's {name} is {shown}, LEG-A's {mask_phone(expected)}")
    numbers = {str(item.get("number")) for item in arrival.numbers}
    for leg in report.legs:
        for number in (leg.from_number, leg.to_number):
            if number not in numbers:
                problems.append(f"{leg.tag}'s number {mask_phone(number)} has no NUM# item")
    return problems


def _iso(report: CallReport, offset_ms: int) -> str:
    moment = datetime.fromtimestamp((report.start_time_ms + offset_ms) / 1000, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
