"""How action lists run: success and failure events, replacement, interruption, hangups
(reference §2, §5, §6 and the hangup and call-and-bridge pages)."""

from __future__ import annotations

import time

import pytest

from cdk_recording.testing import (
    Answer,
    BridgeBehaviour,
    BridgeOutcome,
    Digits,
    Hangup,
    HangupCause,
    InjectFailure,
    UpdateRequest,
)
from tests.simulator.conftest import (
    Script,
    action_type,
    bridge,
    call_id,
    hangup,
    inbound,
    on,
    pause,
    play_audio,
    receive_digits,
    respond,
    simulate,
    speak,
)


def test_one_action_successful_per_list_naming_the_last_action() -> None:
    """§2 (use-case-2): one ACTION_SUCCESSFUL once every action of the list succeeded, and its
    ActionData is the list's last action."""
    script = Script(
        on(NEW_INBOUND_CALL=lambda e: respond(speak(call_id(e)), pause(500), pause(700)))
    )
    simulate(script, inbound(hangup_at=30))
    [success] = script.of("ACTION_SUCCESSFUL")
    assert success["ActionData"]["Type"] == "Pause"
    assert success["ActionData"]["Parameters"]["DurationInMilliseconds"] == 700


def test_actions_run_in_order_and_take_their_time() -> None:
    """§2: the list runs in order; Pause lasts DurationInMilliseconds on the simulated clock."""
    script = Script(on(NEW_INBOUND_CALL=respond(pause(1500), pause(2500))))
    report = simulate(script, inbound(hangup_at=30))
    first, second = report.actions
    assert (first.started_ms, first.ended_ms) == (0, 1500)
    assert (second.started_ms, second.ended_ms) == (1500, 4000)
    assert script.of("ACTION_SUCCESSFUL")[0]["Sequence"] == 2


def test_failed_action_drops_the_rest_of_the_list() -> None:
    """§2: on failure, ACTION_FAILED for that action, and the rest of the list is dropped."""
    script = Script(
        on(NEW_INBOUND_CALL=lambda e: respond(pause(500), speak(call_id(e)), pause(700)))
    )
    report = simulate(script, inbound((0, InjectFailure("Speak", "SystemException")), hangup_at=30))
    assert script.types()[:2] == ["NEW_INBOUND_CALL", "ACTION_FAILED"]
    assert script.events[1]["ActionData"]["Type"] == "Speak"
    assert [a.outcome for a in report.actions] == ["succeeded", "failed", "dropped"]
    assert not script.of("ACTION_SUCCESSFUL")


def test_action_failed_error_fields_by_default() -> None:
    """§1: ACTION_FAILED repeats the failed action and adds ErrorType and ErrorMessage."""
    script = Script(on(NEW_INBOUND_CALL=lambda e: respond(speak(call_id(e), "Hi"))))
    simulate(script, inbound((0, InjectFailure("Speak", "AccessDenied", "no role")), hangup_at=9))
    data = script.of("ACTION_FAILED")[0]["ActionData"]
    assert data["Parameters"]["Text"] == "Hi"
    assert (data["ErrorType"], data["ErrorMessage"]) == ("AccessDenied", "no role")


def test_action_failed_error_can_come_as_one_error_string() -> None:
    """§3.3, §11.2: the DG StartCallRecording failure example uses a single Error string."""
    script = Script(on(NEW_INBOUND_CALL=lambda e: respond(speak(call_id(e)))))
    failure = InjectFailure("Speak", "SystemException", "boom", form="errorString")  # type: ignore[arg-type]
    simulate(script, inbound((0, failure), hangup_at=9))
    data = script.of("ACTION_FAILED")[0]["ActionData"]
    assert data["Error"] == "SystemException: boom"
    assert "ErrorType" not in data


def test_action_failed_error_at_the_top_level_when_configured() -> None:
    """§11.2: errors may sit at the top level of the event; the form is an option."""
    script = Script(on(NEW_INBOUND_CALL=lambda e: respond(speak(call_id(e)))))
    simulate(
        script,
        inbound((0, InjectFailure("Speak", "SystemException", "boom")), hangup_at=9),
        action_error_form="topLevel",
    )
    failed = script.of("ACTION_FAILED")[0]
    assert (failed["ErrorType"], failed["ErrorMessage"]) == ("SystemException", "boom")
    assert "ErrorType" not in failed["ActionData"]


def test_injected_failure_applies_count_times() -> None:
    """§3.3: failures (NoAccessToDestination, SystemException...) are scriptable: ``count`` actions of the type fail, then they succeed."""
    script = Script(
        on(
            ACTION_FAILED=respond(pause(100)),
            NEW_INBOUND_CALL=respond(pause(100)),
        )
    )
    report = simulate(
        script, inbound((0, InjectFailure("Pause", "SystemException", count=2)), hangup_at=9)
    )
    assert [a.outcome for a in report.actions[:3]] == ["failed", "failed", "succeeded"]


def test_new_list_replaces_the_rest_after_the_running_action() -> None:
    """§2: a new list (here answering an update request during a non-interruptible Speak)
    replaces what remained of the old list once the running action finishes."""
    script = Script(
        on(
            NEW_INBOUND_CALL=lambda e: respond(speak(call_id(e), "x" * 100), pause(5000)),
            CALL_UPDATE_REQUESTED=respond(pause(1000)),
        )
    )
    report = simulate(script, inbound((1, UpdateRequest({"go": "1"})), hangup_at=30))
    speak_log, replaced, new_pause = report.actions
    assert (speak_log.type, speak_log.outcome, speak_log.ended_ms) == ("Speak", "succeeded", 6000)
    assert (replaced.type, replaced.outcome) == ("Pause", "replaced")
    assert (new_pause.started_ms, new_pause.ended_ms) == (6000, 7000)
    assert "ACTION_INTERRUPTED" not in script.types()


def test_running_action_replaced_by_an_empty_list_is_reported() -> None:
    """§2 (unconfirmed detail, modelled as one queue): when an empty list replaces the rest while
    CallAndBridge runs, its completion is still reported, so the handler learns LEG-B is there."""
    script = Script(
        on(NEW_INBOUND_CALL=respond(bridge(), pause(5000)), CALL_UPDATE_REQUESTED=respond())
    )
    report = simulate(script, inbound((1, UpdateRequest()), hangup_at=30))
    assert [(a.type, a.outcome) for a in report.actions] == [
        ("CallAndBridge", "succeeded"),
        ("Pause", "replaced"),
    ]
    assert script.of("ACTION_SUCCESSFUL")[0]["ActionData"]["Type"] == "CallAndBridge"


def test_null_actions_keep_the_queued_list() -> None:
    """§2: a null action list keeps the existing actions."""
    script = Script(
        on(
            NEW_INBOUND_CALL=lambda e: respond(speak(call_id(e), "x" * 100), pause(5000)),
            CALL_UPDATE_REQUESTED={"SchemaVersion": "1.0", "Actions": None},
        )
    )
    report = simulate(script, inbound((1, UpdateRequest()), hangup_at=30))
    assert [(a.type, a.outcome) for a in report.actions] == [
        ("Speak", "succeeded"),
        ("Pause", "succeeded"),
    ]


def test_empty_actions_are_a_no_op() -> None:
    """§2: ``Actions: []`` runs nothing and raises no event."""
    script = Script()
    report = simulate(script, inbound(hangup_at=30))
    assert report.actions == ()
    assert script.types() == ["NEW_INBOUND_CALL", "HANGUP"]


def test_update_request_interrupts_pause() -> None:
    """§2 (update-sip-call): Pause is interruptible: stopped at once, ACTION_INTERRUPTED follows
    and the new list starts right away."""
    script = Script(
        on(
            NEW_INBOUND_CALL=respond(pause(30_000)),
            CALL_UPDATE_REQUESTED=respond(pause(1000)),
        )
    )
    report = simulate(script, inbound((5, UpdateRequest()), hangup_at=30))
    assert script.types()[:3] == ["NEW_INBOUND_CALL", "CALL_UPDATE_REQUESTED", "ACTION_INTERRUPTED"]
    interrupted = script.of("ACTION_INTERRUPTED")[0]
    assert interrupted["ActionData"]["Type"] == "Pause"
    first, second = report.actions
    assert (first.outcome, first.ended_ms) == ("interrupted", 5000)
    assert (second.started_ms, second.ended_ms) == (5000, 6000)


def test_update_request_interrupts_play_audio() -> None:
    """§2: PlayAudio is interruptible."""
    script = Script(on(NEW_INBOUND_CALL=lambda e: respond(play_audio(call_id(e)))))
    report = simulate(script, inbound((2, UpdateRequest()), hangup_at=30))
    assert report.actions[0].outcome == "interrupted"
    assert "ACTION_INTERRUPTED" in script.types()


def test_update_request_does_not_interrupt_speak() -> None:
    """§2: only PlayAudio, RecordAudio and Pause are interruptible; Speak completes first."""
    script = Script(on(NEW_INBOUND_CALL=lambda e: respond(speak(call_id(e), "x" * 100))))
    report = simulate(script, inbound((2, UpdateRequest()), hangup_at=30))
    assert report.actions[0].outcome == "succeeded"
    assert "ACTION_INTERRUPTED" not in script.types()


def test_actions_returned_for_action_interrupted_are_ignored() -> None:
    """§1: ACTION_INTERRUPTED is informational; any actions returned are ignored."""
    script = Script(
        on(
            NEW_INBOUND_CALL=respond(pause(30_000)),
            ACTION_INTERRUPTED=lambda e: respond(hangup(call_id(e))),
        )
    )
    report = simulate(script, inbound((5, UpdateRequest()), hangup_at=30))
    assert [h.cause for h in report.hangups] == ["remote"]
    assert report.invocations[2].event_type == "ACTION_INTERRUPTED"
    assert report.invocations[2].ignored


def test_hangup_of_a_single_leg_call_ignores_the_response() -> None:
    """§1 (hangup page): on a single-leg call the HANGUP invocation's response is ignored."""
    script = Script(on(HANGUP=lambda e: respond(speak(call_id(e)))))
    report = simulate(script, inbound(hangup_at=3))
    assert report.invocations[-1].event_type == "HANGUP"
    assert report.invocations[-1].ignored
    assert report.actions == ()


def test_hangup_in_a_bridged_call_runs_the_response_on_the_remaining_leg() -> None:
    """§1 (hangup page): when one leg of a bridged call hangs up, the returned actions run on the
    remaining leg; the other leg is not hung up automatically."""
    script = Script(
        on(
            NEW_INBOUND_CALL=respond(bridge()),
            HANGUP=lambda e: (
                respond(hangup(call_id(e, "LEG-B")))
                if e["ActionData"]["Parameters"]["ParticipantTag"] == "LEG-A"
                else None
            ),
        )
    )
    report = simulate(script, inbound(hangup_at=20))
    assert [(h.leg, h.cause) for h in report.hangups] == [("LEG-A", "remote"), ("LEG-B", "handler")]
    assert script.types()[-2:] == ["HANGUP", "HANGUP"]
    assert report.invocations[-1].ignored
    assert report.ok


def test_leg_left_up_after_the_other_hangs_up_is_reported() -> None:
    """§6 (call-and-bridge page): a leg left hanging is billed until it is hung up; the simulator
    reports it and hangs up after ``linger_ms``."""
    script = Script(on(NEW_INBOUND_CALL=respond(bridge())))
    report = simulate(script, inbound(hangup_at=20), linger_ms=5000)
    assert [p.kind for p in report.problems] == ["leg-left-connected"]
    assert report.hangups[-1].cause == HangupCause.SCENARIO_END
    assert report.hangups[-1].at_ms == 25_000


def test_bridge_answered_after_the_scripted_ring_time() -> None:
    """§6 CallAndBridge: LEG-B connects when the callee answers (scenario: after 4 s)."""
    script = Script(on(NEW_INBOUND_CALL=respond(bridge())))
    report = simulate(script, inbound((0, BridgeBehaviour(after_seconds=4))))
    assert report.actions[0].ended_ms == 4000
    leg_b = report.legs[1]
    assert (leg_b.tag, leg_b.answered_ms) == ("LEG-B", 4000)


def test_bridge_answered_by_an_answer_step() -> None:
    """§6: an ``answer`` step connects the ringing LEG-B at that moment."""
    script = Script(on(NEW_INBOUND_CALL=respond(bridge())))
    scenario = inbound(
        (0, BridgeBehaviour(BridgeOutcome.NO_ANSWER)), (7, Answer("LEG-B")), hangup_at=20
    )
    report = simulate(script, scenario)
    assert report.legs[1].answered_ms == 7000
    assert script.of("ACTION_SUCCESSFUL")[0]["ActionData"]["Type"] == "CallAndBridge"


def test_bridge_busy_fails_the_action() -> None:
    """§6: a busy callee fails CallAndBridge (ACTION_FAILED; no LEG-B)."""
    script = Script(on(NEW_INBOUND_CALL=respond(bridge())))
    report = simulate(script, inbound((0, BridgeBehaviour(BridgeOutcome.BUSY))))
    failed = script.of("ACTION_FAILED")[0]
    assert failed["ActionData"]["ErrorType"] == "CallNotAnswered"
    assert "busy" in failed["ActionData"]["ErrorMessage"]
    assert report.actions[0].ended_ms == 2000
    assert len(report.legs) == 1


def test_bridge_not_answered_fails_at_call_timeout_seconds() -> None:
    """§6: CallTimeoutSeconds bounds the ringing; an unanswered bridge fails then."""
    script = Script(on(NEW_INBOUND_CALL=respond(bridge(timeout=12))))
    report = simulate(script, inbound((0, BridgeBehaviour(BridgeOutcome.NO_ANSWER))))
    assert report.actions[0].outcome == "failed"
    assert report.actions[0].ended_ms == 12_000


def test_caller_hanging_up_while_bridging_ends_the_call() -> None:
    """§1: LEG-A hangs up while LEG-B rings: the bridge is cancelled, and with no leg left the
    HANGUP response is ignored."""
    script = Script(on(NEW_INBOUND_CALL=respond(bridge())))
    report = simulate(script, inbound((0, BridgeBehaviour(BridgeOutcome.NO_ANSWER)), hangup_at=5))
    assert report.actions[0].outcome == "cancelled"
    assert report.invocations[-1].ignored
    assert report.ended_ms == 5000


def test_call_id_wins_over_participant_tag() -> None:
    """§6: where both exist, CallId wins and ParticipantTag is ignored."""

    def answer(event: dict) -> object:  # type: ignore[type-arg]
        if (
            event["InvocationEventType"] == "ACTION_SUCCESSFUL"
            and action_type(event) == "CallAndBridge"
        ):
            action = pause(1000, call_id(event, "LEG-B"))
            action["Parameters"]["ParticipantTag"] = "LEG-A"
            return respond(action)
        if event["InvocationEventType"] == "NEW_INBOUND_CALL":
            return respond(bridge())
        return None

    report = simulate(Script(answer), inbound(hangup_at=20))
    assert report.actions[1].leg == "LEG-B"


def test_participant_tag_defaults_to_the_invoked_leg() -> None:
    """§6: ParticipantTag defaults to the leg that was invoked (DIGITS_RECEIVED on LEG-B)."""
    script = Script(
        on(
            NEW_INBOUND_CALL=respond(bridge()),
            ACTION_SUCCESSFUL__CallAndBridge=lambda e: respond(receive_digits(call_id(e, "LEG-B"))),
            DIGITS_RECEIVED=respond(pause(1000)),
        )
    )
    report = simulate(script, inbound((10, Digits("*2", leg="LEG-B")), hangup_at=20))
    assert [a.leg for a in report.actions if a.type == "Pause"] == ["LEG-B"]


def test_action_on_an_unknown_call_id_fails_with_invalid_action_parameter() -> None:
    """§3.3: InvalidActionParameter names the parameter (CallId)."""
    script = Script(on(NEW_INBOUND_CALL=respond(pause(1000, "not-a-call"))))
    report = simulate(script, inbound(hangup_at=20))
    failed = script.of("ACTION_FAILED")[0]
    assert failed["ActionData"]["ErrorType"] == "InvalidActionParameter"
    assert "CallId" in failed["ActionData"]["ErrorMessage"]
    assert [p.kind for p in report.problems] == ["invalid-action"]


def test_handler_hangup_raises_hangup_not_action_successful() -> None:
    """§1 (hangup page): a Hangup action disconnects the leg, then the function gets HANGUP for it."""
    script = Script(on(NEW_INBOUND_CALL=lambda e: respond(hangup(call_id(e), "480"))))
    report = simulate(script, inbound(hangup_at=None))
    assert script.types() == ["NEW_INBOUND_CALL", "HANGUP"]
    assert script.events[1]["ActionData"]["Parameters"]["SipResponseCode"] == 480
    assert report.hangups[0].cause == "handler"


def test_receive_digits_matches_after_the_in_between_pause() -> None:
    """§6 ReceiveDigits: digits matching InputDigitsRegex raise DIGITS_RECEIVED once the caller
    stops keying for InBetweenDigitsDurationInMilliseconds."""
    script = Script(on(NEW_INBOUND_CALL=lambda e: respond(receive_digits(call_id(e)))))
    report = simulate(script, inbound((10, Digits("*1", interval_ms=200)), hangup_at=20))
    [event] = script.of("DIGITS_RECEIVED")
    invocation = next(i for i in report.invocations if i.event_type == "DIGITS_RECEIVED")
    assert invocation.at_ms == 10_000 + 200 + 1000
    assert event["ActionData"]["ReceivedDigits"] == "*1"


def test_receive_digits_discards_what_does_not_match_and_keeps_listening() -> None:
    """§6: non-matching digits are discarded; the background listener stays until a match."""
    script = Script(on(NEW_INBOUND_CALL=lambda e: respond(receive_digits(call_id(e)))))
    simulate(script, inbound((5, Digits("12")), (10, Digits("*2")), hangup_at=20))
    assert [e["ActionData"]["ReceivedDigits"] for e in script.of("DIGITS_RECEIVED")] == ["*2"]


def test_receive_digits_stops_after_a_match_until_armed_again() -> None:
    """§6: after a match, digits are thrown away until a new ReceiveDigits is returned."""
    script = Script(on(NEW_INBOUND_CALL=lambda e: respond(receive_digits(call_id(e)))))
    simulate(script, inbound((5, Digits("*1")), (10, Digits("*2")), hangup_at=20))
    assert [e["ActionData"]["ReceivedDigits"] for e in script.of("DIGITS_RECEIVED")] == ["*1"]


def test_receive_digits_flushes_after_flush_duration() -> None:
    """§6: FlushDigitsDurationInMilliseconds bounds how long keys are collected."""
    script = Script(on(NEW_INBOUND_CALL=lambda e: respond(receive_digits(call_id(e), r"^\d+$"))))
    report = simulate(script, inbound((5, Digits("1234567890", interval_ms=900)), hangup_at=30))
    first = next(i for i in report.invocations if i.event_type == "DIGITS_RECEIVED")
    assert first.at_ms == 10_000
    assert first.event["ActionData"]["ReceivedDigits"] == "123456"


def test_playback_terminator_ends_play_audio() -> None:
    """§6 PlayAudio: a key in PlaybackTerminators ends the playback (successfully)."""
    script = Script(on(NEW_INBOUND_CALL=lambda e: respond(play_audio(call_id(e), ["#"]))))
    report = simulate(script, inbound((1, Digits("#")), hangup_at=20))
    assert (report.actions[0].outcome, report.actions[0].ended_ms) == ("succeeded", 1000)
    assert script.of("ACTION_SUCCESSFUL")[0]["ActionData"]["Type"] == "PlayAudio"


def test_unmodelled_known_action_succeeds_with_a_note() -> None:
    """§6: known actions the simulator does not model (e.g. VoiceFocus) succeed at once, noted."""
    script = Script(on(NEW_INBOUND_CALL=respond({"Type": "VoiceFocus", "Parameters": {}})))
    report = simulate(script, inbound(hangup_at=5))
    assert report.actions[0].note == "not modelled by the simulator"
    assert "ACTION_SUCCESSFUL" in script.types()


def test_steps_after_the_call_ended_are_skipped() -> None:
    """The scenario cannot act on an ended call: UpdateSipMediaApplicationCall would get
    NotFoundException (§5)."""
    report = simulate(Script(), inbound((30, UpdateRequest()), hangup_at=10))
    assert report.skipped_steps == ("30 s update {}: the call has ended",)


def test_remote_hangup_of_a_leg_that_does_not_exist_is_skipped() -> None:
    """§1: only a participant of the call can hang up; a hangup step for LEG-B of a call
    that never bridged is skipped, not an error."""
    report = simulate(Script(), inbound((5, Hangup("LEG-B")), hangup_at=10))
    assert len(report.skipped_steps) == 1
    assert report.ok


def test_ten_minute_call_runs_on_the_simulated_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """§2 (Pause lasts DurationInMilliseconds): a call of 10 simulated minutes with keep-alive
    pauses runs on the simulated clock: nothing sleeps, yet every Pause takes its full time."""

    def no_sleep(seconds: float) -> None:
        raise AssertionError(f"the simulator slept {seconds} s")

    monkeypatch.setattr(time, "sleep", no_sleep)
    script = Script(
        lambda e: respond(pause(30_000)) if e["InvocationEventType"] != "HANGUP" else None
    )
    report = simulate(script, inbound(hangup_at=600))
    assert report.ended_ms == 600_000
    assert [a.ended_ms - a.started_ms for a in report.actions[:-1]] == [30_000] * 20
    assert len(script.of("ACTION_SUCCESSFUL")) == 20
