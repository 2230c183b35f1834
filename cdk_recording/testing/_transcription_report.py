"""What the transcription of a simulated call's recordings produced (no AWS, no moto here).

:class:`TranscriptionPlan` says how the stubbed Transcribe answers (the ``TRANSCRIPTION`` options
the function is configured with, a job that completes or fails, how many status reads it takes);
:class:`TranscriptionReport` is the ``transcription`` part of an
:class:`~cdk_recording.testing.ArrivalReport`: each recording's run through the transcription
handler's tasks, the ``TRANSCRIPT#`` catalog items, the ``Transcript Available`` / ``Transcription
Failed`` events, and where they disagree with the call. The double that plays it over moto is
``_arrival_transcribe.py``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = [
    "JobOutcome",
    "TranscriptionPlan",
    "TranscriptionReport",
    "TranscriptionRun",
    "TranscriptionTask",
]

#: How the stubbed job ends.
JobOutcome = Literal["completed", "failed"]
_OUTCOMES: tuple[JobOutcome, ...] = ("completed", "failed")
#: The state machine's bound on status reads (240 polls of 60 s: 4 hours).
MAX_POLLS = 240
AVAILABLE = "Transcript Available"
FAILED = "Transcription Failed"


#: The ``TRANSCRIPTION`` document of ``TranscriptionOptions()`` (the construct's defaults), written
#: out so that playing a call does not load the CDK libraries; a test keeps the two equal.
DEFAULT_OPTIONS: Mapping[str, Any] = {
    "languageCode": "en-US",
    "identifyLanguage": False,
    "languageOptions": [],
    "callAnalytics": True,
    "redaction": {
        "entityTypes": [
            "CREDIT_DEBIT_NUMBER",
            "CREDIT_DEBIT_CVV",
            "CREDIT_DEBIT_EXPIRY",
            "PIN",
            "BANK_ACCOUNT_NUMBER",
            "BANK_ROUTING",
            "SSN",
        ],
        "output": "redacted",
    },
    "vocabularyName": None,
    "summarization": False,
    "outputPrefix": "transcripts",
}


@dataclass(frozen=True)
class TranscriptionPlan:
    """How the transcription of each delivered recording is played.

    :param options: the transcription function's ``TRANSCRIPTION`` options (the JSON object the
        construct writes: ``languageCode``, ``callAnalytics``, ``redaction``, ...), checked by the
        runtime's own parser when the double is built. Default: :data:`DEFAULT_OPTIONS`, what
        ``TranscriptionOptions()`` writes (en-US, Call Analytics, PCI redaction, redacted output only).
    :param job: how the stubbed job ends: ``completed`` (a stand-in transcript is written) or
        ``failed`` (with ``failure_reason``). Default: ``completed``.
    :param polls: how many minutes the job runs after it is started (1 to 240; status reads
        before then say ``IN_PROGRESS``). Default: 1.
    :param failure_reason: the job's ``FailureReason`` when it fails. Default: ``Injected failure``.
    :param events: whether Transcribe's state change event for the ended job arrives (it wakes
        the waiting execution at once); False plays the best-effort events going missing, so each
        round waits its 10-minute timeout before reading the status. Default: True.
    :raises ValueError: a value out of range (the message names the option, the value and what is
        allowed).
    """

    options: Mapping[str, Any] = field(default_factory=lambda: dict(DEFAULT_OPTIONS))
    job: JobOutcome = "completed"
    polls: int = 1
    failure_reason: str = "Injected failure"
    events: bool = True

    def __post_init__(self) -> None:
        if not isinstance(self.options, Mapping):
            raise ValueError(
                f"options is {self.options!r}; allowed: the TRANSCRIPTION options as a mapping"
            )
        if self.job not in _OUTCOMES:
            raise ValueError(f"job is {self.job!r}; allowed: {' or '.join(_OUTCOMES)}")
        if isinstance(self.polls, bool) or not isinstance(self.polls, int):
            raise ValueError(f"polls is {self.polls!r}; allowed: an integer from 1 to {MAX_POLLS}")
        if not 1 <= self.polls <= MAX_POLLS:
            raise ValueError(f"polls is {self.polls!r}; allowed: an integer from 1 to {MAX_POLLS}")
        if not isinstance(self.events, bool):
            raise ValueError(f"events is {self.events!r}; allowed: True or False")
        if not isinstance(self.failure_reason, str) or not self.failure_reason.strip():
            raise ValueError(
                f"failure_reason is {self.failure_reason!r}; allowed: a non-empty text"
            )


@dataclass(frozen=True)
class TranscriptionTask:
    """One task of the per-recording state machine, as the handler ran it.

    :param at: the simulated time it ran at (ISO 8601 UTC).
    :param action: ``plan``, ``start``, ``status``, ``record`` or ``fail``.
    :param output: what it returned (JSON-ready), or ``{"Error", "Cause"}`` when it raised.
    :param error: the name of the error it raised (what the state machine catches), if any.
    """

    at: str
    action: str
    output: Any
    error: str | None = None


@dataclass(frozen=True)
class TranscriptionRun:
    """One recording through the state machine's tasks.

    :param recording: the execution's input: the ``Recording Available`` detail.
    :param tasks: every task, in order.
    :param plan: the ``plan`` task's output (None when it raised).
    :param transcript_uri: where the stand-in transcript was put (``s3://``), if one was.
    :param transcript: that transcript, rendered (``[hh:mm:ss.mmm] ROLE: text`` lines) from the
        served key of the catalog item.
    """

    recording: Mapping[str, Any]
    tasks: tuple[TranscriptionTask, ...]
    plan: Mapping[str, Any] | None
    transcript_uri: str | None = None
    transcript: str | None = None

    @property
    def call_id(self) -> str:
        return str(self.recording.get("callId"))

    @property
    def outcome(self) -> str:
        """``transcribed``, ``failed`` or ``skipped``: how the execution ended."""
        if self.plan is not None and self.plan.get("skip") is True:
            return "skipped"
        return "transcribed" if self.tasks and self.tasks[-1].action == "record" else "failed"


@dataclass(frozen=True)
class TranscriptionReport:
    """What the transcription of one call's recordings produced.

    :param runs: one per ``Recording Available`` event, in order.
    :param catalog: the call's ``TRANSCRIPT#`` items after it, JSON-ready.
    :param events: the ``Transcript Available`` and ``Transcription Failed`` events, as a rule's
        SQS target received them.
    :param plan: how it was played.
    :param problems: where it disagrees with the call: a recording without exactly one item and
        one event, an item whose status is not what the stubbed job did, channel roles that are not
        the recorded leg's (from the simulator's own leg and call direction), a skipped plan.
    :param log: the transcription function's log lines and EMF documents.
    :param skipped: why it did not run at all (moto is not installed); None when it ran.
    """

    runs: tuple[TranscriptionRun, ...] = ()
    catalog: tuple[Mapping[str, Any], ...] = ()
    events: tuple[Mapping[str, Any], ...] = ()
    plan: TranscriptionPlan = TranscriptionPlan()
    problems: tuple[str, ...] = ()
    log: tuple[str, ...] = ()
    skipped: str | None = None

    @property
    def ok(self) -> bool:
        return not self.problems

    def item(self, call_id: str) -> Mapping[str, Any] | None:
        """The ``TRANSCRIPT#<callId>`` item of a recording."""
        return next((i for i in self.catalog if i.get("sk") == f"TRANSCRIPT#{call_id}"), None)

    def events_of(self, detail_type: str, call_id: str | None = None) -> list[Mapping[str, Any]]:
        """The captured events of one detail type, of one recording when ``call_id`` is given."""
        return [
            event
            for event in self.events
            if event.get("detail-type") == detail_type
            and (call_id is None or (event.get("detail") or {}).get("callId") == call_id)
        ]

    def to_lines(self) -> list[str]:
        """The report's ``transcription`` section, line by line."""
        if self.skipped is not None:
            return [f"transcription: skipped: {self.skipped}"]
        lines = [
            "transcription (the transcription function's tasks over moto and a stubbed "
            "Transcribe; the transcript is a stand-in, not a transcription of the audio):"
        ]
        if not self.runs:
            lines.append("  nothing to transcribe (no Recording Available event)")
        for run in self.runs:
            lines.extend(_run_lines(run))
        lines.append("  catalog:")
        if not self.catalog:
            lines.append("    none")
        for item in self.catalog:
            lines.append(f"    {item.get('pk')} {item.get('sk')}: {_item_text(item)}")
        lines.append(f"  events: {len(self.events) or 'none'}")
        lines.extend(f"    {_event_text(event)}" for event in self.events)
        lines.append(f"  transcription problems: {len(self.problems) or 'none'}")
        lines.extend(f"    {problem}" for problem in self.problems)
        return lines


def _run_lines(run: TranscriptionRun) -> list[str]:
    lines = [f"  recording {run.call_id}: {run.outcome}"]
    for task in run.tasks:
        lines.append(f"    {task.at} {task.action}: {_task_text(task)}")
    if run.transcript_uri is not None:
        lines.append(f"    stand-in transcript put at {run.transcript_uri}")
    if run.transcript is not None:
        lines.append("    transcript (served key):")
        lines.extend(f"      {line}" for line in run.transcript.splitlines() or ["(no speech)"])
    return lines


def _task_text(task: TranscriptionTask) -> str:
    output = task.output if isinstance(task.output, Mapping) else {}
    if task.error is not None:
        return f"raised {task.error}: {output.get('Cause')}"
    if task.action == "plan":
        if output.get("skip"):
            return f"skip ({output.get('reason')})"
        roles = output.get("channelRoles")
        channels = (
            ", ".join(f"channel {c} {r}" for c, r in sorted(roles.items()))
            if isinstance(roles, Mapping)
            else "no channel roles"
        )
        fallback = output.get("fallbackReason")
        return (
            f"{output.get('jobType')} job {output.get('jobName')} ({channels}"
            + (f"; fallback: {fallback}" if fallback else "")
            + ")"
        )
    if task.action == "start":
        again = ", already started" if output.get("alreadyStarted") else ""
        return f"{output.get('status')}{again}"
    if task.action == "status":
        reason = output.get("failureReason")
        return str(output.get("status")) + (f" ({reason})" if reason else "")
    if task.action in ("record", "fail"):
        if not output:
            return "no item written"
        return f"{output.get('sk')} {output.get('status')}"
    if task.action == "await":
        stored = "token stored" if output.get("stored") else "token not stored"
        woken = ", woken at once" if output.get("woken") else ""
        return f"{stored}, job {output.get('status')}{woken}"
    if task.action == "job-event":
        if output.get("woken"):
            return "the job's state change event returned the token"
        return f"no execution woken ({output.get('reason')})"
    return str(task.output)


#: Attributes shown for a ``TRANSCRIPT#`` item, in order (the JSON has them all).
_ITEM_NAMES = (
    "status",
    "jobName",
    "jobType",
    "fallbackReason",
    "languageCode",
    "channelRoles",
    "redaction",
    "transcriptKey",
    "unredactedTranscriptKey",
    "redactedAudioKey",
    "startedAt",
    "completedAt",
    "failedAt",
    "failureReason",
    "eventSent",
)


def _item_text(item: Mapping[str, Any]) -> str:
    return ", ".join(
        f"{name} {_value_text(item[name])}"
        for name in _ITEM_NAMES
        if name in item and item[name] is not None
    )


def _value_text(value: object) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, Mapping):
        if "entityTypes" in value:
            return f"{value.get('output')} of {', '.join(map(str, value['entityTypes']))}"
        return " ".join(f"{k} {v}" for k, v in sorted(value.items()))
    return str(value)


def _event_text(event: Mapping[str, Any]) -> str:
    detail = event.get("detail") or {}
    kind = event.get("detail-type")
    if kind == AVAILABLE:
        return (
            f"{kind} {detail.get('callId')}: {detail.get('jobType')} job {detail.get('jobName')}, "
            f"s3://{detail.get('bucket')}/{detail.get('transcriptKey')}, "
            f"redacted {str(detail.get('redacted')).lower()}, language {detail.get('languageCode')}"
        )
    return f"{kind} {detail.get('callId')}: job {detail.get('jobName')}, {detail.get('reason')}"
