"""Turning an Amazon Transcribe output document into speaker turns: ``[00:01:02.300] CUSTOMER: ...``.

Two output shapes reach ``cdk-recording recordings transcript``:

* **Call Analytics** (``StartCallAnalyticsJob``): a top-level ``Transcript`` list of segments, each
  with ``ParticipantRole`` (``AGENT`` or ``CUSTOMER``, from the job's channel definitions),
  ``BeginOffsetMillis`` and ``Content``
  (https://docs.aws.amazon.com/transcribe/latest/dg/tca-output-batch.html).
* **Standard** (``StartTranscriptionJob``): ``results`` with ``audio_segments`` (one per utterance,
  ``start_time`` in seconds as a string, ``channel_label`` or ``speaker_label``), or, in outputs
  without segments, word ``items`` either under ``channel_labels.channels[]`` or directly under
  ``results`` (https://docs.aws.amazon.com/transcribe/latest/dg/channel-id-output-batch.html).
  A standard job knows channels (``ch_0``, ``ch_1``), not roles: the catalog item's
  ``channelRoles`` (``{"0": "CUSTOMER", "1": "AGENT"}``) names them; a label without a role is
  printed as it is.

Redacted outputs have the same shapes, with ``[PII]`` in place of what was redacted.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

__all__ = [
    "TranscriptFormatError",
    "Turn",
    "format_timestamp",
    "format_turns",
    "parse_transcript",
]

#: The speaker of a mono transcript without speaker labels.
UNLABELLED = "SPEAKER"
_SENTENCE_END = frozenset(".?!")


class TranscriptFormatError(ValueError):
    """The document is not a Transcribe output of a known shape; the message says what is wrong."""


@dataclass(frozen=True)
class Turn:
    """One speaker's utterance: when it begins (milliseconds from the start), who, what."""

    begin_ms: int
    speaker: str
    text: str

    @property
    def at(self) -> str:
        """:attr:`begin_ms` as ``hh:mm:ss.mmm``."""
        return format_timestamp(self.begin_ms)


def format_timestamp(millis: int) -> str:
    """``hh:mm:ss.mmm`` for an offset in milliseconds (hours are not wrapped)."""
    seconds, ms = divmod(max(millis, 0), 1000)
    minutes, second = divmod(seconds, 60)
    hours, minute = divmod(minutes, 60)
    return f"{hours:02d}:{minute:02d}:{second:02d}.{ms:03d}"


def format_turns(turns: Iterable[Turn]) -> str:
    """One line per turn, ``[hh:mm:ss.mmm] SPEAKER: text``, each ending with a newline."""
    return "".join(f"[{turn.at}] {turn.speaker}: {turn.text}\n" for turn in turns)


def parse_transcript(document: Any, channel_roles: Mapping[str, str] | None = None) -> list[Turn]:
    """The turns of a Transcribe output ``document`` (decoded JSON), in time order.

    :param channel_roles: channel number (``"0"``, ``"1"``) -> role, for standard outputs.
    :raises TranscriptFormatError: neither shape, or a malformed segment.
    """
    if not isinstance(document, Mapping):
        raise TranscriptFormatError("the transcript is not a JSON object")
    roles = {str(key): str(value) for key, value in (channel_roles or {}).items()}
    if isinstance(document.get("Transcript"), list):
        return _call_analytics(document["Transcript"])
    results = document.get("results")
    if isinstance(results, Mapping):
        return _standard(results, roles)
    raise TranscriptFormatError(
        "not an Amazon Transcribe output: no Call Analytics 'Transcript' list and no standard "
        "'results' object"
    )


# -- Call Analytics ----------------------------------------------------------------------------------


def _call_analytics(segments: list[Any]) -> list[Turn]:
    turns = []
    for index, segment in enumerate(segments):
        if not isinstance(segment, Mapping):
            raise TranscriptFormatError(f"Transcript[{index}] is not an object")
        begin = segment.get("BeginOffsetMillis")
        if not isinstance(begin, int) or isinstance(begin, bool):
            raise TranscriptFormatError(f"Transcript[{index}] has no BeginOffsetMillis")
        speaker = str(segment.get("ParticipantRole") or UNLABELLED)
        turns.append(Turn(begin, speaker, _one_line(str(segment.get("Content") or ""))))
    return sorted(turns, key=lambda turn: turn.begin_ms)


# -- standard ----------------------------------------------------------------------------------------


def _standard(results: Mapping[str, Any], roles: Mapping[str, str]) -> list[Turn]:
    segments = results.get("audio_segments")
    if isinstance(segments, list) and segments:
        return _segments(segments, roles)
    channels = results.get("channel_labels")
    if isinstance(channels, Mapping) and isinstance(channels.get("channels"), list):
        words: list[tuple[int, int, str, str, str]] = []
        for order, channel in enumerate(channels["channels"]):
            if not isinstance(channel, Mapping):
                raise TranscriptFormatError(f"channel_labels.channels[{order}] is not an object")
            label = str(channel.get("channel_label") or f"ch_{order}")
            words.extend(_words(channel.get("items"), roles, default=label, order=order))
        return _turns(words)
    return _turns(_words(results.get("items"), roles, default=None, order=0))


def _segments(segments: list[Any], roles: Mapping[str, str]) -> list[Turn]:
    turns = []
    for index, segment in enumerate(segments):
        if not isinstance(segment, Mapping):
            raise TranscriptFormatError(f"audio_segments[{index}] is not an object")
        begin = _millis(segment.get("start_time"), f"audio_segments[{index}].start_time")
        turns.append(
            Turn(begin, _speaker(segment, roles), _one_line(str(segment.get("transcript") or "")))
        )
    return sorted(turns, key=lambda turn: turn.begin_ms)


def _words(
    items: Any, roles: Mapping[str, str], *, default: str | None, order: int
) -> list[tuple[int, int, str, str, str]]:
    """``(begin ms, channel order, speaker, kind, content)`` per item; punctuation (which has no
    time) takes the time of the word before it."""
    if items is None:
        return []
    if not isinstance(items, list):
        raise TranscriptFormatError("results.items is not a list")
    words = []
    begin = 0
    for index, item in enumerate(items):
        if not isinstance(item, Mapping):
            raise TranscriptFormatError(f"items[{index}] is not an object")
        alternatives = item.get("alternatives")
        if not isinstance(alternatives, list) or not alternatives:
            raise TranscriptFormatError(f"items[{index}] has no alternatives")
        content = str(alternatives[0].get("content") or "")
        kind = str(item.get("type") or "pronunciation")
        if "start_time" in item:
            begin = _millis(item["start_time"], f"items[{index}].start_time")
        speaker = _speaker(item, roles, default)
        words.append((begin, order, speaker, kind, content))
    return words


def _turns(words: list[tuple[int, int, str, str, str]]) -> list[Turn]:
    """Consecutive words of one speaker, in time order, make a turn; a sentence end closes it."""
    # Stable: a channel's punctuation stays right after the word it follows.
    words = sorted(words, key=lambda word: (word[0], word[1]))
    turns: list[Turn] = []
    begin, speaker, text, closed = 0, "", "", True
    for at, _, who, kind, content in words:
        if kind == "punctuation":
            if text and who == speaker:
                text += content
                closed = content in _SENTENCE_END
            continue
        if closed or who != speaker:
            if text:
                turns.append(Turn(begin, speaker, text))
            begin, speaker, text, closed = at, who, content, False
        else:
            text += " " + content
    if text:
        turns.append(Turn(begin, speaker, text))
    return turns


def _speaker(item: Mapping[str, Any], roles: Mapping[str, str], default: str | None = None) -> str:
    channel = item.get("channel_label")
    if isinstance(channel, str) and channel:
        return roles.get(channel.removeprefix("ch_"), channel)
    speaker = item.get("speaker_label")
    if isinstance(speaker, str) and speaker:
        return speaker
    if default is not None:
        return roles.get(default.removeprefix("ch_"), default)
    return UNLABELLED


def _millis(value: Any, where: str) -> int:
    try:
        return int(Decimal(str(value)) * 1000)
    except (InvalidOperation, ValueError):
        raise TranscriptFormatError(f"{where} is not a time in seconds: {value!r}") from None


def _one_line(text: str) -> str:
    return " ".join(text.split())
