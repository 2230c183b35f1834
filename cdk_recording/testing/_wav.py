"""Synthetic call audio and WAV encoding (standard library only: ``array``, ``math``, ``wave``).

Each party of a simulated call "speaks" a sine tone of its own frequency (see :class:`AudioProfile`),
in alternating turns like a conversation, so the channels of a recording can be told apart by
frequency alone: the caller (LEG-A's party) on LEG-A's incoming track, the callee (LEG-B's party) on
its outgoing track once bridged, announcements (Speak, PlayAudio) at a third frequency, DTMF keys as
their real dual tones, and a short tone at each pause and resume (reference §3.2).

Audio is painted span by span into 16-bit PCM arrays from one-second tables of each sound, so a
ten-minute stereo recording renders in a few milliseconds.
"""

from __future__ import annotations

import functools
import io
import math
import sys
import wave
from array import array
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["DTMF_FREQUENCIES", "AudioProfile", "Span", "render_channel", "wav_bytes"]

#: The DTMF (low, high) frequency pair of each key.
DTMF_FREQUENCIES: dict[str, tuple[int, int]] = {
    "1": (697, 1209),
    "2": (697, 1336),
    "3": (697, 1477),
    "4": (770, 1209),
    "5": (770, 1336),
    "6": (770, 1477),
    "7": (852, 1209),
    "8": (852, 1336),
    "9": (852, 1477),
    "*": (941, 1209),
    "0": (941, 1336),
    "#": (941, 1477),
}

_FULL_SCALE = 32767


@dataclass(frozen=True)
class AudioProfile:
    """The synthetic sounds of a simulated call (frequencies in Hz, durations in ms).

    :param caller_hz: the caller (LEG-A's party). Default: 400.
    :param callee_hz: the callee (LEG-B's party). Default: 600.
    :param announcement_hz: Speak and PlayAudio. Default: 800.
    :param tone_hz: the tone inserted at each pause and resume. Default: 1000.
    :param tone_ms: length of that tone. Default: 250.
    :param key_ms: length of one DTMF key press. Default: 100.
    :param turn_ms: length of a talk turn; the caller talks in even turns, the callee in odd ones.
        Default: 3000.
    :param ringback_hz: the ringback heard by LEG-A while CallAndBridge rings (North American
        440 + 480 Hz, 2 s on, 4 s off). Default: (440, 480).
    :param level: amplitude of every sound, 0-1 of full scale. Default: 0.3.
    """

    caller_hz: int = 400
    callee_hz: int = 600
    announcement_hz: int = 800
    tone_hz: int = 1000
    tone_ms: int = 250
    key_ms: int = 100
    turn_ms: int = 3000
    ringback_hz: tuple[int, int] = (440, 480)
    level: float = 0.3

    def __post_init__(self) -> None:
        frequencies = (self.caller_hz, self.callee_hz, self.announcement_hz, self.tone_hz)
        if any(f <= 0 for f in (*frequencies, *self.ringback_hz)):
            raise ValueError("AudioProfile frequencies must be positive integers (Hz)")
        if min(self.tone_ms, self.key_ms, self.turn_ms) <= 0:
            raise ValueError("AudioProfile durations must be positive (ms)")
        if not 0 < self.level <= 1:
            raise ValueError("AudioProfile.level must be in (0, 1]")


@dataclass(frozen=True)
class Span:
    """One sound (the sum of ``frequencies``; none is silence) from ``start_ms`` to ``end_ms``."""

    start_ms: int
    end_ms: int
    frequencies: tuple[int, ...] = ()


@functools.lru_cache(maxsize=64)
def _table(frequencies: tuple[int, ...], level: float, sample_rate: int) -> array[int]:
    """Two seconds of the sound: any window of up to one second is a plain slice of it.

    Integer frequencies repeat exactly every second, so slicing at ``position % sample_rate`` keeps
    the phase continuous across spans.
    """
    if not frequencies:
        return array("h", bytes(4 * sample_rate))
    share = level / len(frequencies)
    steps = [2 * math.pi * f / sample_rate for f in frequencies]
    second = array(
        "h",
        (
            round(_FULL_SCALE * share * sum(math.sin(step * i) for step in steps))
            for i in range(sample_rate)
        ),
    )
    return second + second


def render_channel(
    spans: Sequence[Span], start_ms: int, end_ms: int, sample_rate: int, level: float = 0.3
) -> array[int]:
    """One channel from ``start_ms`` to ``end_ms``: silence, with ``spans`` painted in order.

    A later span overwrites an earlier one where they overlap (so silence spans can mute).
    """
    total = max(0, _sample(end_ms - start_ms, sample_rate))
    out = array("h", bytes(2 * total))
    for span in spans:
        first = max(0, _sample(span.start_ms - start_ms, sample_rate))
        last = min(total, _sample(span.end_ms - start_ms, sample_rate))
        if last <= first:
            continue
        table = _table(tuple(span.frequencies), level, sample_rate)
        position = first
        while position < last:
            count = min(last - position, sample_rate)
            phase = position % sample_rate
            out[position : position + count] = table[phase : phase + count]
            position += count
    return out


def _sample(ms: int, sample_rate: int) -> int:
    return round(ms * sample_rate / 1000)


def wav_bytes(channels: Sequence[array[int]], sample_rate: int) -> bytes:
    """A 16-bit PCM WAV file of one (mono) or two (stereo: left, right) channels."""
    if len(channels) not in (1, 2):
        raise ValueError("a recording has one or two channels")
    if len(channels) == 2:
        left, right = channels
        if len(left) != len(right):
            raise ValueError("both channels must have the same length")
        frames = array("h", bytes(4 * len(left)))
        frames[0::2] = left
        frames[1::2] = right
    else:
        frames = array("h", channels[0])
    if sys.byteorder == "big":  # pragma: no cover - WAV is little-endian
        frames.byteswap()
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(len(channels))
        out.setsampwidth(2)
        out.setframerate(sample_rate)
        out.writeframes(frames.tobytes())
    return buffer.getvalue()
