"""The arrival: a simulated call's recordings through the real arrival processor over moto.

After the call, each recording is put in a versioned moto bucket with its §3.4 metadata, S3's
``Object Created`` event is wrapped into an SQS record and handed to
``recording_processor.handler.handler``; the catalog items and the "Recording Available" events
(captured by an EventBridge rule into an SQS queue) join the report. The property at the end
delivers many calls' recordings duplicated, reordered and batched, as EventBridge and SQS may.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
import sys
from collections import Counter
from collections.abc import Iterator
from random import Random
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cdk_recording.cli import main
from cdk_recording.testing import (
    DEFAULT_RECORDING_CONFIG,
    ArrivalDouble,
    CallReport,
    Hangup,
    InboundCall,
    LegBilling,
    MemorySink,
    Scenario,
    SmaSimulator,
    Step,
    StoredRecording,
    UpdateRequest,
    builtin_scenario,
)
from tests.simulator.conftest import CALLER, NUMBER


@pytest.fixture
def double() -> Iterator[ArrivalDouble]:
    with ArrivalDouble.in_moto() as arrival:
        yield arrival


def test_the_default_call_is_cataloged_and_announced(double: ArrivalDouble) -> None:
    """The delivered WAV is cataloged with its own digest, size and length; billed minutes match
    the simulator's (§9); exactly one "Recording Available" names the version S3 holds."""
    memory = MemorySink()
    simulator = SmaSimulator.for_recording_handler(sink=memory, arrival=double)
    report = simulator.run(builtin_scenario("default"))
    assert report.ok, report.to_text()
    arrival = report.arrival
    assert arrival is not None
    [recording] = report.recordings
    [bill] = report.billing
    body = memory.objects[(recording.bucket, recording.key)].body

    head = double.s3.head_object(Bucket=recording.bucket, Key=recording.key)
    assert head["Metadata"] == dict(recording.metadata)
    assert head["ContentLength"] == len(body)

    item = arrival.recording_item(recording.call_id)
    assert item is not None
    assert item["status"] == "delivered"
    assert item["versionId"] == head["VersionId"]
    assert item["sha256"] == hashlib.sha256(body).hexdigest()
    assert item["sizeBytes"] == len(body)
    assert item["durationSeconds"] == recording.duration_ms / 1000
    assert item["billedMinutes"] == bill.billable_minutes == 2
    assert (item["channels"], item["sampleRate"], item["track"]) == (2, 8000, "BOTH")
    assert item["eventSent"] is True
    call = arrival.call_item()
    assert call is not None
    assert call["billedMinutes"] == report.billable_minutes
    assert call["recordings"] == [recording.call_id]

    [event] = arrival.events
    assert (event["source"], event["detail-type"]) == ("cdk-recording", "Recording Available")
    assert event["detail"]["callId"] == recording.call_id
    assert event["detail"]["versionId"] == head["VersionId"]
    assert event["detail"]["sha256"] == item["sha256"]
    assert f"arn:aws:s3:::{recording.bucket}/{recording.key}" in event["resources"]
    [delivery] = arrival.deliveries
    assert (delivery.outcome, delivery.retried) == ("delivered", False)
    assert arrival.problems == ()
    text = report.to_text()
    assert "arrival problems: none" in text
    assert f"REC#{recording.call_id}: status delivered" in text


def test_a_call_without_recordings_catalogs_only_its_facts(double: ArrivalDouble) -> None:
    """A busy callee: nothing recorded, so nothing arrives or is announced; the facts consumer
    still catalogs the call (its parties and the two facts), and no recording item."""
    report = SmaSimulator.for_recording_handler(arrival=double).run(builtin_scenario("busy-callee"))
    arrival = report.arrival
    assert arrival is not None
    assert (arrival.deliveries, arrival.events) == ((), ())
    assert [item["sk"] for item in arrival.catalog] == ["CALL"]
    assert [fact["kind"] for fact in arrival.facts] == ["call-started", "call-ended"]
    assert report.ok, report.to_text()


def test_a_disagreement_with_the_simulator_is_a_problem(double: ArrivalDouble) -> None:
    """The comparison can fail: a call billed one minute more than the catalog says."""
    memory = MemorySink()
    report = SmaSimulator.for_recording_handler(sink=memory).run(builtin_scenario("default"))
    [bill] = report.billing
    inflated = dataclasses.replace(
        report,
        billing=(LegBilling(bill.leg, bill.call_id, bill.recorded_ms, bill.billable_minutes + 1),),
    )
    arrival = double.arrive(inflated, memory.objects)
    assert not arrival.ok
    assert any("catalog bills 2 min, the simulator 3 min" in p for p in arrival.problems)
    assert not dataclasses.replace(inflated, arrival=arrival).ok


def test_a_report_arrived_without_facts_says_so(double: ArrivalDouble) -> None:
    """A call run without the double (so its facts went nowhere) arrives with a note, no facts
    checks and no sweep: only the delivery is checked."""
    memory = MemorySink()
    report = SmaSimulator.for_recording_handler(sink=memory).run(builtin_scenario("default"))
    arrival = double.arrive(report, memory.objects)
    assert arrival.ok, arrival.problems
    assert (arrival.facts_fed, arrival.sweep, arrival.facts) == (None, None, ())
    assert "facts not fed" in arrival.notes[0]


# -- the command ---------------------------------------------------------------------------------


def test_simulate_arrival_prints_the_catalog_and_the_event(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["simulate", "--arrival"]) == 0
    out = capsys.readouterr().out
    assert "arrival (the recording processor over moto" in out
    assert "recordings 1, billedMinutes 2" in out
    assert "events: 1" in out
    assert "Recording Available" in out
    assert "arrival problems: none" in out


def test_simulate_without_arrival_keeps_its_output(capsys: pytest.CaptureFixture[str]) -> None:
    """The default text and JSON carry no arrival section (the flag is opt-in)."""
    assert main(["simulate"]) == 0
    assert "arrival" not in capsys.readouterr().out
    assert main(["simulate", "--json"]) == 0
    assert "arrival" not in json.loads(capsys.readouterr().out)


def test_simulate_arrival_json_is_reproducible(capsys: pytest.CaptureFixture[str]) -> None:
    """moto's ids are seeded from the scenario, so the same call prints the same arrival; only
    the events' envelope ``time`` (when moto's bus received them: the wall clock) may differ."""
    outputs = []
    for _ in range(2):
        assert main(["simulate", "--arrival", "--json"]) == 0
        arrival = json.loads(capsys.readouterr().out)["arrival"]
        for event in arrival["events"]:
            event.pop("time")
        outputs.append(arrival)
    assert outputs[0] == outputs[1]
    [event] = outputs[0]["events"]
    assert event["detail"]["billedMinutes"] == 2


def test_simulate_arrival_without_moto_is_one_note(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """moto is a dev dependency: without it the call runs and the arrival is one skipped line."""
    monkeypatch.setitem(sys.modules, "moto", None)
    assert main(["simulate", "--arrival"]) == 0
    out = capsys.readouterr().out
    lines = [line for line in out.splitlines() if "arrival" in line]
    assert lines == [
        "arrival: skipped: moto is not installed (it is a development dependency: "
        "pip install 'moto[s3,dynamodb,events,sqs]')"
    ]
    assert "total: 2 min" in out


# -- the property: duplicated, reordered, batched deliveries -------------------------------------


def configuration(track: str, leg: str) -> dict[str, Any]:
    document = copy.deepcopy(dict(DEFAULT_RECORDING_CONFIG))
    document.update(track=track, leg=leg, consent=None)
    return document


@st.composite
def calls(draw: st.DrawFn) -> tuple[dict[str, Any], Scenario]:
    """A short call (a small WAV), sometimes paused and resumed, recorded on either leg."""
    track = draw(st.sampled_from(["BOTH", "INCOMING", "OUTGOING"]))
    leg = draw(st.sampled_from(["LEG-A", "LEG-A", "LEG-B"]))
    steps = [Step.at(0, InboundCall(CALLER, NUMBER))]
    at = 5.0
    for command in draw(st.lists(st.sampled_from(["pause", "resume"]), max_size=3)):
        at += draw(st.integers(min_value=1, max_value=20))
        steps.append(Step.at(at, UpdateRequest({"recording": command})))
    steps.append(Step.at(at + draw(st.integers(min_value=0, max_value=70)), Hangup("LEG-A")))
    seed = draw(st.integers(min_value=0, max_value=2**32))
    return configuration(track, leg), Scenario(tuple(steps), name="arrival", seed=seed)


def deliver_until_settled(
    double: ArrivalDouble, deliveries: list[StoredRecording], sizes: list[int]
) -> Counter[str]:
    """Hand the deliveries over in batches; what the processor retries comes back (bounded)."""
    outcomes: Counter[str] = Counter()
    pending = deliveries
    for _ in range(5):
        retried: list[StoredRecording] = []
        start = 0
        for size in [*sizes, len(pending)]:
            batch = pending[start : start + size]
            start += len(batch)
            if not batch:
                continue
            result = double.process(batch)
            outcomes.update(result.outcomes)
            retried += [
                s for s, m in zip(batch, result.message_ids, strict=True) if m in result.retried
            ]
        pending = retried
        if not pending:
            return outcomes
    raise AssertionError(f"still retried after 5 rounds: {pending}")


def check_catalog(
    double: ArrivalDouble,
    reports: list[CallReport],
    stored: dict[str, StoredRecording],
    outcomes: Counter[str],
    deliveries: int,
) -> None:
    items = double.dynamodb.scan(TableName="recording-catalog")["Items"]
    recording_items = [i for i in items if i["sk"]["S"].startswith("REC#")]
    recorded = [(r, bill) for r in reports for bill in r.billing]
    # Cataloged exactly once: one item per recording, one "delivered" outcome per recording.
    assert len(recording_items) == len(recorded)
    assert outcomes["delivered"] == len(recorded), outcomes
    assert sum(outcomes.values()) == deliveries, outcomes
    assert set(outcomes) <= {"delivered", "duplicate"}, outcomes
    events = Counter(
        (e["detail"]["transactionId"], e["detail"]["callId"]) for e in double.captured_events()
    )
    for report, bill in recorded:
        [item] = [
            i for i in double.catalog(report.transaction_id) if i["sk"] == f"REC#{bill.call_id}"
        ]
        assert item["status"] == "delivered"
        assert item["versionId"] == stored[bill.call_id].version_id
        assert item["billedMinutes"] == bill.billable_minutes
        # Exactly one "Recording Available" per recording, whatever was duplicated.
        assert events[(report.transaction_id, bill.call_id)] == 1
    assert sum(events.values()) == len(recorded)
    for report in reports:
        if report.billing:
            [call] = [i for i in double.catalog(report.transaction_id) if i["sk"] == "CALL"]
            assert call["billedMinutes"] == report.billable_minutes
            assert call["recordings"] == sorted(b.call_id for b in report.billing)


@settings(
    max_examples=10,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    drawn=st.lists(calls(), min_size=2, max_size=6, unique_by=lambda c: c[1].seed),
    copies=st.lists(st.integers(min_value=1, max_value=3), min_size=5, max_size=5),
    order=st.randoms(use_true_random=False),
    sizes=st.lists(st.integers(min_value=1, max_value=10), min_size=1, max_size=4),
)
def test_duplicated_and_reordered_deliveries_catalog_each_recording_once(
    drawn: list[tuple[dict[str, Any], Scenario]],
    copies: list[int],
    order: Random,
    sizes: list[int],
) -> None:
    """Every delivered recording is cataloged exactly once, with the simulator's billed minutes
    (per recording and per call), and announced by exactly one event, when S3's events arrive
    duplicated (1-3 copies), in any order, in batches of any size."""
    reports: list[CallReport] = []
    memory = MemorySink()
    for config, scenario in drawn:
        simulator = SmaSimulator.for_recording_handler(config, sink=memory, log_level="WARNING")
        report = simulator.run(scenario)
        assert report.ok, report.to_text()
        reports.append(report)
    with ArrivalDouble.in_moto() as double:
        stored: dict[str, StoredRecording] = {}
        for report in reports:
            for recording in report.recordings:
                _, _, prefix = recording.location.partition("/")
                stored[recording.call_id] = double.store(
                    memory.objects[(recording.bucket, recording.key)],
                    report.start_time_ms + recording.delivered_ms,
                    prefix,
                )
        deliveries = [
            s for index, s in enumerate(stored.values()) for _ in range(copies[index % len(copies)])
        ]
        order.shuffle(deliveries)
        outcomes = deliver_until_settled(double, deliveries, sizes)
        check_catalog(double, reports, stored, outcomes, len(deliveries))
        print("STATS", len(stored), len(deliveries), dict(outcomes))
