"""Fixtures for the recording handler tests: JSON events, configurations, a fake Lambda context."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sma_recording import entry
from sma_recording.config import RecordingConfig, parse_config
from sma_recording.core import Decision, decide
from sma_recording.state import STATE_KEY, CallState

EVENTS = Path(__file__).resolve().parent.parent / "events"
TRANSACTION_ID = "7a3c9b2e-5f41-4d8a-9c6e-2b1f0d4e8a17"
LEG_A = "c4640e3b-1478-40fb-8e38-6f6213adf70b"
LEG_B = "7ab7748e-b47d-4620-ae2c-152617d3333c"
CALLER = "+14255550199"
AGENT = "+12065550142"
BUCKET = "recordings-bucket"

#: What the construct writes for the example app (bridge to an agent, no consent, LEG-A, BOTH).
BASE_CONFIG: dict[str, Any] = {
    "version": 1,
    "application": "CallRecordingStack/Recording/Handler",
    "metricsNamespace": "CdkRecording",
    "destination": {"bucket": BUCKET, "prefix": "recordings"},
    "track": "BOTH",
    "leg": "LEG-A",
    "autoStart": True,
    "consent": None,
    "announceToCallee": False,
    "bridge": {
        "endpointType": "PSTN",
        "uri": AGENT,
        "arn": None,
        "callerId": None,
        "timeoutSeconds": 30,
    },
    "dtmf": None,
}
CONSENT_TEXT = "This call is recorded for quality and training."
SPEAK_CONSENT = {
    "speak": {"text": CONSENT_TEXT, "voiceId": None, "engine": None, "languageCode": None}
}
DTMF = {"pause": "*1", "resume": "*2"}


def config_document(**overrides: Any) -> dict[str, Any]:
    """The base JSON configuration with top-level keys replaced."""
    document = copy.deepcopy(BASE_CONFIG)
    document.update(overrides)
    return document


def make_config(**overrides: Any) -> RecordingConfig:
    """A configuration parsed from JSON, as the handler reads it."""
    return parse_config(json.dumps(config_document(**overrides)))


def load_event(
    name: str,
    *,
    state: CallState | None = None,
    attributes: dict[str, Any] | None = None,
    single_leg: bool = False,
    sequence: int | None = None,
) -> dict[str, Any]:
    """A fresh copy of ``tests/events/<name>.json``.

    :param state: stored as the ``smaRec`` transaction attribute.
    :param attributes: the whole ``TransactionAttributes`` map (applied before ``state``).
    :param single_leg: drop LEG-B from the participants.
    :param sequence: the event's ``Sequence``. Default: the fixture's, raised to one above the
        sequence that wrote ``state`` (the service numbers a call's invocations one up each time, and
        the handler answers an event that is not newer than its state without effect).
    """
    event: dict[str, Any] = json.loads((EVENTS / f"{name}.json").read_text())
    details = event["CallDetails"]
    if attributes is not None:
        details["TransactionAttributes"] = dict(attributes)
    if state is not None:
        details.setdefault("TransactionAttributes", {})[STATE_KEY] = state.encode()
    if single_leg:
        details["Participants"] = [
            p for p in details["Participants"] if p["ParticipantTag"] == "LEG-A"
        ]
    if sequence is not None:
        event["Sequence"] = sequence
    elif state is not None:
        number_after(event, state)
    return event


def number_after(event: dict[str, Any], state: CallState) -> dict[str, Any]:
    """Raise the event's ``Sequence`` to one above the sequence that wrote ``state``, as the
    service numbers a call's invocations (the handler answers an event that is not newer than its
    state without effect)."""
    if state.seen is not None and event.get("Sequence", 0) <= state.seen:
        event["Sequence"] = state.seen + 1
    return event


def decide_event(
    name: str,
    state: CallState | None = None,
    config: RecordingConfig | None = None,
    **event_options: Any,
) -> Decision:
    """Run the pure core on a fixture (numbered after ``state``, see :func:`number_after`)."""
    state = state or CallState()
    event = number_after(load_event(name, **event_options), state)
    return decide(event, state, config or make_config())


def action_types(actions: Any) -> list[str]:
    return [action["Type"] for action in actions]


def messages(decision: Decision, level: int | None = None) -> list[str]:
    return [r.message for r in decision.logs if level is None or r.level == level]


@dataclass
class FakeContext:
    """The attributes of the Lambda context object the handler reads (and a few more)."""

    aws_request_id: str = "5d6f3c1e-0a8b-4c2d-9e7f-1a2b3c4d5e6f"
    function_name: str = "CallRecordingStack-RecordingHandler"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = (
        "arn:aws:lambda:us-east-1:123456789012:function:CallRecordingStack-RecordingHandler"
    )

    def get_remaining_time_in_millis(self) -> int:
        return 4000


@dataclass
class Output:
    """What the handler printed: JSON log lines and EMF metric documents."""

    logs: list[dict[str, Any]] = field(default_factory=list)
    metrics: list[dict[str, Any]] = field(default_factory=list)
    raw: str = ""

    def metric_names(self) -> list[str]:
        return [
            metric["Name"]
            for document in self.metrics
            for directive in document["_aws"]["CloudWatchMetrics"]
            for metric in directive["Metrics"]
        ]

    def messages(self, level: str | None = None) -> list[str]:
        return [line["message"] for line in self.logs if level is None or line["level"] == level]


@pytest.fixture
def read_output(capsys: pytest.CaptureFixture[str]) -> Callable[[], Output]:
    """Read (and clear) everything printed so far; every line must be one JSON object."""

    def read() -> Output:
        out = capsys.readouterr().out
        output = Output(raw=out)
        for line in out.splitlines():
            document = json.loads(line)
            (output.metrics if "_aws" in document else output.logs).append(document)
        return output

    return read


class Call:
    """Drives one call through a handler: carries TransactionAttributes and Sequence forward."""

    def __init__(self, handler: Callable[[Any, Any], Any]) -> None:
        self.handler = handler
        self.attributes: dict[str, Any] | None = None
        self.sequence = 0
        self.responses: list[dict[str, Any]] = []

    @property
    def state(self) -> CallState:
        assert self.attributes is not None
        state, warning = CallState.from_attributes(self.attributes)
        assert warning is None
        return state

    def send(
        self, name: str, mutate: Callable[[dict[str, Any]], None] | None = None, **options: Any
    ) -> dict[str, Any]:
        self.sequence += 1
        event = load_event(name, attributes=self.attributes, sequence=self.sequence, **options)
        if mutate is not None:
            mutate(event)
        result = self.handler(event, FakeContext())
        assert isinstance(result, dict)
        if result.get("TransactionAttributes") is not None:
            self.attributes = result["TransactionAttributes"]
        self.responses.append(result)
        return result


@pytest.fixture
def cold_start() -> Iterator[None]:
    """Forget the entry module's cached cold-start handler before and after the test."""
    entry._cold_start.cache_clear()
    yield
    entry._cold_start.cache_clear()


@pytest.fixture(autouse=True)
def _reset_log_level() -> Iterator[None]:
    """Handlers set the shared package logger's level; leave it at INFO for the next test."""
    yield
    import logging

    logging.getLogger("sma_recording").setLevel(logging.INFO)
