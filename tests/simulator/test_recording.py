"""Call recording as the service does it: once per leg, pause tones and silence, stop at hangup,
delivery, keys, metadata, WAV channels and billing (reference §3, §9)."""

from __future__ import annotations

from typing import Any

import pytest

from cdk_recording.testing import (
    AudioProfile,
    BridgeBehaviour,
    Digits,
    InjectFailure,
    MemorySink,
    UpdateRequest,
    recording_key,
)
from tests.simulator.conftest import (
    BUCKET,
    Script,
    action_type,
    bridge,
    call_id,
    dominant,
    hangup,
    inbound,
    read_wav,
    recording_command,
    respond,
    simulate,
    speak,
    start_recording,
    window,
)

PROFILE = AudioProfile()
VOICES = (PROFILE.caller_hz, PROFILE.callee_hz, PROFILE.announcement_hz, PROFILE.tone_hz)


def recorder(
    track: str = "BOTH",
    location: str = BUCKET,
    *,
    leg: str = "LEG-A",
    bridged: bool = True,
    start: bool = True,
) -> Script:
    """Bridge (optionally), start recording ``leg``, and map update ``Arguments["do"]`` to
    recording actions (``{"do": "PauseCallRecording"}``) or ``start``."""

    def answer(event: dict[str, Any]) -> Any:
        kind = event["InvocationEventType"]
        if kind == "NEW_INBOUND_CALL":
            if bridged:
                return respond(bridge())
            if not start:
                return None
            return respond(start_recording(call_id(event, leg), track, location))
        if kind == "ACTION_SUCCESSFUL" and action_type(event) == "CallAndBridge":
            return respond(start_recording(call_id(event, leg), track, location))
        if kind == "CALL_UPDATE_REQUESTED":
            verb = event["ActionData"]["Parameters"]["Arguments"]["do"]
            if verb == "start":
                return respond(start_recording(call_id(event, leg), track, location))
            if verb == "speak":
                return respond(speak(call_id(event, leg), "x" * 50))
            return respond(recording_command(verb, call_id(event, leg)))
        if kind == "HANGUP":
            other = (
                "LEG-B"
                if event["ActionData"]["Parameters"]["ParticipantTag"] == "LEG-A"
                else "LEG-A"
            )
            connected = [
                p
                for p in event["CallDetails"]["Participants"]
                if p["ParticipantTag"] == other and p.get("Status") == "Connected"
            ]
            if connected:
                return respond(hangup(connected[0]["CallId"]))
        return None

    return Script(answer)


def do(at: float, verb: str) -> tuple[float, UpdateRequest]:
    return (at, UpdateRequest({"do": verb}))


INSTANT = (0, BridgeBehaviour(after_seconds=0))


def test_start_call_recording_success_names_the_object() -> None:
    """§3.3: ACTION_SUCCESSFUL for StartCallRecording carries CallRecordingDestination with the
    full bucket/key, and the parameters as sent."""
    script = recorder()
    report = simulate(script, inbound(INSTANT))
    success = next(
        e for e in script.of("ACTION_SUCCESSFUL") if action_type(e) == "StartCallRecording"
    )
    destination = success["ActionData"]["CallRecordingDestination"]
    recording = report.recordings[0]
    assert destination == {"Type": "S3", "Location": f"{BUCKET}/{recording.key}"}
    assert success["ActionData"]["Parameters"]["Track"] == "BOTH"


def test_key_uses_the_default_folder_without_a_prefix() -> None:
    """§3.4: bucket only: Amazon-Chime-SMA-Call-Recordings/YYYY/MM/DD/
    YYYY-MM-DD-hh-mm-ss-mmm_<transactionId>_<callId>.wav, dated from the start of the leg."""
    report = simulate(recorder(), inbound(INSTANT))
    recording = report.recordings[0]
    expected = (
        "Amazon-Chime-SMA-Call-Recordings/2026/11/24/2026-11-24-09-30-00-000_"
        f"{report.transaction_id}_{recording.call_id}.wav"
    )
    assert (recording.bucket, recording.key) == (BUCKET, expected)


def test_key_uses_the_prefix_in_place_of_the_default_folder() -> None:
    """§3.4: bucket plus prefix: the prefix replaces the default folder."""
    report = simulate(recorder(location=f"{BUCKET}/calls/eu"), inbound(INSTANT))
    assert report.recordings[0].key.startswith("calls/eu/2026/11/24/2026-11-24-09-30-00-000_")


def test_key_timestamp_has_milliseconds_of_the_leg_start() -> None:
    """§3.4: the timestamp is YYYY-MM-DD-hh-mm-ss-mmm of the leg's start (UTC assumed)."""
    _, key = recording_key("b/p", "tx", "call", 1_795_512_600_000 + 3_723_045)
    assert key == "p/2026/11/24/2026-11-24-10-32-03-045_tx_call.wav"


def test_metadata_of_the_recording() -> None:
    """§3.4: user metadata transaction-id, call-id, recording-duration (seconds) and
    recording-audio-file-format (a media type)."""
    sink = MemorySink()
    report = simulate(recorder(), inbound(INSTANT, hangup_at=42.5), sink=sink)
    recording = report.recordings[0]
    assert recording.metadata == {
        "transaction-id": report.transaction_id,
        "call-id": recording.call_id,
        "recording-duration": "42.500",
        "recording-audio-file-format": "audio/wav",
    }
    assert sink.objects[(BUCKET, recording.key)].metadata == recording.metadata


def test_start_is_once_per_leg() -> None:
    """§3.2 once per leg: a second StartCallRecording on the same leg fails (the exact service
    error is unconfirmed) and the first recording goes on."""
    script = recorder()
    report = simulate(script, inbound(INSTANT, do(10, "start")))
    failed = script.of("ACTION_FAILED")[0]
    assert failed["ActionData"]["Type"] == "StartCallRecording"
    assert len(report.recordings) == 1
    assert report.recordings[0].stopped_ms == 60_000
    assert [p.kind for p in report.problems] == ["recording-misuse"]


def test_no_restart_after_stop() -> None:
    """§3.2: after it stops, a leg's recording cannot restart."""
    script = recorder()
    report = simulate(script, inbound(INSTANT, do(10, "StopCallRecording"), do(20, "start")))
    assert [e["ActionData"]["Type"] for e in script.of("ACTION_FAILED")] == ["StartCallRecording"]
    [recording] = report.recordings
    assert (recording.stopped_ms, recording.stop_reason) == (10_000, "StopCallRecording")


def test_stop_twice_fails() -> None:
    """§3.2: stopped once per leg; a second stop fails (its error is unconfirmed, §3.3)."""
    script = recorder()
    simulate(script, inbound(INSTANT, do(10, "StopCallRecording"), do(20, "StopCallRecording")))
    assert [e["ActionData"]["Type"] for e in script.of("ACTION_FAILED")] == ["StopCallRecording"]


def test_each_leg_can_be_recorded_once() -> None:
    """§3.2: several legs give separate recordings, each billed separately (§9)."""

    def answer(event: dict[str, Any]) -> Any:
        if event["InvocationEventType"] == "NEW_INBOUND_CALL":
            return respond(bridge())
        if action_type(event) == "CallAndBridge":
            return respond(
                start_recording(call_id(event, "LEG-A"), "INCOMING"),
                start_recording(call_id(event, "LEG-B"), "INCOMING"),
            )
        if event["InvocationEventType"] == "HANGUP":
            return respond(hangup(call_id(event, "LEG-B")))
        return None

    report = simulate(Script(answer), inbound(INSTANT, hangup_at=61))
    assert [(r.leg, r.channels) for r in report.recordings] == [("LEG-A", 1), ("LEG-B", 1)]
    assert [(b.leg, b.billable_minutes) for b in report.billing] == [("LEG-A", 2), ("LEG-B", 2)]
    assert report.billable_minutes == 4


def test_recording_stops_when_its_leg_hangs_up() -> None:
    """§3.2: recording stops on its own when the call leg ends; StopCallRecording is optional."""
    report = simulate(recorder(), inbound(INSTANT, hangup_at=33))
    [recording] = report.recordings
    assert (recording.stopped_ms, recording.stop_reason) == (33_000, "hangup")


def test_delivered_on_stop_by_default() -> None:
    """§3.2 (stop page: "once stopped ... delivered"): the file is delivered on stop; the other
    reading of the reference is an option (delivery=endOfCall)."""
    report = simulate(recorder(), inbound(INSTANT, do(10, "StopCallRecording")))
    assert report.recordings[0].delivered_ms == 10_000
    late = simulate(recorder(), inbound(INSTANT, do(10, "StopCallRecording")), delivery="endOfCall")
    assert late.recordings[0].delivered_ms == 60_000


def test_pause_and_resume_are_recorded_and_billed() -> None:
    """§3.2, §9: pauses do not shorten the file; paused time is billed (silence is recorded)."""
    report = simulate(
        recorder(),
        inbound(
            INSTANT, do(10, "PauseCallRecording"), do(70, "ResumeCallRecording"), hangup_at=100
        ),
    )
    [recording] = report.recordings
    assert recording.pauses == ((10_000, 70_000),)
    assert recording.duration_ms == 100_000
    assert report.billing[0].billable_minutes == 2


def test_pause_and_resume_any_number_of_times() -> None:
    """§3.2: you can pause and resume any number of times."""
    steps = []
    for n in range(5):
        steps += [do(5 + 10 * n, "PauseCallRecording"), do(10 + 10 * n, "ResumeCallRecording")]
    report = simulate(recorder(), inbound(INSTANT, *steps))
    assert len(report.recordings[0].pauses) == 5
    assert report.ok


def test_pause_when_not_recording_fails() -> None:
    """§3.3: no error is documented for pausing a leg that is not recorded; the simulator fails
    the action (and reports the misuse)."""
    script = recorder(bridged=False, start=False)
    report = simulate(script, inbound(do(5, "PauseCallRecording")))
    assert script.of("ACTION_FAILED")[0]["ActionData"]["Type"] == "PauseCallRecording"
    assert report.problems[0].kind == "recording-misuse"


def test_no_access_to_destination_fails_start() -> None:
    """§3.3: NoAccessToDestination (bucket policy or ownership) fails StartCallRecording, given
    as the DG example's single Error string; nothing is recorded and the call goes on."""
    script = recorder()
    failure = InjectFailure(
        "StartCallRecording",
        "NoAccessToDestination",
        "Error while accessing destination",
        form="errorString",  # type: ignore[arg-type]
    )
    report = simulate(script, inbound(INSTANT, (0, failure)))
    data = script.of("ACTION_FAILED")[0]["ActionData"]
    assert data["Error"] == "NoAccessToDestination: Error while accessing destination"
    assert report.recordings == ()
    assert report.billing == ()
    assert [h.cause for h in report.hangups] == ["remote", "handler"]


def test_both_is_stereo_incoming_left_outgoing_right() -> None:
    """§3.2: BOTH gives stereo, incoming (the recorded party) left, outgoing (what it hears, here
    the bridged callee) right."""
    sink = MemorySink()
    report = simulate(recorder(), inbound(INSTANT, hangup_at=12), sink=sink)
    body = sink.objects[(BUCKET, report.recordings[0].key)].body
    channels, rate, (left, right) = read_wav(body)
    assert (channels, rate) == (2, 8000)
    assert len(left) == 12 * 8000
    # The caller talks in even 3 s turns, the callee in odd ones.
    assert dominant(window(left, rate, 1), rate, VOICES) == PROFILE.caller_hz
    assert dominant(window(right, rate, 1), rate, VOICES) is None
    assert dominant(window(right, rate, 4), rate, VOICES) == PROFILE.callee_hz
    assert dominant(window(left, rate, 4), rate, VOICES) is None


@pytest.mark.parametrize(("track", "voice_at"), [("INCOMING", 1), ("OUTGOING", 4)])
def test_one_track_is_mono(track: str, voice_at: float) -> None:
    """§3.2: a single track gives mono: INCOMING is the leg's party, OUTGOING what it hears."""
    sink = MemorySink()
    report = simulate(recorder(track), inbound(INSTANT, hangup_at=12), sink=sink)
    channels, rate, (mono,) = read_wav(sink.objects[(BUCKET, report.recordings[0].key)].body)
    assert channels == 1
    expected = PROFILE.caller_hz if track == "INCOMING" else PROFILE.callee_hz
    assert dominant(window(mono, rate, voice_at), rate, VOICES) == expected


def test_leg_b_both_has_the_callee_left() -> None:
    """§3.2: tracks are relative to the recorded leg: on LEG-B, incoming is the callee."""
    sink = MemorySink()
    report = simulate(recorder(leg="LEG-B"), inbound(INSTANT, hangup_at=12), sink=sink)
    _, rate, (left, right) = read_wav(sink.objects[(BUCKET, report.recordings[0].key)].body)
    assert dominant(window(left, rate, 4), rate, VOICES) == PROFILE.callee_hz
    assert dominant(window(right, rate, 1), rate, VOICES) == PROFILE.caller_hz


def test_silence_while_paused_and_tones_at_pause_and_resume() -> None:
    """§3.2: a tone at each pause and each resume; silence in between."""
    sink = MemorySink()
    report = simulate(
        recorder(),
        inbound(INSTANT, do(10, "PauseCallRecording"), do(20, "ResumeCallRecording"), hangup_at=30),
        sink=sink,
    )
    _, rate, (left, right) = read_wav(sink.objects[(BUCKET, report.recordings[0].key)].body)
    for channel in (left, right):
        assert dominant(window(channel, rate, 10.05), rate, VOICES) == PROFILE.tone_hz
        assert not any(window(channel, rate, 10.5, 9.4))
        assert dominant(window(channel, rate, 20.05), rate, VOICES) == PROFILE.tone_hz
    assert dominant(window(left, rate, 24.5), rate, VOICES) == PROFILE.caller_hz


def test_dtmf_is_audible_in_the_recording() -> None:
    """§3.2 (use-case 1): DTMF key presses are audible in the recording."""
    sink = MemorySink()
    report = simulate(recorder(), inbound(INSTANT, (4, Digits("5")), hangup_at=8), sink=sink)
    _, rate, (left, _) = read_wav(sink.objects[(BUCKET, report.recordings[0].key)].body)
    keyed = window(left, rate, 4.0, 0.1)
    assert dominant(keyed, rate, (770, 1336, *VOICES)) in (770, 1336)


def test_announcement_heard_on_the_outgoing_track() -> None:
    """§3.2: outgoing is what the SMA sends to the leg: a Speak is on LEG-A's right channel."""
    sink = MemorySink()
    report = simulate(recorder(bridged=False), inbound(do(1, "speak"), hangup_at=8), sink=sink)
    _, rate, (left, right) = read_wav(sink.objects[(BUCKET, report.recordings[0].key)].body)
    assert dominant(window(right, rate, 2), rate, VOICES) == PROFILE.announcement_hz
    assert dominant(window(left, rate, 2), rate, VOICES) == PROFILE.caller_hz


def test_sample_rate_is_an_option() -> None:
    """§3.2: the service's sample rate is unconfirmed; 8 kHz by default, configurable."""
    sink = MemorySink()
    report = simulate(recorder(), inbound(INSTANT, hangup_at=2), sink=sink, sample_rate=16_000)
    _, rate, (left, _) = read_wav(sink.objects[(BUCKET, report.recordings[0].key)].body)
    assert (rate, len(left)) == (16_000, 32_000)


def test_billable_minutes_run_from_start_to_stop() -> None:
    """§9: billed per minute from StartCallRecording to StopCallRecording (started minutes)."""
    report = simulate(recorder(), inbound(INSTANT, do(125, "StopCallRecording"), hangup_at=300))
    assert report.billing[0].recorded_ms == 125_000
    assert report.billing[0].billable_minutes == 3


def test_nothing_billed_without_recording() -> None:
    """§9: no recording, no recording charge."""
    report = simulate(Script(), inbound())
    assert report.billing == ()
    assert report.billable_minutes == 0
