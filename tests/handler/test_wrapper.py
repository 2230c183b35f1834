"""Adding recording to an existing SIP media application handler with with_recording."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from sma_recording import with_recording
from sma_recording.config import ENV_VAR
from sma_recording.state import STATE_KEY, CallState, Flow, LegStatus

from .conftest import (
    DTMF,
    LEG_A,
    SPEAK_CONSENT,
    Call,
    FakeContext,
    Output,
    action_types,
    config_document,
    load_event,
    make_config,
)

ReadOutput = Callable[[], Output]
MENU = {
    "Type": "PlayAudioAndGetDigits",
    "Parameters": {
        "CallId": LEG_A,
        "MinNumberOfDigits": 1,
        "MaxNumberOfDigits": 1,
        "AudioSource": {"Type": "S3", "BucketName": "ivr-bucket", "Key": "menu.wav"},
        "FailureAudioSource": {"Type": "S3", "BucketName": "ivr-bucket", "Key": "sorry.wav"},
    },
}
BRIDGE = {
    "Type": "CallAndBridge",
    "Parameters": {
        "CallTimeoutSeconds": 30,
        "CallerIdNumber": "+14255550199",
        "Endpoints": [{"BridgeEndpointType": "PSTN", "Uri": "+12065550142"}],
    },
}


class UserHandler:
    """A handler someone already has: answers by event type, remembers what it saw."""

    def __init__(
        self, answers: dict[str, list[dict[str, Any]] | None] | None = None, **extra: Any
    ) -> None:
        self.answers = answers or {}
        self.extra = extra
        self.seen: list[str] = []

    def __call__(self, event: dict[str, Any], context: Any) -> dict[str, Any]:  # noqa: ARG002
        kind = event["InvocationEventType"]
        self.seen.append(
            kind if kind != "ACTION_SUCCESSFUL" else f"{kind}:{event['ActionData']['Type']}"
        )
        return {"SchemaVersion": "1.0", "Actions": self.answers.get(kind, []), **self.extra}


def wrap(user: Any, **config: Any) -> Any:
    return with_recording(config=make_config(bridge=None, **config))(user)


def test_recording_starts_before_the_handlers_last_action_when_it_answers_the_call() -> None:
    user = UserHandler({"NEW_INBOUND_CALL": [MENU]})
    call = Call(wrap(user, consent=SPEAK_CONSENT))

    response = call.send("new_inbound_call")

    assert action_types(response["Actions"]) == [
        "Speak",
        "StartCallRecording",
        "PlayAudioAndGetDigits",
    ]
    assert response["Actions"][-1] == MENU
    assert call.state.leg_a == LegStatus.STARTING
    assert call.state.resend == MENU


def test_the_handler_still_gets_the_success_of_its_own_last_action(read_output: ReadOutput) -> None:
    user = UserHandler({"NEW_INBOUND_CALL": [MENU]})
    call = Call(wrap(user))
    call.send("new_inbound_call")

    call.send("action_successful_speak")

    assert user.seen == ["NEW_INBOUND_CALL", "ACTION_SUCCESSFUL:Speak"]
    assert call.state.leg_a == LegStatus.RECORDING
    assert read_output().metric_names() == ["RecordingStarted"]


def test_recording_starts_alone_after_the_handlers_bridge_succeeds() -> None:
    user = UserHandler({"NEW_INBOUND_CALL": [BRIDGE]})
    call = Call(wrap(user))

    assert call.send("new_inbound_call")["Actions"] == [BRIDGE]
    assert call.state.flow == Flow.BRIDGING
    response = call.send("action_successful_call_and_bridge")

    assert action_types(response["Actions"]) == ["StartCallRecording"]
    assert response["Actions"][0]["Parameters"]["CallId"] == LEG_A


def test_recording_results_are_answered_without_calling_the_handler(
    read_output: ReadOutput,
) -> None:
    user = UserHandler({"NEW_INBOUND_CALL": [BRIDGE]})
    call = Call(wrap(user, dtmf=DTMF))
    call.send("new_inbound_call")
    call.send("action_successful_call_and_bridge")

    response = call.send("action_successful_start_call_recording")

    assert action_types(response["Actions"]) == ["ReceiveDigits"]
    assert user.seen == ["NEW_INBOUND_CALL", "ACTION_SUCCESSFUL:CallAndBridge"]
    started = next(line for line in read_output().logs if line["message"] == "recording started")
    assert started["objectKey"].endswith(".wav")


def test_recording_commands_and_dtmf_codes_skip_the_handler() -> None:
    user = UserHandler()
    state = CallState(flow=Flow.BRIDGED, leg_a=LegStatus.RECORDING)
    handler = wrap(user, dtmf=DTMF)

    paused = handler(load_event("call_update_requested_pause", state=state), FakeContext())
    digits = handler(load_event("digits_received_pause", state=state), FakeContext())

    assert action_types(paused["Actions"]) == ["PauseCallRecording"]
    assert action_types(digits["Actions"]) == ["PauseCallRecording"]
    assert user.seen == []


def test_other_update_requests_and_digits_go_to_the_handler() -> None:
    user = UserHandler()
    handler = wrap(user, dtmf=DTMF)
    theirs = load_event("digits_received_pause")
    theirs["ActionData"]["Parameters"]["InputDigitsRegex"] = r"^\d{4}#$"

    handler(load_event("call_update_requested_other"), FakeContext())
    handler(theirs, FakeContext())

    assert user.seen == ["CALL_UPDATE_REQUESTED", "DIGITS_RECEIVED"]


def test_the_handlers_action_dropped_with_a_failed_start_is_sent_again() -> None:
    user = UserHandler({"NEW_INBOUND_CALL": [MENU]})
    call = Call(wrap(user))
    call.send("new_inbound_call")

    response = call.send("action_failed_start_call_recording", single_leg=True)

    assert response["Actions"] == [MENU]
    assert call.state.leg_a == LegStatus.FAILED
    assert call.state.resend is None
    assert user.seen == ["NEW_INBOUND_CALL"]


def test_a_start_dropped_with_the_handlers_failed_action_is_inserted_again() -> None:
    welcome = {"Type": "PlayAudio", "Parameters": {"CallId": LEG_A}}
    user = UserHandler({"NEW_INBOUND_CALL": [welcome, MENU], "ACTION_FAILED": [MENU]})
    call = Call(wrap(user))
    call.send("new_inbound_call")

    def welcome_failed(event: dict[str, Any]) -> None:
        event["ActionData"]["Parameters"] = welcome["Parameters"]

    response = call.send("action_failed_play_audio", mutate=welcome_failed)

    assert action_types(response["Actions"]) == ["StartCallRecording", "PlayAudioAndGetDigits"]
    assert user.seen == ["NEW_INBOUND_CALL", "ACTION_FAILED"]


def test_a_failure_of_the_handlers_action_after_the_start_confirms_the_start() -> None:
    user = UserHandler({"NEW_INBOUND_CALL": [MENU]})
    call = Call(wrap(user))
    call.send("new_inbound_call")

    def menu_failed(event: dict[str, Any]) -> None:
        event["ActionData"] = {**MENU, "ErrorType": "InvalidActionParameter"}

    call.send("action_failed_play_audio", mutate=menu_failed)

    assert call.state.leg_a == LegStatus.RECORDING
    assert user.seen == ["NEW_INBOUND_CALL", "ACTION_FAILED"]


def test_the_handlers_transaction_attributes_are_kept_beside_the_recording_state() -> None:
    user = UserHandler({"NEW_INBOUND_CALL": [MENU]}, TransactionAttributes={"language": "fr"})

    response = wrap(user)(load_event("new_inbound_call"), FakeContext())

    assert set(response["TransactionAttributes"]) == {"language", STATE_KEY}
    assert response["TransactionAttributes"]["language"] == "fr"


def test_stored_attributes_are_kept_when_the_handler_returns_none() -> None:
    user = UserHandler()
    event = load_event("ringing", attributes={"language": "fr"})

    response = wrap(user)(event, FakeContext())

    assert response["TransactionAttributes"]["language"] == "fr"


def test_a_full_attribute_map_leaves_the_handlers_response_unchanged(
    read_output: ReadOutput,
) -> None:
    full = {f"k{i}": "v" for i in range(10)}
    user = UserHandler({"NEW_INBOUND_CALL": [MENU]}, TransactionAttributes=full)

    response = wrap(user)(load_event("new_inbound_call"), FakeContext())

    assert response == {"SchemaVersion": "1.0", "Actions": [MENU], "TransactionAttributes": full}
    assert any("no room" in m for m in read_output().messages("ERROR"))


def test_a_handler_that_raises_does_not_drop_the_call(read_output: ReadOutput) -> None:
    def broken(event: Any, context: Any) -> Any:
        raise KeyError("Participants")

    response = wrap(broken)(load_event("action_successful_call_and_bridge"), FakeContext())

    assert response["SchemaVersion"] == "1.0"
    assert isinstance(response["Actions"], list)
    assert STATE_KEY in response["TransactionAttributes"]
    error = next(line for line in read_output().logs if line["level"] == "ERROR")
    assert "KeyError" in error["exception"]


def test_a_handler_returning_garbage_is_answered_with_no_actions() -> None:
    response = wrap(lambda _event, _context: "ok")(load_event("ringing"), FakeContext())

    assert response["Actions"] == []


def test_null_actions_are_passed_through_unchanged() -> None:
    user = UserHandler({"CALL_ANSWERED": None})

    response = wrap(user)(load_event("call_answered"), FakeContext())

    assert response["Actions"] is None


def test_nothing_is_inserted_into_a_list_that_hangs_up() -> None:
    hangup = {"Type": "Hangup", "Parameters": {"SipResponseCode": "0"}}
    user = UserHandler({"CALL_ANSWERED": [hangup]})

    response = wrap(user)(load_event("call_answered"), FakeContext())

    assert response["Actions"] == [hangup]


def test_nothing_is_inserted_beyond_ten_actions_and_the_start_waits(
    read_output: ReadOutput,
) -> None:
    ten = [{"Type": "Pause", "Parameters": {"DurationInMilliseconds": 100}}] * 10
    user = UserHandler({"CALL_ANSWERED": ten})
    call = Call(wrap(user))

    assert call.send("call_answered")["Actions"] == ten
    assert call.state.leg_a == LegStatus.IDLE
    assert action_types(call.send("action_successful_pause")["Actions"]) == ["StartCallRecording"]
    assert any("no room" in m for m in read_output().messages("WARNING"))


def test_announces_to_the_callee_after_the_handlers_bridge() -> None:
    user = UserHandler({"NEW_INBOUND_CALL": [BRIDGE]})
    call = Call(wrap(user, consent=SPEAK_CONSENT, announceToCallee=True))
    call.send("new_inbound_call")

    response = call.send("action_successful_call_and_bridge")

    assert action_types(response["Actions"]) == ["Speak", "Speak", "StartCallRecording"]


def test_malformed_events_go_to_the_handler_and_are_counted(read_output: ReadOutput) -> None:
    user = UserHandler()

    response = wrap(user)({"InvocationEventType": "RINGING"}, FakeContext())

    assert user.seen == ["RINGING"]
    assert response == {"SchemaVersion": "1.0", "Actions": []}
    assert read_output().metric_names() == ["MalformedEvent"]


def test_reads_its_configuration_from_the_environment_when_none_is_given(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(ENV_VAR, json.dumps(config_document(bridge=None, track="INCOMING")))

    @with_recording
    def handler(event: Any, context: Any) -> dict[str, Any]:
        return {"SchemaVersion": "1.0", "Actions": []}

    response = handler(load_event("call_answered"), FakeContext())

    assert response["Actions"][0]["Parameters"]["Track"] == "INCOMING"
    assert handler.__name__ == "handler"


def test_an_invalid_environment_configuration_leaves_every_event_to_the_handler(
    monkeypatch: pytest.MonkeyPatch, read_output: ReadOutput
) -> None:
    monkeypatch.setenv(ENV_VAR, "{}")
    user = UserHandler({"CALL_ANSWERED": [MENU]})
    handler = with_recording(user)

    response = handler(load_event("call_answered"), FakeContext())
    handler(load_event("call_update_requested_start"), FakeContext())

    assert response["Actions"] == [MENU]
    assert user.seen == ["CALL_ANSWERED", "CALL_UPDATE_REQUESTED"]
    output = read_output()
    assert output.metric_names() == ["RecordingFailed"]
    assert any(
        line["message"].startswith("invalid recording configuration") for line in output.logs
    )


def test_a_leg_hanging_up_stops_its_recording_and_leaves_the_rest_to_the_handler() -> None:
    user = UserHandler({"HANGUP": [{"Type": "Hangup", "Parameters": {"CallId": LEG_A}}]})
    state = CallState(flow=Flow.BRIDGED, leg_a=LegStatus.RECORDING, leg_b=LegStatus.RECORDING)

    response = wrap(user)(load_event("hangup_leg_b_bridged", state=state), FakeContext())

    assert action_types(response["Actions"]) == ["Hangup"]
    stored, _ = CallState.from_attributes(response["TransactionAttributes"])
    assert (stored.leg_a, stored.leg_b) == (LegStatus.RECORDING, LegStatus.STOPPED)
    assert stored.flow == Flow.SINGLE


def test_the_last_leg_hanging_up_ends_the_call() -> None:
    state = CallState(flow=Flow.SINGLE, leg_a=LegStatus.PAUSED)

    response = wrap(UserHandler())(load_event("hangup_single_leg", state=state), FakeContext())

    stored, _ = CallState.from_attributes(response["TransactionAttributes"])
    assert (stored.flow, stored.leg_a) == (Flow.ENDED, LegStatus.STOPPED)
