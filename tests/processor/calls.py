"""A realistic call's facts messages (docs/catalog.md, version 1) and the runtime that consumes them.

The call: an inbound call from :data:`CALLER` to the SMA number :data:`SMA_NUMBER`; consent is
played to LEG-A, recording of LEG-A (both tracks) is requested and starts, LEG-B to
:data:`CALLEE` joins, recording pauses for 15 seconds, and the caller hangs up. Its recording is
the conftest's default recording (same transaction, call id and leg start).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from recording_processor._config import CatalogConfig
from recording_processor._keys import iso_utc
from recording_processor.handler import CatalogRuntime, facts_handler, sweep_handler

from tests.processor.conftest import (
    APPLICATION,
    BUS,
    CALL_ID,
    LEG_START,
    NAMESPACE,
    NOW,
    TABLE,
    TRANSACTION_ID,
    Aws,
    Output,
    key_for,
    make_runtime,
    metadata_for,
    run,
    s3_event,
    sqs_batch,
    stereo_wav,
)

SMA_ID = "3f2e1d0c-9b8a-4c7d-8e6f-5a4b3c2d1e0f"
LEG_B_CALL_ID = "9a8b7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d"
CALLER = "+12065550100"
SMA_NUMBER = "+12065550199"
CALLEE = "+13125550142"
#: The call's start: LEG-A's start, which is also the recording key's leg start.
T0 = LEG_START
SECONDS = 75.5

CATALOG_CONFIG = CatalogConfig(
    catalog_table=TABLE,
    event_bus=BUS,
    metrics_namespace=NAMESPACE,
    application=APPLICATION,
)


def at(seconds: float) -> str:
    """``T0`` plus ``seconds``, as the catalog writes times."""
    return iso_utc(T0 + timedelta(seconds=seconds))


def leg_a(status: str = "Connected", *, started: bool = True) -> dict[str, Any]:
    leg: dict[str, Any] = {
        "callId": CALL_ID,
        "tag": "LEG-A",
        "from": CALLER,
        "to": SMA_NUMBER,
        "direction": "Inbound",
        "status": status,
    }
    if started:
        leg["startedAt"] = at(0)
    return leg


def leg_b() -> dict[str, Any]:
    return {
        "callId": LEG_B_CALL_ID,
        "tag": "LEG-B",
        "from": SMA_NUMBER,
        "to": CALLEE,
        "direction": "Outbound",
        "status": "Connected",
        "startedAt": at(9),
    }


def message(
    sequence: int,
    seconds: float,
    facts: Sequence[Mapping[str, Any]],
    participants: Sequence[Mapping[str, Any]] | None = None,
    event_type: str = "ACTION_SUCCESSFUL",
    transaction_id: str = TRANSACTION_ID,
) -> dict[str, Any]:
    return {
        "v": 1,
        "transactionId": transaction_id,
        "smaId": SMA_ID,
        "sequence": sequence,
        "eventType": event_type,
        "at": at(seconds),
        "participants": list(participants if participants is not None else [leg_a()]),
        "facts": list(facts),
    }


def fact(
    kind: str, call_id: str | None = CALL_ID, leg: str | None = "LEG-A", **detail: Any
) -> dict[str, Any]:
    out: dict[str, Any] = {"kind": kind}
    if call_id is not None:
        out["callId"] = call_id
    if leg is not None:
        out["leg"] = leg
    if detail:
        out["detail"] = detail
    return out


def realistic_call() -> list[dict[str, Any]]:
    """The call's messages, in the order the handler sends them.

    Only the first two name LEG-A's start: the others' own time stands in, so the call's
    ``startedAt`` is right only if it is the earliest of all.
    """
    return [
        message(1, 0.1, [fact("call-started")], event_type="NEW_INBOUND_CALL"),
        message(
            2,
            2,
            [
                fact("consent-played", prompt="consent.wav"),
                fact("recording-requested", track="BOTH", destination="recordings/calls"),
            ],
        ),
        message(
            3,
            3,
            [fact("recording-started", track="BOTH", destination="recordings/calls")],
            participants=[leg_a(started=False)],
        ),
        message(
            4,
            10,
            [fact("leg-joined", call_id=LEG_B_CALL_ID, leg="LEG-B")],
            participants=[leg_a(started=False), leg_b()],
        ),
        message(5, 20, [fact("recording-paused")], participants=[leg_a(started=False), leg_b()]),
        message(6, 35, [fact("recording-resumed")], participants=[leg_a(started=False), leg_b()]),
        message(
            7,
            90,
            [fact("call-ended", leg=None)],
            participants=[leg_a("Disconnected", started=False), leg_b()],
            event_type="HANGUP",
        ),
    ]


def make_catalog_runtime(
    aws: Aws, output: Output, now: datetime = NOW, **overrides: Any
) -> CatalogRuntime:
    values: dict[str, Any] = {
        "config": CATALOG_CONFIG,
        "dynamodb": aws.dynamodb,
        "events": aws.events,
        "clock": lambda: now,
        "write": output.write,
    }
    values.update(overrides)
    return CatalogRuntime(**values)


def send(runtime: CatalogRuntime, *bodies: str | Mapping[str, Any]) -> list[str]:
    """Invoke the facts handler with one batch; returns the message ids to deliver again."""
    response = facts_handler(sqs_batch(*bodies), None, runtime=runtime)
    return [failure["itemIdentifier"] for failure in response["batchItemFailures"]]


def sweep_at(aws: Aws, output: Output, now: datetime, **overrides: Any) -> dict[str, int]:
    return sweep_handler({}, None, runtime=make_catalog_runtime(aws, output, now, **overrides))


def deliver_recording(aws: Aws, output: Output | None = None) -> str:
    """Upload the call's recording and run the arrival processor on its event; its version id."""
    key = key_for()
    version = aws.put_recording(key, stereo_wav(SECONDS), metadata_for(SECONDS))
    assert run(sqs_batch(s3_event(key, version)), make_runtime(aws, output or Output())) == []
    return version


def catalog(aws: Aws, ignore: Iterable[str] = ()) -> dict[str, dict[str, Any]]:
    """Every item of the table by sort key, without the ``ignore``d attributes."""
    skip = set(ignore)
    return {
        str(item["pk"]) + "|" + str(item["sk"]): {k: v for k, v in item.items() if k not in skip}
        for item in aws.items()
    }


def missing_events(aws: Aws) -> list[dict[str, Any]]:
    return [e for e in aws.emitted() if e["detail-type"] == "Recording Missing"]


def dumps(value: Any) -> str:
    return json.dumps(value)
