"""End to end: the library's recording handler (``sma_recording.entry``) in the simulator.

These are the project's own end-to-end tests of the call flows the construct deploys: every run
must be free of problems (valid responses, no misuse of the recording actions, no leg left up).
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from cdk_recording.testing import (
    DEFAULT_RECORDING_CONFIG,
    Answer,
    BridgeBehaviour,
    BridgeOutcome,
    CallReport,
    Digits,
    HandlerError,
    Hangup,
    InjectFailure,
    MemorySink,
    OutboundCall,
    Scenario,
    SimulatorOptions,
    SmaSimulator,
    Step,
    UpdateRequest,
    builtin_scenario,
    parse_scenario,
)
from tests.simulator.conftest import (
    AGENT,
    CALLER,
    NUMBER,
    dominant,
    inbound,
    read_wav,
    window,
)


def config(**changes: Any) -> dict[str, Any]:
    document = copy.deepcopy(dict(DEFAULT_RECORDING_CONFIG))
    document.update(changes)
    return document


def run(
    scenario: Scenario, document: dict[str, Any] | None = None, **options: Any
) -> tuple[CallReport, MemorySink]:
    sink = MemorySink()
    simulator = SmaSimulator.for_recording_handler(
        document, options=SimulatorOptions(**options), sink=sink
    )
    return simulator.run(scenario), sink


def assert_clean(report: CallReport) -> None:
    assert report.problems == (), report.to_text()
    assert all(invocation.valid for invocation in report.invocations), report.to_text()


def update(at: float, command: str) -> tuple[float, UpdateRequest]:
    return (at, UpdateRequest({"recording": command}))


def test_default_call_records_both_sides_in_stereo() -> None:
    """§3.2: the example app plus a bridge: consent, bridge, BOTH on LEG-A in stereo (caller left,
    agent right), paused and resumed on demand, stopped at hangup; §9: 2 billable minutes."""
    report, sink = run(builtin_scenario("default"))
    assert_clean(report)
    assert report.events()[:3] == ["NEW_INBOUND_CALL", "ACTION_SUCCESSFUL", "ACTION_SUCCESSFUL"]
    [recording] = report.recordings
    assert (recording.leg, recording.track, recording.channels) == ("LEG-A", "BOTH", 2)
    assert recording.key.startswith("recordings/2026/11/24/")
    assert recording.pauses == ((45_000, 60_000),)
    assert recording.stop_reason == "hangup"
    assert report.billable_minutes == 2
    _, rate, (left, right) = read_wav(sink.objects[(recording.bucket, recording.key)].body)
    voices = (400, 600, 800, 1000)
    offset = recording.started_ms / 1000
    # Turns are counted from the call start: the caller talks in [12, 15), the agent in [15, 18).
    assert dominant(window(left, rate, 13 - offset), rate, voices) == 400
    assert dominant(window(right, rate, 16 - offset), rate, voices) == 600
    assert not any(window(left, rate, 50 - offset, 5))


def test_consent_is_spoken_before_the_bridge_and_recording() -> None:
    """§9: consent first (Speak to LEG-A), then CallAndBridge, then StartCallRecording."""
    report, _ = run(builtin_scenario("default"))
    assert [a.type for a in report.actions[:3]] == ["Speak", "CallAndBridge", "StartCallRecording"]
    assert report.actions[0].leg == "LEG-A"


def test_busy_callee_hangs_up_the_caller_with_486_and_records_nothing() -> None:
    """§6: a busy bridge fails; the handler ends the call (not a recording failure)."""
    report, _ = run(builtin_scenario("busy-callee"))
    assert_clean(report)
    assert report.recordings == ()
    assert [(h.leg, h.cause, h.sip_response_code) for h in report.hangups] == [
        ("LEG-A", "handler", 486)
    ]


def test_no_access_to_destination_keeps_the_call_up() -> None:
    """§3.3: NoAccessToDestination fails StartCallRecording; the call goes on unrecorded."""
    report, _ = run(builtin_scenario("no-access-to-destination"))
    assert_clean(report)
    assert report.recordings == ()
    assert [(h.leg, h.cause, h.at_ms) for h in report.hangups] == [
        ("LEG-B", "remote", 60_000),
        ("LEG-A", "handler", 60_000),
    ]


def test_dtmf_codes_pause_and_resume() -> None:
    """§6 ReceiveDigits on LEG-B: *1 pauses and *2 resumes; the card number keyed meanwhile is
    not in the recording (silence while paused, §3.2)."""
    report, sink = run(builtin_scenario("dtmf-pause"), config(dtmf={"pause": "*1", "resume": "*2"}))
    assert_clean(report)
    [recording] = report.recordings
    assert recording.pauses == ((31_250, 51_250),)
    _, rate, (left, _) = read_wav(sink.objects[(recording.bucket, recording.key)].body)
    paused = window(left, rate, 32 - recording.started_ms / 1000 + 0.5, 18)
    assert not any(paused)


def test_single_leg_call_is_kept_up_and_recorded() -> None:
    """§3.2: without a bridge the caller alone is recorded; the call is kept up with Pause
    actions until the caller hangs up 10 minutes later."""
    report, _ = run(inbound(hangup_at=600), config(bridge=None))
    assert_clean(report)
    [recording] = report.recordings
    assert recording.stopped_ms == 600_000
    assert report.billable_minutes == 10


def test_on_demand_pause_interrupts_the_keep_alive_pause() -> None:
    """§2, §5: an update request interrupts the running Pause, so the pause takes effect at once."""
    report, _ = run(
        inbound(update(100, "pause"), update(130, "resume"), hangup_at=200), config(bridge=None)
    )
    assert_clean(report)
    assert report.recordings[0].pauses == ((100_000, 130_000),)
    assert "ACTION_INTERRUPTED" in report.events()


def test_on_demand_stop_is_final() -> None:
    """§3.2: stop is final; a later start is not sent (the handler knows the leg is done)."""
    report, _ = run(inbound(update(30, "stop"), update(40, "start"), hangup_at=50))
    assert_clean(report)
    [recording] = report.recordings
    assert (recording.stopped_ms, recording.stop_reason) == (30_000, "StopCallRecording")
    assert [a.type for a in report.actions].count("StartCallRecording") == 1


def test_on_demand_start_without_auto_start() -> None:
    """§5: with autoStart off, recording starts on the update request only."""
    report, _ = run(inbound(update(20, "start")), config(autoStart=False))
    assert_clean(report)
    assert report.recordings[0].started_ms == 20_000


def test_recording_leg_b_only() -> None:
    """§3.2: leg LEG-B records the agent's side; its BOTH is agent left, caller right."""
    report, _ = run(inbound(), config(leg="LEG-B"))
    assert_clean(report)
    assert [r.leg for r in report.recordings] == ["LEG-B"]


def test_outbound_call_is_recorded_when_answered() -> None:
    """§1: CALL_ANSWERED on a dial-out call starts the recording (after the consent)."""
    scenario = Scenario(
        (
            Step.at(0, OutboundCall(NUMBER, CALLER)),
            Step.at(5, Answer()),
            Step.at(65, Hangup("LEG-A")),
        )
    )
    report, _ = run(scenario)
    assert_clean(report)
    [recording] = report.recordings
    assert recording.started_ms > 5000
    assert recording.stop_reason == "hangup"


def test_agent_hanging_up_first_ends_the_call() -> None:
    """§1 (hangup page): LEG-B hangs up; the handler hangs up LEG-A (no leg left connected)."""
    report, _ = run(inbound((30, Hangup("LEG-B")), hangup_at=None))
    assert_clean(report)
    assert [(h.leg, h.cause) for h in report.hangups] == [("LEG-B", "remote"), ("LEG-A", "handler")]


def test_caller_hanging_up_during_the_consent_ends_everything() -> None:
    """§1: hanging up before the bridge: nothing recorded, nothing left up."""
    report, _ = run(inbound(hangup_at=2))
    assert_clean(report)
    assert report.recordings == ()


def test_failed_consent_means_no_recording_but_the_call_is_bridged() -> None:
    """§9: no consent, no recording; the call itself still reaches the agent."""
    report, _ = run(inbound((0, InjectFailure("Speak", "AccessDenied", "no service-linked role"))))
    assert_clean(report)
    assert report.recordings == ()
    assert len(report.legs) == 2


@pytest.mark.parametrize("form", ["fields", "errorString", "topLevel"])
def test_start_failure_in_every_documented_error_form(form: str) -> None:
    """§11.2: the handler reads ErrorType/ErrorMessage, Error, and the top level."""
    failure = InjectFailure("StartCallRecording", "NoAccessToDestination", "denied", form=form)  # type: ignore[arg-type]
    report, _ = run(inbound((0, failure), (20, Hangup("LEG-B")), hangup_at=None))
    assert_clean(report)
    assert report.recordings == ()
    failed = next(i for i in report.invocations if i.event_type == "ACTION_FAILED")
    assert "NoAccessToDestination" in json.dumps(failed.event)


def test_invalid_configuration_is_refused_with_its_problems() -> None:
    """An invalid SMA_RECORDING_CONFIG is refused up front, naming what is wrong."""
    with pytest.raises(HandlerError, match="destination is required"):
        SmaSimulator.for_recording_handler({"version": 1, "application": "x"})


def test_bridge_answered_late_by_an_answer_step() -> None:
    """§6: the agent answers after ringing 20 s; recording starts then."""
    report, _ = run(
        inbound((0, BridgeBehaviour(BridgeOutcome.NO_ANSWER)), (25, Answer("LEG-B")), hangup_at=80)
    )
    assert_clean(report)
    assert report.recordings[0].started_ms == 25_000


def test_agent_keys_pause_on_a_single_leg_call() -> None:
    """§6: DTMF on a single-leg call takes effect when the running keep-alive Pause ends."""
    report, _ = run(
        inbound((40, Digits("*1")), (100, Digits("*2")), hangup_at=200),
        config(bridge=None, dtmf={"pause": "*1", "resume": "*2"}),
    )
    assert_clean(report)
    [recording] = report.recordings
    assert len(recording.pauses) == 1
    assert recording.pauses[0][0] > 40_000


def test_metrics_carry_simulated_time() -> None:
    """The handler's EMF metrics use the simulator's clock (so a replayed call is stable)."""
    report, _ = run(builtin_scenario("default"))
    start = next(i for i in report.invocations if "RecordingStarted" in i.output)
    document = json.loads(next(line for line in start.output.splitlines() if '"_aws"' in line))
    assert document["_aws"]["Timestamp"] == report.start_time_ms + start.at_ms


def test_same_scenario_same_report() -> None:
    """Reports are reproducible: ids derive from the scenario seed, time is simulated."""
    first, _ = run(builtin_scenario("default"))
    second, _ = run(builtin_scenario("default"))
    assert first.to_text() == second.to_text()
    assert AGENT in first.to_text()


def test_rapid_update_requests_during_a_prompt() -> None:
    """§2, §5: start then pause while the consent is still being spoken should still leave the
    leg recorded (and paused)."""
    scenario = Scenario(
        (
            Step.at(0, OutboundCall(NUMBER, CALLER)),
            Step.at(0, Answer()),
            Step.at(1, UpdateRequest({"recording": "start"})),
            Step.at(2, UpdateRequest({"recording": "pause"})),
            Step.at(30, Hangup("LEG-A")),
        )
    )
    report, _ = run(scenario, config(autoStart=False, bridge=None))
    assert_clean(report)
    [recording] = report.recordings
    assert recording.pauses


def withheld_call(caller: str) -> dict[str, Any]:
    """A scenario document: a caller who withholds their number, bridged, hanging up at 30 s."""
    return {
        "version": 1,
        "steps": [
            {"at": 0, "inboundCall": {"from": caller, "to": NUMBER}},
            {"at": 0, "bridge": {"outcome": "answer", "afterSeconds": 4}},
            {"at": 30, "hangup": {"leg": "LEG-A"}},
        ],
    }


@pytest.mark.parametrize("withheld", ["Restricted", "anonymous", "+anonymous"])
def test_a_caller_who_withholds_their_number_reaches_the_agent_and_is_recorded(
    withheld: str,
) -> None:
    """CallAndBridge takes only an E.164 CallerIdNumber: the dialled number stands in."""
    scenario = parse_scenario(withheld_call(withheld))
    report, _ = run(scenario)

    assert_clean(report)
    bridge = next(a for a in report.actions if a.type == "CallAndBridge")
    assert bridge.parameters["CallerIdNumber"] == NUMBER
    assert [r.leg for r in report.recordings] == ["LEG-A"]


def test_the_simulator_rejects_a_bridge_with_a_withheld_caller_id_as_the_service_would() -> None:
    def naive(event: dict[str, Any], context: Any) -> dict[str, Any]:
        if event["InvocationEventType"] != "NEW_INBOUND_CALL":
            return {"SchemaVersion": "1.0", "Actions": []}
        leg_a = event["CallDetails"]["Participants"][0]
        bridge = {
            "CallerIdNumber": leg_a["From"],
            "Endpoints": [{"BridgeEndpointType": "PSTN", "Uri": AGENT}],
        }
        return {
            "SchemaVersion": "1.0",
            "Actions": [{"Type": "CallAndBridge", "Parameters": bridge}],
        }

    scenario = parse_scenario(withheld_call("anonymous"))
    report = SmaSimulator(naive).run(scenario)

    assert report.events() == ["NEW_INBOUND_CALL", "ACTION_FAILED", "HANGUP"]
    assert "CallerIdNumber must be an E.164 number, got 'anonymous'" in report.to_text()
