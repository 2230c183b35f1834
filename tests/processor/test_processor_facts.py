"""The facts consumer against moto: a call's messages become its catalog items, in any order."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from botocore.exceptions import ClientError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from moto import mock_aws
from recording_processor import handler as handler_module
from recording_processor import schema
from recording_processor._keys import iso_utc
from recording_processor.handler import facts_handler

from tests.processor.calls import (
    CALLEE,
    CALLER,
    LEG_B_CALL_ID,
    SMA_ID,
    SMA_NUMBER,
    at,
    catalog,
    deliver_recording,
    fact,
    leg_a,
    leg_b,
    make_catalog_runtime,
    message,
    realistic_call,
    send,
)
from tests.processor.conftest import (
    CALL_ID,
    TRANSACTION_ID,
    Aws,
    Output,
    key_for,
    make_runtime,
    run,
    s3_event,
    sqs_batch,
)

TX = f"TX#{TRANSACTION_ID}"


def test_a_full_call_becomes_its_catalog_items(aws: Aws, output: Output) -> None:
    runtime = make_catalog_runtime(aws, output)

    for body in realistic_call():
        assert send(runtime, body) == []

    call = aws.call_item()
    assert call is not None
    assert {
        k: call[k] for k in ("transactionId", "smaId", "direction", "startedAt", "endedAt")
    } == {
        "transactionId": TRANSACTION_ID,
        "smaId": SMA_ID,
        "direction": "inbound",
        "startedAt": at(0),
        "endedAt": at(90),
    }
    assert (call["fromNumber"], call["toNumber"], call["day"]) == (CALLER, SMA_NUMBER, "2026-11-24")
    assert call["consent"] == {"playedAt": at(2), "legs": ["LEG-A"]}

    recording = aws.recording_item()
    assert recording is not None
    assert recording["status"] == "started"
    assert (recording["leg"], recording["track"], recording["direction"]) == (
        "LEG-A",
        "BOTH",
        "inbound",
    )
    assert (recording["fromNumber"], recording["toNumber"]) == (CALLER, SMA_NUMBER)
    assert recording["destination"] == "recordings/calls"
    assert (recording["requestedAt"], recording["startedAt"]) == (at(2), at(3))
    assert recording["stoppedAt"] == at(90)  # the call's end stops it
    assert recording["pausedSeconds"] == Decimal("15.000")
    assert recording["gsi3pk"] == schema.pending_shard(TRANSACTION_ID) == "PENDING#5"
    assert recording["gsi3sk"] == at(90 + 15 * 60)
    assert "versionId" not in recording

    numbers = {item["number"]: item for item in aws.items() if item["sk"].startswith("NUM#")}
    assert set(numbers) == {CALLER, SMA_NUMBER, CALLEE}
    assert (numbers[CALLER]["role"], numbers[CALLER]["leg"]) == ("from", "LEG-A")
    # The SMA number is LEG-A's "to" and LEG-B's "from": LEG-A ranks first.
    assert (numbers[SMA_NUMBER]["role"], numbers[SMA_NUMBER]["leg"]) == ("to", "LEG-A")
    assert (numbers[CALLEE]["role"], numbers[CALLEE]["leg"]) == ("to", "LEG-B")
    for number, item in numbers.items():
        assert item["gsi1pk"] == f"NUM#{number}"
        assert item["gsi1sk"] == f"{at(0)}#{TRANSACTION_ID}"
        assert item["transactionId"] == TRANSACTION_ID

    facts = sorted((i for i in aws.items() if i["sk"].startswith("FACT#")), key=lambda i: i["sk"])
    assert [f["kind"] for f in facts] == [
        "call-started",
        "consent-played",
        "recording-requested",
        "recording-started",
        "leg-joined",
        "recording-paused",
        "recording-resumed",
        "call-ended",
    ]
    assert facts[1]["sk"] == "FACT#000002#00"
    assert facts[2]["sk"] == "FACT#000002#01"
    assert facts[2]["detail"] == {"track": "BOTH", "destination": "recordings/calls"}
    assert facts[4]["callId"] == LEG_B_CALL_ID
    assert output.metric_values("FactsProcessed") == [1] * 7


def test_the_byNumber_index_finds_the_call(aws: Aws, output: Output) -> None:
    runtime = make_catalog_runtime(aws, output)
    send(runtime, *realistic_call())

    found = aws.table.query(
        IndexName=schema.NUMBER_INDEX,
        KeyConditionExpression="gsi1pk = :n AND gsi1sk BETWEEN :a AND :b",
        ExpressionAttributeValues={":n": f"NUM#{CALLEE}", ":a": "2026-11-24", ":b": "2026-11-25"},
    )["Items"]

    assert [item["transactionId"] for item in found] == [TRANSACTION_ID]


def test_a_duplicate_message_writes_nothing(aws: Aws, output: Output) -> None:
    runtime = make_catalog_runtime(aws, output)
    send(runtime, *realistic_call())
    before = catalog(aws)

    class CountingDynamoDB:
        def __init__(self, client: Any) -> None:
            self._client = client
            self.writes = 0

        def update_item(self, **params: Any) -> Any:
            self.writes += 1
            return self._client.update_item(**params)

        def __getattr__(self, name: str) -> Any:
            return getattr(self._client, name)

    counting = CountingDynamoDB(aws.dynamodb)
    assert send(make_catalog_runtime(aws, output, dynamodb=counting), *realistic_call()) == []

    assert counting.writes == 0
    assert catalog(aws) == before


def test_recording_stopped_moves_the_deadline_to_the_stop_plus_grace(
    aws: Aws, output: Output
) -> None:
    runtime = make_catalog_runtime(aws, output)
    send(runtime, *realistic_call()[:3])
    assert aws.recording_item()["gsi3sk"] == at(3 + 24 * 3600 + 15 * 60)  # type: ignore[index]

    send(runtime, message(8, 40, [fact("recording-stopped")]))

    recording = aws.recording_item()
    assert recording is not None
    assert recording["stoppedAt"] == at(40)
    assert recording["gsi3sk"] == at(40 + 15 * 60)
    assert recording["status"] == "started"


def test_deadline_follows_the_configured_hours_and_grace(aws: Aws, output: Output) -> None:
    config = make_catalog_runtime(aws, output).config
    runtime = make_catalog_runtime(
        aws,
        output,
        config=type(config)(**{**config.__dict__, "max_call_hours": 2, "grace_minutes": 5}),
    )

    send(runtime, realistic_call()[2])
    assert aws.recording_item()["gsi3sk"] == at(3 + 2 * 3600 + 5 * 60)  # type: ignore[index]
    send(runtime, message(8, 40, [fact("recording-stopped")]))
    assert aws.recording_item()["gsi3sk"] == at(40 + 5 * 60)  # type: ignore[index]


def test_call_ended_before_the_start_still_stops_the_recording(aws: Aws, output: Output) -> None:
    runtime = make_catalog_runtime(aws, output)
    messages = realistic_call()

    send(runtime, messages[6])
    send(runtime, messages[2])

    recording = aws.recording_item()
    assert recording is not None
    assert recording["stoppedAt"] == at(90)
    assert recording["gsi3sk"] == at(90 + 15 * 60)


class RacingDynamoDB:
    """The moto client, with another writer acting just before the first write to ``sk``."""

    def __init__(self, client: Any, sk: str, interfere: Any) -> None:
        self._client = client
        self._sk = sk
        self._interfere = interfere

    def update_item(self, **params: Any) -> Any:
        if self._interfere is not None and params["Key"]["sk"]["S"] == self._sk:
            interfere, self._interfere = self._interfere, None
            interfere()
        return self._client.update_item(**params)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


def test_a_call_end_racing_the_start_still_stops_the_recording(aws: Aws, output: Output) -> None:
    messages = realistic_call()
    # The start has read the call (no end yet) when the end is processed in full, finding no
    # recording item to stop; the start then writes its item.
    racing = RacingDynamoDB(
        aws.dynamodb,
        f"REC#{CALL_ID}",
        lambda: send(make_catalog_runtime(aws, Output()), messages[6]),
    )

    assert send(make_catalog_runtime(aws, output, dynamodb=racing), messages[2]) == []

    recording = aws.recording_item()
    assert recording is not None
    assert recording["stoppedAt"] == at(90)
    assert recording["gsi3sk"] == at(90 + 15 * 60)


def test_a_pause_never_resumed_counts_until_the_stop(aws: Aws, output: Output) -> None:
    runtime = make_catalog_runtime(aws, output)
    send(runtime, *realistic_call()[:5])  # paused at 20, never resumed
    assert aws.recording_item()["pausedSeconds"] == 0  # type: ignore[index]

    send(runtime, message(8, 50, [fact("recording-stopped")]))

    assert aws.recording_item()["pausedSeconds"] == Decimal("30.000")  # type: ignore[index]


def test_facts_never_downgrade_a_delivered_recording(aws: Aws, output: Output) -> None:
    version = deliver_recording(aws)

    send(make_catalog_runtime(aws, output), *realistic_call())

    recording = aws.recording_item()
    assert recording is not None
    assert (recording["status"], recording["versionId"]) == ("delivered", version)
    assert "gsi3pk" not in recording
    assert "gsi3sk" not in recording
    assert (recording["startedAt"], recording["stoppedAt"]) == (at(3), at(90))


def test_delivery_before_and_after_the_facts_converge(output: Output) -> None:
    results = []
    for deliver_first in (True, False):
        with mock_aws():
            aws = Aws()
            runtime = make_catalog_runtime(aws, output)
            if deliver_first:
                deliver_recording(aws)
            send(runtime, *realistic_call())
            if not deliver_first:
                deliver_recording(aws)
            results.append(catalog(aws, ignore=("versionId", "etag")))
            assert len(aws.emitted()) == 1  # one Recording Available, no Recording Missing

    delivered_first, facts_first = results
    assert delivered_first == facts_first
    recording = delivered_first[f"{TX}|REC#{CALL_ID}"]
    assert recording["status"] == "delivered"
    assert "gsi3sk" not in recording
    call = delivered_first[f"{TX}|CALL"]
    assert (call["startedAt"], call["firstStart"], call["billedMinutes"]) == (at(0), at(0), 2)


def _schedules() -> st.SearchStrategy[list[tuple[int, int]]]:
    """Each message (0-6) and the delivery (7) at least once, some twice, in any order, cut into
    SQS batches (the second number groups consecutive messages into one batch)."""
    events = st.lists(st.integers(0, 7), max_size=5).flatmap(
        lambda extra: st.permutations(list(range(8)) + extra)
    )
    return events.flatmap(
        lambda order: st.lists(st.integers(0, 2), min_size=len(order), max_size=len(order)).map(
            lambda cuts: list(zip(order, cuts, strict=True))
        )
    )


@pytest.fixture(scope="module")
def reference() -> dict[str, dict[str, Any]]:
    with mock_aws():
        aws = Aws()
        send(make_catalog_runtime(aws, Output()), *realistic_call())
        deliver_recording(aws)
        return catalog(aws, ignore=("versionId", "etag"))


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(schedule=_schedules())
def test_any_order_and_any_duplication_converge(
    schedule: list[tuple[int, int]], reference: dict[str, dict[str, Any]]
) -> None:
    messages = realistic_call()
    with mock_aws():
        aws = Aws()
        runtime = make_catalog_runtime(aws, Output())
        version = None
        batch: list[dict[str, Any]] = []
        for event, cut in [*schedule, (-1, 0)]:
            if batch and (event == 7 or event == -1 or cut == 0):
                assert send(runtime, *batch) == []
                batch = []
            if event == 7:
                if version is None:
                    version = deliver_recording(aws)
                else:  # the S3 event again
                    assert (
                        run(sqs_batch(s3_event(key_for(), version)), make_runtime(aws, Output()))
                        == []
                    )
            elif event >= 0:
                batch.append(messages[event])

        assert catalog(aws, ignore=("versionId", "etag")) == reference
        assert [e["detail-type"] for e in aws.emitted()] == ["Recording Available"]


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("not json", "malformed-body"),
        ("[1, 2]", "malformed-body"),
        (json.dumps({**message(1, 0, []), "v": 2}), "unsupported-version"),
        (json.dumps({**message(1, 0, []), "v": True}), "unsupported-version"),
        (
            json.dumps({k: v for k, v in message(1, 0, []).items() if k != "v"}),
            "unsupported-version",
        ),
        (json.dumps({**message(1, 0, []), "transactionId": "TX#1"}), "malformed-field"),
        (json.dumps({**message(1, 0, []), "sequence": -1}), "malformed-field"),
        (json.dumps({**message(1, 0, []), "sequence": 1_000_000}), "malformed-field"),
        (json.dumps({**message(1, 0, []), "at": "2026-11-24T12:00:00"}), "malformed-field"),
        (json.dumps({**message(1, 0, []), "at": "yesterday"}), "malformed-field"),
        (json.dumps({**message(1, 0, []), "participants": {"callId": CALL_ID}}), "malformed-field"),
        (json.dumps(message(1, 0, [{"kind": "recording-started"}])), "malformed-field"),
        (
            json.dumps(message(1, 0, [{"kind": "Recording Started", "callId": CALL_ID}])),
            "malformed-field",
        ),
        (json.dumps(message(1, 0, [fact("recording-started", call_id="x")])), "malformed-field"),
        (json.dumps(message(1, 0, [fact("call-started")] * 100)), "too-large"),
        (json.dumps(message(1, 0, [fact("consent-played", text="x" * 3000)])), "too-large"),
        (
            json.dumps(message(1, 0, [fact("consent-played", n={"a": {"b": {"c": {"d": 1}}}})])),
            "too-large",
        ),
        ('{"v": 1, "sequence": 1, "x": NaN}', "malformed-body"),
        (json.dumps(message(1, 0, [fact("consent-played", n=10**40)])), "malformed-field"),
        ("x" * 70_000, "too-large"),
        (json.dumps({**message(1, 0, []), "participants": [leg_a()] * 9}), "too-large"),
        (
            json.dumps({**message(1, 0, []), "participants": [{**leg_a(), "from": 12065550100}]}),
            "malformed-field",
        ),
    ],
    ids=lambda value: value if isinstance(value, str) and len(value) < 30 else None,
)
def test_malformed_messages_are_dropped_counted_and_never_retried(
    aws: Aws, output: Output, body: str, reason: str
) -> None:
    assert send(make_catalog_runtime(aws, output), body) == []

    assert aws.items() == []
    assert [m["reason"] for m in output.metrics if "FactsRejected" in m] == [reason]
    assert any(log["message"] == "facts message rejected" for log in output.logs)


def test_ids_are_lower_cased(aws: Aws, output: Output) -> None:
    body = message(3, 3, [fact("recording-started", call_id=CALL_ID.upper())])
    body["transactionId"] = TRANSACTION_ID.upper()

    send(make_catalog_runtime(aws, output), body)

    assert aws.recording_item()["callId"] == CALL_ID  # type: ignore[index]


def test_unknown_kinds_are_ignored_with_a_warning(aws: Aws, output: Output) -> None:
    body = message(
        3, 3, [{"kind": "dtmf-received", "detail": {"digits": "12"}}, fact("recording-started")]
    )

    assert send(make_catalog_runtime(aws, output), body) == []

    kinds = [i["kind"] for i in aws.items() if i["sk"].startswith("FACT#")]
    assert kinds == ["recording-started"]
    assert aws.recording_item()["status"] == "started"  # type: ignore[index]
    assert [log["kind"] for log in output.logs if log["level"] == "WARNING"] == ["dtmf-received"]
    assert output.metric_values("FactsUnknownKind") == [1]


def test_a_number_that_is_not_e164_is_left_out(aws: Aws, output: Output) -> None:
    withheld = {**leg_a(), "from": "anonymous", "to": "sip:2065550199@example.com"}

    send(make_catalog_runtime(aws, output), message(1, 0, [fact("call-started")], [withheld]))

    call = aws.call_item()
    assert call is not None
    assert "fromNumber" not in call
    assert "toNumber" not in call
    assert not [i for i in aws.items() if i["sk"].startswith("NUM#")]
    assert [log["field"] for log in output.logs if log["level"] == "WARNING"] == [
        "participants[0].from",
        "participants[0].to",
    ]


def test_phone_numbers_never_reach_the_logs(aws: Aws, output: Output) -> None:
    runtime = make_catalog_runtime(aws, output, log_level="DEBUG")
    send(runtime, *realistic_call())
    send(runtime, json.dumps({**message(1, 0, []), "sequence": CALLER}))

    for number in (CALLER, SMA_NUMBER, CALLEE):
        assert number[1:] not in output.text


def test_a_failed_write_is_retried_and_the_retry_completes(aws: Aws, output: Output) -> None:
    class Throttled:
        def __init__(self, client: Any) -> None:
            self._client = client

        def update_item(self, **params: Any) -> Any:
            if params["Key"]["sk"]["S"].startswith("REC#"):
                raise ClientError(
                    {
                        "Error": {
                            "Code": "ProvisionedThroughputExceededException",
                            "Message": "slow",
                        }
                    },
                    "UpdateItem",
                )
            return self._client.update_item(**params)

        def __getattr__(self, name: str) -> Any:
            return getattr(self._client, name)

    body = realistic_call()[2]
    batch_body = [realistic_call()[0], body]

    failed = send(make_catalog_runtime(aws, output, dynamodb=Throttled(aws.dynamodb)), *batch_body)

    assert len(failed) == 1
    assert aws.recording_item() is None
    assert aws.call_item() is not None  # the other message of the batch went through
    assert [m["reason"] for m in output.metrics if "ProcessorFailed" in m] == ["catalog-write"]

    assert send(make_catalog_runtime(aws, output), body) == []
    assert aws.recording_item()["status"] == "started"  # type: ignore[index]


def test_a_misconfigured_function_retries_every_message(
    aws: Aws, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("CATALOG_TABLE", raising=False)
    monkeypatch.setenv("GRACE_MINUTES", "0")
    handler_module._lambda_catalog_runtime.cache_clear()
    batch = sqs_batch(*realistic_call()[:2])

    response = facts_handler(batch, None)

    assert [f["itemIdentifier"] for f in response["batchItemFailures"]] == [
        r["messageId"] for r in batch["Records"]
    ]
    assert "GRACE_MINUTES is '0'" in capsys.readouterr().out
    assert aws.items() == []


def test_a_started_item_gets_the_sma_and_numbers_of_its_leg(aws: Aws, output: Output) -> None:
    body = message(
        3,
        3,
        [fact("recording-started", call_id=LEG_B_CALL_ID, leg="LEG-B", track="OUTGOING")],
        participants=[leg_a(), leg_b()],
    )

    send(make_catalog_runtime(aws, output), body)

    recording = aws.recording_item(LEG_B_CALL_ID)
    assert recording is not None
    assert (recording["leg"], recording["track"], recording["direction"]) == (
        "LEG-B",
        "OUTGOING",
        "outbound",
    )
    assert (recording["fromNumber"], recording["toNumber"], recording["smaId"]) == (
        SMA_NUMBER,
        CALLEE,
        SMA_ID,
    )


def test_a_retried_invocation_adds_no_second_fact_and_no_pause(aws: Aws, output: Output) -> None:
    """The service retries an invocation answered too slowly: same sequence, a later clock."""
    runtime = make_catalog_runtime(aws, output)
    calls = realistic_call()
    for body in calls:
        assert send(runtime, body) == []
    # pauses/resumes are sets of fact ids that include the clock; pausedSeconds is what they mean.
    before = catalog(aws, ignore=("pauses", "resumes"))
    for body in calls:
        later = datetime.fromisoformat(str(body["at"])) + timedelta(seconds=2)
        assert send(runtime, {**body, "at": iso_utc(later)}) == []
    after = catalog(aws, ignore=("pauses", "resumes"))
    assert len([k for k in after if "|FACT#" in k]) == 8
    assert after == before
