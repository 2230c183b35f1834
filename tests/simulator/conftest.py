"""Fixtures for the simulator tests: small scripted handlers, scenario builders, audio probes.

The simulator's own fidelity is tested against handlers written here (a few lines each), so every
rule of the reference can be exercised directly; the recording handler is driven in
``test_recording_handler.py`` and ``test_properties.py``.
"""

from __future__ import annotations

import io
import logging
import math
import os
import wave
from array import array
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from cdk_recording.testing import (
    BridgeBehaviour,
    CallReport,
    Hangup,
    InboundCall,
    Scenario,
    SimulatorOptions,
    SmaSimulator,
    Step,
    StepAction,
)
from cdk_recording.testing._sinks import RecordingSink

CALLER = "+14255550199"
NUMBER = "+12065550100"
AGENT = "+12065550142"
BUCKET = "recordings-bucket"

Event = dict[str, Any]
Answer = Callable[[Event], Any]


@pytest.fixture(autouse=True)
def keep_handler_log_level() -> Iterator[None]:
    """The recording handler sets its package logger's level; leave it as other tests expect."""
    logger = logging.getLogger("sma_recording")
    level = logger.level
    yield
    logger.setLevel(level)


@pytest.fixture(autouse=True)
def isolated_aws(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No test can reach an AWS account: no credentials, no config files, no instance metadata."""
    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "absent-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "absent-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


# -- responses and actions ----------------------------------------------------------------------------


def respond(*actions: Mapping[str, Any], attributes: Mapping[str, str] | None = None) -> Event:
    """A valid response with ``actions`` (and ``TransactionAttributes`` when given)."""
    body: Event = {"SchemaVersion": "1.0", "Actions": [dict(a) for a in actions]}
    if attributes is not None:
        body["TransactionAttributes"] = dict(attributes)
    return body


def call_id(event: Event, tag: str = "LEG-A") -> str:
    """The CallId of a leg in an event."""
    for participant in event["CallDetails"]["Participants"]:
        if participant["ParticipantTag"] == tag:
            return str(participant["CallId"])
    raise AssertionError(f"no {tag} in {event['CallDetails']['Participants']}")


def action_type(event: Event) -> str | None:
    """``ActionData.Type`` of an event, if any."""
    data = event.get("ActionData") or {}
    return data.get("Type")


def speak(leg_call_id: str, text: str = "Hello") -> Event:
    return {"Type": "Speak", "Parameters": {"CallId": leg_call_id, "Text": text}}


def pause(milliseconds: int, leg_call_id: str | None = None) -> Event:
    parameters: Event = {"DurationInMilliseconds": milliseconds}
    if leg_call_id is not None:
        parameters["CallId"] = leg_call_id
    return {"Type": "Pause", "Parameters": parameters}


def play_audio(leg_call_id: str, terminators: list[str] | None = None) -> Event:
    parameters: Event = {
        "CallId": leg_call_id,
        "AudioSource": {"Type": "S3", "BucketName": "prompts", "Key": "welcome.wav"},
    }
    if terminators is not None:
        parameters["PlaybackTerminators"] = terminators
    return {"Type": "PlayAudio", "Parameters": parameters}


def bridge(number: str = AGENT, timeout: int = 30) -> Event:
    return {
        "Type": "CallAndBridge",
        "Parameters": {
            "CallTimeoutSeconds": timeout,
            "CallerIdNumber": CALLER,
            "Endpoints": [{"BridgeEndpointType": "PSTN", "Uri": number}],
        },
    }


def start_recording(leg_call_id: str, track: str = "BOTH", location: str = BUCKET) -> Event:
    return {
        "Type": "StartCallRecording",
        "Parameters": {
            "CallId": leg_call_id,
            "Track": track,
            "Destination": {"Type": "S3", "Location": location},
        },
    }


def recording_command(kind: str, leg_call_id: str) -> Event:
    """PauseCallRecording, ResumeCallRecording or StopCallRecording."""
    return {"Type": kind, "Parameters": {"CallId": leg_call_id}}


def hangup(leg_call_id: str, code: str = "0") -> Event:
    return {"Type": "Hangup", "Parameters": {"CallId": leg_call_id, "SipResponseCode": code}}


def receive_digits(leg_call_id: str, regex: str = r"^(\*1|\*2)$") -> Event:
    return {
        "Type": "ReceiveDigits",
        "Parameters": {
            "CallId": leg_call_id,
            "InputDigitsRegex": regex,
            "InBetweenDigitsDurationInMilliseconds": 1000,
            "FlushDigitsDurationInMilliseconds": 5000,
        },
    }


# -- handlers ----------------------------------------------------------------------------------------


class Script:
    """A handler that records every event and answers with ``answer(event)``.

    ``answer`` may return a response, or None for ``respond()`` (no actions).
    """

    def __init__(self, answer: Answer | None = None) -> None:
        self.answer = answer or (lambda _: None)
        self.events: list[Event] = []

    def __call__(self, event: Event, context: object) -> Any:
        assert getattr(context, "aws_request_id", None)
        self.events.append(event)
        result = self.answer(event)
        return respond() if result is None else result

    def types(self) -> list[str]:
        return [event["InvocationEventType"] for event in self.events]

    def of(self, event_type: str) -> list[Event]:
        return [e for e in self.events if e["InvocationEventType"] == event_type]


def on(**answers: Answer | Event) -> Answer:
    """Answer by ``InvocationEventType`` (``NEW_INBOUND_CALL=...``), or by event and action type
    with a double underscore (``ACTION_SUCCESSFUL__CallAndBridge=...``); otherwise no actions.
    """

    def answer(event: Event) -> Any:
        kind = event["InvocationEventType"]
        chosen = answers.get(f"{kind}__{action_type(event)}", answers.get(kind))
        if callable(chosen):
            return chosen(event)
        return chosen

    return answer


# -- scenarios ---------------------------------------------------------------------------------------


def inbound(*steps: tuple[float, StepAction], hangup_at: float | None = 60.0) -> Scenario:
    """An inbound call at 0 s, the given ``(seconds, action)`` steps, and LEG-A hanging up."""
    all_steps = [Step.at(0, InboundCall(CALLER, NUMBER))]
    all_steps += [Step.at(at, action) for at, action in steps]
    if hangup_at is not None:
        all_steps.append(Step.at(hangup_at, Hangup("LEG-A")))
    all_steps.sort(key=lambda step: step.at_ms)
    return Scenario(tuple(all_steps), name="test")


def simulate(
    handler: Any,
    scenario: Scenario,
    *,
    sink: RecordingSink | None = None,
    **options: Any,
) -> CallReport:
    """Run ``scenario`` against ``handler`` with :class:`SimulatorOptions` ``options``."""
    return SmaSimulator(handler, options=SimulatorOptions(**options), sink=sink).run(scenario)


ANSWER_AT_ONCE = BridgeBehaviour(after_seconds=0)


# -- audio probes ------------------------------------------------------------------------------------


def read_wav(body: bytes) -> tuple[int, int, list[array[int]]]:
    """``(channels, sample_rate, [channel samples])`` of a 16-bit PCM WAV."""
    with wave.open(io.BytesIO(body)) as reader:
        channels = reader.getnchannels()
        rate = reader.getframerate()
        assert reader.getsampwidth() == 2
        frames = array("h", reader.readframes(reader.getnframes()))
    return channels, rate, [frames[i::channels] for i in range(channels)]


def level(samples: array[int], frequency: float, rate: int) -> float:
    """Goertzel: the amplitude of ``frequency`` in ``samples`` (0 for silence)."""
    if not samples:
        return 0.0
    coefficient = 2 * math.cos(2 * math.pi * frequency / rate)
    s1 = s2 = 0.0
    for value in samples:
        s1, s2 = value + coefficient * s1 - s2, s1
    power = s1 * s1 + s2 * s2 - coefficient * s1 * s2
    return math.sqrt(max(power, 0.0)) / len(samples)


def window(samples: array[int], rate: int, start_s: float, length_s: float = 0.1) -> array[int]:
    """``length_s`` seconds of ``samples`` from ``start_s`` (since the recording started)."""
    first = round(start_s * rate)
    return samples[first : first + round(length_s * rate)]


def dominant(samples: array[int], rate: int, candidates: tuple[int, ...]) -> int | None:
    """Which of ``candidates`` is loudest in ``samples`` (None for silence)."""
    if not any(samples):
        return None
    return max(candidates, key=lambda f: level(samples, f, rate))
