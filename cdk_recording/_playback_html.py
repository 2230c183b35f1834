"""The playback picture of a call as one self-contained HTML page: inline CSS and inline SVG only.

No script, no font, no image and no style sheet from anywhere: the page's Content-Security-Policy
(``default-src 'none'``) forbids them, so it opens the same on a reviewer's laptop offline as in a
ticket attachment. Every value from the catalog or the recording is escaped
(:func:`html.escape`), in text and in attributes alike.

The page holds: the call (parties, times, consent), a timeline of legs with each recording's recorded
and paused spans and a numbered mark per fact, the facts as a table (the numbers of the marks), and
per recording the waveform of each channel (left: incoming, right: outgoing for a ``BOTH``
recording).
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping
from typing import Any, Final

from cdk_recording._playback import CALL_ROW, Playback, RecordingLane
from cdk_recording._playback_audio import Waveform
from cdk_recording._recordings_output import cell

__all__ = ["MARK_COLOURS", "render_page"]

#: Colour of the mark of each fact kind (others are grey).
MARK_COLOURS: Final = {
    "call-started": "#555",
    "leg-joined": "#555",
    "call-ended": "#555",
    "consent-played": "#2e7d32",
    "recording-requested": "#f0a000",
    "recording-started": "#c62828",
    "recording-paused": "#1565c0",
    "recording-resumed": "#c62828",
    "recording-stopped": "#6a1b9a",
    "recording-failed": "#000",
}

_WIDTH = 960
_LEFT = 110  # room for the row labels
_RIGHT = 20
_PLOT = _WIDTH - _LEFT - _RIGHT
_ROW = 64
_AXIS = 30
_WAVE_HEIGHT = 90
_STEPS = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200)

_CSS = """
body{font:14px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:24px;color:#222;
max-width:1000px}
h1{font-size:20px;margin:0 0 12px}h2{font-size:16px;margin:24px 0 8px}
h3{font-size:14px;margin:16px 0 4px}
table{border-collapse:collapse;margin:4px 0}
td,th{border:1px solid #ddd;padding:2px 8px;text-align:left;vertical-align:top}
th{background:#f4f4f4;font-weight:600}
code,.mono{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12px;word-break:break-all}
svg{display:block;background:#fff;border:1px solid #ddd;margin:4px 0}
svg text{font:11px system-ui,sans-serif;fill:#333}
.legend span{display:inline-block;margin-right:14px}
.swatch{display:inline-block;width:12px;height:12px;vertical-align:middle;margin-right:4px}
.note{color:#8a6d3b;background:#fcf8e3;padding:4px 8px;border:1px solid #faebcc}
"""
_PATTERN = (
    '<defs><pattern id="paused" width="6" height="6" patternUnits="userSpaceOnUse" '
    'patternTransform="rotate(45)"><rect width="6" height="6" fill="#bbdefb"/>'
    '<line x1="0" y1="0" x2="0" y2="6" stroke="#1565c0" stroke-width="2"/></pattern></defs>'
)


def _e(value: Any) -> str:
    """``value`` as escaped text (``-`` when absent)."""
    return html.escape(cell(value), quote=True)


def _n(value: float) -> str:
    return f"{value:.1f}"


def _clock(seconds: float) -> str:
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def _step(length: float) -> int:
    return next((step for step in _STEPS if length / step <= 10), _STEPS[-1])


def _x(seconds: float, length: float) -> float:
    return _LEFT + _PLOT * max(0.0, min(seconds, length)) / length


def render_page(playback: Playback, audio: Mapping[str, Waveform | str]) -> str:
    """The page. ``audio`` maps a recording's call id to its waveform, or to a note saying why
    there is none (not read, not delivered, unreadable); a recording absent from it gets no section.
    """
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "style-src 'unsafe-inline'\">",
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>Call {_e(playback.transaction_id)}</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>Call <code>{_e(playback.transaction_id)}</code></h1>",
        _call_table(playback),
        "<h2>Timeline</h2>",
        _timeline(playback),
        _legend(),
        "<h2>Facts</h2>",
        _facts_table(playback),
        "<h2>Recordings</h2>",
        _recordings_table(playback.recordings),
    ]
    for lane in playback.recordings:
        if lane.call_id in audio:
            parts.append(_waveform_section(lane, audio[lane.call_id]))
    parts.append("</body></html>\n")
    return "\n".join(parts)


def _rows(pairs: Iterable[tuple[str, Any]]) -> str:
    return "".join(f"<tr><th>{_e(name)}</th><td>{_e(value)}</td></tr>" for name, value in pairs)


def _call_table(playback: Playback) -> str:
    call = playback.call
    consent = call.get("consent") if isinstance(call.get("consent"), Mapping) else {}
    legs = consent.get("legs") if isinstance(consent, Mapping) else None
    pairs = [
        ("direction", call.get("direction")),
        ("from", call.get("fromNumber")),
        ("to", call.get("toNumber")),
        ("started", call.get("startedAt") or call.get("firstStart")),
        ("ended", call.get("endedAt")),
        ("SIP media application", call.get("smaId")),
        ("billed minutes", call.get("billedMinutes")),
        ("consent played", consent.get("playedAt") if isinstance(consent, Mapping) else None),
        ("consent legs", ", ".join(map(str, legs)) if isinstance(legs, list) else legs),
        (
            "legal hold",
            None
            if "legalHold" not in call
            else f"{'on' if call.get('legalHold') else 'off'} since {call.get('legalHoldAt')} "
            f"by {call.get('legalHoldBy')}: {call.get('legalHoldReason')}",
        ),
        (
            "numbers",
            ", ".join(
                f"{n.get('number')} ({n.get('role')}, {n.get('leg')})" for n in playback.numbers
            ),
        ),
    ]
    return f'<table class="call">{_rows(pairs)}</table>'


def _axis(length: float, y: float, height: float, label: str) -> list[str]:
    step = _step(length)
    out = [f'<line x1="{_LEFT}" y1="{_n(y)}" x2="{_LEFT + _PLOT}" y2="{_n(y)}" stroke="#999"/>']
    tick = 0
    while tick <= length:
        x = _n(_x(tick, length))
        out.append(
            f'<line x1="{x}" y1="{_n(y - height)}" x2="{x}" y2="{_n(y + 4)}" stroke="#eee"/>'
            f'<text x="{x}" y="{_n(y + 16)}" text-anchor="middle">{_clock(tick)}</text>'
        )
        tick += step
    out.append(f'<text x="8" y="{_n(y + 16)}">{_e(label)}</text>')
    return out


def _timeline(playback: Playback) -> str:
    length = playback.length
    rows = playback.rows or (CALL_ROW,)
    height = _ROW * len(rows) + _AXIS + 10
    body = [_PATTERN]
    body.extend(_axis(length, _ROW * len(rows) + 6, _ROW * len(rows), "m:ss"))
    numbers = {id(mark): index for index, mark in enumerate(playback.marks, start=1)}
    for index, row in enumerate(rows):
        top = index * _ROW + 6
        body.append(f'<text x="8" y="{top + 22}" font-weight="600">{_e(row)}</text>')
        leg = playback.legs.get(row)
        if leg is not None:
            x1, x2 = _x(leg.start, length), _x(leg.end, length)
            body.append(
                f'<rect class="leg" x="{_n(x1)}" y="{top + 12}" width="{_n(max(1.0, x2 - x1))}" '
                f'height="14" fill="#e0e0e0"><title>{_e(row)}: {_clock(leg.start)} to '
                f"{_clock(leg.end)}</title></rect>"
            )
        for lane in playback.recordings:
            if lane.leg != row:
                continue
            for span in lane.spans:
                x1, x2 = _x(span.start, length), _x(span.end, length)
                fill = "url(#paused)" if span.kind == "paused" else "#e57373"
                body.append(
                    f'<rect class="{span.kind}" x="{_n(x1)}" y="{top + 14}" '
                    f'width="{_n(max(1.0, x2 - x1))}" height="10" fill="{fill}">'
                    f"<title>{_e(span.kind)} {_clock(span.start)} to {_clock(span.end)} "
                    f"({_e(lane.call_id)})</title></rect>"
                )
        placed: list[float] = []
        for mark in playback.marks:
            if mark.row != row or mark.at is None:
                continue
            x = _x(mark.at, length)
            # A mark closer to earlier ones than a badge's width moves its badge aside: up to five
            # to the right (to the left near the end of the axis), then a second line below.
            level = sum(1 for other in placed if abs(other - x) < 16)
            placed.append(x)
            shift = 16 * (level % 6) * (1 if x < _LEFT + _PLOT - 96 else -1)
            x_text, y = x + shift, top + 42 + 14 * min(1, level // 6)
            colour = MARK_COLOURS.get(mark.kind, "#777")
            number = numbers[id(mark)]
            body.append(
                f'<g class="mark"><title>{number}. {_e(mark.kind)} at {_e(mark.time)}</title>'
                f'<polyline points="{_n(x)},{top + 10} {_n(x)},{top + 30} {_n(x_text)},{y}" '
                f'stroke="{colour}" stroke-width="2" fill="none"/>'
                f'<circle cx="{_n(x_text)}" cy="{y}" r="7" fill="{colour}"/>'
                f'<text x="{_n(x_text)}" y="{y + 4}" text-anchor="middle" '
                f'style="fill:#fff;font-size:9px">{number}</text></g>'
            )
    return (
        f'<svg class="timeline" xmlns="http://www.w3.org/2000/svg" width="{_WIDTH}" '
        f'height="{height}" viewBox="0 0 {_WIDTH} {height}" role="img" '
        f'aria-label="timeline of the call">{"".join(body)}</svg>'
    )


def _legend() -> str:
    items = [
        ('<span class="swatch" style="background:#e0e0e0"></span>leg up'),
        ('<span class="swatch" style="background:#e57373"></span>recording'),
        (
            '<span class="swatch" style="background:repeating-linear-gradient(45deg,#1565c0 0 2px,'
            '#bbdefb 2px 6px)"></span>paused'
        ),
        *(
            f'<span class="swatch" style="background:{colour};border-radius:6px"></span>'
            f"{html.escape('call started, leg joined, call ended' if kind == 'call-started' else kind)}"
            for kind, colour in MARK_COLOURS.items()
            if kind not in ("leg-joined", "call-ended")
        ),
    ]
    return '<p class="legend">' + "".join(f"<span>{item}</span>" for item in items) + "</p>"


def _facts_table(playback: Playback) -> str:
    if not playback.marks:
        return '<p class="note">No facts are cataloged for this call.</p>'
    rows = "".join(
        f"<tr><td>{index}</td><td>{_e(mark.time)}</td>"
        f"<td>{_e(None if mark.at is None else '+' + _clock(mark.at))}</td>"
        f"<td>{_e(mark.sequence)}</td><td>{_e(mark.kind)}</td><td>{_e(mark.row)}</td>"
        f'<td class="mono">{_e(mark.detail or None)}</td></tr>'
        for index, mark in enumerate(playback.marks, start=1)
    )
    return (
        '<table class="facts"><tr><th>#</th><th>at</th><th>offset</th><th>sequence</th>'
        f"<th>kind</th><th>leg</th><th>detail</th></tr>{rows}</table>"
    )


def _recordings_table(lanes: Iterable[RecordingLane]) -> str:
    fields = (
        ("leg", "leg"),
        ("track", "track"),
        ("status", "status"),
        ("started", "startedAt"),
        ("stopped", "stoppedAt"),
        ("seconds", "durationSeconds"),
        ("paused seconds", "pausedSeconds"),
        ("billed minutes", "billedMinutes"),
        ("SHA-256", "sha256"),
        ("object", "s3Uri"),
        ("version", "versionId"),
    )
    tables = [
        f'<table class="recording"><tr><th>call id</th><td><code>{_e(lane.call_id)}</code></td>'
        "</tr>"
        + "".join(
            f'<tr><th>{html.escape(title)}</th><td class="mono">{_e(lane.item.get(key))}</td></tr>'
            for title, key in fields
        )
        + "</table>"
        for lane in lanes
    ]
    if not tables:
        return '<p class="note">No recording is cataloged for this call.</p>'
    return "".join(tables)


def _channel_names(waveform: Waveform, track: str) -> list[str]:
    if waveform.channels == 2:
        return ["left: incoming", "right: outgoing"]
    if waveform.channels == 1:
        return [f"mono: {track.lower() or 'single track'}"]
    return [f"channel {n + 1}" for n in range(waveform.channels)]


def _waveform_section(lane: RecordingLane, audio: Waveform | str) -> str:
    title = f"<h3>Waveform of {_e(lane.leg)} <code>{_e(lane.call_id)}</code></h3>"
    if isinstance(audio, str):
        return f'{title}<p class="note">{_e(audio)}</p>'
    summary = (
        f"<p>{_clock(audio.duration_seconds)} ({audio.duration_seconds:.3f} s), "
        f"{audio.sample_rate} Hz, {audio.bits_per_sample}-bit, {audio.channels} channel(s); "
        f"each stroke is the lowest to highest sample of {audio.frames_per_bucket} frames.</p>"
    )
    charts = [
        _channel_svg(name, peaks, audio.duration_seconds)
        for name, peaks in zip(_channel_names(audio, lane.track), audio.peaks, strict=False)
    ]
    return title + summary + "".join(charts)


def _channel_svg(name: str, peaks: tuple[tuple[float, float], ...], duration: float) -> str:
    middle = _WAVE_HEIGHT / 2 + 4
    half = _WAVE_HEIGHT / 2 - 2
    count = max(1, len(peaks))
    strokes = []
    for index, (low, high) in enumerate(peaks):
        x = _n(_LEFT + _PLOT * (index + 0.5) / count)
        top, bottom = middle - high * half, middle - low * half
        if bottom - top < 1:
            top, bottom = (top + bottom) / 2 - 0.5, (top + bottom) / 2 + 0.5
        strokes.append(f"M{x} {_n(top)}V{_n(bottom)}")
    height = _WAVE_HEIGHT + _AXIS + 8
    body = [
        *_axis(max(duration, 1.0), _WAVE_HEIGHT + 8, _WAVE_HEIGHT, "m:ss"),
        f'<line x1="{_LEFT}" y1="{_n(middle)}" x2="{_LEFT + _PLOT}" y2="{_n(middle)}" '
        'stroke="#ccc"/>',
        f'<text x="8" y="{_n(middle + 4)}" font-weight="600">{_e(name)}</text>',
        f'<path class="peaks" d="{"".join(strokes)}" stroke="#1e5aa8" stroke-width="'
        f'{_n(max(0.6, _PLOT / count * 0.9))}" fill="none"/>',
    ]
    return (
        f'<svg class="waveform" xmlns="http://www.w3.org/2000/svg" width="{_WIDTH}" '
        f'height="{height}" viewBox="0 0 {_WIDTH} {height}" role="img" '
        f'aria-label="{_e(name)}">{"".join(body)}</svg>'
    )
