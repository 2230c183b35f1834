"""What a facts message changes in the catalog: pure merges of its facts into the items as read.

SQS delivers each message at least once and in no particular order, and several consumers may
run at once. So every attribute the facts consumer owns is a *join* of what the messages
contribute, a rule that gives the same result whatever the order and however often a message
comes: the earliest time (``startedAt``, ``requestedAt``, ``stoppedAt``, ``endedAt``, consent
``playedAt``), the union of a set (pause and resume moments, consent legs), and, for values that
the messages of one call all agree on (numbers, direction, leg, track), the least one, so that even
a disagreement settles the same way every time. Derived attributes (``day``, ``pausedSeconds``, the
pending index keys) are functions of the joined ones.

An update is built from the item as read and conditioned on every attribute it was computed from
still being as read; when the condition fails the caller reads again and merges again. A merge that
changes nothing writes nothing (the join already holds the message), which is why a duplicate costs
only reads.

The other writers' attributes are left alone, with two meeting points. ``status``: a recording is
``started`` once a request, start or failure is known, but never over ``delivered``/``missing``
(the arrival processor and the sweep own those, and drop the pending keys with them). ``day`` on
the call: the arrival processor sets it from the first leg start only while the call has no
``startedAt``; once the facts give one, ``day`` follows it.

Pure: plain values in, :class:`~recording_processor._record.Update` out.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Final

from recording_processor import schema
from recording_processor._facts import RECORDING_KINDS, FactsMessage, Participant
from recording_processor._keys import iso_utc
from recording_processor._record import ABSENT, MISSING, SCHEMA_VERSION, Update, call_key

__all__ = [
    "FAILED",
    "MISSING",
    "NOT_STARTED",
    "STARTED",
    "CallFacts",
    "NumberFacts",
    "RecordingFacts",
    "Timing",
    "awaited_status",
    "call_facts",
    "call_update",
    "fact_items",
    "fact_sort_key",
    "number_facts",
    "number_key",
    "number_update",
    "paused_seconds",
    "pending_deadline",
    "recording_facts",
    "recording_update",
    "started_hint",
]

STARTED: Final = "started"
#: The start of the recording failed for good: no file is expected.
FAILED: Final = "failed"
#: Requested, but the call ended before the start was confirmed: no file is expected.
NOT_STARTED: Final = "not-started"
#: The statuses the facts set; ``missing`` (the sweep's) and ``delivered`` are never overwritten.
_FACT_STATUSES: Final = (STARTED, FAILED, NOT_STARTED)

_MILLISECOND = Decimal("0.001")
_LEG_ORDER = {"LEG-A": 0, "LEG-B": 1}
_ROLE_ORDER = {"from": 0, "to": 1}
_TRACKS = frozenset({"BOTH", "INCOMING", "OUTGOING"})
_MAX_DESTINATION = 1024

#: The call attributes this consumer joins (and conditions its writes on).
_CALL_OWNED: Final = (
    "smaId",
    "direction",
    "fromNumber",
    "toNumber",
    "startedAt",
    "endedAt",
    "consent",
)
#: The recording attributes this consumer joins or derives (and conditions its writes on).
_RECORDING_OWNED: Final = (
    "leg",
    "track",
    "destination",
    "direction",
    "fromNumber",
    "toNumber",
    "smaId",
    "requestedAt",
    "startedAt",
    "failedAt",
    "stoppedAt",
    "pauses",
    "resumes",
    "pausedSeconds",
    "status",
    "versionId",
    "gsi3pk",
    "gsi3sk",
)
_NUMBER_OWNED: Final = ("number", "role", "leg", "gsi1sk")


@dataclass(frozen=True)
class Timing:
    """When a started recording's file is overdue (see :func:`pending_deadline`)."""

    max_call_hours: int = 24
    grace_minutes: int = 15


@dataclass(frozen=True)
class CallFacts:
    """One message's contribution to the ``CALL`` item."""

    sma_id: str | None = None
    direction: str | None = None
    from_number: str | None = None
    to_number: str | None = None
    started_at: str | None = None
    ended_at: str | None = None
    consent_at: str | None = None
    consent_legs: frozenset[str] = frozenset()


@dataclass(frozen=True)
class NumberFacts:
    """One number of a message: the best-ranked role it plays (LEG-A before LEG-B, from before to)."""

    number: str
    role: str
    leg: str | None


@dataclass(frozen=True)
class RecordingFacts:
    """One message's contribution to one ``REC#`` item.

    ``pauses``/``resumes`` hold fact ids ``<at>#<sequence>#<n>``: sortable by time, and distinct
    for distinct facts, so a pause and a resume in the same millisecond still pair up.
    """

    call_id: str
    leg: str | None = None
    track: str | None = None
    destination: str | None = None
    direction: str | None = None
    from_number: str | None = None
    to_number: str | None = None
    sma_id: str | None = None
    requested_at: str | None = None
    started_at: str | None = None
    failed_at: str | None = None
    stopped_at: str | None = None
    pauses: frozenset[str] = field(default_factory=frozenset)
    resumes: frozenset[str] = field(default_factory=frozenset)


def fact_sort_key(sequence: int, index: int) -> str:
    """``FACT#<sequence:06d>#<n:02d>``: a fact's audit item, in the call's order.

    Keyed by the SMA's own sequence, not the handler's clock: when the service retries an
    invocation the handler answered too slowly, the same facts come again with a later ``at``,
    and must land on the same item (the first one written is kept).
    """
    return f"FACT#{sequence:06d}#{index:02d}"


def number_key(transaction_id: str, number: str) -> dict[str, str]:
    return {"pk": f"TX#{transaction_id}", "sk": f"NUM#{number}"}


def fact_items(message: FactsMessage) -> list[dict[str, Any]]:
    """The ``FACT#`` items of the message's known facts (written only if absent)."""
    items = []
    for fact in message.facts:
        item: dict[str, Any] = {
            "pk": f"TX#{message.transaction_id}",
            "sk": fact_sort_key(message.sequence, fact.index),
            "transactionId": message.transaction_id,
            "kind": fact.kind,
            "at": message.at,
            "sequence": message.sequence,
            "callId": fact.call_id,
            "leg": fact.leg,
            "detail": fact.detail,
        }
        items.append({name: value for name, value in item.items() if value is not None})
    return items


def started_hint(message: FactsMessage) -> str:
    """The earliest moment the message knows the call existed: a leg start, a ``call-started``
    fact, or at worst the message's own time."""
    return (
        _least(
            message.at,
            *(p.started_at for p in message.participants),
            *(message.at for f in message.facts if f.kind == "call-started"),
        )
        or message.at
    )


def call_facts(message: FactsMessage) -> CallFacts:
    leg_a = next((p for p in message.participants if p.tag == "LEG-A"), None)
    consent = [f for f in message.facts if f.kind == "consent-played"]
    legs: set[str] = set()
    for fact in consent:
        if fact.leg:
            legs.add(fact.leg)
        named = (fact.detail or {}).get("legs")
        if isinstance(named, list):
            legs.update(
                leg.upper() for leg in named if isinstance(leg, str) and leg.upper() in _LEG_ORDER
            )
    ended = [f for f in message.facts if f.kind == "call-ended"]
    return CallFacts(
        sma_id=message.sma_id,
        direction=leg_a.direction if leg_a else None,
        from_number=leg_a.from_number if leg_a else None,
        to_number=leg_a.to_number if leg_a else None,
        started_at=started_hint(message),
        ended_at=message.at if ended else None,
        consent_at=message.at if consent else None,
        consent_legs=frozenset(legs),
    )


def number_facts(message: FactsMessage) -> list[NumberFacts]:
    """Each distinct E.164 number of the message, with the best-ranked role it plays."""
    best: dict[str, NumberFacts] = {}
    for participant in message.participants:
        for role, number in (("from", participant.from_number), ("to", participant.to_number)):
            if number is None:
                continue
            candidate = NumberFacts(number, role, participant.tag)
            current = best.get(number)
            if current is None or _rank(candidate.leg, role) < _rank(current.leg, current.role):
                best[number] = candidate
    return [best[n] for n in sorted(best)]


def recording_facts(message: FactsMessage) -> dict[str, RecordingFacts]:
    """Each recorded leg's contribution, by call id (only legs a recording fact names)."""
    grouped: dict[str, list[Any]] = {}
    for fact in message.facts:
        if fact.kind in RECORDING_KINDS and fact.call_id is not None:
            grouped.setdefault(fact.call_id, []).append(fact)
    out: dict[str, RecordingFacts] = {}
    for call_id, facts in grouped.items():
        participant = message.participant(call_id) or Participant(
            call_id, None, None, None, None, None
        )

        def at_of(kind: str, facts: list[Any] = facts) -> str | None:
            return message.at if any(f.kind == kind and _counts(f) for f in facts) else None

        def ids_of(kind: str, facts: list[Any] = facts) -> frozenset[str]:
            return frozenset(
                f"{message.at}#{message.sequence:06d}#{f.index:02d}"
                for f in facts
                if f.kind == kind
            )

        details = [f.detail or {} for f in facts]
        out[call_id] = RecordingFacts(
            call_id=call_id,
            leg=_least(*(f.leg for f in facts)) or participant.tag,
            track=_least(*(_track(d.get("track")) for d in details)),
            destination=_least(*(_destination(d.get("destination")) for d in details)),
            direction=participant.direction,
            from_number=participant.from_number,
            to_number=participant.to_number,
            sma_id=message.sma_id,
            requested_at=at_of("recording-requested"),
            started_at=at_of("recording-started"),
            failed_at=at_of("recording-failed"),
            stopped_at=at_of("recording-stopped"),
            pauses=ids_of("recording-paused"),
            resumes=ids_of("recording-resumed"),
        )
    return out


def call_update(
    transaction_id: str, existing: Mapping[str, Any] | None, facts: CallFacts
) -> Update | None:
    """The ``CALL`` item's update, or None when the message adds nothing."""
    old = existing or {}
    started = _least(_text(old.get("startedAt")), facts.started_at)
    target: dict[str, Any] = {
        "smaId": _least(_text(old.get("smaId")), facts.sma_id),
        "direction": _least(_text(old.get("direction")), facts.direction),
        "fromNumber": _least(_text(old.get("fromNumber")), facts.from_number),
        "toNumber": _least(_text(old.get("toNumber")), facts.to_number),
        "startedAt": started,
        "endedAt": _least(_text(old.get("endedAt")), facts.ended_at),
        "consent": _consent(old.get("consent"), facts),
        "day": started[:10] if started else None,
    }
    changes = _changes(old, target)
    if not changes:
        return None
    changes.update(transactionId=transaction_id, schemaVersion=SCHEMA_VERSION)
    return Update(key=call_key(transaction_id), set=changes, expect=_as_read(old, _CALL_OWNED))


def number_update(
    transaction_id: str,
    existing: Mapping[str, Any] | None,
    facts: NumberFacts | None,
    started_at: str | None,
) -> Update | None:
    """A ``NUM#`` item's update (``byNumber`` index keys included), or None.

    ``started_at`` is the call item's ``startedAt``: ``gsi1sk`` sorts a number's calls by when the
    call started, whichever message first named the number. Without ``facts`` only an existing
    item's ``gsi1sk`` is brought to it.
    """
    old = existing or {}
    number = facts.number if facts else _text(old.get("number"))
    if number is None or started_at is None:
        return None
    role, leg = (facts.role, facts.leg) if facts else (None, None)
    old_role, old_leg = _text(old.get("role")), _text(old.get("leg"))
    if old_role is not None and (role is None or _rank(old_leg, old_role) <= _rank(leg, role)):
        role, leg = old_role, old_leg
    target: dict[str, Any] = {
        "number": number,
        "role": role,
        "leg": leg,
        "gsi1sk": _least(_text(old.get("gsi1sk")), f"{started_at}#{transaction_id}"),
    }
    changes = _changes(old, target)
    if not changes:
        return None
    changes.update(
        transactionId=transaction_id,
        gsi1pk=f"NUM#{number}",
        schemaVersion=SCHEMA_VERSION,
    )
    return Update(
        key=number_key(transaction_id, number),
        set=changes,
        expect=_as_read(old, _NUMBER_OWNED),
    )


def recording_update(
    transaction_id: str,
    call_id: str,
    existing: Mapping[str, Any] | None,
    facts: RecordingFacts | None,
    call_ended_at: str | None,
    timing: Timing,
) -> Update | None:
    """A ``REC#`` item's update, or None.

    ``call_ended_at`` is the call item's ``endedAt``: the end of the call stops every recording
    of it that a request, start or failure is known for (the SMA stops recording on hang-up).
    """
    old = existing or {}
    new = facts or RecordingFacts(call_id)
    state: dict[str, Any] = {
        "leg": _least(_text(old.get("leg")), new.leg),
        "track": _least(_text(old.get("track")), new.track),
        "destination": _least(_text(old.get("destination")), new.destination),
        "direction": _least(_text(old.get("direction")), new.direction),
        "fromNumber": _least(_text(old.get("fromNumber")), new.from_number),
        "toNumber": _least(_text(old.get("toNumber")), new.to_number),
        "smaId": _least(_text(old.get("smaId")), new.sma_id),
        "requestedAt": _least(_text(old.get("requestedAt")), new.requested_at),
        "startedAt": _least(_text(old.get("startedAt")), new.started_at),
        "failedAt": _least(_text(old.get("failedAt")), new.failed_at),
        "stoppedAt": _least(_text(old.get("stoppedAt")), new.stopped_at),
        "pauses": _strings(old.get("pauses")) | new.pauses or None,
        "resumes": _strings(old.get("resumes")) | new.resumes or None,
    }
    known = any(state[name] for name in ("requestedAt", "startedAt", "failedAt"))
    if known:
        state["stoppedAt"] = _least(state["stoppedAt"], call_ended_at)
    if state["pauses"]:
        state["pausedSeconds"] = paused_seconds(
            state["pauses"], state["resumes"] or frozenset(), state["stoppedAt"]
        )
    remove: tuple[str, ...] = ()
    status = old.get("status")
    if known and status in (None, *_FACT_STATUSES) and "versionId" not in old:
        state["status"] = awaited_status(state)
        deadline = pending_deadline(state, timing) if state["status"] == STARTED else None
        if deadline is not None:
            state["gsi3pk"] = schema.pending_shard(transaction_id)
            state["gsi3sk"] = deadline
        else:
            remove = tuple(name for name in ("gsi3pk", "gsi3sk") if name in old)
    changes = _changes(old, state)
    if not changes and not remove:
        return None
    changes.update(transactionId=transaction_id, callId=call_id, schemaVersion=SCHEMA_VERSION)
    return Update(
        key={"pk": f"TX#{transaction_id}", "sk": f"REC#{call_id}"},
        set=changes,
        remove=remove,
        expect=_as_read(old, _RECORDING_OWNED),
    )


def awaited_status(item: Mapping[str, Any]) -> str:
    """What the facts say about a recording's file, before it arrives.

    * ``started``: the start was confirmed, or it was requested and the call still goes on: a
      file is awaited (the pending index holds it);
    * ``failed``: the start failed for good (a failed pause, resume or stop is not final: the
      recording goes on) and never succeeded: no file is expected, ``RecordingFailed`` already
      counted it;
    * ``not-started``: requested, but the call ended before the start was confirmed (a caller
      who hangs up during the consent announcement): no file is expected.

    Derived from the merged attributes only, so any order of the facts gives the same status.
    """
    if _text(item.get("startedAt")):
        return STARTED
    if _text(item.get("failedAt")):
        return FAILED
    if _text(item.get("stoppedAt")):
        return NOT_STARTED
    return STARTED


def pending_deadline(item: Mapping[str, Any], timing: Timing) -> str | None:
    """When the file of a started recording is overdue (``gsi3sk``).

    Stopped (or failed): the earlier of the two plus the grace. Otherwise the start (the request
    while no start is known) plus the longest call plus the grace. None when neither is known.
    """
    grace = timedelta(minutes=timing.grace_minutes)
    stop = _least(_text(item.get("stoppedAt")), _text(item.get("failedAt")))
    if stop is not None:
        return iso_utc(_moment(stop) + grace)
    start = _text(item.get("startedAt")) or _text(item.get("requestedAt"))
    if start is None:
        return None
    return iso_utc(_moment(start) + timedelta(hours=timing.max_call_hours) + grace)


def paused_seconds(
    pauses: Iterable[str], resumes: Iterable[str], stopped_at: str | None
) -> Decimal:
    """Seconds spent paused: each pause up to the next resume (or up to the stop, if never
    resumed). A second pause while paused, or a resume while not paused, changes nothing, so
    repeated facts cannot count twice.
    """
    events = sorted([(p, True) for p in pauses] + [(r, False) for r in resumes])
    total = Decimal(0)
    since: datetime | None = None
    for fact_id, is_pause in events:
        moment = _moment(fact_id.split("#", 1)[0])
        if is_pause and since is None:
            since = moment
        elif not is_pause and since is not None:
            total += Decimal(str((moment - since).total_seconds()))
            since = None
    if since is not None and stopped_at is not None:
        stop = _moment(stopped_at)
        if stop > since:
            total += Decimal(str((stop - since).total_seconds()))
    return total.quantize(_MILLISECOND)


def _consent(old: object, facts: CallFacts) -> dict[str, Any] | None:
    current = old if isinstance(old, Mapping) else {}
    played = _least(_text(current.get("playedAt")), facts.consent_at)
    legs = _strings(current.get("legs")) | facts.consent_legs
    if played is None and not legs:
        return None
    return {"playedAt": played, "legs": sorted(legs, key=lambda leg: (_LEG_ORDER.get(leg, 9), leg))}


def _counts(fact: Any) -> bool:
    """Whether a fact moves the recording's state: a failure only when final (a failed pause,
    resume or stop leaves the recording running; ``detail.final`` absent counts as final)."""
    if fact.kind != "recording-failed":
        return True
    return (fact.detail or {}).get("final") is not False


def _changes(old: Mapping[str, Any], target: Mapping[str, Any]) -> dict[str, Any]:
    return {
        name: value
        for name, value in target.items()
        if value is not None and old.get(name) != value
    }


def _as_read(old: Mapping[str, Any], names: Iterable[str]) -> dict[str, Any]:
    return {name: old.get(name, ABSENT) for name in names}


def _least(*values: str | None) -> str | None:
    present = [value for value in values if value is not None]
    return min(present) if present else None


def _rank(leg: str | None, role: str) -> tuple[int, str, int]:
    return (_LEG_ORDER.get(leg or "", 9), leg or "", _ROLE_ORDER.get(role, 9))


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _strings(value: object) -> frozenset[str]:
    if isinstance(value, set | frozenset | list | tuple):
        return frozenset(v for v in value if isinstance(v, str))
    return frozenset()


def _track(value: object) -> str | None:
    return value.upper() if isinstance(value, str) and value.upper() in _TRACKS else None


def _destination(value: object) -> str | None:
    return value if isinstance(value, str) and 0 < len(value) <= _MAX_DESTINATION else None


def _moment(text: str) -> datetime:
    return datetime.fromisoformat(text)
