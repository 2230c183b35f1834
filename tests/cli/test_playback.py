"""The playback picture's model (``_playback.build_playback``) and page (``_playback_html``)."""

from __future__ import annotations

import io
import re
from html.parser import HTMLParser
from typing import Any

import pytest

from cdk_recording._playback import CALL_ROW, Span, build_playback, parse_time
from cdk_recording._playback_audio import read_waveform
from cdk_recording._playback_html import render_page
from tests.cli.catalog_seed import CALLER
from tests.cli.playback_call import CALL_A, FACTS, TX, document, sine_left_silent_right

# -- model --------------------------------------------------------------------------------------------


def test_legs_run_from_their_first_fact_to_the_hangup() -> None:
    playback = build_playback(document())

    assert playback.origin == "2026-12-03T10:00:00+00:00"
    assert playback.length == 60.0
    assert playback.rows == ("LEG-A", "LEG-B", CALL_ROW)
    assert playback.legs == {"LEG-A": Span(0.0, 60.0, "leg"), "LEG-B": Span(6.0, 60.0, "leg")}


def test_a_recording_is_cut_into_recorded_and_paused_spans() -> None:
    (lane,) = build_playback(document()).recordings

    assert (lane.call_id, lane.leg, lane.track, lane.status) == (
        CALL_A,
        "LEG-A",
        "BOTH",
        "delivered",
    )
    assert lane.spans == (
        Span(7.0, 20.0, "recorded"),
        Span(20.0, 30.0, "paused"),
        Span(30.0, 60.0, "recorded"),
    )


def test_every_fact_is_a_mark_on_its_leg_or_the_call_row() -> None:
    marks = build_playback(document()).marks

    assert [(m.kind, m.row, m.at) for m in marks] == [
        (kind, leg or CALL_ROW, float(seconds)) for seconds, _, _, kind, leg, _, _ in FACTS
    ]


def test_repeated_pauses_and_an_unresumed_pause_run_to_the_stop() -> None:
    doc = document()
    doc["facts"] = [f for f in doc["facts"] if f["kind"] != "recording-resumed"]
    doc["facts"].append({**doc["facts"][4], "at": "2026-12-03T10:00:25.000Z"})  # paused again

    (lane,) = build_playback(doc).recordings

    assert lane.spans == (Span(7.0, 20.0, "recorded"), Span(20.0, 60.0, "paused"))


def test_without_facts_the_items_times_place_the_recording() -> None:
    doc = document()
    doc["facts"] = []

    playback = build_playback(doc)

    (lane,) = playback.recordings
    assert lane.spans == (Span(7.0, 60.0, "recorded"),)
    assert playback.legs == {"LEG-A": Span(0.0, 60.0, "leg")}
    assert playback.marks == ()


def test_times_that_do_not_parse_are_left_off_the_axis() -> None:
    doc = document()
    doc["facts"][1]["at"] = "yesterday"
    doc["facts"][2]["at"] = "2026-12-03T10:00:06"  # no zone

    marks = build_playback(doc).marks

    assert (marks[1].at, marks[1].time) == (None, "yesterday")
    assert marks[2].at is None


def test_an_empty_document_gives_an_empty_picture() -> None:
    playback = build_playback({"transactionId": TX, "call": None})
    assert (playback.origin, playback.length, playback.rows) == (None, 1.0, ())


@pytest.mark.parametrize(
    ("value", "parsed"),
    [("2026-12-03T10:00:00.000Z", True), ("2026-12-03", False), (None, False), (3, False)],
)
def test_parse_time_wants_a_zone(value: Any, parsed: bool) -> None:
    assert (parse_time(value) is not None) is parsed


# -- page ---------------------------------------------------------------------------------------------


class Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.attributes: list[tuple[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attributes.extend(attrs)


def parsed(page: str) -> Tags:
    tags = Tags()
    tags.feed(page)
    return tags


def page_of(doc: dict[str, Any], with_audio: bool = True) -> str:
    playback = build_playback(doc)
    data = sine_left_silent_right()
    audio = {CALL_A: read_waveform(io.BytesIO(data), len(data))} if with_audio else {}
    return render_page(playback, audio)


def test_the_page_holds_the_timeline_and_a_waveform_per_channel() -> None:
    page = page_of(document())
    tags = parsed(page)

    assert page.count('<svg class="timeline"') == 1
    assert page.count('<svg class="waveform"') == 2
    assert 'aria-label="left: incoming"' in page
    assert 'aria-label="right: outgoing"' in page
    assert tags.tags.count("rect") >= 5  # two legs, three recording spans
    assert page.count('class="mark"') == len(FACTS)
    assert "recording-paused" in page


def test_the_page_fetches_nothing_and_runs_nothing() -> None:
    page = page_of(document())
    tags = parsed(page)

    assert "default-src 'none'" in page
    assert not {"script", "link", "img", "iframe", "object", "embed"} & set(tags.tags)
    names = {name for name, _ in tags.attributes}
    assert not {"src", "href", "srcset"} & names
    assert not any(name.startswith("on") for name in names)
    # The only URL is the SVG namespace, which names a vocabulary and is never fetched.
    assert set(re.findall(r"https?://[^\"' ]+", page)) == {"http://www.w3.org/2000/svg"}


def test_numbers_stay_masked_on_the_page() -> None:
    assert CALLER not in page_of(document())
    assert CALLER in page_of(document(unmask=True))


HOSTILE = '"><script>alert(1)</script><img src=x onerror=alert(2)>'


def test_hostile_strings_are_escaped_everywhere() -> None:
    doc = document()
    doc["transactionId"] = HOSTILE
    doc["call"]["direction"] = HOSTILE
    doc["call"]["consent"] = {"playedAt": HOSTILE, "legs": [HOSTILE]}
    doc["numbers"][0]["role"] = HOSTILE
    doc["facts"][1]["kind"] = HOSTILE
    doc["facts"][1]["leg"] = HOSTILE
    doc["facts"][2]["detail"] = {HOSTILE: HOSTILE}
    doc["recordings"][0]["track"] = HOSTILE
    doc["recordings"][0]["s3Uri"] = HOSTILE
    doc["recordings"][0]["leg"] = HOSTILE

    page = page_of(doc)
    tags = parsed(page)

    assert not {"script", "img"} & set(tags.tags)
    assert not any(name.startswith("on") for name, _ in tags.attributes)
    assert "<script" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_a_note_replaces_a_waveform_that_was_not_read() -> None:
    playback = build_playback(document())
    page = render_page(playback, {CALL_A: "waveform not read (--no-audio)"})

    assert '<svg class="waveform"' not in page
    assert "waveform not read (--no-audio)" in page


def test_a_call_without_facts_or_recordings_says_so() -> None:
    doc = document()
    doc["facts"], doc["recordings"] = [], []
    page = page_of(doc, with_audio=False)
    assert "No facts are cataloged for this call." in page
    assert "No recording is cataloged for this call." in page


def test_badges_of_crowded_marks_stay_inside_the_drawing() -> None:
    doc = document()
    many = [{**doc["facts"][4], "sequence": 100 + n} for n in range(20)]
    doc["facts"] = [*doc["facts"], *many, *({**m, "at": doc["facts"][-1]["at"]} for m in many)]

    page = page_of(doc, with_audio=False)

    centres = [float(x) for x in re.findall(r'<circle cx="([0-9.-]+)"', page)]
    assert len(centres) == len(doc["facts"])
    assert all(0 < x < 960 for x in centres), (min(centres), max(centres))


def test_a_legal_hold_is_shown_with_who_and_why() -> None:
    doc = document()
    doc["call"].update(
        legalHold=True,
        legalHoldAt="2026-12-04T09:00:00.000Z",
        legalHoldBy="arn:aws:iam::123456789012:role/Legal",
        legalHoldReason="case 42",
    )
    page = page_of(doc, with_audio=False)
    assert (
        "on since 2026-12-04T09:00:00.000Z by arn:aws:iam::123456789012:role/Legal: case 42" in page
    )
    assert "<th>legal hold</th><td>-</td>" in page_of(document(), with_audio=False)
