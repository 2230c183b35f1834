"""The recording key parser (reference §3.4), with examples and generated keys."""

from __future__ import annotations

import contextlib
import uuid
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st
from recording_processor._keys import (
    DEFAULT_FOLDER,
    KeyFormatError,
    decode_event_key,
    parse_recording_key,
)

from tests.processor.conftest import CALL_ID, LEG_START, TRANSACTION_ID, key_for

# The separators the parser tolerates between timestamp fields (the reference leaves them open).
SEPARATORS = [
    "-",
    "_",
    ".",
    ":",
    " ",
    "T",
    "\u2010",
    "\u2011",
    "\u2012",
    "\u2013",
    "\u2014",
    "\u2212",
]


def test_parses_the_simulators_key() -> None:
    parsed = parse_recording_key(key_for(), "calls")

    assert parsed.transaction_id == TRANSACTION_ID
    assert parsed.call_id == CALL_ID
    assert parsed.leg_start == LEG_START
    assert parsed.leg_start_iso == "2026-11-24T12:00:00.250Z"
    assert parsed.day == "2026-11-24"
    assert parsed.folder == "calls"


def test_empty_prefix_means_the_service_default_folder() -> None:
    key = key_for(prefix="")

    assert key.startswith(DEFAULT_FOLDER + "/")
    assert parse_recording_key(key, "").folder == DEFAULT_FOLDER


def test_nested_prefix_with_slashes_is_accepted() -> None:
    key = key_for(prefix="tenant-a/calls")

    assert parse_recording_key(key, "/tenant-a/calls/").transaction_id == TRANSACTION_ID


def test_typographic_dashes_as_in_the_developer_guide_are_accepted() -> None:
    key = f"calls/2026/11/24/2026\u201311\u201324\u201312\u201300\u201300\u2013250_{TRANSACTION_ID}_{CALL_ID}.wav"

    assert parse_recording_key(key, "calls").leg_start == LEG_START


def test_upper_case_ids_are_lower_cased() -> None:
    key = f"calls/2026/11/24/2026-11-24-12-00-00-250_{TRANSACTION_ID.upper()}_{CALL_ID.upper()}.wav"

    parsed = parse_recording_key(key, "calls")

    assert (parsed.transaction_id, parsed.call_id) == (TRANSACTION_ID, CALL_ID)


@pytest.mark.parametrize(
    ("key", "problem"),
    [
        pytest.param(key_for(prefix="other"), "not under", id="other-folder"),
        pytest.param(
            f"calls/2026/11/25/2026-11-24-12-00-00-250_{TRANSACTION_ID}_{CALL_ID}.wav",
            "disagrees",
            id="folder-date-differs",
        ),
        pytest.param(
            f"calls/2026/02/30/2026-02-30-12-00-00-250_{TRANSACTION_ID}_{CALL_ID}.wav",
            "not a real moment",
            id="impossible-date",
        ),
        pytest.param(
            f"calls/2026/11/24/2026-11-24-25-00-00-250_{TRANSACTION_ID}_{CALL_ID}.wav",
            "not a real moment",
            id="hour-25",
        ),
        pytest.param(
            f"calls/2026/11/24/2026-11-24-12-00-00-250_not-a-uuid_{CALL_ID}.wav",
            "file name",
            id="not-a-uuid",
        ),
        pytest.param(
            f"calls/2026/11/2026-11-24-12-00-00-250_{TRANSACTION_ID}_{CALL_ID}.wav",
            "YYYY/MM/DD",
            id="no-day-folder",
        ),
        pytest.param(
            f"calls/2026/11/24/x/2026-11-24-12-00-00-250_{TRANSACTION_ID}_{CALL_ID}.wav",
            "YYYY/MM/DD",
            id="extra-folder",
        ),
        pytest.param(
            f"calls/2026/11/24/2026-11-24-12-00-00-250_{TRANSACTION_ID}_{CALL_ID}.mp3",
            "file name",
            id="not-wav",
        ),
    ],
)
def test_rejects(key: str, problem: str) -> None:
    with pytest.raises(KeyFormatError, match=problem):
        parse_recording_key(key, "calls")


def test_decode_event_key_undoes_classic_notification_encoding() -> None:
    assert decode_event_key("my+calls/2026%2F11") == "my calls/2026/11"
    assert decode_event_key("calls/2026/11/24/a_b.wav") == "calls/2026/11/24/a_b.wav"


moments = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 31, 23, 59, 59, 999000)
).map(lambda d: d.replace(microsecond=d.microsecond // 1000 * 1000, tzinfo=UTC))
uuids = st.uuids().map(str)
folders = st.lists(
    st.text("abcdefghijklmnopqrstuvwxyz0123456789-_.", min_size=1, max_size=12).filter(
        lambda s: s not in {".", ".."}
    ),
    min_size=1,
    max_size=3,
).map("/".join)


@given(
    moment=moments,
    transaction_id=uuids,
    call_id=uuids,
    folder=folders,
    seps=st.lists(st.sampled_from(SEPARATORS), min_size=6, max_size=6),
)
def test_generated_keys_round_trip(
    moment: datetime, transaction_id: str, call_id: str, folder: str, seps: list[str]
) -> None:
    fields = [
        f"{moment:%Y}",
        f"{moment:%m}",
        f"{moment:%d}",
        f"{moment:%H}",
        f"{moment:%M}",
        f"{moment:%S}",
        f"{moment.microsecond // 1000:03d}",
    ]
    stamp = fields[0] + "".join(sep + value for sep, value in zip(seps, fields[1:], strict=True))
    key = f"{folder}/{moment:%Y/%m/%d}/{stamp}_{transaction_id}_{call_id}.wav"

    parsed = parse_recording_key(key, folder)

    assert parsed.leg_start == moment
    assert parsed.transaction_id == transaction_id
    assert parsed.call_id == call_id
    assert parsed.key == key


@given(moment=moments, shift=st.integers(min_value=1, max_value=3650))
def test_generated_keys_with_another_day_folder_are_rejected(moment: datetime, shift: int) -> None:
    folder_day = datetime.fromordinal(moment.toordinal() + shift)
    stamp = f"{moment:%Y-%m-%d-%H-%M-%S}-000"
    key = f"calls/{folder_day:%Y/%m/%d}/{stamp}_{uuid.uuid4()}_{uuid.uuid4()}.wav"

    with pytest.raises(KeyFormatError, match="disagrees"):
        parse_recording_key(key, "calls")


@given(key=st.text(max_size=200), prefix=st.text(max_size=20))
def test_arbitrary_text_raises_only_key_format_error(key: str, prefix: str) -> None:
    with contextlib.suppress(KeyFormatError):
        parse_recording_key(key, prefix)


@given(
    tail=st.text(
        alphabet=st.sampled_from([*"0123456789/-_.:T wav", "\u2013", *"abcdef"]), max_size=120
    )
)
def test_near_miss_keys_raise_only_key_format_error(tail: str) -> None:
    with contextlib.suppress(KeyFormatError):
        parse_recording_key("calls/" + tail, "calls")
