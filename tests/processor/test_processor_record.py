"""The pure catalog logic: billing, sequencer order, verdicts, the writes they lead to."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from recording_processor._events import compare_sequencers
from recording_processor._keys import parse_recording_key
from recording_processor._record import (
    ABSENT,
    Delivery,
    Metadata,
    Verdict,
    billed_minutes,
    catalog_write,
    decide,
    event_detail,
    read_metadata,
    recording_attributes,
)
from recording_processor._wav import WavInfo

from tests.processor.conftest import CALL_ID, TRANSACTION_ID, key_for

NOW = datetime(2026, 11, 24, 12, 5, tzinfo=UTC)
STEREO = WavInfo(1, 2, 8000, 32000, 4, 16, 44, 32000 * 90)


def delivery(
    *,
    version_id: str = "v2",
    sequencer: str = "0062E99A88DC407470",
    metadata: Metadata | None = None,
    wav: WavInfo | None = STEREO,
) -> Delivery:
    return Delivery(
        key=parse_recording_key(key_for(), "calls"),
        bucket="bucket",
        version_id=version_id,
        sequencer=sequencer,
        size_bytes=44 + 32000 * 90,
        etag="etag",
        sha256="0" * 64,
        delivered_at=NOW,
        metadata=metadata if metadata is not None else Metadata(duration_seconds=Decimal(90)),
        wav=wav,
    )


@pytest.mark.parametrize(
    ("seconds", "minutes"),
    [
        (None, None),
        ("0", 0),
        ("0.001", 1),
        ("59.999", 1),
        ("60", 1),
        ("60.001", 2),
        ("3600", 60),
    ],
)
def test_billed_minutes_round_up_per_started_minute(seconds: str | None, minutes: int) -> None:
    assert billed_minutes(None if seconds is None else Decimal(seconds)) == minutes


@pytest.mark.parametrize(
    ("a", "b", "order"),
    [
        ("0062E99A88DC407460", "0062E99A88DC407470", -1),
        ("0062E99A88DC407470", "0062E99A88DC407460", 1),
        ("0062e99a88dc407460", "0062E99A88DC407460", 0),
        # Different lengths: the shorter is right-padded with zeros (S3's current documentation).
        ("0062E99A88DC4074", "0062E99A88DC407400", 0),
        ("0062E99A88DC4075", "0062E99A88DC407460", 1),
        ("0062E99A88DC4074", "0062E99A88DC407401", -1),
        ("", "00", -1),
        ("", "", 0),
    ],
)
def test_compare_sequencers(a: str, b: str, order: int) -> None:
    assert compare_sequencers(a, b) == order


@given(st.lists(st.text("0123456789ABCDEF", min_size=1, max_size=24), min_size=3, max_size=3))
def test_sequencer_order_is_a_total_order(values: list[str]) -> None:
    a, b, c = values
    assert compare_sequencers(a, b) == -compare_sequencers(b, a)
    if compare_sequencers(a, b) <= 0 and compare_sequencers(b, c) <= 0:
        assert compare_sequencers(a, c) <= 0


@pytest.mark.parametrize(
    ("existing", "version", "sequencer", "verdict"),
    [
        (None, "v2", "20", Verdict.NEW),
        ({"status": "started"}, "v2", "20", Verdict.UPGRADE),
        ({"versionId": "v1", "sequencer": "10"}, "v2", "20", Verdict.REPLACE),
        ({"versionId": "v1"}, "v2", "20", Verdict.REPLACE),
        ({"versionId": "v3", "sequencer": "30"}, "v2", "20", Verdict.STALE),
        ({"versionId": "v2", "sequencer": "20", "eventSent": True}, "v2", "20", Verdict.DUPLICATE),
        ({"versionId": "v2", "sequencer": "20"}, "v2", "20", Verdict.EVENT_PENDING),
        # Unversioned bucket: every version is "null"; the sequencer tells overwrites apart.
        (
            {"versionId": "null", "sequencer": "10", "eventSent": True},
            "null",
            "20",
            Verdict.REPLACE,
        ),
        ({"versionId": "null", "sequencer": "20", "eventSent": True}, "null", "10", Verdict.STALE),
        (
            {"versionId": "null", "sequencer": "20", "eventSent": True},
            "null",
            "20",
            Verdict.DUPLICATE,
        ),
        # Two versions and no sequencers: they cannot be ordered, the first one stays.
        ({"versionId": "v1"}, "v2", "", Verdict.STALE),
    ],
)
def test_decide(
    existing: dict[str, Any] | None, version: str, sequencer: str, verdict: Verdict
) -> None:
    assert decide(existing, version, sequencer) is verdict


def test_new_recording_write_expects_no_item_and_counts_into_the_call() -> None:
    attributes = recording_attributes(delivery(), NOW)

    write = catalog_write(attributes, None, None)

    assert write.verdict is Verdict.NEW
    assert write.recording.expect == {"pk": ABSENT}
    assert write.call.add == {"recordings": {CALL_ID}, "billedMinutes": 2}
    assert write.call.set["firstStart"] == "2026-11-24T12:00:00.250Z"
    assert write.call.set["day"] == "2026-11-24"
    # The day is the leg start's only while the facts have given the call no startedAt.
    assert write.call.expect == {"firstStart": ABSENT, "startedAt": ABSENT}
    assert "eventSent" in write.recording.remove
    assert {"gsi3pk", "gsi3sk"} <= set(write.recording.remove)


def test_replacing_a_version_moves_the_call_total_by_the_difference() -> None:
    existing = {"versionId": "v1", "sequencer": "0062E99A88DC407460", "billedMinutes": Decimal(5)}
    call = {"firstStart": "2026-11-24T12:00:00.250Z"}

    write = catalog_write(recording_attributes(delivery(), NOW), existing, call)

    assert write.verdict is Verdict.REPLACE
    assert write.recording.expect == {"versionId": "v1", "sequencer": "0062E99A88DC407460"}
    assert write.call.add["billedMinutes"] == 2 - 5
    assert "firstStart" not in write.call.set
    assert write.call.expect == {}


def test_upgrading_a_started_item_counts_it_fully_even_if_it_carries_minutes() -> None:
    existing = {"pk": f"TX#{TRANSACTION_ID}", "status": "started", "billedMinutes": Decimal(9)}

    write = catalog_write(recording_attributes(delivery(), NOW), existing, None)

    assert write.verdict is Verdict.UPGRADE
    assert write.recording.expect == {
        "pk": f"TX#{TRANSACTION_ID}",
        "versionId": ABSENT,
        "status": "started",
    }
    assert write.call.add["billedMinutes"] == 2
    assert not write.late


def test_an_earlier_leg_moves_the_calls_first_start() -> None:
    call = {"firstStart": "2026-11-24T13:00:00.000Z", "day": "2026-11-24"}

    write = catalog_write(recording_attributes(delivery(), NOW), None, call)

    assert write.call.set["firstStart"] == "2026-11-24T12:00:00.250Z"
    assert write.call.expect == {"firstStart": "2026-11-24T13:00:00.000Z", "startedAt": ABSENT}


def test_a_call_with_a_started_at_keeps_its_day() -> None:
    call = {"firstStart": "2026-11-24T13:00:00.000Z", "startedAt": "2026-11-23T23:59:59.900Z"}

    write = catalog_write(recording_attributes(delivery(), NOW), None, call)

    assert write.call.set["firstStart"] == "2026-11-24T12:00:00.250Z"
    assert "day" not in write.call.set
    assert write.call.expect == {"firstStart": "2026-11-24T13:00:00.000Z"}


def test_upgrading_a_missing_item_is_late() -> None:
    existing = {"pk": f"TX#{TRANSACTION_ID}", "status": "missing"}

    write = catalog_write(recording_attributes(delivery(), NOW), existing, None)

    assert write.verdict is Verdict.UPGRADE
    assert write.late
    assert write.recording.expect["status"] == "missing"
    assert write.recording.set["status"] == "delivered"


def test_no_write_for_a_duplicate() -> None:
    attributes = recording_attributes(delivery(), NOW)
    existing = {"versionId": "v2", "sequencer": "0062E99A88DC407470", "eventSent": True}

    with pytest.raises(ValueError, match="duplicate"):
        catalog_write(attributes, existing, None)


def test_mono_recording_leaves_the_track_alone() -> None:
    mono = WavInfo(1, 1, 8000, 16000, 2, 16, 44, 16000)

    attributes = recording_attributes(delivery(wav=mono), NOW)

    assert "track" not in attributes
    assert attributes["channels"] == 1


def test_unknown_values_are_removed_not_stored_as_null() -> None:
    attributes = recording_attributes(delivery(wav=None, metadata=Metadata()), NOW)

    write = catalog_write(attributes, None, None)

    assert {"channels", "sampleRate", "durationSeconds", "billedMinutes"} <= set(
        write.recording.remove
    )
    assert None not in write.recording.set.values()
    assert write.call.add["billedMinutes"] == 0


def test_event_detail_has_the_documented_fields() -> None:
    detail = event_detail(recording_attributes(delivery(), NOW))

    assert list(detail) == [
        "schemaVersion",
        "transactionId",
        "callId",
        "bucket",
        "key",
        "versionId",
        "s3Uri",
        "sha256",
        "sizeBytes",
        "durationSeconds",
        "billedMinutes",
        "channels",
        "sampleRate",
        "legStartTime",
        "deliveredAt",
        "integrity",
    ]
    assert detail["durationSeconds"] == 90
    assert detail["schemaVersion"] == "1"


@pytest.mark.parametrize(
    ("raw", "seconds", "problems"),
    [
        ({"recording-duration": "12.5"}, Decimal("12.5"), 0),
        ({"Recording-Duration": "12"}, Decimal(12), 0),
        ({"x-amz-meta-recording-duration": "3.0004"}, Decimal("3.000"), 0),
        ({"recording-duration": "twelve"}, None, 1),
        ({"recording-duration": "-1"}, None, 1),
        ({"recording-duration": "NaN"}, None, 1),
        ({"recording-duration": "1e200"}, None, 1),
        ({}, None, 0),
    ],
)
def test_read_metadata_duration(
    raw: dict[str, str], seconds: Decimal | None, problems: int
) -> None:
    metadata = read_metadata(raw)

    assert metadata.duration_seconds == seconds
    assert len(metadata.problems) == problems


def test_metadata_mismatch_compares_ids_case_blind() -> None:
    metadata = Metadata(transaction_id=TRANSACTION_ID.upper(), call_id="other")

    assert delivery(metadata=metadata).mismatched_fields == ("call-id",)
