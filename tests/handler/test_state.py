"""The call state stored in one transaction attribute."""

from __future__ import annotations

import json

import pytest
from sma_recording.state import STATE_KEY, CallState, Flow, LegStatus, Pending


def test_round_trips_through_its_attribute_value() -> None:
    state = CallState(
        flow=Flow.BRIDGED,
        leg_a=LegStatus.PAUSED,
        leg_b=LegStatus.FAILED,
        consent_played=True,
        dtmf_armed=True,
        last_sent="7:PauseCallRecording",
        resend={"Type": "PlayAudio", "Parameters": {"CallId": "x"}},
    )

    assert CallState.decode(state.encode()) == (state, None)


def test_is_one_compact_json_string() -> None:
    value = CallState().encode()

    assert json.loads(value)["v"] == 1
    assert " " not in value


def test_no_attribute_is_a_fresh_state_without_warning() -> None:
    assert CallState.from_attributes({}) == (CallState(), None)


@pytest.mark.parametrize("value", ["not json", "[1]", '{"v": 2}', 42])
def test_unreadable_value_is_a_fresh_state_with_a_warning(value: object) -> None:
    state, warning = CallState.from_attributes({STATE_KEY: value})

    assert state == CallState()
    assert warning is not None
    assert STATE_KEY in warning


def test_unknown_values_fall_back_to_defaults_and_keep_the_rest() -> None:
    value = json.dumps({"v": 1, "f": "bridged", "a": "dancing", "b": "recording", "c": 7})

    state, warning = CallState.decode(value)

    assert (state.flow, state.leg_a, state.leg_b, state.consent_played) == (
        Flow.BRIDGED,
        LegStatus.IDLE,
        LegStatus.RECORDING,
        False,
    )
    assert warning is not None
    assert "a='dancing'" in warning
    assert "c=7" in warning


def test_with_leg_changes_only_that_leg() -> None:
    state = CallState().with_leg("LEG-B", LegStatus.RECORDING)

    assert (state.leg_a, state.leg_b) == (LegStatus.IDLE, LegStatus.RECORDING)


def test_pending_actions_round_trip_and_are_left_out_when_unset() -> None:
    state = CallState(
        leg_a=LegStatus.STOPPED,
        pending_a=Pending("StopCallRecording", LegStatus.PAUSED),
        pending_b=Pending("PauseCallRecording", LegStatus.RECORDING, in_list=True),
    )

    assert CallState.decode(state.encode()) == (state, None)
    assert "pa" not in CallState().encode()


@pytest.mark.parametrize(
    "value",
    [
        '["StartCallRecording","recording",0]',
        '["PauseCallRecording","stopped",0]',
        '["PauseCallRecording","recording",true]',
        '["PauseCallRecording","recording"]',
        '"PauseCallRecording"',
    ],
)
def test_an_unreadable_pending_action_is_dropped_with_a_warning(value: str) -> None:
    state, warning = CallState.decode(f'{{"v":1,"a":"paused","pa":{value}}}')

    assert (state.leg_a, state.pending_a) == (LegStatus.PAUSED, None)
    assert warning is not None
    assert "pa=" in warning
