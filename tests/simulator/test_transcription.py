"""A call end to end through delivery, catalog and a stubbed transcription job.

After the arrival, each ``Recording Available`` goes through the real transcription function's
tasks (``plan`` -> ``start`` -> ``status`` -> ``record`` or ``fail``) over the arrival's moto
catalog and bus, with a botocore ``Stubber`` on a real ``transcribe`` client playing Transcribe
(every request and answer checked against botocore's model; each start expected with exactly the
plan's request). The transcript it writes is a stand-in, timed on the synthetic audio's turns.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cdk_recording._transcript_format import parse_transcript
from cdk_recording.cli import main
from cdk_recording.testing import (
    DEFAULT_RECORDING_CONFIG,
    Answer,
    ArrivalDouble,
    CallReport,
    HandlerError,
    Hangup,
    OutboundCall,
    RecordingRecord,
    Scenario,
    SmaSimulator,
    Step,
    TranscriptionPlan,
    TranscriptionReport,
    TranscriptionRun,
    TranscriptionTask,
    builtin_scenario,
    simulate,
)
from cdk_recording.testing._arrival_transcribe import _disagreements
from cdk_recording.testing._transcribe_stub import stand_in_transcript
from cdk_recording.testing._transcription_report import DEFAULT_OPTIONS

AVAILABLE = "Transcript Available"
FAILED = "Transcription Failed"


@pytest.fixture
def double() -> Iterator[ArrivalDouble]:
    with ArrivalDouble.in_moto(seed=1) as arrival:
        yield arrival


def run(
    double: ArrivalDouble,
    plan: TranscriptionPlan | None = None,
    **config: Any,
) -> CallReport:
    simulator = SmaSimulator.for_recording_handler(
        {**DEFAULT_RECORDING_CONFIG, **config},
        arrival=double,
        transcription=plan or TranscriptionPlan(),
    )
    return simulator.run(builtin_scenario("default"))


def transcription_of(report: CallReport) -> TranscriptionReport:
    assert report.arrival is not None
    assert report.arrival.transcription is not None
    return report.arrival.transcription


#: The construct's defaults with redaction off (``TranscriptionOptions(redaction=False)``).
UNREDACTED = TranscriptionPlan(
    options={key: value for key, value in DEFAULT_OPTIONS.items() if key != "redaction"}
)


def stored_json(double: ArrivalDouble, bucket: str, key: str) -> Any:
    return json.loads(double.s3.get_object(Bucket=bucket, Key=key)["Body"].read())


def test_stereo_leg_a_of_an_inbound_call_gets_a_call_analytics_job(double: ArrivalDouble) -> None:
    report = run(double, plan=UNREDACTED)
    assert report.ok, report.to_text()
    transcription = transcription_of(report)
    [recording] = report.recordings
    [run_] = transcription.runs
    # The machine's order: the wait stores the token, the job's event returns it, then the
    # status is read and the transcript recorded.
    assert [task.action for task in run_.tasks] == [
        "plan",
        "start",
        "await",
        "job-event",
        "status",
        "record",
    ]
    plan = run_.plan
    assert plan is not None
    assert (plan["jobType"], plan["fallbackReason"]) == ("call-analytics", None)
    assert plan["request"]["ChannelDefinitions"] == [
        {"ChannelId": 0, "ParticipantRole": "CUSTOMER"},
        {"ChannelId": 1, "ParticipantRole": "AGENT"},
    ]
    assert run_.tasks[1].output["status"] == "QUEUED"
    assert run_.tasks[2].output == {"stored": True, "status": "IN_PROGRESS", "woken": False}
    assert run_.tasks[3].output == {"woken": True, "reason": None}
    assert run_.tasks[4].output["status"] == "COMPLETED"
    # The job runs a minute (polls=1); its event wakes the wait then, on the simulated clock.
    assert [task.at for task in run_.tasks[1:5]] == [
        "2026-11-24T09:31:40.000Z",
        "2026-11-24T09:31:40.000Z",
        "2026-11-24T09:32:40.000Z",
        "2026-11-24T09:32:40.000Z",
    ]
    item = transcription.item(recording.call_id)
    assert item is not None
    tx = report.transaction_id
    assert {k: item[k] for k in ("status", "jobType", "channelRoles", "recordingKey")} == {
        "status": "completed",
        "jobType": "call-analytics",
        "channelRoles": {"0": "CUSTOMER", "1": "AGENT"},
        "recordingKey": recording.key,
    }
    assert item["transcriptKey"] == f"transcripts/{tx}/analytics/{plan['jobName']}.json"
    assert "redaction" not in item
    [event] = transcription.events
    assert event["detail-type"] == AVAILABLE
    assert event["detail"]["transcriptKey"] == item["transcriptKey"]
    assert event["detail"]["redacted"] is False
    # The stand-in is in Call Analytics' shape, with the plan's roles on the channels.
    document = stored_json(double, recording.bucket, item["transcriptKey"])
    assert {segment["ParticipantRole"] for segment in document["Transcript"]} == {
        "CUSTOMER",
        "AGENT",
    }
    assert run_.transcript is not None
    assert "[00:00:02.180] CUSTOMER: Hello, I am calling about my order." in run_.transcript
    assert transcription.problems == ()


def test_leg_b_reverses_the_roles(double: ArrivalDouble) -> None:
    report = run(double, leg="LEG-B")
    assert report.ok, report.to_text()
    [run_] = transcription_of(report).runs
    assert run_.plan is not None
    assert run_.plan["channelRoles"] == {"0": "AGENT", "1": "CUSTOMER"}


def test_leg_a_of_an_outbound_call_reverses_the_roles(double: ArrivalDouble) -> None:
    """Dialling out, the SMA's first leg is the agent: channel 0 is the AGENT."""
    scenario = Scenario(
        (
            Step.at(0, OutboundCall("+12065550100", "+14255550199")),
            Step.at(2, Answer()),
            Step.at(40, Hangup("LEG-A")),
        )
    )
    simulator = SmaSimulator.for_recording_handler(
        arrival=double, transcription=TranscriptionPlan()
    )
    report = simulator.run(scenario)
    assert report.ok, report.to_text()
    transcription = transcription_of(report)
    [run_] = transcription.runs
    assert run_.plan is not None
    assert run_.plan["request"]["ChannelDefinitions"] == [
        {"ChannelId": 0, "ParticipantRole": "AGENT"},
        {"ChannelId": 1, "ParticipantRole": "CUSTOMER"},
    ]
    [item] = transcription.catalog
    assert item["channelRoles"] == {"0": "AGENT", "1": "CUSTOMER"}


def test_a_mono_recording_gets_a_standard_job(double: ArrivalDouble) -> None:
    report = run(double, plan=UNREDACTED, track="INCOMING")
    assert report.ok, report.to_text()
    transcription = transcription_of(report)
    [run_] = transcription.runs
    assert run_.plan is not None
    assert (run_.plan["jobType"], run_.plan["fallbackReason"], run_.plan["channelRoles"]) == (
        "standard",
        "mono-track",
        None,
    )
    assert run_.plan["request"]["Settings"] == {"ChannelIdentification": False}
    [recording] = report.recordings
    item = transcription.item(recording.call_id)
    assert item is not None
    assert (item["status"], item["jobType"], item["fallbackReason"]) == (
        "completed",
        "standard",
        "mono-track",
    )
    assert "channelRoles" not in item
    assert item["transcriptKey"] == (
        f"transcripts/{report.transaction_id}/{run_.plan['jobName']}.json"
    )
    document = stored_json(double, recording.bucket, item["transcriptKey"])
    assert set(document["results"]) == {"transcripts", "items", "audio_segments"}
    # Only the recorded leg's party is on an INCOMING track.
    assert "CUSTOMER" not in (run_.transcript or "")
    assert "SPEAKER: Hello, I am calling about my order." in (run_.transcript or "")
    assert [e["detail-type"] for e in transcription.events] == [AVAILABLE]


def test_a_failed_job_sends_transcription_failed(double: ArrivalDouble) -> None:
    plan = TranscriptionPlan(job="failed", failure_reason="Invalid file size: too large.")
    report = run(double, plan)
    # The job failed as asked: that is no disagreement with the call.
    assert report.ok, report.to_text()
    transcription = transcription_of(report)
    [run_] = transcription.runs
    assert [task.action for task in run_.tasks] == [
        "plan",
        "start",
        "await",
        "job-event",
        "status",
        "fail",
    ]
    assert run_.outcome == "failed"
    assert run_.transcript is None
    [recording] = report.recordings
    item = transcription.item(recording.call_id)
    assert item is not None
    assert item["status"] == "failed"
    assert item["failureReason"] == "TranscriptionJobFailed: Invalid file size: too large."
    [event] = transcription.events
    assert event["detail-type"] == FAILED
    assert event["detail"]["reason"] == item["failureReason"]
    assert event["detail"]["jobName"] == item["jobName"]
    # Nothing was written under transcripts/.
    listed = double.s3.list_objects_v2(Bucket=recording.bucket, Prefix="transcripts/")
    assert listed["KeyCount"] == 0


def test_the_job_event_wakes_the_wait_when_the_job_ends(double: ArrivalDouble) -> None:
    report = run(double, TranscriptionPlan(polls=3))
    [run_] = transcription_of(report).runs
    steps = [(t.at[11:19], t.action) for t in run_.tasks]
    assert steps == [
        ("09:31:40", "plan"),
        ("09:31:40", "start"),
        ("09:31:40", "await"),
        ("09:34:40", "job-event"),
        ("09:34:40", "status"),
        ("09:34:40", "record"),
    ]


def test_without_job_events_each_round_waits_its_timeout(double: ArrivalDouble) -> None:
    # The events are best effort: without them the 10-minute rounds read the status.
    report = run(double, TranscriptionPlan(polls=15, events=False))
    assert report.ok, report.to_text()
    [run_] = transcription_of(report).runs
    steps = [(t.at[11:19], t.action, (t.output or {}).get("status")) for t in run_.tasks]
    assert steps[2:] == [
        ("09:31:40", "await", "IN_PROGRESS"),
        ("09:41:40", "status", "IN_PROGRESS"),
        ("09:41:40", "await", "IN_PROGRESS"),
        ("09:51:40", "status", "COMPLETED"),
        ("09:51:40", "record", "completed"),
    ]


def test_redaction_serves_the_redacted_transcript(double: ArrivalDouble) -> None:
    options = {"redaction": {"entityTypes": ["CREDIT_DEBIT_NUMBER"], "output": "redacted"}}
    report = run(double, TranscriptionPlan(options=options))
    assert report.ok, report.to_text()
    transcription = transcription_of(report)
    [recording] = report.recordings
    item = transcription.item(recording.call_id)
    assert item is not None
    tx = report.transaction_id
    assert item["transcriptKey"].startswith(f"transcripts/{tx}/redacted-analytics/")
    assert "unredactedTranscriptKey" not in item
    assert item["redactedAudioKey"].endswith(".wav")
    [run_] = transcription.runs
    assert "Sure, it is [PII]." in (run_.transcript or "")
    assert transcription.events[0]["detail"]["redacted"] is True


def test_disagreements_are_reported() -> None:
    """The checks catch an item that is missing, and roles that are not the leg's."""
    report = simulate()
    [recording] = report.recordings
    detail = {"callId": recording.call_id}
    plan = {
        "skip": False,
        "jobType": "call-analytics",
        "channelRoles": {"0": "AGENT", "1": "CUSTOMER"},
    }
    result = TranscriptionReport(
        runs=(TranscriptionRun(detail, (TranscriptionTask("t", "plan", plan),), plan),)
    )
    problems = _disagreements(report, result)
    assert problems == [
        f"{recording.call_id}: transcript item is None, the job completed",
        f"{recording.call_id}: 0 {AVAILABLE} events (expected exactly 1)",
        f"{recording.call_id}: LEG-A of an inbound call has channel roles "
        "{'0': 'AGENT', '1': 'CUSTOMER'}, expected {'0': 'CUSTOMER', '1': 'AGENT'}",
    ]
    failed = dataclasses.replace(
        result, catalog=({"sk": f"TRANSCRIPT#{recording.call_id}", "status": "completed"},)
    )
    assert not dataclasses.replace(failed, problems=tuple(_disagreements(report, failed))).ok


def test_the_command_prints_the_transcript_record(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["simulate", "--transcribe"]) == 0
    out = capsys.readouterr().out
    assert "arrival (the recording processor over moto" in out  # --transcribe implies --arrival
    section = out[out.index("\ntranscription (") :]
    assert "plan: call-analytics job" in section
    assert "(channel 0 CUSTOMER, channel 1 AGENT)" in section
    assert "TRANSCRIPT#" in section
    assert "status completed" in section
    assert "channelRoles 0 CUSTOMER 1 AGENT" in section
    # The construct's defaults redact the card number; the served transcript is the redacted one.
    assert "[00:00:08.180] CUSTOMER: Sure, it is [PII]." in section
    assert "4111" not in section
    assert f"{AVAILABLE} " in section
    assert "transcription problems: none" in section


def test_the_documented_transcription_section_is_what_the_command_prints(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # docs/simulator.md shows the section for the default call; a change of job names, keys or
    # wording must change the page too.
    page = (Path(__file__).parents[2] / "docs" / "simulator.md").read_text(encoding="utf-8")
    blocks = [
        block.split("\n", 1)[1]
        for block in page.split("```")
        if block.startswith("text\ntranscription (")
    ]
    assert len(blocks) == 1
    assert main(["simulate", "--transcribe"]) == 0
    out = capsys.readouterr().out
    assert blocks[0] in out


def test_the_command_without_job_events_reads_the_status_after_the_timeout(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["simulate", "--transcribe", "--no-job-events"]) == 0
    section = capsys.readouterr().out.split("\ntranscription (", 1)[1]
    assert "job-event" not in section
    assert "09:31:40.000Z await: token stored, job IN_PROGRESS" in section
    assert "09:41:40.000Z status: COMPLETED" in section


def test_no_job_events_needs_transcribe(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["simulate", "--no-job-events"]) == 2
    assert "--no-job-events needs --transcribe" in capsys.readouterr().err


def test_the_command_fails_a_job_and_prints_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["simulate", "--transcribe", "--transcription-fails", "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    transcription = document["arrival"]["transcription"]
    assert [item["status"] for item in transcription["catalog"]] == ["failed"]
    assert [event["detail-type"] for event in transcription["events"]] == [FAILED]
    assert transcription["plan"]["job"] == "failed"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--transcription-fails"], "--transcription-fails needs --transcribe"),
        (["--transcription-options", "{}"], "--transcription-options needs --transcribe"),
        (
            ["--transcribe", "--transcription-options", '{"contentRedaction": {}}'],
            "invalid transcription options: TRANSCRIPTION.contentRedaction is {}; allowed: no "
            "such option",
        ),
        (
            ["--transcribe", "--transcription-options", "[]"],
            "--transcription-options is []; allowed: a JSON object",
        ),
        (
            ["--transcribe", "--transcription-options", "{"],
            "the configuration in --transcription-options is not valid JSON",
        ),
    ],
)
def test_the_command_refuses_bad_transcription_arguments(
    capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    assert main(["simulate", *argv]) == 2
    assert message in capsys.readouterr().err


def test_without_moto_the_transcription_is_skipped_with_a_reason(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "moto", None)
    report = simulate(transcription=True)
    assert report.arrival is not None
    assert report.arrival.transcription is not None
    reason = report.arrival.transcription.skipped
    assert reason is not None
    assert reason.startswith("moto is not installed")
    assert f"transcription: skipped: {reason}" in report.to_text()


def test_transcription_needs_the_arrival() -> None:
    with pytest.raises(ValueError, match="transcription needs arrival"):
        SmaSimulator.for_recording_handler(transcription=TranscriptionPlan())


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"job": "done"}, "job is 'done'; allowed: completed or failed"),
        ({"polls": 0}, "polls is 0; allowed: an integer from 1 to 240"),
        ({"polls": True}, "polls is True; allowed: an integer from 1 to 240"),
        ({"failure_reason": " "}, "failure_reason is ' '; allowed: a non-empty text"),
        ({"options": []}, "options is \\[\\]; allowed: the TRANSCRIPTION options as a mapping"),
        ({"events": "yes"}, "events is 'yes'; allowed: True or False"),
    ],
)
def test_a_bad_plan_names_the_option(values: Mapping[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        TranscriptionPlan(**values)


def test_invalid_options_are_refused_before_the_call() -> None:
    plan = TranscriptionPlan(options={"languageCode": "english"})
    with pytest.raises(HandlerError, match=r"TRANSCRIPTION\.languageCode is 'english'"):
        simulate(transcription=plan)


@st.composite
def recordings(draw: st.DrawFn) -> RecordingRecord:
    started = draw(st.integers(0, 60_000))
    stopped = started + draw(st.integers(0, 300_000))
    cuts = sorted(draw(st.lists(st.integers(started, stopped), max_size=6, unique=True)))
    pauses = tuple(zip(cuts[::2], cuts[1::2], strict=False))
    return RecordingRecord(
        leg=draw(st.sampled_from(["LEG-A", "LEG-B"])),
        call_id="call",
        track=draw(st.sampled_from(["BOTH", "INCOMING", "OUTGOING"])),
        location="bucket/recordings",
        bucket="bucket",
        key="recordings/call.wav",
        started_ms=started,
        stopped_ms=stopped,
        stop_reason="hangup",
        pauses=pauses,
        delivered_ms=stopped,
        channels=2,
        sample_rate=8000,
        metadata={},
    )


@settings(max_examples=200, derandomize=True, deadline=None)
@given(
    recording=recordings(),
    analytics=st.booleans(),
    identification=st.booleans(),
    redaction=st.sampled_from([None, "redacted", "redacted_and_unredacted"]),
    turn_ms=st.integers(1000, 8000),
)
def test_the_stand_in_transcript_follows_the_recording(
    recording: RecordingRecord,
    analytics: bool,
    identification: bool,
    redaction: str | None,
    turn_ms: int,
) -> None:
    """Whatever the recording, the stand-in parses as Transcribe output, stays within the recording
    and out of its pauses, keeps to the plan's roles, and its redacted copy holds no card number."""
    roles = {"0": "AGENT", "1": "CUSTOMER"} if analytics else None
    content = (
        None
        if redaction is None
        else {"RedactionType": "PII", "RedactionOutput": redaction, "PiiEntityTypes": ["ALL"]}
    )
    settings_: dict[str, Any] = {} if content is None else {"ContentRedaction": content}
    request: dict[str, Any] = (
        {"OutputLocation": "s3://bucket/transcripts/tx/", "Settings": settings_}
        if analytics
        else {
            "OutputKey": "transcripts/tx/",
            "LanguageCode": "en-US",
            "Settings": {"ChannelIdentification": identification},
            **({} if content is None else {"ContentRedaction": content}),
        }
    )
    plan = {
        "jobType": "call-analytics" if analytics else "standard",
        "jobName": "job",
        "bucket": "bucket",
        "key": recording.key,
        "channelRoles": roles,
        "request": request,
    }
    documents = stand_in_transcript(plan, recording, turn_ms=turn_ms)
    duration = recording.stopped_ms - recording.started_ms
    pauses = [(s - recording.started_ms, e - recording.started_ms) for s, e in recording.pauses]
    for name, document in documents.items():
        turns = parse_transcript(document, roles)
        assert len(turns) <= 6
        for turn in turns:
            assert 0 <= turn.begin_ms <= duration
            assert not any(s <= turn.begin_ms < e for s, e in pauses)
            if analytics:
                assert turn.speaker in ("AGENT", "CUSTOMER")
            elif identification:
                assert turn.speaker in ("ch_0", "ch_1")
            else:
                assert turn.speaker == "SPEAKER"
            if name == "redacted":
                assert "4111" not in turn.text
        if recording.track != "BOTH" and identification and not analytics:
            assert {turn.speaker for turn in turns} <= {"ch_0"}
    plain = parse_transcript(documents["plain"], roles)
    redacted = parse_transcript(documents["redacted"], roles)
    assert [t.text.replace("4111 1111 1111 1111", "[PII]") for t in plain] == [
        t.text for t in redacted
    ]


def test_default_options_are_the_constructs_defaults() -> None:
    from cdk_recording import TranscriptionOptions

    assert dict(DEFAULT_OPTIONS) == TranscriptionOptions().to_config()
    assert TranscriptionPlan().options == TranscriptionOptions().to_config()
