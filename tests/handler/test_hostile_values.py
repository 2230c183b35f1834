"""Values that make Python itself fail (int/str digit limits, deep nesting, huge strings) are
malformed input with the normal safe answer: never an exception, never the internal-error path."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sma_recording.config import load_config
from sma_recording.core import decide
from sma_recording.entry import RecordingHandler
from sma_recording.protocol import ProtocolError, parse_arguments
from sma_recording.state import STATE_KEY, CallState

from .conftest import FakeContext, load_event, make_config
from .test_properties import assert_valid_response

HUGE_DIGITS = "9" * 5000
DEEP = "[" * 900 + "]" * 900


@pytest.mark.parametrize(
    "sequence",
    [HUGE_DIGITS, 10**5000, "²", "-1", 2**70, "1" * 20],
    ids=["5000-digit-string", "5000-digit-int", "superscript", "negative", "2**70", "20-digits"],
)
def test_an_out_of_bounds_sequence_is_read_as_absent_and_the_call_goes_on(sequence: Any) -> None:
    event = load_event("new_inbound_call")
    event["Sequence"] = sequence

    decision = decide(event, CallState(), make_config())

    assert [a["Type"] for a in decision.actions] == ["CallAndBridge"]


@pytest.mark.parametrize(
    "start",
    [HUGE_DIGITS, "²³", 10**5000],
    ids=["5000-digit-string", "superscripts", "5000-digit-int"],
)
def test_an_out_of_bounds_start_time_is_read_as_absent(start: Any) -> None:
    event = load_event("new_inbound_call")
    event["CallDetails"]["Participants"][0]["StartTimeInMilliseconds"] = start

    assert decide(event, CallState(), make_config()).actions


@pytest.mark.parametrize(
    "value", [10**5000, "x" * 100_000, {"a": 1}], ids=["5000-digit-int", "100k-chars", "object"]
)
def test_a_hostile_command_value_is_a_protocol_error(value: object) -> None:
    with pytest.raises(ProtocolError):
        parse_arguments({"recording": value})


def test_a_deeply_nested_configuration_disables_recording_and_calls_are_still_answered() -> None:
    config, problems = load_config(json.dumps({"application": "a", "x": json.loads(DEEP)}))

    assert not config.recording_enabled
    assert any("nested deeper" in p for p in problems)
    response = RecordingHandler(config)(load_event("new_inbound_call"), FakeContext())
    assert response["Actions"]  # answered and kept up, not dropped


def test_a_configuration_with_a_key_twice_is_rejected() -> None:
    text = '{"version":1,"application":"a","destination":{"bucket":"aaa"},"destination":{"bucket":"bbb"}}'

    config, problems = load_config(text)

    assert not config.recording_enabled
    assert any("appears twice" in p for p in problems)


def test_a_disabled_configuration_never_records_whatever_the_state_says() -> None:
    config, _ = load_config("{not json")
    state = CallState.decode('{"a":"starting","b":"idle","c":0,"d":0,"f":"single","s":"","v":2}')[0]
    event = load_event("action_failed_play_audio")

    decision = decide(event, state, config)

    assert not any(a["Type"] == "StartCallRecording" for a in decision.actions)


hostile = st.one_of(
    st.just(HUGE_DIGITS),
    st.just(10**5000),
    st.just("²"),
    st.text(max_size=3),
    st.integers(),
    st.just(json.loads("[" * 200 + "]" * 200)),
    st.just("x" * 50_000),
)
FIELDS = [
    ("Sequence",),
    ("CallDetails", "Participants", 0, "StartTimeInMilliseconds"),
    ("CallDetails", "Participants", 0, "CallId"),
    ("CallDetails", "TransactionId"),
    ("CallDetails", "TransactionAttributes", STATE_KEY),
    ("ActionData", "Parameters", "Arguments", "recording"),
    ("ActionData", "ErrorMessage"),
    ("ActionData", "ReceivedDigits"),
]
FIXTURES = ["new_inbound_call", "call_update_requested_pause", "action_failed_speak"]
HANDLER = RecordingHandler(make_config())


@settings(max_examples=1500, deadline=None, database=None)
@given(
    fixture=st.sampled_from(FIXTURES),
    where=st.sampled_from(FIELDS),
    value=hostile,
)
def test_a_hostile_value_anywhere_gets_a_valid_answer_without_an_internal_error(
    fixture: str, where: tuple[Any, ...], value: object
) -> None:
    event: Any = load_event(fixture)
    target = event
    for key in where[:-1]:
        target = target.setdefault(key, {}) if isinstance(key, str) else target[key]
    target[where[-1]] = value

    state = HANDLER.runtime.state_of(event, _NoLog())
    response = decide(event, state, HANDLER.config).response()  # raises if anything escapes

    assert_valid_response(response, event)


class _NoLog:
    def log(self, *args: Any, **kwargs: Any) -> None:
        pass
