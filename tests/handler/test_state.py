"""The call state stored in one transaction attribute."""

from __future__ import annotations

import json

import pytest
from sma_recording.state import (
    MAX_STATE_CHARS,
    STATE_KEY,
    CallState,
    Flow,
    LegStatus,
    Pending,
    seal,
)


def test_round_trips_through_its_attribute_value() -> None:
    state = CallState(
        flow=Flow.BRIDGED,
        leg_a=LegStatus.PAUSED,
        leg_b=LegStatus.FAILED,
        consent_played=True,
        dtmf_armed=True,
        last_sent="7:PauseCallRecording",
        resend={"Type": "PlayAudio", "Parameters": {"CallId": "x"}},
        seen=12,
    )

    assert CallState.decode(state.encode()) == (state, None)


def test_is_one_compact_json_string() -> None:
    value = CallState().encode()

    assert json.loads(value)["v"] == 2
    assert " " not in value


def test_no_attribute_is_a_fresh_state_without_warning() -> None:
    assert CallState.from_attributes({}) == (CallState(), None)


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("not json", "not JSON"),
        ("[1]", "not a JSON object"),
        ('{"v": 2}', "checksum mismatch"),
        ('{"v":1,"f":"bridged","a":"recording","b":"idle","c":0,"d":0,"s":""}', "format version"),
        (42, "not a string"),
        ("[" * 2000 + "]" * 2000, "nested deeper"),
        ('{"v":2,"s":"' + "x" * MAX_STATE_CHARS + '"}', "longer than"),
    ],
)
def test_a_value_the_handler_did_not_write_is_rejected_with_a_warning(
    value: object, reason: str
) -> None:
    state, warning = CallState.from_attributes({STATE_KEY: value})

    assert state == CallState()
    assert state.rejected is not None
    assert reason in state.rejected
    assert warning is not None
    assert STATE_KEY in warning


def test_a_hand_edited_value_is_rejected() -> None:
    value = CallState(flow=Flow.BRIDGED, leg_a=LegStatus.STOPPED).encode()
    edited = value.replace('"a":"stopped"', '"a":"idle"')

    state, _ = CallState.decode(edited)

    assert edited != value
    assert state.rejected is not None
    assert "checksum" in state.rejected


@pytest.mark.parametrize(
    ("document", "problem"),
    [
        ({"f": "new", "a": "recording"}, "LEG-A is recording before the call is connected"),
        ({"f": "bridging", "b": "paused"}, "LEG-B is paused before the call is connected"),
        ({"f": "ended", "a": "starting"}, "LEG-A is starting while the call is ended"),
        ({"f": "bridged", "a": "stopped", "wa": "paused"}, "deferred paused while stopped"),
        ({"f": "ended", "a": "recording", "wb": "recording"}, "deferred recording"),
        (
            {"f": "bridged", "a": "recording", "pa": ["PauseCallRecording", "recording", 0]},
            "pending PauseCallRecording while recording",
        ),
    ],
)
def test_values_the_handler_never_writes_together_are_rejected(
    document: dict[str, object], problem: str
) -> None:
    state, warning = CallState.decode(seal({"v": 2, **document}))

    assert state.rejected is not None
    assert problem in state.rejected
    assert warning is not None


@pytest.mark.parametrize(
    "document",
    [
        {"f": "bridged", "a": "dancing"},
        {"f": "bridged", "c": 7},
        {"f": "bridged", "n": -1},
        {"f": "bridged", "n": "7"},
        {"f": "bridged", "s": 7},
        {"f": "bridged", "r": {"Parameters": {}}},
        {"f": "bridged", "x": 1},
    ],
)
def test_a_sealed_value_of_the_wrong_type_or_key_is_rejected(document: dict[str, object]) -> None:
    state, warning = CallState.decode(seal({"v": 2, **document}))

    assert state == CallState()
    assert state.rejected is not None
    assert warning is not None


def test_with_leg_changes_only_that_leg() -> None:
    state = CallState().with_leg("LEG-B", LegStatus.RECORDING)

    assert (state.leg_a, state.leg_b) == (LegStatus.IDLE, LegStatus.RECORDING)


def test_pending_actions_round_trip_and_are_left_out_when_unset() -> None:
    state = CallState(
        flow=Flow.BRIDGED,
        leg_a=LegStatus.STOPPED,
        leg_b=LegStatus.PAUSED,
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
def test_an_unreadable_pending_action_rejects_the_state(value: str) -> None:
    state, warning = CallState.decode(
        seal({"v": 2, "f": "bridged", "a": "paused", "pa": json.loads(value)})
    )

    assert state.rejected is not None
    assert warning is not None
    assert "unreadable value (pa)" in warning
