"""What the stubbed Amazon Transcribe answers about a plan's job, and the stand-in transcript it
writes.

:class:`StubbedJob` builds the ``Start*Job`` and ``Get*Job`` answers (validated by the ``Stubber``
against botocore's model) and knows where the job writes. :func:`stand_in_transcript` is **a
stand-in for Transcribe's output, not a transcription of the audio**: scenarios hold no speech
(the synthetic audio is tones), so it is a short fixed conversation, timed on the synthetic audio's
talk turns (LEG-A's party in even turns of ``AudioProfile.turn_ms`` from the call's start, LEG-B's
in odd ones; none while paused), in the job's shape: Call Analytics (a ``Transcript`` list of
segments, each with the plan's ``ParticipantRole`` for its channel) or standard (``results`` with
``items`` and ``audio_segments``; ``channel_labels`` with channel identification). With redaction,
the card number in it reads ``[PII]`` in the redacted copy.

Output names (the simulator's choice where the documentation is thin): Call Analytics
``analytics/<job>.json``, ``redacted-analytics/<job>.json`` and ``redacted-analytics/<job>.wav``;
standard ``<job>.json`` and ``redacted-<job>.json``; with redaction ``redacted`` only the redacted
transcript is written. Call Analytics names its files ``s3://`` URIs, standard jobs path-style
HTTPS URLs.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from cdk_recording.testing._report import RecordingRecord
from cdk_recording.testing._transcription_report import TranscriptionPlan

__all__ = ["CALL_ANALYTICS", "StubbedJob", "stand_in_transcript"]

CALL_ANALYTICS = "call-analytics"
_CARD = "4111 1111 1111 1111"
#: The stand-in conversation, per role; a channel without a role speaks the lines of the role it
#: would have on LEG-A of an inbound call.
_LINES = {
    "CUSTOMER": (
        "Hello, I am calling about my order.",
        f"Sure, it is {_CARD}.",
        "Thank you, goodbye.",
    ),
    "AGENT": (
        "Thank you for calling, how can I help?",
        "Can I have the card number on the order?",
        "Your order ships today.",
    ),
}
_DEFAULT_ROLES = {"0": "CUSTOMER", "1": "AGENT"}
_MIN_TURN_MS = 1000
_PUNCTUATION = ".,?!"


class StubbedJob:
    """What Transcribe would answer about the plan's job, and where it writes."""

    def __init__(
        self, plan: Mapping[str, Any], account_id: str, region: str, sample_rate: int = 8000
    ) -> None:
        self.plan = plan
        self.sample_rate = sample_rate
        self.created: datetime | None = None
        self.account_id = account_id
        self.region = region
        request = plan["request"]
        self.analytics = plan["jobType"] == CALL_ANALYTICS
        self.name = str(plan["jobName"])
        self.bucket = str(plan["bucket"])
        settings = request.get("Settings") or {}
        self.redaction = (settings if self.analytics else request).get("ContentRedaction")
        self.keeps_unredacted = (
            self.redaction is None or self.redaction["RedactionOutput"] == "redacted_and_unredacted"
        )
        if self.analytics:
            folder = str(request["OutputLocation"]).removeprefix(f"s3://{self.bucket}/")
            self.transcript_key = f"{folder}analytics/{self.name}.json"
            self.redacted_key = f"{folder}redacted-analytics/{self.name}.json"
            self.redacted_media_key: str | None = f"{folder}redacted-analytics/{self.name}.wav"
            languages = settings.get("LanguageOptions") or ["en-US"]
        else:
            folder = str(request["OutputKey"])
            self.transcript_key = f"{folder}{self.name}.json"
            self.redacted_key = f"{folder}redacted-{self.name}.json"
            self.redacted_media_key = None
            languages = [
                request.get("LanguageCode") or (request.get("LanguageOptions") or ["en-US"])[0]
            ]
        self.language = str(languages[0])
        kind = "CallAnalyticsJob" if self.analytics else "TranscriptionJob"
        self.start_method = (
            "start_call_analytics_job" if self.analytics else "start_transcription_job"
        )
        self.get_method = "get_call_analytics_job" if self.analytics else "get_transcription_job"
        self._kind = kind
        self.name_param = {f"{kind}Name": self.name}

    def _job(self, status: str, now: datetime) -> dict[str, Any]:
        request = self.plan["request"]
        job: dict[str, Any] = {
            f"{self._kind}Name": self.name,
            f"{self._kind}Status": status,
            "Media": {"MediaFileUri": request["Media"]["MediaFileUri"]},
            "CreationTime": self.created or now,
        }
        if self.analytics:
            job["DataAccessRoleArn"] = request["DataAccessRoleArn"]
            job["ChannelDefinitions"] = request["ChannelDefinitions"]
        elif "LanguageCode" in request:
            job["LanguageCode"] = request["LanguageCode"]
        return job

    def started(self, now: datetime) -> dict[str, Any]:
        """The ``Start*Job`` answer: queued (the job waits for a slot, then runs)."""
        self.created = self.created or now
        return {self._kind: self._job("QUEUED", now)}

    def status(self, now: datetime, ended: TranscriptionPlan | None) -> dict[str, Any]:
        """The ``Get*Job`` answer: ``IN_PROGRESS``, or how the plan's job ended."""
        if ended is None:
            return {self._kind: {**self._job("IN_PROGRESS", now), "StartTime": self.created or now}}
        if ended.job == "failed":
            job = self._job("FAILED", now)
            job.update({"StartTime": self.created or now, "FailureReason": ended.failure_reason})
            return {self._kind: job}
        job = self._job("COMPLETED", now)
        job.update(
            {
                "StartTime": self.created or now,
                "CompletionTime": now,
                "LanguageCode": self.language,
                "MediaSampleRateHertz": self.sample_rate,
                "MediaFormat": "wav",
            }
        )
        transcript: dict[str, str] = {}
        if self.keeps_unredacted:
            transcript["TranscriptFileUri"] = self._uri(self.transcript_key)
        if self.redaction is not None:
            transcript["RedactedTranscriptFileUri"] = self._uri(self.redacted_key)
            if self.redacted_media_key is not None:
                job["Media"]["RedactedMediaFileUri"] = self._uri(self.redacted_media_key)
        job["Transcript"] = transcript
        return {self._kind: job}

    def _uri(self, key: str) -> str:
        # Call Analytics names s3:// locations; standard jobs path-style HTTPS URLs.
        if self.analytics:
            return f"s3://{self.bucket}/{key}"
        return f"https://s3.{self.region}.amazonaws.com/{self.bucket}/{key}"


def stand_in_transcript(
    plan: Mapping[str, Any],
    recording: RecordingRecord | None,
    *,
    turn_ms: int = 3000,
    account_id: str = "123456789012",
) -> dict[str, dict[str, Any]]:
    """A stand-in for Transcribe's output of the plan's job (not a transcription of the audio):
    ``{"plain": document, "redacted": document}`` in the job's shape (see the module docstring).
    """
    roles = plan.get("channelRoles") or None
    utterances = _utterances(recording, roles, turn_ms)
    job = StubbedJob(plan, account_id, "us-east-1")
    types = (job.redaction or {}).get("PiiEntityTypes") or ["ALL"]
    redacts_card = bool({"ALL", "CREDIT_DEBIT_NUMBER"} & set(types))
    documents = {}
    for name, redacted in (("plain", False), ("redacted", True)):
        lines = [
            (
                channel,
                begin,
                end,
                text.replace(_CARD, "[PII]") if redacted and redacts_card else text,
            )
            for channel, begin, end, text in utterances
        ]
        if job.analytics:
            documents[name] = _analytics_document(job, lines, roles or _DEFAULT_ROLES, redacted)
        else:
            identified = bool((plan["request"].get("Settings") or {}).get("ChannelIdentification"))
            documents[name] = _standard_document(job, lines, identified)
    return documents


def _utterances(
    recording: RecordingRecord | None, roles: Mapping[str, str] | None, turn_ms: int
) -> list[tuple[int, int, int, str]]:
    """``(channel, begin ms, end ms, text)`` from the recording's start, one per talk turn."""
    if recording is None:
        return [(0, 0, 2000, _LINES["CUSTOMER"][0])]
    queues = {channel: list(_LINES[(roles or _DEFAULT_ROLES)[str(channel)]]) for channel in (0, 1)}
    found = []
    start, stop = recording.started_ms, recording.stopped_ms
    for index in range(math.floor(start / turn_ms), math.ceil(stop / turn_ms)):
        begin, end = max(start, index * turn_ms), min(stop, (index + 1) * turn_ms)
        if end - begin < _MIN_TURN_MS or any(s < end and begin < e for s, e in recording.pauses):
            continue
        party = "LEG-A" if index % 2 == 0 else "LEG-B"
        channel = 0 if party == recording.leg else 1
        # A mono track holds one party: the recorded leg's (INCOMING) or the other (OUTGOING).
        if recording.track != "BOTH" and channel != (0 if recording.track == "INCOMING" else 1):
            continue
        if not queues[channel]:
            continue
        text = queues[channel].pop(0)
        found.append(
            (0 if recording.track != "BOTH" else channel, begin - start, end - start, text)
        )
    return found


def _words(text: str, begin: int, end: int) -> list[tuple[str, str, int, int]]:
    """``(type, content, begin ms, end ms)`` per word and punctuation mark, evenly timed."""
    words = text.split()
    step = (end - begin) / max(len(words), 1)
    found = []
    for index, word in enumerate(words):
        at, until = begin + round(index * step), begin + round((index + 1) * step)
        found.append(("pronunciation", word.rstrip(_PUNCTUATION), at, until))
        if word[-1] in _PUNCTUATION:
            found.append(("punctuation", word[-1], until, until))
    return found


def _analytics_document(
    job: StubbedJob,
    lines: list[tuple[int, int, int, str]],
    roles: Mapping[str, str],
    redacted: bool,
) -> dict[str, Any]:
    segments = [
        {
            "Id": f"{job.name}-{index}",
            "ParticipantRole": roles[str(channel)],
            "BeginOffsetMillis": begin,
            "EndOffsetMillis": end,
            "Content": text,
            "Sentiment": "NEUTRAL",
            "LoudnessScores": [],
            "Items": [
                {
                    "Type": kind,
                    "Content": content,
                    "BeginOffsetMillis": at,
                    "EndOffsetMillis": until,
                    "Confidence": 1.0,
                }
                for kind, content, at, until in _words(text, begin, end)
            ],
        }
        for index, (channel, begin, end, text) in enumerate(lines)
    ]
    metadata: dict[str, Any] = {"Output": "Redacted" if redacted else "Raw"}
    if redacted:
        metadata["RedactionTypes"] = ["PII"]
    return {
        "JobName": job.name,
        "AccountId": job.account_id,
        "JobStatus": "COMPLETED",
        "LanguageCode": job.language,
        "Channel": "VOICE",
        "ContentMetadata": metadata,
        "Participants": [{"ParticipantRole": roles[c]} for c in sorted(roles)],
        "Transcript": segments,
        "Categories": {"MatchedCategories": [], "MatchedDetails": {}},
        "ConversationCharacteristics": {
            "TotalConversationDurationMillis": max((end for _, _, end, _ in lines), default=0)
        },
    }


def _standard_document(
    job: StubbedJob, lines: list[tuple[int, int, int, str]], channel_identification: bool
) -> dict[str, Any]:
    items: list[dict[str, Any]] = []
    segments = []
    by_channel: dict[str, list[dict[str, Any]]] = {}
    for index, (channel, begin, end, text) in enumerate(lines):
        label = {"channel_label": f"ch_{channel}"} if channel_identification else {}
        first = len(items)
        for kind, content, at, until in _words(text, begin, end):
            item: dict[str, Any] = {
                "id": len(items),
                "type": kind,
                "alternatives": [{"confidence": "1.0", "content": content}],
                **label,
            }
            if kind == "pronunciation":
                item.update({"start_time": f"{at / 1000:.3f}", "end_time": f"{until / 1000:.3f}"})
            items.append(item)
            by_channel.setdefault(f"ch_{channel}", []).append(item)
        segments.append(
            {
                "id": index,
                "transcript": text,
                "start_time": f"{begin / 1000:.3f}",
                "end_time": f"{end / 1000:.3f}",
                "items": list(range(first, len(items))),
                **label,
            }
        )
    results: dict[str, Any] = {
        "transcripts": [{"transcript": " ".join(text for _, _, _, text in lines)}],
        "items": items,
        "audio_segments": segments,
    }
    if channel_identification:
        results["channel_labels"] = {
            "channels": [
                {"channel_label": label, "items": found}
                for label, found in sorted(by_channel.items())
            ],
            "number_of_channels": 2,
        }
    return {
        "jobName": job.name,
        "accountId": job.account_id,
        "status": "COMPLETED",
        "results": results,
    }
