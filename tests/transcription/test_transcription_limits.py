"""Transcribe's fixed limits in the plan: 4 hours, 0.5 s, and 500 MB for Call Analytics."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from recording_processor.transcription._plan import (
    MAX_CALL_ANALYTICS_BYTES,
    MAX_SECONDS,
    decide_plan,
)

from tests.processor.conftest import BUCKET, CALL_ID, TRANSACTION_ID, Aws, Output
from tests.transcription.conftest import (
    KEY,
    Transcribe,
    config,
    invoke,
    make_runtime,
    seed_recording,
    transcript_item,
)
from tests.transcription.test_transcription_plan import validate


def plan_with(track: str = "BOTH", **rec: Any) -> dict[str, Any]:
    item = {"key": KEY, "leg": "LEG-A", "track": track, "channels": 2 if track == "BOTH" else 1}
    return decide_plan(
        BUCKET, KEY, TRANSACTION_ID, CALL_ID, {**item, **rec}, {"direction": "inbound"}, config()
    )


# -- pure ----------------------------------------------------------------------------------------


def test_a_recording_over_four_hours_is_a_skip_recorded_as_a_failure() -> None:
    assert plan_with(durationSeconds=Decimal("14400.5")) == {
        "skip": True,
        "reason": "too-long: 14400.5 s > 14400 s",
        "failure": True,
        "transactionId": TRANSACTION_ID,
        "callId": CALL_ID,
        "key": KEY,
    }


def test_four_hours_exactly_is_transcribed() -> None:
    assert plan_with(durationSeconds=Decimal(MAX_SECONDS))["skip"] is False


def test_less_than_half_a_second_is_a_plain_skip() -> None:
    assert plan_with(durationSeconds=Decimal("0.4")) == {"skip": True, "reason": "too-short"}
    assert plan_with(durationSeconds=Decimal("0.5"))["skip"] is False


def test_an_unknown_duration_is_not_checked() -> None:
    assert plan_with()["skip"] is False
    assert plan_with(durationSeconds="long")["skip"] is False


def test_a_file_over_500_mb_falls_back_to_a_standard_job() -> None:
    plan = plan_with(sizeBytes=Decimal(MAX_CALL_ANALYTICS_BYTES + 1))
    validate(plan)
    assert (plan["jobType"], plan["fallbackReason"]) == ("standard", "size")
    # Still both channels, identified, with their roles.
    assert plan["channelRoles"] == {"0": "CUSTOMER", "1": "AGENT"}
    assert plan["request"]["Settings"]["ChannelIdentification"] is True


def test_a_file_of_500_mb_keeps_call_analytics() -> None:
    plan = plan_with(sizeBytes=Decimal(MAX_CALL_ANALYTICS_BYTES))
    assert (plan["jobType"], plan["fallbackReason"]) == ("call-analytics", None)


def test_a_large_mono_file_keeps_its_mono_reason() -> None:
    plan = plan_with(track="OUTGOING", sizeBytes=Decimal(MAX_CALL_ANALYTICS_BYTES + 1))
    assert (plan["jobType"], plan["fallbackReason"]) == ("standard", "mono-track")


@given(st.decimals(min_value=0, max_value=100_000, places=3))
def test_the_duration_decides_skip_or_job(seconds: Decimal) -> None:
    plan = plan_with(durationSeconds=seconds)
    if seconds > MAX_SECONDS:
        assert plan["reason"].startswith("too-long: ")
        assert plan["failure"] is True
    elif seconds < Decimal("0.5"):
        assert plan == {"skip": True, "reason": "too-short"}
    else:
        assert plan["skip"] is False


# -- through the handler: the too-long skip is cataloged and announced ----------------------------


def _seed(aws: Aws, **attributes: Any) -> None:
    seed_recording(aws)
    aws.table.update_item(
        Key={"pk": f"TX#{TRANSACTION_ID}", "sk": f"REC#{CALL_ID}"},
        UpdateExpression="SET " + ", ".join(f"#{n} = :{n}" for n in attributes),
        ExpressionAttributeNames={f"#{n}": n for n in attributes},
        ExpressionAttributeValues={f":{n}": v for n, v in attributes.items()},
    )


def test_too_long_is_recorded_failed_and_announced_once(
    aws: Aws, transcribe: Transcribe, output: Output
) -> None:
    _seed(aws, durationSeconds=Decimal("15000"))
    runtime = make_runtime(aws, transcribe, output)
    plan = invoke(runtime, action="plan", recording={"bucket": BUCKET, "key": KEY})
    assert (plan["skip"], plan["reason"]) == (True, "too-long: 15000 s > 14400 s")
    stored = transcript_item(aws)
    assert stored is not None
    assert (stored["status"], stored["failureReason"], stored["recordingKey"]) == (
        "failed",
        "too-long: 15000 s > 14400 s",
        KEY,
    )
    [event] = [e for e in aws.emitted() if e["detail-type"] == "Transcription Failed"]
    assert event["detail"] == {
        "schemaVersion": "1",
        "transactionId": TRANSACTION_ID,
        "callId": CALL_ID,
        "jobName": None,
        "reason": "too-long: 15000 s > 14400 s",
    }
    assert output.metric_values("TranscriptionFailed") == [1]
    # A second event for the recording (or a backfill) finds it recorded: no second event.
    again = invoke(runtime, action="plan", recording={"bucket": BUCKET, "key": KEY})
    assert again == {"skip": True, "reason": "too-long: 15000 s > 14400 s"}
    assert len(aws.emitted()) == 1  # the capture is cumulative: still the first event only


@pytest.mark.parametrize("seconds", [Decimal("0.2"), Decimal("60")])
def test_other_plans_write_nothing(
    aws: Aws, transcribe: Transcribe, output: Output, seconds: Decimal
) -> None:
    _seed(aws, durationSeconds=seconds)
    invoke(
        make_runtime(aws, transcribe, output),
        action="plan",
        recording={"bucket": BUCKET, "key": KEY},
    )
    assert transcript_item(aws) is None
    assert aws.emitted() == []
