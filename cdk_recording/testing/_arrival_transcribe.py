"""Post-call transcription after a simulated arrival: the real transcription function's tasks over
moto, with Amazon Transcribe played by a botocore ``Stubber``.

For every ``Recording Available`` event of the call, :func:`transcribe_arrival` runs
``recording_processor.transcription.handler.handler`` in the per-recording state machine's order,
passing each task's output on as Step Functions would: ``plan`` -> ``start`` -> (60 s later)
``status`` until the job ends -> ``record``; a job that ``FAILED`` goes to ``fail`` with
``{"Error": "TranscriptionJobFailed", "Cause": <FailureReason>}``, and any task that raises goes to
``fail`` with the Lambda error (``{"Error": <class>, "Cause": {"errorMessage", "errorType"}}``).
The catalog is the arrival's moto table, the events go to its bus (and are captured like the
arrival's), the clock is simulated from the recording's ``deliveredAt``.

Transcribe is a real ``transcribe`` client under a ``Stubber``: each ``Start*Job`` is expected
with exactly the plan's request, and every request and answer is validated against botocore's
model. It answers as Transcribe would: the start ``QUEUED``; status reads ``IN_PROGRESS`` until
the :class:`~cdk_recording.testing.TranscriptionPlan`'s ``polls``-th, which says ``COMPLETED``
(with ``TranscriptFileUri`` under ``transcripts/<transactionId>/``) or ``FAILED``.

**The transcript is a stand-in for Transcribe's output, not a transcription of the audio**: a
short fixed conversation (scenarios hold no speech; the synthetic audio is tones), timed on the
synthetic audio's talk turns (LEG-A's party in even turns of ``AudioProfile.turn_ms`` from the
call's start, LEG-B's in odd ones; none while paused), put in the moto bucket where the job says it
is, in the job's shape: Call Analytics (a ``Transcript`` list of segments with the plan's
``ParticipantRole`` per channel) or standard (``results`` with ``items`` and ``audio_segments``,
``channel_labels`` with channel identification). With redaction, the card number in it reads
``[PII]`` in the redacted copy. Output names (the simulator's choice where the documentation is
thin): Call Analytics ``analytics/<job>.json``, ``redacted-analytics/<job>.json`` and
``redacted-analytics/<job>.wav`` (a copy of the recording); standard ``<job>.json`` and
``redacted-<job>.json``; with redaction ``redacted`` only the redacted transcript is written.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from boto3.dynamodb.types import TypeDeserializer
from botocore.stub import Stubber

from cdk_recording._transcript_format import (
    TranscriptFormatError,
    format_turns,
    parse_transcript,
)
from cdk_recording.testing._arrival import ArrivalReport
from cdk_recording.testing._arrival_moto import CATALOG_TABLE, ArrivalDouble, _plain_items
from cdk_recording.testing._report import CallReport, RecordingRecord
from cdk_recording.testing._transcription_report import (
    AVAILABLE,
    FAILED,
    TranscriptionPlan,
    TranscriptionReport,
    TranscriptionRun,
    TranscriptionTask,
)

__all__ = ["stand_in_transcript", "transcribe_arrival"]

CALL_ANALYTICS = "call-analytics"
#: The state machine's wait between status reads.
POLL_SECONDS = 60
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


def transcribe_arrival(
    double: ArrivalDouble,
    report: CallReport,
    arrival: ArrivalReport,
    plan: TranscriptionPlan,
    *,
    turn_ms: int = 3000,
) -> ArrivalReport:
    """``arrival`` with its ``transcription``: every recording it announced, transcribed.

    :param turn_ms: the synthetic audio's talk turn (``SimulatorOptions.audio.turn_ms``).
    :raises OptionsError: ``plan.options`` is not a valid ``TRANSCRIPTION`` document.
    """
    from recording_processor.transcription._options import parse_options

    options = parse_options(json.dumps(dict(plan.options)))
    player = _Player(double, plan, options, turn_ms)
    recordings = {r.call_id: r for r in report.recordings}
    runs = [
        player.run(event["detail"], recordings.get(str(event["detail"].get("callId"))))
        for event in arrival.events_of("Recording Available")
    ]
    events = tuple(
        event
        for event in double.captured_events()
        if event.get("detail-type") in (AVAILABLE, FAILED)
        and (event.get("detail") or {}).get("transactionId") == report.transaction_id
    )
    result = TranscriptionReport(
        runs=tuple(runs),
        catalog=player.items(report.transaction_id),
        events=events,
        plan=plan,
        log=tuple(player.log),
    )
    problems = _disagreements(report, result)
    return dataclasses.replace(
        arrival, transcription=dataclasses.replace(result, problems=tuple(problems))
    )


class _Player:
    """Plays the per-recording state machine over the double and a stubbed Transcribe."""

    def __init__(
        self, double: ArrivalDouble, plan: TranscriptionPlan, options: Any, turn_ms: int
    ) -> None:
        import boto3

        self.double = double
        self.plan = plan
        self.options = options
        self.turn_ms = turn_ms
        self.log: list[str] = []
        session = boto3.session.Session(
            aws_access_key_id="testing",
            aws_secret_access_key="testing",  # noqa: S106 - fake credentials: the client is stubbed
            region_name=double.region,
        )
        self.client = session.client(
            "transcribe", endpoint_url=f"https://transcribe.{double.region}.amazonaws.com"
        )
        self.now = datetime.fromtimestamp(0, UTC)

    def _runtime(self, bucket: str, prefix: str) -> Any:
        from recording_processor.transcription._options import TranscriptionConfig
        from recording_processor.transcription.handler import TranscriptionRuntime

        return TranscriptionRuntime(
            config=TranscriptionConfig(
                catalog_table=CATALOG_TABLE,
                recording_bucket=bucket,
                data_access_role_arn=(
                    f"arn:aws:iam::{self.double.account_id}:role/cdk-recording-transcription"
                ),
                recording_prefix=prefix,
                application="cdk-recording-simulator",
                options=self.options,
            ),
            transcribe=self.client,
            dynamodb=self.double.dynamodb,
            events=self.double.events,
            clock=lambda: self.now,
            write=self._write,
        )

    def _write(self, text: str) -> None:
        self.log.extend(line for line in text.splitlines() if line)

    def run(self, detail: Mapping[str, Any], recording: RecordingRecord | None) -> TranscriptionRun:
        """One execution of the state machine for a ``Recording Available`` detail."""
        from recording_processor.transcription.handler import handler

        prefix = "" if recording is None else recording.location.partition("/")[2].strip("/")
        runtime = self._runtime(str(detail.get("bucket")), prefix)
        self.now = _parse_time(detail.get("deliveredAt")) or self.now
        tasks: list[TranscriptionTask] = []
        transcript_uri: str | None = None

        def task(event: dict[str, Any]) -> tuple[Any, dict[str, str] | None]:
            at = _iso(self.now)
            try:
                output = handler(event, None, runtime=runtime)
            except Exception as error:  # noqa: BLE001 - the state machine catches every error
                name = type(error).__name__
                cause = json.dumps({"errorMessage": str(error), "errorType": name})
                failure = {"Error": name, "Cause": cause}
                tasks.append(TranscriptionTask(at, event["action"], failure, name))
                return None, failure
            tasks.append(TranscriptionTask(at, event["action"], output))
            return output, None

        def fail(plan: Mapping[str, Any] | None, error: Mapping[str, Any]) -> None:
            task({"action": "fail", "plan": plan, "error": dict(error), "recording": detail})

        with Stubber(self.client) as stubber:
            plan, error = task({"action": "plan", "recording": dict(detail)})
            if error is not None:
                fail(None, error)
            elif not plan["skip"]:
                transcript_uri = self._job(plan, recording, stubber, task, fail)
        rendered = self._rendered(tasks)
        return TranscriptionRun(
            recording=dict(detail),
            tasks=tuple(tasks),
            plan=plan,
            transcript_uri=transcript_uri,
            transcript=rendered,
        )

    def _job(
        self,
        plan: Mapping[str, Any],
        recording: RecordingRecord | None,
        stubber: Stubber,
        task: Any,
        fail: Any,
    ) -> str | None:
        """start -> status ... -> record or fail; returns where the transcript was put."""
        job = _Job(plan, self.double.account_id, self.double.region)
        stubber.add_response(job.start_method, job.started(self.now), dict(plan["request"]))
        started, error = task({"action": "start", "plan": plan})
        if error is not None:
            fail(plan, error)
            return None
        uri = None
        for poll in range(1, self.plan.polls + 1):
            self.now += timedelta(seconds=POLL_SECONDS)
            ended = poll == self.plan.polls
            if ended and self.plan.job == "completed":
                uri = self._put_outputs(job, recording)
            answer = job.status(self.now, self.plan if ended else None)
            stubber.add_response(job.get_method, answer, job.name_param)
            status, error = task(
                {"action": "status", "jobName": started["jobName"], "jobType": started["jobType"]}
            )
            if error is not None:
                fail(plan, error)
                return uri
            if status["status"] == "COMPLETED":
                _, error = task({"action": "record", "plan": plan, "status": status})
                if error is not None:
                    fail(plan, error)
                return uri
            if status["status"] == "FAILED":
                fail(plan, {"Error": "TranscriptionJobFailed", "Cause": status["failureReason"]})
                return uri
        return uri

    def _put_outputs(self, job: _Job, recording: RecordingRecord | None) -> str:
        documents = stand_in_transcript(
            job.plan, recording, turn_ms=self.turn_ms, account_id=self.double.account_id
        )
        s3 = self.double.s3
        bucket = job.bucket
        if job.keeps_unredacted:
            s3.put_object(Bucket=bucket, Key=job.transcript_key, Body=_body(documents["plain"]))
        if job.redaction is not None:
            s3.put_object(
                Bucket=bucket, Key=job.redacted_key, Body=_body(documents["redacted"])
            )
            if job.redacted_media_key is not None:
                s3.copy_object(
                    Bucket=bucket,
                    Key=job.redacted_media_key,
                    CopySource={"Bucket": bucket, "Key": str(job.plan["key"])},
                )
        served = job.redacted_key if job.redaction is not None else job.transcript_key
        return f"s3://{bucket}/{served}"

    def _rendered(self, tasks: Sequence[TranscriptionTask]) -> str | None:
        """The served transcript of a recorded item, rendered as ``recordings transcript`` does."""
        if not tasks or tasks[-1].action != "record" or tasks[-1].error is not None:
            return None
        item = tasks[-1].output
        bucket = (tasks[0].output or {}).get("bucket")
        try:
            body = self.double.s3.get_object(Bucket=bucket, Key=item["transcriptKey"])["Body"]
            document = json.loads(body.read())
            return format_turns(parse_transcript(document, item.get("channelRoles")))
        except (KeyError, ValueError, TranscriptFormatError) as error:
            return f"(cannot render: {error})"

    def items(self, transaction_id: str) -> tuple[dict[str, Any], ...]:
        """The call's ``TRANSCRIPT#`` items, JSON-ready."""
        response = self.double.dynamodb.query(
            TableName=CATALOG_TABLE,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :sk)",
            ExpressionAttributeValues={
                ":pk": {"S": f"TX#{transaction_id}"},
                ":sk": {"S": "TRANSCRIPT#"},
            },
            ConsistentRead=True,
        )
        deserializer = TypeDeserializer()
        return _plain_items(
            [
                {name: deserializer.deserialize(value) for name, value in item.items()}
                for item in response.get("Items", [])
            ]
        )


class _Job:
    """What Transcribe would answer about the plan's job, and where it writes."""

    def __init__(self, plan: Mapping[str, Any], account_id: str, region: str) -> None:
        self.plan = plan
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
            languages = [request.get("LanguageCode") or (request.get("LanguageOptions") or ["en-US"])[0]]
        self.language = str(languages[0])
        kind = "CallAnalyticsJob" if self.analytics else "TranscriptionJob"
        self.start_method = "start_call_analytics_job" if self.analytics else "start_transcription_job"
        self.get_method = "get_call_analytics_job" if self.analytics else "get_transcription_job"
        self._kind = kind
        self.name_param = {f"{kind}Name": self.name}

    def _job(self, status: str, now: datetime) -> dict[str, Any]:
        request = self.plan["request"]
        job: dict[str, Any] = {
            f"{self._kind}Name": self.name,
            f"{self._kind}Status": status,
            "Media": {"MediaFileUri": request["Media"]["MediaFileUri"]},
            "CreationTime": now,
        }
        if self.analytics:
            job["DataAccessRoleArn"] = request["DataAccessRoleArn"]
            job["ChannelDefinitions"] = request["ChannelDefinitions"]
        elif "LanguageCode" in request:
            job["LanguageCode"] = request["LanguageCode"]
        return job

    def started(self, now: datetime) -> dict[str, Any]:
        return {self._kind: self._job("QUEUED", now)}

    def status(self, now: datetime, ended: TranscriptionPlan | None) -> dict[str, Any]:
        """The ``Get*Job`` answer: ``IN_PROGRESS``, or how the plan's job ended."""
        if ended is None:
            return {self._kind: {**self._job("IN_PROGRESS", now), "StartTime": now}}
        if ended.job == "failed":
            job = self._job("FAILED", now)
            job.update({"StartTime": now, "FailureReason": ended.failure_reason})
            return {self._kind: job}
        job = self._job("COMPLETED", now)
        job.update(
            {
                "StartTime": now,
                "CompletionTime": now,
                "LanguageCode": self.language,
                "MediaSampleRateHertz": 8000,
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
    job = _Job(plan, account_id, "us-east-1")
    types = (job.redaction or {}).get("PiiEntityTypes") or ["ALL"]
    redacts_card = bool({"ALL", "CREDIT_DEBIT_NUMBER"} & set(types))
    documents = {}
    for name, redacted in (("plain", False), ("redacted", True)):
        lines = [
            (channel, begin, end, text.replace(_CARD, "[PII]") if redacted and redacts_card else text)
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
    queues = {
        channel: list(_LINES[(roles or _DEFAULT_ROLES)[str(channel)]]) for channel in (0, 1)
    }
    found = []
    start, stop = recording.started_ms, recording.stopped_ms
    for index in range(math.floor(start / turn_ms), math.ceil(stop / turn_ms)):
        begin, end = max(start, index * turn_ms), min(stop, (index + 1) * turn_ms)
        if end - begin < _MIN_TURN_MS or any(s < end and begin < e for s, e in recording.pauses):
            continue
        party = "LEG-A" if index % 2 == 0 else "LEG-B"
        channel = 0 if party == recording.leg else 1
        if recording.track != "BOTH":
            # A mono track holds one party: the recorded leg's (INCOMING) or the other (OUTGOING).
            if channel != (0 if recording.track == "INCOMING" else 1):
                continue
        if not queues[channel]:
            continue
        text = queues[channel].pop(0)
        found.append((0 if recording.track != "BOTH" else channel, begin - start, end - start, text))
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
    job: _Job, lines: list[tuple[int, int, int, str]], roles: Mapping[str, str], redacted: bool
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
                {"Type": kind, "Content": content, "BeginOffsetMillis": at,
                 "EndOffsetMillis": until, "Confidence": 1.0}
                for kind, content, at, until in _words(text, begin, end)
            ],
        }  # fmt: skip
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
    job: _Job, lines: list[tuple[int, int, int, str]], channel_identification: bool
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
                {"channel_label": label, "items": found} for label, found in sorted(by_channel.items())
            ],
            "number_of_channels": 2,
        }
    return {
        "jobName": job.name,
        "accountId": job.account_id,
        "status": "COMPLETED",
        "results": results,
    }


def _disagreements(report: CallReport, result: TranscriptionReport) -> list[str]:
    """Each announced recording transcribed once as the stubbed job ended, with its leg's roles."""
    problems: list[str] = []
    expected = "completed" if result.plan.job == "completed" else "failed"
    directions = {leg.tag: leg.direction.lower() for leg in report.legs}
    recordings = {r.call_id: r for r in report.recordings}
    for run in result.runs:
        call_id = run.call_id
        if run.outcome == "skipped":
            problems.append(f"{call_id}: not transcribed: {run.plan and run.plan.get('reason')}")
            continue
        item = result.item(call_id)
        if item is None or item.get("status") != expected:
            status = None if item is None else item.get("status")
            problems.append(f"{call_id}: transcript item is {status}, the job {expected}")
        kind = AVAILABLE if expected == "completed" else FAILED
        for detail_type in (AVAILABLE, FAILED):
            count = len(result.events_of(detail_type, call_id))
            if count != (1 if detail_type == kind else 0):
                wanted = "exactly 1" if detail_type == kind else "none"
                problems.append(f"{call_id}: {count} {detail_type} events (expected {wanted})")
        recording = recordings.get(call_id)
        if recording is not None and run.plan is not None:
            problems += _roles(recording, directions.get("LEG-A"), run.plan)
    return problems


def _roles(
    recording: RecordingRecord, direction: str | None, plan: Mapping[str, Any]
) -> list[str]:
    """The plan's channel roles against the simulator's own leg and call direction."""
    roles = plan.get("channelRoles")
    if recording.track != "BOTH":
        if roles is not None or plan.get("jobType") == CALL_ANALYTICS:
            return [f"{recording.call_id}: a mono recording got channel roles {roles}"]
        return []
    if direction not in ("inbound", "outbound"):
        return []
    # Channel 0 is the recorded leg's party: the caller for LEG-A of an inbound call.
    customer_first = (recording.leg == "LEG-A") == (direction == "inbound")
    wanted = {"0": "CUSTOMER", "1": "AGENT"} if customer_first else {"0": "AGENT", "1": "CUSTOMER"}
    if roles != wanted:
        return [
            f"{recording.call_id}: {recording.leg} of an {direction} call has channel roles "
            f"{roles}, expected {wanted}"
        ]
    return []


def _body(document: Mapping[str, Any]) -> bytes:
    return json.dumps(document, indent=2).encode("utf-8")


def _parse_time(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%f%z")
    except ValueError:
        return None


def _iso(moment: datetime) -> str:
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
