"""What a recording heard (§3.2): the synthetic audio of a call's legs, rendered as a WAV.

Each party talks in alternate turns at its own frequency; announcements, ringback, DTMF keys and
the pause and resume tones are mixed in; a paused stretch is silence. ``INCOMING`` is what the
recorded leg's party said, ``OUTGOING`` what that party heard, ``BOTH`` the two as a stereo pair.
"""

from __future__ import annotations

import math

from cdk_recording.testing._state import LEG_A, LEG_B, CallState, Leg, Recording
from cdk_recording.testing._wav import DTMF_FREQUENCIES, Span, render_channel, wav_bytes

__all__ = ["render_recording"]

_RINGBACK_ON_MS = 2000
_RINGBACK_PERIOD_MS = 6000


def _voice(call: CallState, tag: str, start: int, end: int) -> list[Span]:
    """The party on ``tag`` talking in its turns between ``start`` and ``end``."""
    profile = call.options.audio
    frequency = profile.caller_hz if tag == LEG_A else profile.callee_hz
    parity = 0 if tag == LEG_A else 1
    turn = profile.turn_ms
    spans: list[Span] = []
    first = math.floor((start - call.t0) / turn)
    last = math.floor((end - call.t0) / turn)
    for index in range(first, last + 1):
        if index % 2 != parity:
            continue
        span_start = max(start, call.t0 + index * turn)
        span_end = min(end, call.t0 + (index + 1) * turn)
        if span_end > span_start:
            spans.append(Span(span_start, span_end, (frequency,)))
    return spans


def _leg_voice(call: CallState, leg: Leg) -> list[Span]:
    if leg.answered_ms is None:
        return []
    end = leg.ended_ms if leg.ended_ms is not None else call.now
    return _voice(call, leg.tag, leg.answered_ms, end)


def _key_spans(
    call: CallState, tag: str, within: list[tuple[int, int]] | None = None
) -> list[Span]:
    length = call.options.audio.key_ms
    spans = []
    for key_tag, at, key in call.keys:
        if key_tag != tag:
            continue
        if within is not None and not any(s <= at < e for s, e in within):
            continue
        spans.append(Span(at, at + length, DTMF_FREQUENCIES[key]))
    return spans


def _bridge_intervals(call: CallState) -> list[tuple[int, int]]:
    return [(s, e if e >= 0 else call.now) for s, e in call.bridged]


def _incoming(call: CallState, leg: Leg) -> list[Span]:
    return [*_leg_voice(call, leg), *_key_spans(call, leg.tag)]


def _outgoing(call: CallState, leg: Leg) -> list[Span]:
    profile = call.options.audio
    spans: list[Span] = []
    if leg.tag == LEG_A:
        ringing = list(call.ringing)
        if call.running is not None and call.running.bridge is not None:
            ringing.append((call.running.started_ms, call.now))
        for start, end in ringing:
            for on in range(start, end, _RINGBACK_PERIOD_MS):
                spans.append(Span(on, min(end, on + _RINGBACK_ON_MS), profile.ringback_hz))
    other = call.legs.get(LEG_B if leg.tag == LEG_A else LEG_A)
    if other is not None:
        bridges = _bridge_intervals(call)
        for start, end in bridges:
            for span in _leg_voice(call, other):
                s, e = max(start, span.start_ms), min(end, span.end_ms)
                if e > s:
                    spans.append(Span(s, e, span.frequencies))
        spans.extend(_key_spans(call, other.tag, bridges))
    announcements = list(call.announcements)
    running = call.running
    if running is not None and running.announcement and running.leg is not None:
        announcements.append((running.leg.tag, running.started_ms, call.now))
    spans.extend(
        Span(s, e, (profile.announcement_hz,)) for tag, s, e in announcements if tag == leg.tag
    )
    return spans


def render_recording(call: CallState, recording: Recording) -> bytes:
    """The WAV of ``recording`` as delivered (stereo for ``BOTH``: incoming left, outgoing right)."""
    assert recording.stopped_ms is not None
    profile = call.options.audio
    marks = [Span(start, end) for start, end in recording.pauses]
    marks += [Span(at, at + profile.tone_ms, (profile.tone_hz,)) for at in recording.tones]
    tracks = {
        "INCOMING": [_incoming(call, recording.leg)],
        "OUTGOING": [_outgoing(call, recording.leg)],
        "BOTH": [_incoming(call, recording.leg), _outgoing(call, recording.leg)],
    }[recording.track]
    channels = [
        render_channel(
            [*spans, *marks],
            recording.started_ms,
            recording.stopped_ms,
            call.options.sample_rate,
            profile.level,
        )
        for spans in tracks
    ]
    return wav_bytes(channels, call.options.sample_rate)
