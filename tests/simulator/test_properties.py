"""Property: the recording handler behaves in every call the simulator can throw at it.

Hypothesis draws a configuration (track, leg, consent, bridge, DTMF, auto start) and a scenario
(inbound or outbound call, bridge outcome, injected failures of every recording and prompt action in
every documented error form, update requests, DTMF, answers, a final hangup) and checks, per call:

* every response is valid (§2: schema, at most 10 actions, known types, required parameters,
  at most 10 string attributes), none was rejected, the handler never raised;
* no leg is started twice, nothing is recorded after a stop (§3.2 once per leg);
* no call is dropped because of a recording failure: the handler hangs a leg up only after the other
  leg hung up or the bridge failed, and never leaves a leg connected (call-and-bridge billing);
* the simulator's own bookkeeping holds (Sequence +1 per invocation, recordings within their leg,
  billing = started minutes of each delivered recording, §9).

The run is derandomized (a fixed sequence of examples), so CI sees the same 1,000 calls every time.
"""

from __future__ import annotations

import copy
import math
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cdk_recording.testing import (
    DEFAULT_RECORDING_CONFIG,
    Answer,
    BridgeBehaviour,
    BridgeOutcome,
    CallReport,
    Delivery,
    Digits,
    ErrorForm,
    Hangup,
    InboundCall,
    InjectFailure,
    OutboundCall,
    Scenario,
    SimulatorOptions,
    SmaSimulator,
    Step,
    UpdateRequest,
)
from tests.simulator.conftest import CALLER, NUMBER

EXAMPLES = 1000
FAILABLE = (
    "StartCallRecording",
    "PauseCallRecording",
    "ResumeCallRecording",
    "StopCallRecording",
    "Speak",
    "CallAndBridge",
    "ReceiveDigits",
    "Pause",
)
ERROR_TYPES = ("NoAccessToDestination", "SystemException", "InvalidActionParameter", "AccessDenied")


@st.composite
def configurations(draw: st.DrawFn) -> dict[str, Any]:
    document = copy.deepcopy(dict(DEFAULT_RECORDING_CONFIG))
    document["track"] = draw(st.sampled_from(["BOTH", "INCOMING", "OUTGOING"]))
    document["leg"] = draw(st.sampled_from(["LEG-A", "LEG-B"]))
    document["autoStart"] = draw(st.sampled_from([True, True, True, False]))
    if not draw(st.booleans()):
        document["consent"] = None
    document["announceToCallee"] = document["consent"] is not None and draw(st.booleans())
    if not draw(st.booleans()):
        document["bridge"] = None
    if draw(st.booleans()):
        document["dtmf"] = {"pause": "*1", "resume": "*2"}
    if draw(st.booleans()):
        document["destination"] = {"bucket": "callrecordingexample-recordings"}
    return document


#: Time between two steps: often at the same moment or within a prompt, often well apart.
gaps = st.one_of(
    st.just(0.0),
    st.integers(min_value=1, max_value=9_000).map(lambda ms: ms / 1000),
    st.integers(min_value=9, max_value=90),
)

commands = st.sampled_from(["start", "pause", "resume", "stop", "bogus"]).map(
    lambda command: UpdateRequest({"recording": command})
)
step_actions = st.one_of(
    commands,
    commands,
    st.just(UpdateRequest({"other": "thing"})),
    st.builds(
        Digits,
        keys=st.sampled_from(["*1", "*2", "*1", "*2", "5", "*1*2", "#"]),
        leg=st.sampled_from(["LEG-A", "LEG-B", "LEG-B"]),
        interval_ms=st.sampled_from([100, 250, 1500]),
    ),
    st.builds(Answer, leg=st.sampled_from([None, "LEG-B"])),
    st.builds(
        InjectFailure,
        action=st.sampled_from(FAILABLE),
        error_type=st.sampled_from(ERROR_TYPES),
        count=st.integers(min_value=1, max_value=2),
        leg=st.sampled_from([None, "LEG-A", "LEG-B"]),
        form=st.sampled_from([None, *ErrorForm]),
    ),
    st.builds(
        BridgeBehaviour,
        outcome=st.sampled_from(list(BridgeOutcome)),
        after_seconds=st.one_of(st.none(), st.integers(min_value=0, max_value=40)),
    ),
)


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    outbound = draw(st.integers(min_value=0, max_value=4)) == 0
    first: InboundCall | OutboundCall = (
        OutboundCall(NUMBER, CALLER) if outbound else InboundCall(CALLER, NUMBER)
    )
    steps = [Step.at(0, first)]
    if outbound:
        steps.append(Step.at(draw(st.integers(min_value=0, max_value=10)), Answer()))
    # Most calls are connected (consent and bridge take ~9 s) before the first command.
    at = steps[-1].at_ms / 1000 + draw(st.sampled_from([0, 12, 20, 45]))
    for gap, action in draw(st.lists(st.tuples(gaps, step_actions), min_size=2, max_size=10)):
        at += gap
        steps.append(Step.at(at, action))
    end = steps[-1].at_ms / 1000 + draw(st.integers(min_value=5, max_value=300))
    if draw(st.booleans()):
        steps.append(Step.at(end, Hangup("LEG-B")))
    # The caller hangs up last: skipped when the handler already ended the call, and the one hangup
    # of a call that never bridged. Whether the handler hung LEG-A up after LEG-B is checked below.
    steps.append(Step.at(end + 5, Hangup("LEG-A")))
    return Scenario(tuple(steps), name="property", seed=draw(st.integers(0, 2**32)))


options_strategy = st.builds(
    SimulatorOptions,
    action_error_form=st.sampled_from(list(ErrorForm)),
    invalid_response_error_form=st.sampled_from(list(ErrorForm)),
    delivery=st.sampled_from(list(Delivery)),
    linger_ms=st.just(600_000),
)


def check_invariants(report: CallReport) -> None:
    text = report.to_text()
    # Every response valid; nothing rejected; the handler never raised.
    assert all(invocation.valid for invocation in report.invocations), text
    assert "INVALID_LAMBDA_RESPONSE" not in report.events(), text
    # Every problem fails: invalid actions, recording misuse (double start, pause of a recording
    # that never started), handler errors, legs left up, the invocation limit.
    assert list(report.problems) == [], text

    # No double start on a leg, nothing recorded after stop.
    started = [
        a for a in report.actions if a.type == "StartCallRecording" and a.outcome == "succeeded"
    ]
    assert len({a.leg for a in started}) == len(started), text
    for recording in report.recordings:
        assert recording.started_ms <= recording.stopped_ms, text
        for paused, resumed in recording.pauses:
            assert recording.started_ms <= paused <= resumed <= recording.stopped_ms, text
        later = [
            a
            for a in report.actions
            if a.leg == recording.leg
            and a.type in ("StartCallRecording", "PauseCallRecording", "ResumeCallRecording")
            and a.outcome == "succeeded"
            and a.started_ms > recording.stopped_ms
        ]
        assert later == [], text

    # No call dropped because of a recording failure.
    bridge_failed = [
        a.ended_ms for a in report.actions if a.type == "CallAndBridge" and a.outcome == "failed"
    ]
    remote = {h.leg: h.at_ms for h in report.hangups if h.cause == "remote"}
    for hangup in report.hangups:
        assert hangup.cause in ("remote", "handler"), text
        if hangup.cause == "handler":
            other = "LEG-B" if hangup.leg == "LEG-A" else "LEG-A"
            justified = (other in remote and remote[other] <= hangup.at_ms) or any(
                at <= hangup.at_ms for at in bridge_failed
            )
            assert justified, text

    # When a bridged leg hangs up, the handler hangs up the other one (after any running
    # non-interruptible action on it, §2), never leaving it to the simulator's linger.
    legs = {leg.tag: leg for leg in report.legs}
    ends = {h.leg: h for h in report.hangups}
    for hangup in report.hangups:
        other = legs.get("LEG-B" if hangup.leg == "LEG-A" else "LEG-A")
        if hangup.cause != "remote" or other is None or other.answered_ms is None:
            continue
        if other.answered_ms <= hangup.at_ms and (other.ended_ms or math.inf) >= hangup.at_ms:
            assert other.tag in ends, text
            assert ends[other.tag].cause in ("handler", "remote"), text
            assert ends[other.tag].at_ms - hangup.at_ms <= 30_000, text

    # The simulator's own bookkeeping.
    sequences = [i.sequence for i in report.invocations if i.attempt == 1]
    assert sequences == list(range(1, len(sequences) + 1)), text
    assert [b.billable_minutes for b in report.billing] == [
        math.ceil(r.duration_ms / 60_000) for r in report.recordings
    ], text
    leg_ends = {leg.tag: leg.ended_ms for leg in report.legs}
    for recording in report.recordings:
        assert recording.stopped_ms <= (leg_ends[recording.leg] or report.ended_ms), text


@settings(
    max_examples=EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(configuration=configurations(), scenario=scenarios(), options=options_strategy)
def test_recording_handler_keeps_its_invariants(
    configuration: dict[str, Any], scenario: Scenario, options: SimulatorOptions
) -> None:
    """§2, §3.2, §9: 1,000 random calls against the recording handler keep every invariant."""
    simulator = SmaSimulator.for_recording_handler(
        configuration, options=options, log_level="WARNING"
    )
    check_invariants(simulator.run(scenario))
