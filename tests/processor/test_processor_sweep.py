"""The missing sweep against moto: overdue started recordings become missing, announced once."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber
from recording_processor import handler as handler_module
from recording_processor import schema
from recording_processor._config import CatalogConfig, ConfigError
from recording_processor._ledger import Timing, paused_seconds, pending_deadline
from recording_processor._sweep import sweep
from recording_processor._telemetry import Logger
from recording_processor.catalog import list_day
from recording_processor.handler import sweep_handler

from tests.processor.calls import (
    T0,
    at,
    deliver_recording,
    fact,
    leg_a,
    make_catalog_runtime,
    message,
    missing_events,
    realistic_call,
    send,
    sweep_at,
)
from tests.processor.conftest import CALL_ID, REGION, TABLE, TRANSACTION_ID, Aws, Output

#: After the default recording's deadline (the call ends at T0+90 s; grace 15 minutes).
LATE = T0 + timedelta(minutes=20)
#: Before it.
EARLY = T0 + timedelta(minutes=10)


def started_call(aws: Aws) -> None:
    assert send(make_catalog_runtime(aws, Output()), *realistic_call()) == []


def test_an_overdue_recording_is_marked_missing_and_announced_once(
    aws: Aws, output: Output
) -> None:
    started_call(aws)

    report = sweep_at(aws, output, LATE)

    assert report["missing"] == 1
    recording = aws.recording_item()
    assert recording is not None
    assert recording["status"] == "missing"
    assert recording["missingAt"] == "2026-11-24T12:20:00.250Z"
    assert "gsi3pk" not in recording
    assert "gsi3sk" not in recording
    # In the day index, so `recordings list --day ... --status missing` finds it.
    assert recording["gsi2pk"] == "DAY#2026-11-24"
    assert recording["gsi2sk"] == f"{at(3)}#{TRANSACTION_ID}#{CALL_ID}"
    table = boto3.resource("dynamodb", region_name=REGION).Table(TABLE)
    listed = list_day(table, date(2026, 11, 24))
    assert [(r["callId"], r["status"]) for r in listed] == [(CALL_ID, "missing")]
    events = missing_events(aws)
    assert len(events) == 1
    assert events[0]["source"] == "cdk-recording"
    assert events[0]["detail"] == {
        "schemaVersion": "1",
        "transactionId": TRANSACTION_ID,
        "callId": CALL_ID,
        "leg": "LEG-A",
        "startedAt": at(3),
        "stoppedAt": at(90),
        "deadline": at(90 + 15 * 60),
        "detectedAt": "2026-11-24T12:20:00.250Z",
    }
    assert output.metric_values("RecordingMissing") == [1]
    assert output.metric_values("SweepBacklog") == [0]

    again = sweep_at(aws, output, LATE + timedelta(minutes=5))

    assert again["examined"] == 0
    assert len(missing_events(aws)) == 1
    assert output.metric_values("RecordingMissing") == [1]


def test_nothing_is_missing_before_its_deadline(aws: Aws, output: Output) -> None:
    started_call(aws)

    assert sweep_at(aws, output, EARLY)["examined"] == 0

    assert aws.recording_item()["status"] == "started"  # type: ignore[index]
    assert missing_events(aws) == []


def test_a_delivered_recording_is_never_marked_missing(aws: Aws, output: Output) -> None:
    started_call(aws)
    deliver_recording(aws)

    report = sweep_at(aws, output, LATE + timedelta(days=30))

    assert report["examined"] == 0
    assert aws.recording_item()["status"] == "delivered"  # type: ignore[index]
    assert missing_events(aws) == []


def test_a_delivery_racing_the_sweep_wins_and_nothing_is_sent(aws: Aws, output: Output) -> None:
    started_call(aws)

    class DeliveredMeanwhile:
        def __init__(self, client: Any) -> None:
            self._client = client
            self.delivered = False

        def update_item(self, **params: Any) -> Any:
            if not self.delivered:
                self.delivered = True
                deliver_recording(aws)
            return self._client.update_item(**params)

        def __getattr__(self, name: str) -> Any:
            return getattr(self._client, name)

    report = sweep_at(aws, output, LATE, dynamodb=DeliveredMeanwhile(aws.dynamodb))

    assert (report["examined"], report["missing"], report["raced"]) == (1, 0, 1)
    assert aws.recording_item()["status"] == "delivered"  # type: ignore[index]
    assert missing_events(aws) == []
    assert [e["detail-type"] for e in aws.emitted()] == ["Recording Available"]


def test_a_late_delivery_upgrades_the_missing_item(aws: Aws, output: Output) -> None:
    started_call(aws)
    sweep_at(aws, Output(), LATE)

    version = deliver_recording(aws, output)

    recording = aws.recording_item()
    assert recording is not None
    assert (recording["status"], recording["versionId"]) == ("delivered", version)
    assert recording["missingAt"] == "2026-11-24T12:20:00.250Z"  # kept: it was reported missing
    assert output.metric_values("RecordingDeliveredLate") == [1]
    assert any(log["message"].startswith("late delivery") for log in output.logs)
    assert [e["detail-type"] for e in aws.emitted()] == ["Recording Missing", "Recording Available"]


def test_a_stop_seen_late_moves_the_deadline_out_of_the_sweeps_way(
    aws: Aws, output: Output
) -> None:
    runtime = make_catalog_runtime(aws, Output())
    send(runtime, *realistic_call()[:3])  # started at T0+3s, deadline a day later
    one_hour = T0 + timedelta(hours=1)
    assert sweep_at(aws, output, one_hour)["examined"] == 0

    send(runtime, message(8, 3000, [fact("recording-stopped")]))  # stopped at 50 minutes

    assert sweep_at(aws, output, one_hour)["examined"] == 0
    assert sweep_at(aws, output, T0 + timedelta(minutes=66))["missing"] == 1


def test_facts_after_missing_never_bring_it_back(aws: Aws, output: Output) -> None:
    runtime = make_catalog_runtime(aws, Output())
    send(runtime, *realistic_call()[:3])
    sweep_at(aws, output, T0 + timedelta(days=2))

    send(runtime, message(8, 40, [fact("recording-stopped")]))

    recording = aws.recording_item()
    assert recording is not None
    assert (recording["status"], recording["stoppedAt"]) == ("missing", at(40))
    assert "gsi3sk" not in recording


def test_a_rejected_put_events_puts_the_item_back_for_the_next_run(
    aws: Aws, output: Output
) -> None:
    started_call(aws)
    rejecting = boto3.client("events", region_name=REGION)
    with Stubber(rejecting) as stub:
        stub.add_response(
            "put_events",
            {
                "FailedEntryCount": 1,
                "Entries": [{"ErrorCode": "InternalFailure", "ErrorMessage": "x"}],
            },
            {"Entries": ANY},
        )
        report = sweep_at(aws, output, LATE, events=rejecting)

    assert (report["missing"], report["failed"]) == (0, 1)
    recording = aws.recording_item()
    assert recording is not None
    assert recording["status"] == "started"
    assert recording["gsi3sk"] == at(90 + 15 * 60)
    assert "missingAt" not in recording

    assert sweep_at(aws, output, LATE + timedelta(minutes=5))["missing"] == 1
    assert len(missing_events(aws)) == 1


def test_work_per_run_is_bounded_and_the_backlog_counted(aws: Aws, output: Output) -> None:
    # 3 overdue recordings in each of the 8 partitions; 16 per run means 2 per partition.
    for shard in range(schema.PENDING_SHARDS):
        for _ in range(3):
            tx = f"{shard:x}" + str(uuid.uuid4())[1:]
            body = message(3, 3, [fact("recording-started")], transaction_id=tx)
            assert send(make_catalog_runtime(aws, Output()), body) == []
    runtime = make_catalog_runtime(aws, output, T0 + timedelta(days=2))

    log = Logger(output.write)
    first = sweep(runtime.sweep_services(), log, max_items=16)
    second = sweep(runtime.sweep_services(), log, max_items=16)

    assert (first.missing, first.backlog) == (16, 8)
    assert (second.missing, second.backlog) == (8, 0)
    assert output.metric_values("SweepBacklog") == [8, 0]
    assert len(missing_events(aws)) == 24
    assert any(log["message"] == "overdue recordings left for the next run" for log in output.logs)


def test_sweep_handler_reads_its_configuration(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CATALOG_TABLE", raising=False)
    handler_module._lambda_catalog_runtime.cache_clear()

    with pytest.raises(ConfigError, match="CATALOG_TABLE is not set"):
        sweep_handler({}, None)


def test_catalog_config_defaults_and_every_variable() -> None:
    assert CatalogConfig.from_environ({"CATALOG_TABLE": "t"}) == CatalogConfig("t")
    config = CatalogConfig.from_environ(
        {
            "CATALOG_TABLE": " t ",
            "EVENT_BUS": "bus",
            "METRICS_NAMESPACE": "Ns",
            "APPLICATION": "app",
            "MAX_CALL_HOURS": "4",
            "GRACE_MINUTES": "30",
        }
    )
    assert config == CatalogConfig("t", "bus", "Ns", "app", 4, 30)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("MAX_CALL_HOURS", "0"),
        ("MAX_CALL_HOURS", "169"),
        ("MAX_CALL_HOURS", "1.5"),
        ("GRACE_MINUTES", "-1"),
        ("GRACE_MINUTES", "+5"),
        ("GRACE_MINUTES", "1441"),
        ("GRACE_MINUTES", "\u0665"),
    ],
)
def test_catalog_config_rejects_out_of_range_values(name: str, value: str) -> None:
    with pytest.raises(ConfigError, match=f"{name} is .*; allowed: a whole number from 1 to"):
        CatalogConfig.from_environ({"CATALOG_TABLE": "t", name: value})


@pytest.mark.parametrize(
    ("pauses", "resumes", "stopped", "seconds"),
    [
        ([], [], None, "0"),
        (
            ["2026-11-24T12:00:10.000Z#000001#00"],
            ["2026-11-24T12:00:25.500Z#000002#00"],
            None,
            "15.5",
        ),
        # A repeated pause while paused and a resume while not paused change nothing.
        (
            ["2026-11-24T12:00:10.000Z#000001#00", "2026-11-24T12:00:12.000Z#000002#00"],
            ["2026-11-24T12:00:20.000Z#000003#00", "2026-11-24T12:00:30.000Z#000004#00"],
            None,
            "10",
        ),
        # Never resumed: counted up to the stop, and not at all without one.
        (["2026-11-24T12:00:10.000Z#000001#00"], [], "2026-11-24T12:01:10.000Z", "60"),
        (["2026-11-24T12:00:10.000Z#000001#00"], [], None, "0"),
        # Two pause/resume pairs.
        (
            ["2026-11-24T12:00:10.000Z#000001#00", "2026-11-24T12:00:40.000Z#000003#00"],
            ["2026-11-24T12:00:20.000Z#000002#00", "2026-11-24T12:00:45.000Z#000004#00"],
            None,
            "15",
        ),
    ],
)
def test_paused_seconds(
    pauses: list[str], resumes: list[str], stopped: str | None, seconds: str
) -> None:
    assert paused_seconds(pauses, resumes, stopped) == Decimal(seconds)


def test_pending_deadline() -> None:
    timing = Timing(max_call_hours=24, grace_minutes=15)

    assert pending_deadline({}, timing) is None
    assert pending_deadline({"requestedAt": at(2)}, timing) == at(2 + 24 * 3600 + 900)
    assert pending_deadline({"requestedAt": at(2), "startedAt": at(3)}, timing) == at(
        3 + 24 * 3600 + 900
    )
    assert pending_deadline({"startedAt": at(3), "stoppedAt": at(60)}, timing) == at(60 + 900)
    assert pending_deadline({"startedAt": at(3), "failedAt": at(4)}, timing) == at(4 + 900)


# -- what is awaited: only recordings a file can come from -------------------------------------------


def _consent_then_hangup() -> list[dict[str, Any]]:
    """Consent and StartCallRecording are answered together; the caller hangs up during consent."""
    return [
        message(1, 0.1, [fact("call-started")], event_type="NEW_INBOUND_CALL"),
        message(
            2,
            1,
            [fact("recording-requested", track="BOTH", destination="recordings/calls")],
            event_type="NEW_INBOUND_CALL",
        ),
        message(
            3,
            4,
            [fact("call-ended", leg=None)],
            participants=[leg_a("Disconnected", started=False)],
            event_type="HANGUP",
        ),
    ]


@pytest.mark.parametrize("order", ["in-order", "reversed"])
def test_a_caller_who_hangs_up_during_consent_is_not_reported_missing(
    aws: Aws, output: Output, order: str
) -> None:
    runtime = make_catalog_runtime(aws, output)
    messages = _consent_then_hangup()
    for body in messages if order == "in-order" else reversed(messages):
        assert send(runtime, body) == []
    recording = aws.recording_item()
    assert recording is not None
    assert recording["status"] == "not-started"
    assert "gsi3pk" not in recording
    assert sweep_at(aws, output, T0 + timedelta(days=3))["examined"] == 0
    assert missing_events(aws) == []


def test_a_start_confirmed_after_the_hangup_message_is_awaited_again(
    aws: Aws, output: Output
) -> None:
    runtime = make_catalog_runtime(aws, output)
    for body in _consent_then_hangup():
        assert send(runtime, body) == []
    started = message(4, 3, [fact("recording-started", track="BOTH")])
    assert send(runtime, started) == []
    recording = aws.recording_item()
    assert recording is not None
    assert recording["status"] == "started"
    assert recording["gsi3sk"] == at(4 + 15 * 60)
    assert sweep_at(aws, output, T0 + timedelta(minutes=20))["examined"] == 1
    assert len(missing_events(aws)) == 1


def test_a_failed_pause_does_not_move_the_deadline(aws: Aws, output: Output) -> None:
    runtime = make_catalog_runtime(aws, output)
    for body in realistic_call()[:4]:
        assert send(runtime, body) == []
    before = aws.recording_item()
    assert before is not None
    failed = message(
        5,
        60,
        [fact("recording-failed", action="PauseCallRecording", final=False)],
    )
    assert send(runtime, failed) == []
    after = aws.recording_item()
    assert after is not None
    assert (after["status"], after["gsi3sk"]) == ("started", before["gsi3sk"])
    assert "failedAt" not in after
    assert sweep_at(aws, output, T0 + timedelta(minutes=20))["examined"] == 0


def test_a_start_that_failed_for_good_is_not_awaited(aws: Aws, output: Output) -> None:
    runtime = make_catalog_runtime(aws, output)
    bodies = [
        _consent_then_hangup()[1],
        message(3, 2, [fact("recording-failed", action="StartCallRecording", final=True)]),
    ]
    for body in bodies:
        assert send(runtime, body) == []
    recording = aws.recording_item()
    assert recording is not None
    assert recording["status"] == "failed"
    assert "gsi3pk" not in recording
    assert sweep_at(aws, output, T0 + timedelta(days=3))["examined"] == 0
