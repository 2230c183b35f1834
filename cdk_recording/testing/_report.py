"""What a simulated call produced: its timeline, invocations, actions, recordings and billing."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from cdk_recording.testing._arrival import ArrivalReport
from cdk_recording.testing._validate import ValidationIssue

__all__ = [
    "ActionOutcome",
    "ActionRecord",
    "CallReport",
    "HangupCause",
    "HangupRecord",
    "InvocationRecord",
    "LegBilling",
    "LegRecord",
    "Problem",
    "ProblemKind",
    "RecordingRecord",
    "TimelineEntry",
    "format_offset",
]


def format_offset(ms: int) -> str:
    """``mm:ss.mmm`` (or ``h:mm:ss.mmm``) for a number of milliseconds since the call started."""
    sign = "-" if ms < 0 else ""
    ms = abs(ms)
    hours, rest = divmod(ms, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    seconds, millis = divmod(rest, 1000)
    if hours:
        return f"{sign}{hours}:{minutes:02d}:{seconds:02d}.{millis:03d}"
    return f"{sign}{minutes:02d}:{seconds:02d}.{millis:03d}"


class ActionOutcome(StrEnum):
    """How one action the handler returned ended."""

    SUCCEEDED = "succeeded"
    FAILED = "failed"
    #: Stopped by an update request (interruptible actions only).
    INTERRUPTED = "interrupted"
    #: Not run: an earlier action of its list failed.
    DROPPED = "dropped"
    #: Not run: a newer response replaced the rest of its list.
    REPLACED = "replaced"
    #: Stopped because its call leg (or the call) ended.
    CANCELLED = "cancelled"
    #: Still running when the call ended (never reported).
    UNFINISHED = "unfinished"


class HangupCause(StrEnum):
    """Who ended a call leg."""

    #: The party on the leg hung up (a scenario ``hangup`` step).
    REMOTE = "remote"
    #: The handler's Hangup action.
    HANDLER = "handler"
    #: The service: a CallAndBridge that failed, a failing handler, the invocation limit.
    SERVICE = "service"
    #: The simulator, because the scenario left the call up (see ``linger_ms``).
    SCENARIO_END = "scenario-end"


class ProblemKind(StrEnum):
    """What the simulator found wrong with the handler's behaviour."""

    INVALID_RESPONSE = "invalid-response"
    INVALID_ACTION = "invalid-action"
    HANDLER_ERROR = "handler-error"
    INVOCATION_LIMIT = "invocation-limit"
    RECORDING_MISUSE = "recording-misuse"
    LEG_LEFT_CONNECTED = "leg-left-connected"


@dataclass(frozen=True)
class Problem:
    """Something the service would reject or bill for that the handler should not have caused."""

    at_ms: int
    kind: ProblemKind
    message: str

    def __str__(self) -> str:
        return f"{format_offset(self.at_ms)} {self.kind}: {self.message}"


@dataclass(frozen=True)
class TimelineEntry:
    """One line of the human-readable timeline; ``at_ms`` is since the scenario start."""

    at_ms: int
    text: str


@dataclass(frozen=True)
class InvocationRecord:
    """One invocation of the handler.

    :param response: what the handler returned (None when it raised).
    :param issues: every problem :func:`validate_response` found in it.
    :param ignored: the service ignores the response to this event (ACTION_INTERRUPTED, the HANGUP
        that ends the call).
    :param error: the traceback when the handler raised.
    :param output: what the handler printed (its log lines and metrics).
    :param attempt: 1, or 2 for the retry after the handler raised.
    """

    at_ms: int
    sequence: int
    event_type: str
    event: Mapping[str, Any]
    response: Any
    issues: tuple[ValidationIssue, ...] = ()
    ignored: bool = False
    error: str | None = None
    output: str = ""
    attempt: int = 1

    @property
    def valid(self) -> bool:
        """Whether the response passed every check (response and action level)."""
        return self.error is None and not self.issues


@dataclass(frozen=True)
class ActionRecord:
    """One action the handler returned and what became of it.

    :param leg: the leg it acted on (``LEG-A``/``LEG-B``), when it names or defaults to one.
    :param started_ms: when it started (or was dropped/replaced); ``ended_ms`` when it ended.
    """

    type: str
    parameters: Mapping[str, Any]
    leg: str | None
    outcome: ActionOutcome
    started_ms: int
    ended_ms: int
    error_type: str | None = None
    error_message: str | None = None
    note: str | None = None


@dataclass(frozen=True)
class LegRecord:
    """One call leg as the service saw it."""

    tag: str
    call_id: str
    from_number: str
    to_number: str
    direction: str
    start_time_ms: int
    answered_ms: int | None
    ended_ms: int | None


@dataclass(frozen=True)
class HangupRecord:
    """A call leg ended."""

    at_ms: int
    leg: str
    call_id: str
    sip_response_code: int
    cause: HangupCause


@dataclass(frozen=True)
class RecordingRecord:
    """One call recording (one per leg at most, §3.2).

    :param started_ms: ``stopped_ms``, ``delivered_ms``: since the scenario start.
    :param pauses: ``(paused_ms, resumed_ms)`` pairs; ``resumed_ms`` is the stop when never resumed.
    :param stop_reason: ``StopCallRecording``, ``hangup`` (its leg ended) or ``call-ended``.
    :param destination: where the file was written (a path, an ``s3://`` URI), or None when no
        sink was given (the audio is then not rendered).
    :param metadata: the S3 user metadata of the object (§3.4).
    """

    leg: str
    call_id: str
    track: str
    location: str
    bucket: str
    key: str
    started_ms: int
    stopped_ms: int
    stop_reason: str
    pauses: tuple[tuple[int, int], ...]
    delivered_ms: int
    channels: int
    sample_rate: int
    metadata: Mapping[str, str]
    destination: str | None = None

    @property
    def duration_ms(self) -> int:
        """From start to stop, pauses included (silence is recorded while paused)."""
        return self.stopped_ms - self.started_ms

    @property
    def paused_ms(self) -> int:
        """Total time paused."""
        return sum(end - start for start, end in self.pauses)

    @property
    def uri(self) -> str:
        """``s3://bucket/key`` of the object."""
        return f"s3://{self.bucket}/{self.key}"


@dataclass(frozen=True)
class LegBilling:
    """Recording charges of one leg (§9): per minute from start to stop or hangup, pauses included.

    :param billable_minutes: the recorded time rounded up to whole minutes; the reference does not
        give the rounding rule (unconfirmed), started minutes are assumed.
    """

    leg: str
    call_id: str
    recorded_ms: int
    billable_minutes: int


@dataclass(frozen=True)
class CallReport:
    """Everything one simulated call produced.

    :param arrival: what the arrival processor made of the recordings, when the arrival was played
        (``SmaSimulator(arrival=...)``, ``simulate --arrival``); None otherwise.
    """

    scenario: str
    handler: str
    transaction_id: str
    start_time_ms: int
    ended_ms: int
    legs: tuple[LegRecord, ...]
    timeline: tuple[TimelineEntry, ...]
    invocations: tuple[InvocationRecord, ...]
    actions: tuple[ActionRecord, ...]
    recordings: tuple[RecordingRecord, ...]
    billing: tuple[LegBilling, ...]
    hangups: tuple[HangupRecord, ...]
    problems: tuple[Problem, ...] = ()
    skipped_steps: tuple[str, ...] = field(default=())
    arrival: ArrivalReport | None = None

    @property
    def billable_minutes(self) -> int:
        """Billable recording minutes of the whole call (every leg)."""
        return sum(bill.billable_minutes for bill in self.billing)

    @property
    def ok(self) -> bool:
        """Whether the handler caused no problem (and the arrival, when played, agrees)."""
        return not self.problems and (self.arrival is None or self.arrival.ok)

    def recording(self, leg: str) -> RecordingRecord | None:
        """The recording of ``LEG-A`` or ``LEG-B``, if that leg was recorded."""
        return next((r for r in self.recordings if r.leg == leg), None)

    def events(self) -> list[str]:
        """The ``InvocationEventType`` of every invocation, in order."""
        return [invocation.event_type for invocation in self.invocations]

    def to_dict(self) -> dict[str, Any]:
        """The whole report as JSON-ready data (events and responses included)."""
        data = asdict(self)
        data["billableMinutes"] = self.billable_minutes
        if self.arrival is None:
            del data["arrival"]  # the report of a call without arrival keeps its shape
        return data

    def to_json(self) -> str:
        """:meth:`to_dict` as indented JSON."""
        return json.dumps(self.to_dict(), indent=2, default=str)

    def to_text(self) -> str:
        """The human-readable report: timeline, recordings, billable minutes, problems."""
        start = datetime.fromtimestamp(self.start_time_ms / 1000, UTC)
        lines = [
            f"scenario:    {self.scenario}",
            f"handler:     {self.handler}",
            f"transaction: {self.transaction_id}",
            f"started:     {start.isoformat(timespec='milliseconds').replace('+00:00', 'Z')}",
            f"duration:    {format_offset(self.ended_ms)} "
            f"({len(self.invocations)} invocations, {len(self.actions)} actions)",
            "",
            "timeline:",
        ]
        lines.extend(f"  {format_offset(e.at_ms)}  {e.text}" for e in self.timeline)
        lines.append("")
        lines.append("recordings:")
        if not self.recordings:
            lines.append("  none")
        for rec in self.recordings:
            kind = "stereo (left: incoming, right: outgoing)" if rec.channels == 2 else "mono"
            lines.append(
                f"  {rec.leg} {rec.track}, {kind}, {rec.sample_rate} Hz 16-bit WAV: "
                f"{format_offset(rec.started_ms)} to {format_offset(rec.stopped_ms)} "
                f"({rec.duration_ms / 1000:.3f} s, paused {rec.paused_ms / 1000:.3f} s), "
                f"stopped by {rec.stop_reason}"
            )
            lines.append(f"    object: {rec.uri}")
            lines.append(
                "    metadata: " + ", ".join(f"{k}={v}" for k, v in sorted(rec.metadata.items()))
            )
            lines.append(f"    written to: {rec.destination or '(not written: no output folder)'}")
        lines.append("")
        lines.append("billable recording minutes (per started minute, pauses included):")
        if not self.billing:
            lines.append("  none")
        for bill in self.billing:
            lines.append(
                f"  {bill.leg}: {bill.billable_minutes} min ({bill.recorded_ms / 1000:.3f} s)"
            )
        lines.append(f"  total: {self.billable_minutes} min")
        if self.skipped_steps:
            lines.append("")
            lines.append("skipped steps:")
            lines.extend(f"  {text}" for text in self.skipped_steps)
        lines.append("")
        lines.append(f"problems: {len(self.problems) or 'none'}")
        lines.extend(f"  {problem}" for problem in self.problems)
        if self.arrival is not None:
            lines.append("")
            lines.extend(self.arrival.to_lines(self.start_time_ms))
        return "\n".join(lines) + "\n"
