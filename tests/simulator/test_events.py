"""Invocation events as the service builds them (reference §1, §2, §5)."""

from __future__ import annotations

from cdk_recording.testing import (
    Answer,
    BridgeBehaviour,
    BridgeOutcome,
    Digits,
    Hangup,
    OutboundCall,
    Scenario,
    Step,
    UpdateRequest,
)
from tests.simulator.conftest import (
    AGENT,
    CALLER,
    NUMBER,
    Script,
    bridge,
    call_id,
    hangup,
    inbound,
    on,
    pause,
    receive_digits,
    respond,
    simulate,
    speak,
)


def test_first_event_is_new_inbound_call_with_leg_a() -> None:
    """§1: NEW_INBOUND_CALL carries the caller as LEG-A, Inbound, Connected, From/To in E.164."""
    script = Script()
    simulate(script, inbound())
    first = script.events[0]
    assert first["SchemaVersion"] == "1.0"
    assert first["InvocationEventType"] == "NEW_INBOUND_CALL"
    [leg_a] = first["CallDetails"]["Participants"]
    assert leg_a["ParticipantTag"] == "LEG-A"
    assert leg_a["Direction"] == "Inbound"
    assert leg_a["Status"] == "Connected"
    assert (leg_a["From"], leg_a["To"]) == (CALLER, NUMBER)


def test_start_time_is_a_string_of_epoch_milliseconds() -> None:
    """§1, §11.6: StartTimeInMilliseconds is epoch ms as a string."""
    script = Script()
    simulate(script, inbound())
    start = script.events[0]["CallDetails"]["Participants"][0]["StartTimeInMilliseconds"]
    assert isinstance(start, str)
    assert start.isdigit()
    assert int(start) == 1_795_512_600_000


def test_call_details_carry_account_region_and_ids() -> None:
    """§1: CallDetails has TransactionId, AwsAccountId, AwsRegion, SipMediaApplicationId (and
    SipRuleId on inbound calls, as in the examples)."""
    script = Script()
    simulate(script, inbound(), account_id="210987654321", region="us-west-2")
    details = script.events[0]["CallDetails"]
    assert details["AwsAccountId"] == "210987654321"
    assert details["AwsRegion"] == "us-west-2"
    for key in ("TransactionId", "SipMediaApplicationId", "SipRuleId"):
        assert len(details[key]) == 36


def test_sequence_goes_up_by_one_on_every_invocation() -> None:
    """§1: Sequence goes up by one on every invocation within a call."""
    script = Script(on(NEW_INBOUND_CALL=respond(pause(1000))))
    simulate(script, inbound((5, UpdateRequest({"k": "v"})), hangup_at=10))
    assert [event["Sequence"] for event in script.events] == list(range(1, len(script.events) + 1))
    assert len(script.events) >= 4


def test_transaction_id_is_the_same_for_every_event_of_a_call() -> None:
    """§1: TransactionId identifies the whole call."""
    script = Script(on(NEW_INBOUND_CALL=respond(pause(1000))))
    simulate(script, inbound(hangup_at=5))
    assert len({event["CallDetails"]["TransactionId"] for event in script.events}) == 1


def test_transaction_attributes_absent_until_set() -> None:
    """§1: TransactionAttributes is echoed in CallDetails once set (and not before)."""
    script = Script()
    simulate(script, inbound(hangup_at=5))
    assert "TransactionAttributes" not in script.events[0]["CallDetails"]


def test_transaction_attributes_echo_the_map_last_returned() -> None:
    """§2: the map is replaced, not merged: the next event carries exactly the last map."""
    script = Script(
        on(
            NEW_INBOUND_CALL=respond(pause(1000), attributes={"a": "1", "b": "2"}),
            ACTION_SUCCESSFUL=respond(pause(1000), attributes={"c": "3"}),
        )
    )
    simulate(script, inbound(hangup_at=1.5))
    assert script.events[1]["CallDetails"]["TransactionAttributes"] == {"a": "1", "b": "2"}
    assert script.events[2]["CallDetails"]["TransactionAttributes"] == {"c": "3"}


def test_transaction_attributes_kept_when_response_leaves_them_out_or_null() -> None:
    """§2: leaving TransactionAttributes out, or sending null, does not clear the map."""
    responses = iter(
        [
            respond(pause(1000), attributes={"a": "1"}),
            respond(pause(1000)),
            {"SchemaVersion": "1.0", "Actions": [pause(1000)], "TransactionAttributes": None},
        ]
    )
    script = Script(lambda _: next(responses, None))
    simulate(script, inbound(hangup_at=3.5))
    assert [e["CallDetails"].get("TransactionAttributes") for e in script.events[1:4]] == [
        {"a": "1"},
        {"a": "1"},
        {"a": "1"},
    ]


def test_empty_transaction_attributes_clear_the_map() -> None:
    """§2: ``{}`` clears the map."""
    responses = iter([respond(pause(1000), attributes={"a": "1"}), respond(attributes={})])
    script = Script(lambda _: next(responses, None))
    simulate(script, inbound((2, UpdateRequest()), hangup_at=3))
    assert script.events[1]["CallDetails"]["TransactionAttributes"] == {"a": "1"}
    assert "TransactionAttributes" not in script.events[2]["CallDetails"]


def test_leg_b_is_added_by_a_successful_call_and_bridge() -> None:
    """§1, §6 (call-and-bridge): LEG-B appears once CallAndBridge connects: Outbound, Connected,
    From the caller id, To the endpoint; ActionData.Parameters gains LEG-A's CallId."""
    script = Script(on(NEW_INBOUND_CALL=respond(bridge())))
    simulate(script, inbound())
    success = script.of("ACTION_SUCCESSFUL")[0]
    participants = success["CallDetails"]["Participants"]
    assert [p["ParticipantTag"] for p in participants] == ["LEG-A", "LEG-B"]
    leg_b = participants[1]
    assert (leg_b["Direction"], leg_b["Status"]) == ("Outbound", "Connected")
    assert (leg_b["From"], leg_b["To"]) == (CALLER, AGENT)
    assert success["ActionData"]["Parameters"]["CallId"] == participants[0]["CallId"]
    assert leg_b["CallId"] != participants[0]["CallId"]
    assert int(leg_b["StartTimeInMilliseconds"]) > int(participants[0]["StartTimeInMilliseconds"])


def test_failed_bridge_lists_only_leg_a() -> None:
    """§6 (call-and-bridge failure example): the ACTION_FAILED event has LEG-A only, and
    ErrorType CallNotAnswered."""
    script = Script(on(NEW_INBOUND_CALL=respond(bridge(timeout=10))))
    simulate(script, inbound((0, BridgeBehaviour(BridgeOutcome.NO_ANSWER))))
    failed = script.of("ACTION_FAILED")[0]
    assert [p["ParticipantTag"] for p in failed["CallDetails"]["Participants"]] == ["LEG-A"]
    assert failed["ActionData"]["ErrorType"] == "CallNotAnswered"


def test_hangup_event_names_the_leg_and_its_code() -> None:
    """§1: HANGUP ActionData = {Type: Hangup, Parameters: {SipResponseCode, CallId,
    ParticipantTag}}, and the leg shows Disconnected."""
    script = Script()
    simulate(script, inbound((1, Hangup("LEG-A", 486)), hangup_at=None))
    event = script.of("HANGUP")[0]
    assert event["ActionData"]["Type"] == "Hangup"
    assert event["ActionData"]["Parameters"] == {
        "SipResponseCode": 486,
        "CallId": call_id(event),
        "ParticipantTag": "LEG-A",
    }
    assert event["CallDetails"]["Participants"][0]["Status"] == "Disconnected"


def test_call_update_requested_carries_the_arguments() -> None:
    """§5: CALL_UPDATE_REQUESTED has ActionData {Type: CallUpdateRequest, Parameters:
    {Arguments}}."""
    script = Script()
    simulate(script, inbound((3, UpdateRequest({"recording": "pause"}))))
    [event] = script.of("CALL_UPDATE_REQUESTED")
    assert event["ActionData"] == {
        "Type": "CallUpdateRequest",
        "Parameters": {"Arguments": {"recording": "pause"}},
    }


def test_digits_received_carries_digits_and_the_receive_digits_action() -> None:
    """§1, §6: DIGITS_RECEIVED has ActionData.ReceivedDigits and the ReceiveDigits action."""
    script = Script(on(NEW_INBOUND_CALL=lambda e: respond(receive_digits(call_id(e)))))
    simulate(script, inbound((2, Digits("*1"))))
    [event] = script.of("DIGITS_RECEIVED")
    assert event["ActionData"]["ReceivedDigits"] == "*1"
    assert event["ActionData"]["Type"] == "ReceiveDigits"
    assert event["ActionData"]["Parameters"]["InputDigitsRegex"] == r"^(\*1|\*2)$"


def test_outbound_call_rings_then_is_answered() -> None:
    """§1: NEW_OUTBOUND_CALL, RINGING, then CALL_ANSWERED when the callee answers; the leg is
    Outbound and has no Status while ringing."""
    script = Script()
    scenario = Scenario(
        (
            Step.at(0, OutboundCall(NUMBER, CALLER)),
            Step.at(4, Answer()),
            Step.at(9, Hangup("LEG-A")),
        )
    )
    simulate(script, scenario)
    assert script.types()[:3] == ["NEW_OUTBOUND_CALL", "RINGING", "CALL_ANSWERED"]
    ringing = script.events[0]["CallDetails"]["Participants"][0]
    assert ringing["Direction"] == "Outbound"
    assert "Status" not in ringing
    assert "SipRuleId" not in script.events[0]["CallDetails"]
    assert script.events[2]["CallDetails"]["Participants"][0]["Status"] == "Connected"


def test_outbound_actions_wait_for_the_answer() -> None:
    """§1: CALL_ANSWERED is when the called party picks up; actions returned while it rings wait."""
    script = Script(on(NEW_OUTBOUND_CALL=lambda e: respond(speak(call_id(e)))))
    scenario = Scenario(
        (
            Step.at(0, OutboundCall(NUMBER, CALLER)),
            Step.at(4, Answer()),
            Step.at(20, Hangup("LEG-A")),
        )
    )
    report = simulate(script, scenario)
    [speak_action] = [a for a in report.actions if a.type == "Speak"]
    # RINGING's empty answer replaced the queued Speak: a new list replaces the old (§2).
    assert speak_action.outcome == "replaced"


def test_handler_gets_a_fresh_copy_of_each_event() -> None:
    """§1: the service sends JSON; a handler mutating the event cannot change the next one."""

    def mutate(event: dict) -> dict:  # type: ignore[type-arg]
        event["CallDetails"]["Participants"].clear()
        return respond(hangup(call_id_of_first[0]))

    call_id_of_first: list[str] = []

    def answer(event: dict) -> object:  # type: ignore[type-arg]
        if not call_id_of_first:
            call_id_of_first.append(call_id(event))
            return mutate(event)
        return None

    script = Script(answer)
    report = simulate(script, inbound(hangup_at=None))
    assert report.hangups[0].cause == "handler"
