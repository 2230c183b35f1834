"""A model of the service against the handler, mixing honest events with replayed, reordered and
corrupted ones: a leg is started at most once, nothing acts on a stopped recording, and nothing of
the recording (nor a caller's number format) hangs up a call.

The model holds what the service holds (the transaction attributes, the queued actions, the legs)
and runs the handler's lists as the service would (reference §2: in order, one result per list, a
failure drops the rest, a new list replaces the queue, ``null`` keeps it). It also keeps the ground
truth the handler never sees: which legs' recordings the service really started and stopped. The
attacker's moves are re-delivering an earlier event (the service always attaches the attributes it
holds now), and editing or garbling the ``smaRec`` attribute by hand.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule
from sma_recording.config import RecordingConfig
from sma_recording.core import decide
from sma_recording.entry import RecordingHandler
from sma_recording.state import STATE_KEY

from .conftest import AGENT, CALLER, DTMF, LEG_A, LEG_B, SPEAK_CONSENT, make_config
from .test_properties import assert_valid_response

NUMBER = "+12065550100"
TRANSACTION = "0b5e7c1a-2f4d-4e8b-9a6c-3d2e1f0a9b8c"
CONFIGS = [
    make_config(consent=SPEAK_CONSENT, dtmf=DTMF),
    make_config(bridge=None, dtmf=DTMF),
    make_config(leg="LEG-B", announceToCallee=True, consent=SPEAK_CONSENT),
    make_config(autoStart=False),
]
CALLERS = [CALLER, "Restricted", "anonymous", "+anonymous", ""]
RECORDING = {"StartCallRecording", "PauseCallRecording", "ResumeCallRecording", "StopCallRecording"}
COMMANDS = ["start", "pause", "resume", "stop"]


class ViolationError(AssertionError):
    pass


class ServiceModel(RuleBasedStateMachine):
    """One call, from NEW_INBOUND_CALL until no leg is left."""

    def __init__(self) -> None:
        super().__init__()
        self.config: RecordingConfig = CONFIGS[0]
        self.runtime = RecordingHandler(self.config).runtime
        self.attributes: dict[str, str] = {}
        self.sequence = 0
        self.legs: dict[str, dict[str, Any]] = {}
        self.queue: list[dict[str, Any]] = []
        self.history: list[dict[str, Any]] = []
        self.started: set[str] = set()
        self.stopped: set[str] = set()
        self.refused: list[str | None] = []
        self.may_hang_up = False
        #: Results of lists the service ran, not delivered yet (delivery may be late).
        self.results: list[dict[str, Any]] = []

    # -- the service ----------------------------------------------------------------------------------

    def participants(self) -> list[dict[str, Any]]:
        return [copy.deepcopy(leg) for leg in self.legs.values()]

    def connected(self, tag: str) -> bool:
        return tag in self.legs and self.legs[tag]["Status"] == "Connected"

    @property
    def active(self) -> bool:
        return any(self.connected(tag) for tag in self.legs)

    def event(self, kind: str, action_data: dict[str, Any] | None = None) -> dict[str, Any]:
        self.sequence += 1
        event: dict[str, Any] = {
            "SchemaVersion": "1.0",
            "Sequence": self.sequence,
            "InvocationEventType": kind,
            "CallDetails": {
                "TransactionId": TRANSACTION,
                "AwsRegion": "us-east-1",
                "Participants": self.participants(),
            },
        }
        if action_data is not None:
            event["ActionData"] = action_data
        return event

    def deliver(self, event: dict[str, Any], *, replay: bool = False) -> None:
        """Invoke the handler as the entry module does, but let any exception fail the test."""
        sent = copy.deepcopy(event)
        sent["CallDetails"]["TransactionAttributes"] = dict(self.attributes)
        if not replay:
            self.history.append(copy.deepcopy(event))
        state = self.runtime.state_of(sent, _NullLog())
        decision = decide(sent, state, self.config)
        body = decision.response()
        assert_valid_response(body, sent)
        self.refused += [m.error_type for m in decision.metrics if m.error_type == "Refused"]
        for action in body["Actions"] or []:
            if action["Type"] == "CallAndBridge":
                caller_id = action["Parameters"]["CallerIdNumber"]
                assert caller_id.startswith("+"), caller_id
                assert caller_id[1:].isdigit(), caller_id
            if action["Type"] == "Hangup" and not self.may_hang_up:
                raise ViolationError(f"hung up in answer to {event['InvocationEventType']}")
        if body["Actions"] is not None:
            self.queue = [copy.deepcopy(a) for a in body["Actions"]]
        if body.get("TransactionAttributes") is not None:
            self.attributes = dict(body["TransactionAttributes"])
        self.may_hang_up = False

    def execute(self, action: dict[str, Any]) -> None:
        kind = action["Type"]
        call_id = action["Parameters"].get("CallId")
        if kind == "StartCallRecording":
            if call_id in self.started:
                raise ViolationError(f"StartCallRecording twice on {call_id}")
            self.started.add(call_id)
        elif kind in RECORDING:
            if call_id in self.stopped or call_id not in self.started:
                raise ViolationError(f"{kind} on a recording that is not running ({call_id})")
            if kind == "StopCallRecording":
                self.stopped.add(call_id)
        elif kind == "CallAndBridge":
            self.legs["LEG-B"] = {
                "CallId": LEG_B,
                "ParticipantTag": "LEG-B",
                "To": AGENT,
                "From": action["Parameters"]["CallerIdNumber"],
                "Direction": "Outbound",
                "StartTimeInMilliseconds": "1700000005000",
                "Status": "Connected",
            }
        elif kind == "Hangup":
            for tag, leg in self.legs.items():
                if leg["CallId"] == call_id:
                    self.disconnect(tag)

    def disconnect(self, tag: str) -> None:
        self.legs[tag]["Status"] = "Disconnected"
        self.stopped.add(self.legs[tag]["CallId"])

    # -- the call -------------------------------------------------------------------------------------

    @initialize(which=st.integers(0, len(CONFIGS) - 1), caller=st.sampled_from(CALLERS))
    def inbound_call(self, which: int, caller: str) -> None:
        self.config = CONFIGS[which]
        self.runtime = RecordingHandler(self.config).runtime
        self.legs = {
            "LEG-A": {
                "CallId": LEG_A,
                "ParticipantTag": "LEG-A",
                "To": NUMBER,
                "From": caller,
                "Direction": "Inbound",
                "StartTimeInMilliseconds": "1700000000000",
                "Status": "Connected",
            }
        }
        self.deliver(self.event("NEW_INBOUND_CALL"))

    @precondition(lambda self: self.active and bool(self.queue))
    @rule(
        fail_at=st.none() | st.integers(0, 9),
        error=st.sampled_from(["SystemException", "Busy"]),
        report_now=st.booleans(),
    )
    def run_queued_list(self, fail_at: int | None, error: str, report_now: bool) -> None:
        """The service runs what is queued: the list succeeds, or one action fails; its result
        is delivered now or later (other events may come first)."""
        actions, self.queue = self.queue, []
        last: dict[str, Any] | None = None
        for index, action in enumerate(actions):
            if fail_at == index:
                data = {**copy.deepcopy(action), "ErrorType": error, "ErrorMessage": "failed"}
                self.results.append({"kind": "ACTION_FAILED", "data": data})
                break
            self.execute(action)
            last = action
            if not self.active:
                return
        else:
            assert last is not None
            data = copy.deepcopy(last)
            if last["Type"] == "StartCallRecording":
                data["CallRecordingDestination"] = {"Type": "S3", "Location": "bucket/key.wav"}
            self.results.append({"kind": "ACTION_SUCCESSFUL", "data": data})
        if report_now:
            self.report()

    @precondition(lambda self: self.active and bool(self.results))
    @rule()
    def report(self) -> None:
        """The oldest result not delivered yet arrives."""
        result = self.results.pop(0)
        self.may_hang_up = result["data"]["Type"] == "CallAndBridge"
        self.deliver(self.event(result["kind"], result["data"]))

    @precondition(lambda self: self.active)
    @rule(command=st.sampled_from(COMMANDS), leg=st.none() | st.sampled_from([LEG_A, LEG_B]))
    def update_request(self, command: str, leg: str | None) -> None:
        arguments = {"recording": command} | ({} if leg is None else {"callId": leg})
        data = {"Type": "CallUpdateRequest", "Parameters": {"Arguments": arguments}}
        self.deliver(self.event("CALL_UPDATE_REQUESTED", data))

    @precondition(lambda self: self.active)
    @rule(digits=st.sampled_from([DTMF["pause"], DTMF["resume"]]))
    def digits(self, digits: str) -> None:
        data = {"Type": "ReceiveDigits", "ReceivedDigits": digits, "Parameters": {}}
        self.deliver(self.event("DIGITS_RECEIVED", data))

    @precondition(lambda self: self.active and self.sequence >= 4)
    @rule(tag=st.sampled_from(["LEG-A", "LEG-B"]))
    def hang_up(self, tag: str) -> None:
        if not self.connected(tag):
            return
        self.disconnect(tag)
        self.queue = []
        self.may_hang_up = True  # the other leg of a bridged call is hung up in answer
        data = {
            "Type": "Hangup",
            "Parameters": {
                "SipResponseCode": "0",
                "CallId": self.legs[tag]["CallId"],
                "ParticipantTag": tag,
            },
        }
        self.deliver(self.event("HANGUP", data))

    @precondition(lambda self: not self.active)
    @rule()
    def call_over(self) -> None:
        """Nothing happens once the call is over."""

    # -- the attacker ---------------------------------------------------------------------------------

    @precondition(lambda self: self.active and bool(self.history))
    @rule(data=st.data())
    def replay(self, data: st.DataObject) -> None:
        """An earlier event again, or a late one: its own Sequence, the attributes held now."""
        old = data.draw(st.sampled_from(self.history))
        self.may_hang_up = old["InvocationEventType"] in ("HANGUP", "ACTION_FAILED")
        self.deliver(old, replay=True)

    @precondition(lambda self: self.active and STATE_KEY in self.attributes)
    @rule(
        edit=st.sampled_from(
            [
                ('"a":"stopped"', '"a":"idle"'),
                ('"a":"recording"', '"a":"idle"'),
                ('"a":"starting"', '"a":"idle"'),
                ('"b":"stopped"', '"b":"idle"'),
                ('"f":"bridged"', '"f":"single"'),
                ('"n":', '"n":1'),
            ]
        )
        | st.tuples(st.just(None), st.text(max_size=40))
    )
    def corrupt_state(self, edit: tuple[str | None, str]) -> None:
        old, new = edit
        value = self.attributes[STATE_KEY]
        if old is None:
            self.attributes[STATE_KEY] = new
        elif old in value:
            self.attributes[STATE_KEY] = value.replace(old, new, 1)

    # -- what must always hold ------------------------------------------------------------------------

    @invariant()
    def the_last_line_of_defence_is_never_needed(self) -> None:
        assert self.refused == [], "the final check refused a recording action"


class _NullLog:
    def log(self, *args: Any, **kwargs: Any) -> None:
        pass


ServiceModel.TestCase.settings = settings(
    max_examples=300,
    stateful_step_count=50,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
test_the_service_model = ServiceModel.TestCase


def test_the_model_catches_a_second_start() -> None:
    """The model itself can fail: a handler that starts the same leg twice is caught."""
    model = ServiceModel()
    model.inbound_call(1, CALLER)
    start = {"Type": "StartCallRecording", "Parameters": {"CallId": LEG_A}}
    model.execute(start)
    try:
        model.execute(start)
    except ViolationError:
        return
    raise AssertionError("a second start went unnoticed")


def test_replayed_events_are_numbered_below_the_state() -> None:
    model = ServiceModel()
    model.inbound_call(1, CALLER)
    first = model.history[0]
    model.run_queued_list(None, "SystemException", report_now=True)

    state = json.loads(model.attributes[STATE_KEY])

    assert state["n"] > first["Sequence"]


# -- the same moves, spelled out: each fails without the defence it names ------------------------------


def _recording_single_leg_call() -> ServiceModel:
    model = ServiceModel()
    model.inbound_call(1, CALLER)  # no bridge: [Pause, StartCallRecording]
    model.run_queued_list(None, "SystemException", report_now=True)
    assert model.started == {LEG_A}
    return model


def test_a_stopped_leg_edited_back_to_idle_is_not_started_again() -> None:
    """Checksum: the hand edit is rejected, so no second StartCallRecording goes out."""
    model = _recording_single_leg_call()
    model.update_request("stop", None)
    model.run_queued_list(None, "SystemException", report_now=True)
    assert LEG_A in model.stopped
    model.corrupt_state(('"a":"stopped"', '"a":"idle"'))

    model.update_request("start", None)
    model.run_queued_list(None, "SystemException", report_now=True)

    assert model.started == {LEG_A}


def test_a_replayed_failure_does_not_start_a_leg_whose_start_already_ran() -> None:
    """Sequence: the old ACTION_FAILED of the answer Pause comes back after the Start ran."""
    model = ServiceModel()
    model.inbound_call(1, CALLER)
    model.run_queued_list(0, "SystemException", report_now=True)  # the Pause failed: Start again
    model.run_queued_list(None, "SystemException", report_now=False)  # the Start runs
    failed = model.history[-1]
    assert failed["InvocationEventType"] == "ACTION_FAILED"

    model.deliver(failed, replay=True)
    if model.queue:
        model.run_queued_list(None, "SystemException", report_now=True)

    assert model.started == {LEG_A}
