"""The playback picture of a call, as data: legs, recordings and their marks on one time axis.

Built from the document ``recordings show`` prints (:func:`build_playback`): the ``CALL`` item, the
``REC#`` items and the facts timeline of ``docs/catalog.md``, after masking, so the picture carries
exactly what the text output would. Times are seconds from the first time known of the call.

* **Legs** (LEG-A, LEG-B): from ``call-started`` / ``leg-joined`` (else the first fact of the leg,
  else the call's start) to the leg's ``recording-stopped`` by hangup or ``call-ended`` (else the
  call's end, else the last time known).
* **Recordings**: per recorded leg, from ``recording-started`` (else the item's ``startedAt``) to
  ``recording-stopped`` (else ``stoppedAt``, else the leg's end), cut into recorded and paused
  spans by its ``recording-paused`` / ``recording-resumed`` facts.
* **Marks**: every fact, on its leg's row (a fact of no leg goes on the call's row).

A time that does not parse is left out (the fact is still listed, without a place on the axis).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

__all__ = [
    "CALL_ROW",
    "Mark",
    "Playback",
    "RecordingLane",
    "Span",
    "build_playback",
    "parse_time",
]

#: The row of marks that belong to no leg (e.g. ``call-ended`` after a failed bridge).
CALL_ROW: Final = "call"

_LEG_OPENERS = frozenset({"call-started", "leg-joined"})


@dataclass(frozen=True)
class Span:
    """From ``start`` to ``end`` seconds; ``kind`` says what (``leg``, ``recorded``, ``paused``)."""

    start: float
    end: float
    kind: str


@dataclass(frozen=True)
class Mark:
    """One fact: ``at`` seconds (None when its time did not parse), on ``row``."""

    at: float | None
    time: str
    kind: str
    row: str
    sequence: Any
    detail: Any


@dataclass(frozen=True)
class RecordingLane:
    """One recording: its item's fields shown on the page and its recorded/paused spans."""

    call_id: str
    leg: str
    track: str
    status: str
    spans: tuple[Span, ...]
    item: Mapping[str, Any]


@dataclass(frozen=True)
class Playback:
    """Everything the page shows of a call (strings already masked when they hold numbers).

    :param origin: the time (ISO text) that ``0`` seconds stands for; None when no time parsed.
    :param length: seconds from the origin to the last time known (at least 1).
    :param rows: row names top to bottom: the legs in order, then :data:`CALL_ROW` if used.
    :param legs: per leg, its span on the axis (absent when nothing says when it was up).
    """

    transaction_id: str
    call: Mapping[str, Any]
    origin: str | None
    length: float
    rows: tuple[str, ...]
    legs: Mapping[str, Span]
    recordings: tuple[RecordingLane, ...]
    marks: tuple[Mark, ...]
    numbers: tuple[Mapping[str, Any], ...] = field(default=())


def parse_time(value: Any) -> datetime | None:
    """An ISO 8601 time with a zone, or None when ``value`` is not one."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def build_playback(document: Mapping[str, Any]) -> Playback:
    """The picture's data from a ``recordings show`` document (``transactionId``, ``call``,
    ``numbers``, ``recordings``, ``facts``).
    """
    call: Mapping[str, Any] = document.get("call") or {}
    facts = [fact for fact in document.get("facts") or [] if isinstance(fact, Mapping)]
    items = [item for item in document.get("recordings") or [] if isinstance(item, Mapping)]
    known = [
        parse_time(value)
        for value in (
            call.get("startedAt"),
            call.get("firstStart"),
            call.get("endedAt"),
            *(fact.get("at") for fact in facts),
            *(item.get(name) for item in items for name in ("startedAt", "stoppedAt")),
        )
    ]
    times = [time for time in known if time is not None]
    origin = min(times) if times else None

    def seconds(value: Any) -> float | None:
        time = parse_time(value)
        if time is None or origin is None:
            return None
        return (time - origin).total_seconds()

    last = max(((time - origin).total_seconds() for time in times), default=0.0) if origin else 0.0
    call_start = seconds(call.get("startedAt") or call.get("firstStart")) or 0.0
    call_end = seconds(call.get("endedAt"))
    ended = _first_at(seconds, facts, kinds={"call-ended"})
    end_of_call = ended if ended is not None else call_end if call_end is not None else last

    leg_names = sorted(
        {str(leg) for leg in _legs(facts, items)}, key=lambda leg: (leg != "LEG-A", leg)
    )
    legs: dict[str, Span] = {}
    for leg in leg_names:
        of_leg = [fact for fact in facts if fact.get("leg") == leg]
        start = _first_at(seconds, of_leg, kinds=_LEG_OPENERS)
        if start is None:
            start = _first_at(seconds, of_leg, kinds=None)
        if start is None:
            start = call_start
        hung_up = [
            fact
            for fact in of_leg
            if fact.get("kind") == "recording-stopped"
            and isinstance(fact.get("detail"), Mapping)
            and fact["detail"].get("by") == "hangup"
        ]
        end = _first_at(seconds, hung_up, kinds=None)
        if end is None:
            end = end_of_call
        legs[leg] = Span(start, max(start, end), "leg")

    recordings = tuple(
        _lane(item, facts, seconds, legs, end_of_call)
        for item in sorted(items, key=lambda r: (str(r.get("leg")), str(r.get("callId"))))
    )
    marks = tuple(
        Mark(
            at=seconds(fact.get("at")),
            time=str(fact.get("at") or ""),
            kind=str(fact.get("kind") or "?"),
            row=str(fact["leg"]) if fact.get("leg") in legs else CALL_ROW,
            sequence=fact.get("sequence"),
            detail=fact.get("detail"),
        )
        for fact in facts
    )
    rows = tuple(leg_names) + ((CALL_ROW,) if any(m.row == CALL_ROW for m in marks) else ())
    return Playback(
        transaction_id=str(document.get("transactionId") or ""),
        call=call,
        origin=str(origin.isoformat()) if origin else None,
        length=max(1.0, last),
        rows=rows,
        legs=legs,
        recordings=recordings,
        marks=marks,
        numbers=tuple(n for n in document.get("numbers") or [] if isinstance(n, Mapping)),
    )


def _legs(facts: Iterable[Mapping[str, Any]], items: Iterable[Mapping[str, Any]]) -> set[str]:
    found = {fact.get("leg") for fact in facts} | {item.get("leg") for item in items}
    return {leg for leg in found if isinstance(leg, str) and leg}


def _first_at(
    seconds: Any, facts: Iterable[Mapping[str, Any]], *, kinds: frozenset[str] | set[str] | None
) -> float | None:
    found = [
        at
        for fact in facts
        if kinds is None or fact.get("kind") in kinds
        if (at := seconds(fact.get("at"))) is not None
    ]
    return min(found, default=None)


def _lane(
    item: Mapping[str, Any],
    facts: list[Mapping[str, Any]],
    seconds: Any,
    legs: Mapping[str, Span],
    end_of_call: float,
) -> RecordingLane:
    call_id = str(item.get("callId") or "")
    leg = str(item.get("leg") or "")
    own = [fact for fact in facts if fact.get("callId") == call_id] if call_id else []
    start = _first_at(seconds, own, kinds={"recording-started"})
    if start is None:
        start = seconds(item.get("startedAt"))
    stop = _first_at(seconds, own, kinds={"recording-stopped"})
    if stop is None:
        stop = seconds(item.get("stoppedAt"))
    if stop is None:
        stop = legs[leg].end if leg in legs else end_of_call
    spans: list[Span] = []
    if start is not None and stop >= start:
        changes = sorted(
            (at, fact.get("kind"))
            for fact in own
            if fact.get("kind") in ("recording-paused", "recording-resumed")
            if (at := seconds(fact.get("at"))) is not None and start <= at <= stop
        )
        state, since = "recorded", start
        for at, kind in changes:
            wanted = "paused" if kind == "recording-paused" else "recorded"
            if wanted == state:
                continue
            if at > since:
                spans.append(Span(since, at, state))
            state, since = wanted, at
        if stop > since or not spans:
            spans.append(Span(since, stop, state))
    return RecordingLane(
        call_id=call_id,
        leg=leg,
        track=str(item.get("track") or ""),
        status=str(item.get("status") or ""),
        spans=tuple(spans),
        item=item,
    )
