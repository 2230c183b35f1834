"""Call facts (``sma_recording.facts``): what each invocation of a call establishes for the catalog."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sma_recording._runtime import event_attributes
from sma_recording.config import RecordingConfig
from sma_recording.core import MetricName, decide
from sma_recording.facts import FACT_KINDS, MAX_FACTS, MAX_TEXT, encode, facts_of, iso_ms
from sma_recording.state import CallState, Flow, LegStatus

from .conftest import (
    CALLER,
    DTMF,
    LEG_A,
    LEG_B,
    SPEAK_CONSENT,
    TRANSACTION_ID,
    load_event,
    make_config,
)
from .test_properties import CONFIGS, FIXTURES, PROPERTY, events, states

NOW = 1764067209.123
SMA_ID = "e88f4e49-dd21-4a3f-b538-bc84eae11505"
DIALLED = "+14345550101"


class Facts:
    """Drives a call through the pure core, carrying the state forward, and keeps every message."""

    def __init__(self, config: RecordingConfig) -> None:
        self.config = config
        self.state = CallState()
        self.sequence = 0
        self.messages: list[dict[str, Any] | None] = []

    def send(self, name: str, **options: Any) -> list[tuple[str, str | None]]:
        """The (kind, leg) of the facts of one event."""
        self.sequence += 1
        event = load_event(name, sequence=self.sequence, **options)
        decision = decide(event, self.state, self.config)
        message = facts_of(event, self.state, decision, self.config, now=NOW)
        self.state = decision.state
        self.messages.append(message)
        return kinds(message)

    def fact(self, kind: str) -> dict[str, Any]:
        return next(
            fact
            for message in self.messages
            if message is not None
            for fact in message["facts"]
            if fact["kind"] == kind
        )


def kinds(message: Mapping[str, Any] | None) -> list[tuple[str, str | None]]:
    return [] if message is None else [(f["kind"], f["leg"]) for f in message["facts"]]


# -- whole calls --------------------------------------------------------------------------------------


def test_bridged_call_with_consent_dtmf_pause_resume_and_hangup() -> None:
    call = Facts(make_config(consent=SPEAK_CONSENT, announceToCallee=True, dtmf=DTMF))

    assert call.send("new_inbound_call") == [("call-started", "LEG-A")]
    # [Speak to LEG-A, CallAndBridge] completed: the caller heard the announcement.
    assert call.send("action_successful_call_and_bridge") == [
        ("leg-joined", "LEG-B"),
        ("consent-played", "LEG-A"),
        ("recording-requested", "LEG-A"),
    ]
    # [Speak to LEG-B, StartCallRecording] completed.
    assert call.send("action_successful_start_call_recording") == [
        ("consent-played", "LEG-B"),
        ("recording-started", "LEG-A"),
    ]
    assert call.send("digits_received_pause") == []
    assert call.send("action_successful_pause_call_recording") == [("recording-paused", "LEG-A")]
    assert call.send("digits_received_resume") == []
    assert call.send("action_successful_resume_call_recording") == [("recording-resumed", "LEG-A")]
    assert call.send("hangup_leg_a_bridged") == [
        ("recording-stopped", "LEG-A"),
        ("call-ended", "LEG-A"),
    ]
    # The other leg's hangup, after the handler hung it up, adds nothing.
    assert call.send("hangup_leg_b_bridged") == []

    assert call.fact("consent-played")["detail"] == {
        "action": "Speak",
        "reportedBy": "CallAndBridge",
    }
    assert call.fact("recording-requested") == {
        "kind": "recording-requested",
        "callId": LEG_A,
        "leg": "LEG-A",
        "detail": {"track": "BOTH", "destination": "recordings-bucket/recordings"},
    }
    started = call.fact("recording-started")
    assert started["callId"] == LEG_A
    assert started["detail"]["location"].endswith(f"_{TRANSACTION_ID}_{LEG_A}.wav")
    assert call.fact("recording-stopped")["detail"] == {"by": "hangup", "status": "recording"}
    assert call.fact("call-ended")["detail"] == {"event": "HANGUP", "sipResponseCode": "0"}
    # Only invocations that established something send a message.
    assert [m is not None for m in call.messages] == [
        True,
        True,
        True,
        False,
        True,
        False,
        True,
        True,
        False,
    ]


def test_single_leg_call_with_consent_then_keep_alive_and_hangup() -> None:
    call = Facts(make_config(bridge=None, consent=SPEAK_CONSENT))

    assert call.send("new_inbound_call") == [
        ("call-started", "LEG-A"),
        ("recording-requested", "LEG-A"),
    ]
    assert call.send("action_successful_start_call_recording", single_leg=True) == [
        ("consent-played", "LEG-A"),
        ("recording-started", "LEG-A"),
    ]
    assert call.send("action_successful_pause") == []
    assert call.send("hangup_single_leg") == [
        ("recording-stopped", "LEG-A"),
        ("call-ended", "LEG-A"),
    ]
    assert call.fact("consent-played")["callId"] == LEG_A


def test_on_demand_stop_is_a_command_stop() -> None:
    call = Facts(make_config(autoStart=False))
    call.send("new_inbound_call")
    assert call.send("action_successful_call_and_bridge") == [("leg-joined", "LEG-B")]
    assert call.send("call_update_requested_start") == [("recording-requested", "LEG-A")]
    call.send("action_successful_start_call_recording")
    assert call.send("call_update_requested_stop") == []
    assert call.send("action_successful_stop_call_recording") == [("recording-stopped", "LEG-A")]
    assert call.fact("recording-stopped")["detail"] == {"by": "command"}
    # Hanging up a stopped recording stops nothing more.
    assert call.send("hangup_leg_a_bridged") == [("call-ended", "LEG-A")]


def test_outbound_call() -> None:
    call = Facts(make_config(bridge=None))

    assert call.send("new_outbound_call") == [("call-started", "LEG-A")]
    assert call.send("ringing") == []
    assert call.send("call_answered") == [("leg-joined", "LEG-A"), ("recording-requested", "LEG-A")]
    message = call.messages[0]
    assert message is not None
    assert message["participants"][0]["direction"] == "Outbound"


def test_failed_start_is_final_and_its_message_is_masked() -> None:
    call = Facts(make_config())
    call.send("new_inbound_call")
    call.send("action_successful_call_and_bridge")

    def with_number(event: dict[str, Any]) -> None:
        event["ActionData"]["Error"] = f"NoAccessToDestination: denied for {CALLER}"

    call.sequence += 1
    event = load_event("action_failed_start_call_recording", sequence=call.sequence)
    with_number(event)
    decision = decide(event, call.state, call.config)
    message = facts_of(event, call.state, decision, call.config, now=NOW)

    assert kinds(message) == [("recording-failed", "LEG-A")]
    assert message is not None
    assert message["facts"][0]["detail"] == {
        "action": "StartCallRecording",
        "final": True,
        "errorType": "NoAccessToDestination",
        "errorMessage": "denied for +*******0199",
    }
    # The message's own parties keep their full numbers (the catalog stores them).
    assert message["participants"][0]["from"] == CALLER


def test_failed_pause_is_not_final() -> None:
    state = CallState(flow=Flow.BRIDGED, leg_a=LegStatus.RECORDING)
    config = make_config()
    paused = decide(load_event("call_update_requested_pause", state=state), state, config)
    event = load_event("action_failed_pause_call_recording_top_level", state=paused.state)
    decision = decide(event, paused.state, config)

    message = facts_of(event, paused.state, decision, config, now=NOW)

    assert kinds(message) == [("recording-failed", "LEG-A")]
    assert message is not None
    assert message["facts"][0]["detail"] == {
        "action": "PauseCallRecording",
        "final": False,
        "errorType": "SystemException",
        "errorMessage": "System error while running action",
    }


def test_failed_consent_means_the_call_is_not_recorded() -> None:
    call = Facts(make_config(bridge=None, consent=SPEAK_CONSENT))
    call.send("new_inbound_call")

    assert call.send("action_failed_speak") == [("recording-failed", "LEG-A")]
    assert call.fact("recording-failed")["detail"] == {
        "action": "Speak",
        "reason": "consent-failed",
        "final": True,
        "errorType": "AccessDenied",
        "errorMessage": "Service-linked role is missing",
    }


def test_failed_consent_before_a_bridge_is_never_reported_as_played() -> None:
    call = Facts(make_config(consent=SPEAK_CONSENT))
    call.send("new_inbound_call")
    call.send("action_failed_speak")  # the handler bridges again, without the announcement

    assert call.send("action_successful_call_and_bridge") == [("leg-joined", "LEG-B")]


def test_announcement_reported_by_itself() -> None:
    """An announcement that ends its list (to LEG-B, without autoStart) is reported by name."""
    config = make_config(consent=SPEAK_CONSENT, announceToCallee=True, autoStart=False)
    state = CallState(flow=Flow.BRIDGED, consent_played=True, seen=3, last_sent="3:Speak")
    event = load_event("action_successful_speak", state=state)
    event["ActionData"]["Parameters"]["CallId"] = LEG_B
    event["CallDetails"]["Participants"] = load_event("action_successful_call_and_bridge")[
        "CallDetails"
    ]["Participants"]
    decision = decide(event, state, config)

    message = facts_of(event, state, decision, config, now=NOW)

    assert message is not None
    assert message["facts"] == [
        {"kind": "consent-played", "callId": LEG_B, "leg": "LEG-B", "detail": {"action": "Speak"}}
    ]


def test_consent_before_the_bridge_survives_an_update_request_while_bridging() -> None:
    """An update request answered with ``null`` while bridging overwrites ``last_sent``; the
    announcement queued before CallAndBridge is still reported when the bridge completes."""
    call = Facts(make_config(consent=SPEAK_CONSENT))
    call.send("new_inbound_call")
    assert call.send("call_update_requested_pause") == []
    assert call.state.last_sent.endswith(":null")

    assert call.send("action_successful_call_and_bridge") == [
        ("leg-joined", "LEG-B"),
        ("consent-played", "LEG-A"),
        ("recording-requested", "LEG-A"),
    ]


def test_unanswered_bridge_ends_the_call_once() -> None:
    call = Facts(make_config())
    call.send("new_inbound_call")

    assert call.send("action_failed_call_and_bridge") == [("call-ended", None)]
    assert call.fact("call-ended")["detail"] == {
        "event": "ACTION_FAILED",
        "action": "CallAndBridge",
    }
    # The caller's hangup that follows (the handler hung up LEG-A) adds nothing.
    assert call.send("hangup_single_leg") == []


def test_invalid_configuration_is_a_final_failure_at_call_start() -> None:
    config = RecordingConfig(
        "app", make_config().destination, bridge=make_config().bridge, disabled_reason="x"
    )
    call = Facts(config)

    assert call.send("new_inbound_call") == [
        ("call-started", "LEG-A"),
        ("recording-failed", "LEG-A"),
    ]
    assert call.fact("recording-failed")["detail"] == {
        "reason": "invalid-configuration",
        "final": True,
    }


# -- what is never a fact -----------------------------------------------------------------------------


def test_replayed_event_sends_nothing() -> None:
    call = Facts(make_config())
    call.send("new_inbound_call")
    call.send("action_successful_call_and_bridge")
    replay = load_event("action_successful_call_and_bridge", sequence=call.sequence)

    decision = decide(replay, call.state, call.config)

    assert MetricName.STALE_EVENT in [m.name for m in decision.metrics]
    assert facts_of(replay, call.state, decision, call.config, now=NOW) is None


@pytest.mark.parametrize("event", [None, [], {"InvocationEventType": "HANGUP"}, "x"])
def test_malformed_event_sends_nothing(event: object) -> None:
    config = make_config()
    decision = decide(event, CallState(), config)

    assert facts_of(event, CallState(), decision, config, now=NOW) is None


def test_an_event_without_a_sequence_sends_nothing() -> None:
    """The catalog keys facts by the SMA's sequence; without one they could not land."""
    config = make_config()
    event = load_event("new_inbound_call")
    assert facts_of(event, CallState(), decide(event, CallState(), config), config, now=NOW)
    del event["Sequence"]
    decision = decide(event, CallState(), config)

    assert facts_of(event, CallState(), decision, config, now=NOW) is None


def test_second_new_inbound_call_is_not_a_new_call() -> None:
    call = Facts(make_config())
    call.send("new_inbound_call")

    assert call.send("new_inbound_call") == []


# -- the message --------------------------------------------------------------------------------------


def test_message_shape() -> None:
    config = make_config()
    event = load_event("new_inbound_call")
    decision = decide(event, CallState(), config)

    message = facts_of(event, CallState(), decision, config, now=NOW)

    assert message == {
        "v": 1,
        "transactionId": TRANSACTION_ID,
        "smaId": SMA_ID,
        "sequence": 1,
        "eventType": "NEW_INBOUND_CALL",
        "at": "2025-11-25T10:40:09.123Z",
        "participants": [
            {
                "callId": LEG_A,
                "tag": "LEG-A",
                "from": CALLER,
                "to": DIALLED,
                "direction": "Inbound",
                "status": None,
                "startedAt": "2025-11-25T10:40:00.123Z",
            }
        ],
        "facts": [{"kind": "call-started", "callId": LEG_A, "leg": "LEG-A", "detail": {}}],
    }
    assert json.loads(encode(message)) == message


def test_participants_give_the_leg_start_only_when_the_event_has_it() -> None:
    config = make_config()
    event = load_event("new_inbound_call")
    del event["CallDetails"]["Participants"][0]["StartTimeInMilliseconds"]
    decision = decide(event, CallState(), config)

    message = facts_of(event, CallState(), decision, config, now=NOW)

    assert message is not None
    assert "startedAt" not in message["participants"][0]


def test_iso_ms() -> None:
    assert iso_ms(0) == "1970-01-01T00:00:00.000Z"
    assert iso_ms(1764067209.1239) == "2025-11-25T10:40:09.123Z"


def test_message_stays_small_with_hostile_strings() -> None:
    config = make_config()
    event = load_event("action_failed_start_call_recording")
    huge = "+1" + "9" * 100_000
    for participant in event["CallDetails"]["Participants"]:
        participant["From"] = participant["To"] = huge
        participant["Direction"] = participant["Status"] = huge
    event["CallDetails"]["SipMediaApplicationId"] = huge
    event["ActionData"]["Error"] = "X" * 5000 + ": " + huge
    state = CallState(flow=Flow.BRIDGED, leg_a=LegStatus.STARTING, seen=3)
    decision = decide(event, state, config)

    message = facts_of(event, state, decision, config, now=NOW)

    assert message is not None
    assert kinds(message) == [("recording-failed", "LEG-A")]
    assert len(encode(message).encode()) < 4 * MAX_TEXT * 4
    assert message["participants"][0]["from"] == huge[:MAX_TEXT]


# -- properties ---------------------------------------------------------------------------------------


def _check_message(message: Mapping[str, Any] | None, decision_metrics: list[MetricName]) -> None:
    if message is None:
        return
    assert set(message) == {
        "v",
        "transactionId",
        "smaId",
        "sequence",
        "eventType",
        "at",
        "participants",
        "facts",
    }
    assert 1 <= len(message["facts"]) <= MAX_FACTS
    assert {fact["kind"] for fact in message["facts"]} <= set(FACT_KINDS)
    order = [FACT_KINDS.index(fact["kind"]) for fact in message["facts"]]
    assert order == sorted(order)
    assert len(encode(message).encode()) < 32 * 1024
    started = sum(fact["kind"] == "recording-started" for fact in message["facts"])
    assert started == decision_metrics.count(MetricName.RECORDING_STARTED)


@PROPERTY
@given(event=events, which=st.integers(0, len(CONFIGS) - 1))
def test_facts_never_raise_on_any_event(event: object, which: int) -> None:
    config = CONFIGS[which]
    state, _ = CallState.from_attributes(event_attributes(event))
    decision = decide(event, state, config)

    message = facts_of(event, state, decision, config, now=NOW)

    _check_message(message, [m.name for m in decision.metrics])


@PROPERTY
@given(
    name=st.sampled_from(FIXTURES),
    state=states,
    which=st.integers(0, len(CONFIGS) - 1),
)
def test_facts_never_raise_on_any_fixture_in_any_state(name: str, state: str, which: int) -> None:
    config = CONFIGS[which]
    before, _ = CallState.decode(state)
    event = load_event(name, attributes={"smaRec": state})
    decision = decide(event, before, config)

    message = facts_of(event, before, decision, config, now=NOW)

    _check_message(message, [m.name for m in decision.metrics])
