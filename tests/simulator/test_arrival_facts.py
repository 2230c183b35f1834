"""The call facts in the arrival: the real handler's messages reach the real facts consumer.

During the call the recording handler sends its facts messages through its own sending code to a
moto SQS queue; the double drains it into ``facts_handler`` in batches, before or after the
delivery; the missing sweep then runs past the deadlines. The report shows parties (masked in the
text), consent, the facts timeline and paused seconds, and says where they disagree with the call.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from typing import Any

import pytest

from cdk_recording.cli import main
from cdk_recording.testing import (
    ArrivalDouble,
    ArrivalPlan,
    MemorySink,
    SmaSimulator,
    builtin_scenario,
)
from tests.simulator.conftest import CALLER, NUMBER

AGENT = "+12065550142"


@pytest.fixture
def double() -> Iterator[ArrivalDouble]:
    with ArrivalDouble.in_moto() as arrival:
        yield arrival


def test_the_default_call_catalogs_parties_consent_and_facts(double: ArrivalDouble) -> None:
    report = SmaSimulator.for_recording_handler(arrival=double).run(builtin_scenario("default"))
    arrival = report.arrival
    assert arrival is not None
    assert arrival.ok, report.to_text()
    [recording] = report.recordings
    call = arrival.call_item()
    assert call is not None
    assert (call["fromNumber"], call["toNumber"], call["direction"]) == (CALLER, NUMBER, "inbound")
    assert call["consent"]["legs"] == ["LEG-A"]
    assert call["consent"]["playedAt"] == "2026-11-24T09:30:09.820Z"  # reported by the bridge
    assert {(n["number"], n["role"], n["leg"]) for n in arrival.numbers} == {
        (CALLER, "from", "LEG-A"),
        (NUMBER, "to", "LEG-A"),
        (AGENT, "to", "LEG-B"),
    }
    item = arrival.recording_item(recording.call_id)
    assert item is not None
    assert item["status"] == "delivered"
    assert item["pausedSeconds"] == recording.paused_ms / 1000 == 15
    assert (item["startedAt"], item["stoppedAt"]) == (
        "2026-11-24T09:30:09.820Z",
        "2026-11-24T09:31:40.000Z",
    )
    assert [f["kind"] for f in arrival.facts] == [
        "call-started",
        "leg-joined",
        "consent-played",
        "recording-requested",
        "recording-started",
        "recording-paused",
        "recording-resumed",
        "recording-stopped",
        "call-ended",
    ]
    assert arrival.facts_fed == len({f["sequence"] for f in arrival.facts}) == 6
    # Nothing is awaited any more: the sweep after the delivery reports nothing.
    assert arrival.sweep is not None
    assert arrival.sweep.counts["missing"] == 0
    assert [e["detail-type"] for e in arrival.events] == ["Recording Available"]
    text = report.to_text()
    assert "00:45.000  #5 recording-paused LEG-A" in text
    assert "consent played 2026-11-24T09:30:09.820Z to LEG-A" in text
    assert "pausedSeconds 15" in text


def _without_versions(items: Any) -> list[dict[str, Any]]:
    return [{k: v for k, v in item.items() if k != "versionId"} for item in items]


def test_facts_after_the_delivery_make_the_same_catalog() -> None:
    """The two writers own different attributes: the order they run in changes nothing."""
    catalogs = []
    for order in ("before", "after"):
        with ArrivalDouble.in_moto(plan=ArrivalPlan(facts=order)) as double:
            report = SmaSimulator.for_recording_handler(arrival=double).run(
                builtin_scenario("default")
            )
        assert report.arrival is not None
        assert report.arrival.ok, report.to_text()
        assert report.arrival.plan.facts == order
        arrival = report.arrival
        catalogs.append(
            (
                _without_versions(arrival.catalog),
                arrival.numbers,
                arrival.facts,
                [e["detail"]["billedMinutes"] for e in arrival.events],
            )
        )
    assert catalogs[0] == catalogs[1]


def test_a_dropped_recording_becomes_missing_with_exactly_one_event() -> None:
    with ArrivalDouble.in_moto(plan=ArrivalPlan(drop=("LEG-A",))) as double:
        report = SmaSimulator.for_recording_handler(arrival=double).run(builtin_scenario("default"))
        arrival = report.arrival
        assert arrival is not None
        assert arrival.ok, report.to_text()
        [recording] = report.recordings
        assert arrival.deliveries == ()
        item = arrival.recording_item(recording.call_id)
        assert item is not None
        assert item["status"] == "missing"
        # Stopped at 09:31:40, 15 minutes' grace: due 09:46:40; the sweep's next tick is 09:50.
        assert arrival.sweep is not None
        assert arrival.sweep.at == "2026-11-24T09:50:00Z"
        assert arrival.sweep.counts["missing"] == 1
        assert item["missingAt"] == "2026-11-24T09:50:00.000Z"
        [event] = arrival.events
        assert event["detail-type"] == "Recording Missing"
        assert event["detail"]["callId"] == recording.call_id
        assert event["detail"]["deadline"] == "2026-11-24T09:46:40.000Z"
        # A later sweep finds nothing more: the event is sent once.
        again = double.sweep(report.transaction_id, report.start_time_ms + 3_600_000)
        assert again.counts["missing"] == 0
        assert len(double.captured_events()) == 1
    assert "Recording Missing" in report.to_text()


def test_a_fact_the_catalog_lacks_is_an_arrival_problem(double: ArrivalDouble) -> None:
    """The check can fail: the recording-started message is lost on the way (and the simulator's
    own view of the pause differs), so the catalog disagrees with the call."""
    memory = MemorySink()
    simulator = SmaSimulator.for_recording_handler(sink=memory, log_level="WARNING")
    with double.capturing_facts(simulator.handler) as capturing:
        report = simulator.run(builtin_scenario("default"))
    assert capturing
    lost = 0
    while True:
        messages = double.sqs.receive_message(
            QueueUrl=double.facts_queue_url, MaxNumberOfMessages=10, VisibilityTimeout=0
        ).get("Messages", [])
        started = [m for m in messages if "recording-started" in m["Body"]]
        if not started:
            break
        for message in started:
            double.sqs.delete_message(
                QueueUrl=double.facts_queue_url, ReceiptHandle=message["ReceiptHandle"]
            )
            lost += 1
    assert lost == 1
    [recording] = report.recordings
    shifted = dataclasses.replace(recording, pauses=((45_000, 61_000),))
    arrival = double.arrive(
        dataclasses.replace(report, recordings=(shifted,)), memory.objects, facts=True
    )
    assert not arrival.ok
    assert any("but no recording-started fact" in p for p in arrival.problems), arrival.problems
    assert any("pausedSeconds 15, the simulator 16.000" in p for p in arrival.problems)


def test_another_handler_sends_no_facts_and_the_arrival_says_so(double: ArrivalDouble) -> None:
    def silent(event: Any, context: Any) -> dict[str, Any]:
        return {"SchemaVersion": "1.0", "Actions": []}

    report = SmaSimulator(silent, arrival=double).run(builtin_scenario("default"))
    assert report.arrival is not None
    assert report.arrival.facts_fed is None
    assert "facts not fed" in report.arrival.notes[0]


# -- the command ---------------------------------------------------------------------------------


def _arrival_section(out: str) -> str:
    return out[out.index("arrival (") :]


def test_simulate_arrival_text_masks_numbers(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["simulate", "--arrival"]) == 0
    section = _arrival_section(capsys.readouterr().out)
    for number in (CALLER, NUMBER, AGENT):
        assert number not in section
        assert number[1:] not in section
    assert "fromNumber +*******0199, toNumber +*******0100" in section
    assert "NUM#+*******0142: role to, leg LEG-B" in section
    assert "facts timeline: 9" in section
    assert "arrival problems: none" in section


def test_simulate_arrival_json_holds_facts_numbers_and_the_sweep(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["simulate", "--arrival", "--json", "--facts-after-delivery"]) == 0
    arrival = json.loads(capsys.readouterr().out)["arrival"]
    assert {"catalog", "numbers", "facts", "facts_fed", "plan", "sweep", "events"} <= set(arrival)
    assert arrival["plan"] == {"facts": "after", "drop": []}
    assert arrival["facts_fed"] == 6
    assert arrival["sweep"]["counts"]["missing"] == 0
    [call] = [item for item in arrival["catalog"] if item["sk"] == "CALL"]
    assert call["fromNumber"] == CALLER  # the JSON holds the items as stored
    assert all(fact["sk"].startswith("FACT#") for fact in arrival["facts"])
    assert arrival["problems"] == []


def test_simulate_drop_recording_reports_it_missing(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["simulate", "--arrival", "--drop-recording"]) == 0
    section = _arrival_section(capsys.readouterr().out)
    assert section.count(": dropped, never delivered") == 1
    assert "missing sweep at 2026-11-24T09:50:00Z: examined 1, missing 1" in section
    assert "status missing" in section
    assert section.count("Recording Missing") == 1
    assert "Recording Available" not in section


def test_arrival_flags_need_arrival(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["simulate", "--drop-recording"]) == 2
    assert "--drop-recording needs --arrival" in capsys.readouterr().err


def test_an_unknown_plan_is_refused() -> None:
    with pytest.raises(ValueError, match="drop holds legs LEG-A or LEG-B, got 'LEG-C'"):
        ArrivalPlan(drop=("LEG-C",))
    with pytest.raises(ValueError, match="facts must be one of before, after"):
        ArrivalPlan(facts="later")  # type: ignore[arg-type]
