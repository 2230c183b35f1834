"""The facts message (recording handler -> SQS, version 1), read and checked before any write.

The body comes from our own handler, but a queue accepts anything its senders' roles allow, so it
is read as untrusted: every size is bounded, every id must be a UUID (lower-cased, as the SMA sends
them and the recording keys carry them), every timestamp is read as ISO 8601 with a zone and
rewritten in the catalog's one fixed-width form (:func:`~recording_processor._keys.iso_utc`), and
phone numbers must be E.164 to be kept. A message that breaks a rule is :class:`MalformedFacts`:
logged, counted and dropped, never retried (it would be just as malformed next time). A number
that is not E.164 (withheld, a SIP URI) is a fact of life, not a defect: the field is left out and
named in :attr:`FactsMessage.unusable`. A fact of a kind this version does not know is skipped and
named in :attr:`FactsMessage.ignored_kinds`, so a newer handler can add kinds without its messages
being rejected by an older consumer.

Nothing here logs; errors name the field and the rule, never a phone number.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Final

from recording_processor._keys import iso_utc

__all__ = [
    "FACTS_VERSION",
    "KNOWN_KINDS",
    "MAX_BODY_CHARS",
    "MAX_FACTS",
    "MAX_PARTICIPANTS",
    "RECORDING_KINDS",
    "Fact",
    "FactsMessage",
    "MalformedFacts",
    "Participant",
    "is_e164",
    "parse_facts_message",
]

FACTS_VERSION: Final = 1
#: A real message is 1-3 KB; SQS allows 256 KiB, which no honest message comes near.
MAX_BODY_CHARS: Final = 64 * 1024
#: An SMA call has LEG-A and at most LEG-B; a few more leave room without inviting abuse.
MAX_PARTICIPANTS: Final = 8
#: The ``FACT#`` sort key gives a fact's position two digits.
MAX_FACTS: Final = 99
#: The ``FACT#`` sort key gives the sequence six digits.
MAX_SEQUENCE: Final = 999_999
MAX_DETAIL_CHARS: Final = 2048
MAX_DETAIL_DEPTH: Final = 4
MAX_TEXT: Final = 256

KNOWN_KINDS: Final = frozenset(
    {
        "call-started",
        "leg-joined",
        "consent-played",
        "recording-requested",
        "recording-started",
        "recording-failed",
        "recording-paused",
        "recording-resumed",
        "recording-stopped",
        "call-ended",
    }
)
#: Kinds about one recorded leg: they need a ``callId`` and write its ``REC#`` item.
RECORDING_KINDS: Final = frozenset(k for k in KNOWN_KINDS if k.startswith("recording-"))

_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_ID = re.compile(r"[0-9a-z][0-9a-z\-]{0,63}")
_TAG = re.compile(r"[A-Za-z0-9][A-Za-z0-9\-]{0,31}")
_KIND = re.compile(r"[a-z][a-z\-]{0,39}")
_E164 = re.compile(r"\+[1-9][0-9]{1,14}")
_EVENT_TYPE = re.compile(r"[A-Z][A-Z_]{0,63}")
_DIRECTIONS = {"inbound": "inbound", "outbound": "outbound"}
# DynamoDB numbers: 38 significant digits, magnitude 1E-130 to 9.99E+125.
_MAX_DIGITS = 38
_EXPONENT_RANGE = (-130, 125)
_MAX_KEY = 64


class MalformedFacts(ValueError):  # noqa: N818 - a verdict, like Unprocessable
    """The body is not a facts message this consumer can keep; ``reason`` is a short code."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class Participant:
    """One call leg as the SMA described it; numbers are E.164 or None."""

    call_id: str
    tag: str | None
    from_number: str | None
    to_number: str | None
    direction: str | None
    started_at: str | None


@dataclass(frozen=True)
class Fact:
    """One fact; ``index`` is its position in the message (part of its ``FACT#`` sort key)."""

    index: int
    kind: str
    call_id: str | None
    leg: str | None
    detail: dict[str, Any] | None


@dataclass(frozen=True)
class FactsMessage:
    """A valid facts message.

    :param ignored_kinds: kinds of facts that were skipped (unknown to this version).
    :param unusable: fields whose value was dropped for not being E.164 (e.g.
        ``participants[0].from``), for a warning.
    """

    transaction_id: str
    sma_id: str | None
    sequence: int
    event_type: str | None
    at: str
    participants: tuple[Participant, ...]
    facts: tuple[Fact, ...]
    ignored_kinds: tuple[str, ...] = ()
    unusable: tuple[str, ...] = ()

    def participant(self, call_id: str) -> Participant | None:
        return next((p for p in self.participants if p.call_id == call_id), None)


def is_e164(value: object) -> bool:
    """Whether ``value`` is an E.164 number: ``+``, a non-zero digit, at most 15 digits."""
    return isinstance(value, str) and _E164.fullmatch(value) is not None


def parse_facts_message(body: object) -> FactsMessage:
    """Read one SQS body.

    :raises MalformedFacts: the body breaks a rule (the message names which).
    """
    if not isinstance(body, str):
        raise MalformedFacts("malformed-body", "the SQS record has no text body")
    if len(body) > MAX_BODY_CHARS:
        raise MalformedFacts(
            "too-large", f"the body has {len(body)} characters; allowed: {MAX_BODY_CHARS}"
        )
    try:
        raw = json.loads(body, parse_float=Decimal, parse_constant=_no_constant)
    except ValueError as error:
        raise MalformedFacts("malformed-body", f"the body is not JSON: {error}") from None
    if not isinstance(raw, dict):
        raise MalformedFacts("malformed-body", "the body is not a JSON object")
    version = raw.get("v")
    if type(version) is not int or version != FACTS_VERSION:
        raise MalformedFacts(
            "unsupported-version", f"v is {_shown(version)}; allowed: {FACTS_VERSION}"
        )
    sequence = raw.get("sequence")
    if type(sequence) is not int or not 0 <= sequence <= MAX_SEQUENCE:
        raise MalformedFacts(
            "malformed-field",
            f"sequence is {_shown(sequence)}; allowed: a whole number from 0 to {MAX_SEQUENCE}",
        )
    unusable: list[str] = []
    participants = _list(raw.get("participants"), "participants", MAX_PARTICIPANTS)
    facts = _list(raw.get("facts"), "facts", MAX_FACTS)
    parsed_facts = [_fact(f, i) for i, f in enumerate(facts)]
    return FactsMessage(
        transaction_id=_uuid(raw.get("transactionId"), "transactionId"),
        sma_id=_optional(raw.get("smaId"), "smaId", _ID, lower=True),
        sequence=sequence,
        event_type=_optional(raw.get("eventType"), "eventType", _EVENT_TYPE),
        at=_instant(raw.get("at"), "at"),
        participants=tuple(_participant(p, i, unusable) for i, p in enumerate(participants)),
        facts=tuple(f for f in parsed_facts if f.kind in KNOWN_KINDS),
        ignored_kinds=tuple(f.kind for f in parsed_facts if f.kind not in KNOWN_KINDS),
        unusable=tuple(unusable),
    )


def _participant(raw: object, index: int, unusable: list[str]) -> Participant:
    where = f"participants[{index}]"
    if not isinstance(raw, dict):
        raise MalformedFacts("malformed-field", f"{where} is not an object")
    direction = _optional(raw.get("direction"), f"{where}.direction", _TAG)
    started = raw.get("startedAt")
    return Participant(
        call_id=_uuid(raw.get("callId"), f"{where}.callId"),
        tag=_optional(raw.get("tag"), f"{where}.tag", _TAG, upper=True),
        from_number=_number(raw.get("from"), f"{where}.from", unusable),
        to_number=_number(raw.get("to"), f"{where}.to", unusable),
        direction=_DIRECTIONS.get(direction.lower()) if direction else None,
        started_at=None if started is None else _instant(started, f"{where}.startedAt"),
    )


def _fact(raw: object, index: int) -> Fact:
    where = f"facts[{index}]"
    if not isinstance(raw, dict):
        raise MalformedFacts("malformed-field", f"{where} is not an object")
    kind = raw.get("kind")
    if not isinstance(kind, str) or _KIND.fullmatch(kind) is None:
        raise MalformedFacts(
            "malformed-field", f"{where}.kind is not a lower-case kebab-case word of 1-40 letters"
        )
    call_id = raw.get("callId")
    detail = raw.get("detail")
    if detail is not None:
        if not isinstance(detail, dict):
            raise MalformedFacts("malformed-field", f"{where}.detail is not an object")
        _check_detail(detail, f"{where}.detail", 1)
        size = len(json.dumps(detail, default=str))
        if size > MAX_DETAIL_CHARS:
            raise MalformedFacts(
                "too-large",
                f"{where}.detail has {size} characters as JSON; allowed: {MAX_DETAIL_CHARS}",
            )
    fact = Fact(
        index=index,
        kind=kind,
        call_id=None if call_id is None else _uuid(call_id, f"{where}.callId"),
        leg=_optional(raw.get("leg"), f"{where}.leg", _TAG, upper=True),
        detail=detail or None,
    )
    if fact.kind in RECORDING_KINDS and fact.call_id is None:
        raise MalformedFacts("malformed-field", f"{where} is a {kind} fact without a callId")
    return fact


def _check_detail(value: object, where: str, depth: int) -> None:
    """Detail is stored as a DynamoDB map: JSON values only, bounded, and numbers it can hold."""
    if depth > MAX_DETAIL_DEPTH:
        raise MalformedFacts("too-large", f"{where} nests deeper than {MAX_DETAIL_DEPTH} levels")
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str) or not 0 < len(key) <= _MAX_KEY:
                raise MalformedFacts(
                    "malformed-field", f"{where} has a key that is empty or over {_MAX_KEY} chars"
                )
            _check_detail(item, f"{where}.{key}", depth + 1)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _check_detail(item, f"{where}[{i}]", depth + 1)
    elif isinstance(value, int | Decimal) and not isinstance(value, bool):
        number = Decimal(value)
        exponent = number.adjusted() if number else 0
        if (
            len(number.as_tuple().digits) > _MAX_DIGITS
            or not _EXPONENT_RANGE[0] <= exponent <= _EXPONENT_RANGE[1]
        ):
            raise MalformedFacts("malformed-field", f"{where} is a number DynamoDB cannot hold")


def _list(value: object, where: str, limit: int) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise MalformedFacts("malformed-field", f"{where} is not a list")
    if len(value) > limit:
        raise MalformedFacts("too-large", f"{where} has {len(value)} entries; allowed: {limit}")
    return value


def _uuid(value: object, where: str) -> str:
    if isinstance(value, str) and _UUID.fullmatch(value.lower()):
        return value.lower()
    raise MalformedFacts("malformed-field", f"{where} is {_shown(value)}; allowed: a UUID")


def _optional(
    value: object, where: str, pattern: re.Pattern[str], *, lower: bool = False, upper: bool = False
) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        text = value.lower() if lower else value.upper() if upper else value
        if pattern.fullmatch(text):
            return text
    raise MalformedFacts(
        "malformed-field", f"{where} is {_shown(value)}; allowed: {pattern.pattern}"
    )


def _number(value: object, where: str, unusable: list[str]) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str) or len(value) > MAX_TEXT:
        raise MalformedFacts("malformed-field", f"{where} is not a string of at most {MAX_TEXT}")
    if is_e164(value):
        return value
    unusable.append(where)
    return None


def _instant(value: object, where: str) -> str:
    if isinstance(value, str) and len(value) <= 40:
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            moment = None
        if moment is not None and moment.tzinfo is not None:
            return iso_utc(moment)
    raise MalformedFacts(
        "malformed-field",
        f"{where} is {_shown(value)}; allowed: an ISO 8601 time with a zone (...Z)",
    )


def _shown(value: object) -> str:
    """A bounded rendering of a rejected value; numbers of digits are masked by the logger."""
    text = json.dumps(value, default=str) if not isinstance(value, Mapping) else "an object"
    return text if len(text) <= 60 else text[:57] + "..."


def _no_constant(name: str) -> object:
    raise ValueError(f"{name} is not a JSON number")
