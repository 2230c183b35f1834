"""Rendering Amazon Transcribe outputs as speaker turns (``cdk_recording._transcript_format``).

The fixtures under tests/cli/data/transcribe-*.json are constructed from the documented output
schema (see tests/cli/data/transcribe-fixtures.md for the pages).
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cdk_recording._transcript_format import (
    TranscriptFormatError,
    Turn,
    format_timestamp,
    format_turns,
    parse_transcript,
)
from tests.cli.conftest import DATA

INBOUND_LEG_A = {"0": "CUSTOMER", "1": "AGENT"}


def fixture(name: str) -> Any:
    return json.loads((DATA / f"transcribe-{name}.json").read_text(encoding="utf-8"))


def rendered(name: str, roles: dict[str, str] | None = None) -> str:
    return format_turns(parse_transcript(fixture(name), roles))


# -- golden text ---------------------------------------------------------------------------------------


def test_call_analytics_prints_participant_roles_and_offsets() -> None:
    assert rendered("call-analytics") == (
        "[00:00:01.230] AGENT: Thank you for calling, how can I help?\n"
        "[00:00:04.100] CUSTOMER: I want to pay my bill, card 4111111111111111.\n"
        "[00:01:02.300] AGENT: Call me back on 2065550100, please.\n"
        "[01:02:05.040] CUSTOMER: Thanks, bye.\n"
    )


def test_call_analytics_redacted_output_keeps_the_pii_markers() -> None:
    assert rendered("call-analytics-redacted") == (
        "[00:00:01.230] AGENT: Thank you for calling, how can I help?\n"
        "[00:00:04.100] CUSTOMER: I want to pay my bill, card [PII].\n"
        "[00:01:02.300] AGENT: Call me back on [PII], please.\n"
        "[01:02:05.040] CUSTOMER: Thanks, bye.\n"
    )


def test_call_analytics_ignores_channel_roles_it_already_names() -> None:
    assert rendered("call-analytics", {"0": "X", "1": "Y"}) == rendered("call-analytics")


def test_standard_channel_labels_map_to_the_catalog_roles() -> None:
    assert rendered("standard-channels", INBOUND_LEG_A) == (
        "[00:00:04.860] CUSTOMER: I've been on hold for an hour.\n"
        "[00:00:08.500] AGENT: Sorry about that.\n"
    )


def test_reversed_roles_swap_the_speakers() -> None:
    assert rendered("standard-channels", {"0": "AGENT", "1": "CUSTOMER"}) == (
        "[00:00:04.860] AGENT: I've been on hold for an hour.\n"
        "[00:00:08.500] CUSTOMER: Sorry about that.\n"
    )


def test_standard_without_roles_prints_the_channel_labels() -> None:
    assert rendered("standard-channels") == (
        "[00:00:04.860] ch_0: I've been on hold for an hour.\n[00:00:08.500] ch_1: Sorry about that.\n"
    )


def test_standard_audio_segments_are_used_when_present() -> None:
    document = fixture("standard-segments")
    document["results"]["audio_segments"][1]["transcript"] = "Sorry about  that,\n really."
    assert format_turns(parse_transcript(document, INBOUND_LEG_A)) == (
        "[00:00:04.860] CUSTOMER: I've been on hold for an hour.\n"
        "[00:00:08.500] AGENT: Sorry about that, really.\n"
    )


def test_standard_items_alone_give_the_same_turns_as_channel_labels() -> None:
    document = fixture("standard-channels")
    del document["results"]["channel_labels"]
    assert format_turns(parse_transcript(document, INBOUND_LEG_A)) == rendered(
        "standard-channels", INBOUND_LEG_A
    )


def test_mono_standard_output_splits_sentences_of_one_speaker() -> None:
    assert rendered("standard-mono") == (
        "[00:00:00.540] SPEAKER: Hello, this is Anna.\n[00:00:02.600] SPEAKER: My card is [PII].\n"
    )


def test_speaker_labels_name_speakers_of_a_diarized_output() -> None:
    document = fixture("standard-mono")
    for index, item in enumerate(document["results"]["items"]):
        item["speaker_label"] = "spk_0" if index < 6 else "spk_1"
    assert format_turns(parse_transcript(document)) == (
        "[00:00:00.540] spk_0: Hello, this is Anna.\n[00:00:02.600] spk_1: My card is [PII].\n"
    )


def test_overlapping_channels_interleave_by_time() -> None:
    document = fixture("standard-channels")
    channels = document["results"]["channel_labels"]["channels"]
    # The agent starts talking over the customer, between "for" (5.62 s) and "an" (6.1 s).
    for item in channels[1]["items"]:
        if "start_time" in item:
            item["start_time"] = str(float(item["start_time"]) - 2.5)
    turns = parse_transcript(document, INBOUND_LEG_A)
    assert [(turn.at, turn.speaker) for turn in turns] == [
        ("00:00:04.860", "CUSTOMER"),
        ("00:00:06.000", "AGENT"),
        ("00:00:06.100", "CUSTOMER"),
        ("00:00:06.390", "AGENT"),
    ]
    assert " | ".join(turn.text for turn in turns) == (
        "I've been on hold for | Sorry | an hour. | about that."
    )


def test_empty_transcript_has_no_turns() -> None:
    assert parse_transcript({"results": {"transcripts": [{"transcript": ""}], "items": []}}) == []
    assert parse_transcript({"Transcript": []}) == []


# -- errors ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("document", "says"),
    [
        ([], "not a JSON object"),
        ({"jobName": "x"}, "not an Amazon Transcribe output"),
        ({"Transcript": [{"Content": "hi", "ParticipantRole": "AGENT"}]}, "BeginOffsetMillis"),
        ({"Transcript": ["hi"]}, "Transcript[0] is not an object"),
        ({"results": {"items": [{"start_time": "x1", "alternatives": [{}]}]}}, "not a time"),
        ({"results": {"items": [{"start_time": "1.0"}]}}, "no alternatives"),
        ({"results": {"items": "words"}}, "not a list"),
        ({"results": {"audio_segments": [{"start_time": None}]}}, "audio_segments[0].start_time"),
    ],
)
def test_malformed_documents_are_refused_with_what_is_wrong(document: Any, says: str) -> None:
    with pytest.raises(TranscriptFormatError) as raised:
        parse_transcript(document)
    assert says in str(raised.value)


def test_a_document_is_not_modified() -> None:
    document = fixture("standard-channels")
    before = copy.deepcopy(document)
    parse_transcript(document, INBOUND_LEG_A)
    assert document == before


# -- timestamps -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("millis", "text"),
    [
        (0, "00:00:00.000"),
        (62_300, "00:01:02.300"),
        (3_599_999, "00:59:59.999"),
        (14_400_000, "04:00:00.000"),
        (-5, "00:00:00.000"),
    ],
)
def test_timestamps_are_hours_minutes_seconds_millis(millis: int, text: str) -> None:
    assert format_timestamp(millis) == text


@given(st.integers(min_value=0, max_value=100 * 3_600_000))
def test_timestamps_read_back_to_the_same_offset(millis: int) -> None:
    hours, minutes, rest = format_timestamp(millis).split(":")
    seconds, ms = rest.split(".")
    assert len(minutes) == len(seconds) == 2
    assert len(ms) == 3
    assert ((int(hours) * 60 + int(minutes)) * 60 + int(seconds)) * 1000 + int(ms) == millis


def test_turn_line_format() -> None:
    assert format_turns([Turn(62_300, "CUSTOMER", "hi")]) == "[00:01:02.300] CUSTOMER: hi\n"
