"""Round trip: what the control client puts on the wire, delivered as CALL_UPDATE_REQUESTED, makes the
recording handler (``sma_recording.entry.handler``, as Lambda runs it) return the right action.

The request is captured at a local endpoint (the body botocore actually serialised), then placed in
the shared event fixture the way the service forwards it (``ActionData.Parameters.Arguments``).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sma_recording import entry
from sma_recording.config import ENV_VAR
from sma_recording.protocol import Command, ControlRequest, parse_arguments
from sma_recording.state import STATE_KEY, CallState, Flow, LegStatus

from cdk_recording.control import RecordingControl
from tests.cli.conftest import SMA_ID, TRANSACTION_ID, FakeChime, SleepRecorder

EVENTS = Path(__file__).resolve().parents[1] / "events"
#: The legs of the shared fixture call (tests/events/README.md).
LEG_A = "c4640e3b-1478-40fb-8e38-6f6213adf70b"
LEG_B = "7ab7748e-b47d-4620-ae2c-152617d3333c"
CONFIG = {
    "version": 1,
    "application": "RoundTrip",
    "destination": {"bucket": "recordings-bucket", "prefix": "recordings"},
    "leg": "LEG-A",
}
#: The leg status a command applies to, and the action the handler should answer with.
CASES = {
    Command.START: (LegStatus.IDLE, "StartCallRecording"),
    Command.PAUSE: (LegStatus.RECORDING, "PauseCallRecording"),
    Command.RESUME: (LegStatus.PAUSED, "ResumeCallRecording"),
    Command.STOP: (LegStatus.RECORDING, "StopCallRecording"),
}


@pytest.fixture
def lambda_handler(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """The Lambda entry point, cold-started with this test's configuration."""
    monkeypatch.setenv(ENV_VAR, json.dumps(CONFIG))
    entry._cold_start.cache_clear()
    yield entry.handler
    entry._cold_start.cache_clear()


def sent_by_client(
    fake_chime: FakeChime, sleep: SleepRecorder, command: Command, call_id: str | None
) -> tuple[str, str, dict[str, str]]:
    """Send ``command`` with the real client; return the SMA id, transaction id and Arguments."""
    control = RecordingControl(region_name="us-east-1", endpoint_url=fake_chime.url, sleep=sleep)
    control.send(command, SMA_ID, TRANSACTION_ID, call_id)
    (request,) = fake_chime.requests
    _, sma_id, _, transaction_id = request.path.strip("/").split("/")
    arguments: dict[str, str] = request.body["Arguments"]
    return sma_id, transaction_id, arguments


def call_update_requested(
    sma_id: str, transaction_id: str, arguments: dict[str, str], state: CallState
) -> dict[str, Any]:
    event: dict[str, Any] = json.loads(
        (EVENTS / "call_update_requested_pause.json").read_text(encoding="utf-8")
    )
    event = copy.deepcopy(event)
    event["ActionData"]["Parameters"]["Arguments"] = arguments
    details = event["CallDetails"]
    details["SipMediaApplicationId"] = sma_id
    details["TransactionId"] = transaction_id
    details["TransactionAttributes"] = {STATE_KEY: state.encode()}
    return event


@pytest.mark.parametrize(
    ("call_id", "leg"), [(None, LEG_A), (LEG_B, LEG_B)], ids=["configured-leg", "leg-b-by-call-id"]
)
@pytest.mark.parametrize("command", list(Command))
def test_client_arguments_drive_the_handler_to_the_right_action(
    aws_credentials: None,
    fake_chime: FakeChime,
    sleep: SleepRecorder,
    lambda_handler: Any,
    command: Command,
    call_id: str | None,
    leg: str,
) -> None:
    status, action_type = CASES[command]
    state = CallState(flow=Flow.BRIDGED).with_leg("LEG-B" if leg == LEG_B else "LEG-A", status)
    sma_id, transaction_id, arguments = sent_by_client(fake_chime, sleep, command, call_id)
    assert parse_arguments(arguments) == ControlRequest(command, call_id)

    response = lambda_handler(call_update_requested(sma_id, transaction_id, arguments, state))

    recording_actions = [
        action for action in response["Actions"] if action["Type"].endswith("CallRecording")
    ]
    assert [(a["Type"], a["Parameters"]["CallId"]) for a in recording_actions] == [
        (action_type, leg)
    ]
