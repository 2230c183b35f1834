"""Properties over thousands of random and malformed events: the handler never fails a call."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sma_recording import with_recording
from sma_recording.config import Destination, RecordingConfig
from sma_recording.entry import RecordingHandler
from sma_recording.events import EventType
from sma_recording.state import (
    COMMAND_ACTIONS,
    STATE_KEY,
    WANTED_STATUSES,
    CallState,
    Flow,
    LegStatus,
    Pending,
)

from .conftest import (
    CALLER,
    CONSENT_TEXT,
    DTMF,
    EVENTS,
    LEG_A,
    LEG_B,
    SPEAK_CONSENT,
    FakeContext,
    load_event,
    make_config,
)

PROPERTY = settings(
    max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None
)

# -- what every response must satisfy (from the reference, §2, §3.1 and §6; not from the code) -------

E164_OR_URI = str
SIP_CODES = {"0", "480", "486"}
RECORDING_ACTIONS = {
    "StartCallRecording",
    "PauseCallRecording",
    "ResumeCallRecording",
    "StopCallRecording",
}


def _call_id(parameters: Mapping[str, Any]) -> bool:
    return isinstance(parameters.get("CallId"), str) and bool(parameters["CallId"])


def _target(parameters: Mapping[str, Any]) -> bool:
    return _call_id(parameters) or parameters.get("ParticipantTag") in ("LEG-A", "LEG-B")


def _s3(source: object) -> bool:
    return (
        isinstance(source, Mapping)
        and source.get("Type") == "S3"
        and all(isinstance(source.get(k), str) and source.get(k) for k in ("BucketName", "Key"))
    )


def _bridge(p: Mapping[str, Any]) -> bool:
    endpoints = p.get("Endpoints")
    if not (
        isinstance(endpoints, list) and len(endpoints) == 1 and isinstance(endpoints[0], Mapping)
    ):
        return False
    endpoint = endpoints[0]
    kind = endpoint.get("BridgeEndpointType")
    timeout = p.get("CallTimeoutSeconds", 30)
    return (
        isinstance(p.get("CallerIdNumber"), str)
        and bool(p["CallerIdNumber"])
        and kind in ("PSTN", "AWS")
        and isinstance(endpoint.get("Uri"), str)
        and (kind == "PSTN" or isinstance(endpoint.get("Arn"), str))
        and isinstance(timeout, int)
        and 1 <= timeout <= 120
    )


REQUIRED = {
    "StartCallRecording": lambda p: (
        _call_id(p)
        and p.get("Track") in ("BOTH", "INCOMING", "OUTGOING")
        and isinstance(p.get("Destination"), Mapping)
        and p["Destination"].get("Type") == "S3"
        and isinstance(p["Destination"].get("Location"), str)
        and bool(p["Destination"]["Location"])
    ),
    "PauseCallRecording": _call_id,
    "ResumeCallRecording": _call_id,
    "StopCallRecording": _call_id,
    "Speak": lambda p: (
        _call_id(p) and isinstance(p.get("Text"), str) and 0 < len(p["Text"]) <= 1000
    ),
    "PlayAudio": lambda p: _target(p) and _s3(p.get("AudioSource")),
    "ReceiveDigits": lambda p: (
        _target(p)
        and isinstance(p.get("InputDigitsRegex"), str)
        and isinstance(p.get("InBetweenDigitsDurationInMilliseconds"), int)
        and isinstance(p.get("FlushDigitsDurationInMilliseconds"), int)
    ),
    "Hangup": lambda p: _target(p) and p.get("SipResponseCode", "0") in SIP_CODES,
    "Pause": lambda p: (
        _target(p)
        and isinstance(p.get("DurationInMilliseconds"), int)
        and p["DurationInMilliseconds"] > 0
    ),
    "CallAndBridge": _bridge,
}


def assert_valid_response(response: object, event: object) -> None:
    assert isinstance(response, dict)
    assert response["SchemaVersion"] == "1.0"
    actions = response["Actions"]
    # §2: a list replaces the queued actions; null keeps them (the handler's answer while actions of
    # its own are queued, e.g. a StartCallRecording behind the consent announcement).
    if actions is None:
        actions = []
    assert isinstance(actions, list)
    assert len(actions) <= 10
    participant_ids = set()
    if isinstance(event, Mapping) and isinstance(event.get("CallDetails"), Mapping):
        for participant in event["CallDetails"].get("Participants") or []:
            if isinstance(participant, Mapping) and isinstance(participant.get("CallId"), str):
                participant_ids.add(participant["CallId"])
    # §2: one success event per list, and a failed action drops the rest of the list: a second
    # recording action in a list could be lost unseen.
    assert sum(a.get("Type") in RECORDING_ACTIONS for a in actions) <= 1, actions
    for action in actions:
        assert set(action) == {"Type", "Parameters"}, action
        assert action["Type"] in REQUIRED, action
        assert REQUIRED[action["Type"]](action["Parameters"]), action
        if "CallId" in action["Parameters"]:
            assert action["Parameters"]["CallId"] in participant_ids, action
    if "TransactionAttributes" in response:
        attributes = response["TransactionAttributes"]
        assert isinstance(attributes, dict)
        assert len(attributes) <= 10
        assert all(isinstance(k, str) and isinstance(v, str) for k, v in attributes.items())
    json.dumps(response)


# -- strategies ---------------------------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=12),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=8,
)
states = st.builds(
    CallState,
    flow=st.sampled_from(list(Flow)),
    leg_a=st.sampled_from(list(LegStatus)),
    leg_b=st.sampled_from(list(LegStatus)),
    consent_played=st.booleans(),
    dtmf_armed=st.booleans(),
    last_sent=st.text(max_size=10),
    wanted_a=st.none() | st.sampled_from(WANTED_STATUSES),
    wanted_b=st.none() | st.sampled_from(WANTED_STATUSES),
    pending_a=st.none()
    | st.builds(
        Pending,
        st.sampled_from(COMMAND_ACTIONS),
        st.sampled_from([LegStatus.RECORDING, LegStatus.PAUSED]),
        st.booleans(),
    ),
    pending_b=st.none()
    | st.builds(
        Pending,
        st.sampled_from(COMMAND_ACTIONS),
        st.sampled_from([LegStatus.RECORDING, LegStatus.PAUSED]),
        st.booleans(),
    ),
).map(CallState.encode)
attributes = st.dictionaries(st.text(max_size=6), st.text(max_size=6), max_size=11) | st.builds(
    lambda extra, state: {**extra, STATE_KEY: state},
    st.dictionaries(st.text(max_size=6), st.text(max_size=6), max_size=10),
    states | st.text(max_size=20) | st.just('{"v":1,"f":"bridged","a":7}'),
)
call_ids = st.sampled_from([LEG_A, LEG_B, "other-call"])
participants = st.fixed_dictionaries(
    {"CallId": call_ids, "ParticipantTag": st.sampled_from(["LEG-A", "LEG-B", "LEG-C"])},
    optional={
        "Status": st.sampled_from(["Connected", "Disconnected", "Ringing"]),
        "From": st.sampled_from([CALLER, "", "anonymous"]),
        "To": st.sampled_from([CALLER, "+12065550142"]),
        "Direction": st.sampled_from(["Inbound", "Outbound"]),
        "StartTimeInMilliseconds": st.text(max_size=14) | st.integers(),
    },
)
arguments = st.dictionaries(
    st.sampled_from(["recording", "callId", "JoinToken"]),
    st.sampled_from(["start", "pause", "resume", "stop", "Stop ", "rewind", LEG_A, LEG_B, ""]),
    max_size=3,
)
action_data = st.fixed_dictionaries(
    {
        "Type": st.sampled_from(
            [
                "StartCallRecording",
                "PauseCallRecording",
                "ResumeCallRecording",
                "StopCallRecording",
                "CallAndBridge",
                "Speak",
                "PlayAudio",
                "Pause",
                "ReceiveDigits",
                "Hangup",
                "CallUpdateRequest",
                "Mystery",
            ]
        )
    },
    optional={
        "Parameters": st.fixed_dictionaries(
            {},
            optional={
                "CallId": call_ids,
                "ParticipantTag": st.sampled_from(["LEG-A", "LEG-B"]),
                "Arguments": arguments | json_values,
                "Text": st.just(CONSENT_TEXT),
                "InputDigitsRegex": st.just(r"^(\*1|\*2)$"),
            },
        )
        | json_values,
        "ReceivedDigits": st.sampled_from(["*1", "*2", "4111", ""]) | json_values,
        "ErrorType": st.text(max_size=20),
        "ErrorMessage": st.text(max_size=20),
        "Error": st.text(max_size=30),
        "CallRecordingDestination": st.fixed_dictionaries({"Location": st.text(max_size=20)})
        | json_values,
    },
)
event_types = st.sampled_from(
    [*[e.value for e in EventType], "NEW_INCOMING_CALL", "SOMETHING_ELSE"]
)
plausible_events = st.fixed_dictionaries(
    {
        "InvocationEventType": event_types,
        "CallDetails": st.fixed_dictionaries(
            {
                "TransactionId": st.text(min_size=1, max_size=10),
                "Participants": st.lists(participants, max_size=3),
            },
            optional={"TransactionAttributes": attributes | json_values},
        ),
    },
    optional={
        "SchemaVersion": st.sampled_from(["1.0", "2.0"]),
        "Sequence": st.integers() | st.text(max_size=3),
        "ActionData": action_data | json_values,
        "ErrorType": st.text(max_size=10),
        "ErrorMessage": st.text(max_size=10),
    },
)
FIXTURES = sorted(path.stem for path in EVENTS.glob("*.json"))
fixture_events = st.builds(
    lambda name, attrs: load_event(name, attributes=attrs), st.sampled_from(FIXTURES), attributes
)
events = plausible_events | fixture_events | json_values

CONFIGS = [
    make_config(),
    make_config(bridge=None, consent=SPEAK_CONSENT, dtmf=DTMF),
    make_config(
        leg="LEG-B",
        announceToCallee=True,
        consent={"audio": {"bucket": "recordings-bucket", "key": "prompts/consent.wav"}},
        dtmf=DTMF,
    ),
    make_config(autoStart=False, dtmf=DTMF, track="OUTGOING"),
    make_config(
        bridge={"endpointType": "AWS", "uri": "desk", "arn": "arn:aws:chime:us-east-1:1:vc/x"}
    ),
    RecordingConfig(
        "app", Destination("recording-disabled"), bridge=make_config().bridge, disabled_reason="x"
    ),
    RecordingConfig("app", Destination("recording-disabled"), disabled_reason="x"),
]
HANDLERS = [RecordingHandler(config) for config in CONFIGS]


@PROPERTY
@given(event=events, which=st.integers(0, len(HANDLERS) - 1))
def test_any_event_gets_a_valid_response(event: object, which: int) -> None:
    assert_valid_response(HANDLERS[which](event, FakeContext()), event)


@settings(max_examples=1500, deadline=None, database=None)
@given(name=st.sampled_from(FIXTURES), state=states, which=st.integers(0, len(HANDLERS) - 1))
def test_any_fixture_in_any_state_gets_a_valid_response(name: str, state: str, which: int) -> None:
    event = load_event(name, attributes={STATE_KEY: state})

    assert_valid_response(HANDLERS[which](event, FakeContext()), event)


# -- the wrapper --------------------------------------------------------------------------------------

user_actions = st.lists(
    st.sampled_from(
        [
            {
                "Type": "PlayAudio",
                "Parameters": {
                    "CallId": LEG_A,
                    "AudioSource": {"Type": "S3", "BucketName": "b", "Key": "k"},
                },
            },
            {"Type": "Speak", "Parameters": {"CallId": LEG_A, "Text": "Hello"}},
            {"Type": "Pause", "Parameters": {"CallId": LEG_A, "DurationInMilliseconds": 500}},
            {"Type": "Hangup", "Parameters": {"CallId": LEG_A, "SipResponseCode": "0"}},
        ]
    ),
    max_size=10,
)
user_answers = st.one_of(
    st.builds(lambda a: {"SchemaVersion": "1.0", "Actions": a}, user_actions),
    st.builds(
        lambda a, attrs: {"SchemaVersion": "1.0", "Actions": a, "TransactionAttributes": attrs},
        user_actions,
        st.dictionaries(st.text(min_size=1, max_size=5), st.text(max_size=5), max_size=10),
    ),
    st.just({"SchemaVersion": "1.0", "Actions": None}),
    st.just("raise"),
    json_values,
)
WRAPPER_CONFIGS = [
    make_config(bridge=None, consent=SPEAK_CONSENT, dtmf=DTMF),
    make_config(announceToCallee=True, consent=SPEAK_CONSENT),
]


@settings(max_examples=600, deadline=None, database=None)
@given(event=plausible_events | fixture_events, answer=user_answers, which=st.integers(0, 1))
def test_the_wrapper_never_raises_and_keeps_within_the_limits(
    event: object, answer: object, which: int
) -> None:
    def user(event: object, context: object) -> object:
        if answer == "raise":
            raise RuntimeError("user bug")
        return answer

    response = with_recording(config=WRAPPER_CONFIGS[which])(user)(event, FakeContext())

    if isinstance(response, dict) and isinstance(response.get("Actions"), list):
        assert len(response["Actions"]) <= 10
    if isinstance(response, dict) and isinstance(response.get("TransactionAttributes"), dict):
        assert len(response["TransactionAttributes"]) <= 10
        assert all(isinstance(v, str) for v in response["TransactionAttributes"].values())
    if answer == "raise" or not isinstance(answer, dict):
        assert_valid_response(response, event)
