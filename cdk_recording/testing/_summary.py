"""The report of one simulated call, and its billing (§9)."""

from __future__ import annotations

import math

from cdk_recording.testing._report import (
    ActionRecord,
    CallReport,
    LegBilling,
    LegRecord,
    RecordingRecord,
)
from cdk_recording.testing._state import CallState

__all__ = ["build_report"]


def build_report(call: CallState) -> CallReport:
    """The report of a call that has ended (every recording stopped and delivered)."""
    t0 = call.t0
    recordings: list[RecordingRecord] = []
    billing: list[LegBilling] = []
    for recording in call.recordings.values():
        assert recording.stopped_ms is not None
        assert recording.delivered_ms is not None
        recordings.append(
            RecordingRecord(
                leg=recording.leg.tag,
                call_id=recording.leg.call_id,
                track=recording.track,
                location=recording.location,
                bucket=recording.bucket,
                key=recording.key,
                started_ms=recording.started_ms - t0,
                stopped_ms=recording.stopped_ms - t0,
                stop_reason=recording.stop_reason or "call-ended",
                pauses=tuple((s - t0, e - t0) for s, e in recording.pauses),
                delivered_ms=recording.delivered_ms - t0,
                channels=2 if recording.track == "BOTH" else 1,
                sample_rate=call.options.sample_rate,
                metadata=dict(recording.metadata),
                destination=recording.destination,
            )
        )
        # §9: billed per minute while recording is enabled on the leg, pauses included, once
        # delivered. Rounding up to started minutes is an assumption (the price page is unread).
        recorded = recording.stopped_ms - recording.started_ms
        billing.append(
            LegBilling(
                recording.leg.tag,
                recording.leg.call_id,
                recorded,
                math.ceil(recorded / 60_000),
            )
        )
    return CallReport(
        scenario=call.scenario.name,
        handler=call.handler_name,
        transaction_id=call.transaction_id,
        start_time_ms=t0,
        ended_ms=call.ended_ms - t0,
        legs=tuple(
            LegRecord(
                leg.tag,
                leg.call_id,
                leg.from_number,
                leg.to_number,
                leg.direction,
                leg.start_ms,
                None if leg.answered_ms is None else leg.answered_ms - t0,
                None if leg.ended_ms is None else leg.ended_ms - t0,
            )
            for leg in call.legs.values()
        ),
        timeline=tuple(call.timeline),
        invocations=tuple(call.invocations),
        actions=tuple(
            ActionRecord(
                a.type,
                a.parameters,
                a.leg,
                a.outcome,
                a.started_ms - t0,
                (a.ended_ms if a.ended_ms is not None else call.ended_ms) - t0,
                a.error_type,
                a.error_message,
                a.note,
            )
            for a in call.actions
        ),
        recordings=tuple(recordings),
        billing=tuple(billing),
        hangups=tuple(call.hangups),
        problems=tuple(call.problems),
        skipped_steps=tuple(call.skipped),
    )
