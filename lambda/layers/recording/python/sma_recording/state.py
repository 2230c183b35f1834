"""Per-call recording state, kept in the call's ``TransactionAttributes``.

The service keeps at most 10 transaction attributes per call (the documented 100 is contradicted by
the service's own error example), replaces the stored map with each response's map, and a handler
wrapped with :func:`sma_recording.with_recording` shares the map with its own keys. So the whole
state is one attribute, :data:`STATE_KEY` (``"smaRec"``), whose value is compact JSON::

    {"v": 2,              # format version
     "f": "bridged",      # call flow: new | bridging | bridged | single | ended
     "a": "recording",    # LEG-A recording: idle | starting | recording | paused | stopped | failed
     "b": "idle",         # LEG-B recording, same values
     "c": 1,              # 1 once the consent announcement has been sent
     "d": 0,              # 1 while a ReceiveDigits for the DTMF codes is armed
     "s": "7:StartCallRecording",   # sequence and action types of the last response sent
     "wa": "paused",      # optional: the status LEG-A is to reach once no StartCallRecording is in
     "wb": "recording",   #   flight (commands deferred meanwhile; see sma_recording.core); same for B
     "pa": ["PauseCallRecording", "recording", 0],   # optional: the Pause/Resume/Stop sent for LEG-A
     "pb": [...],         #   that has not reported yet, the status before it, and 1 when it was
                          #   inserted before a wrapped handler's action (see Pending); same for B
     "r": {...},          # wrapper only: the handler's action queued after ours (re-sent if ours fail)
     "n": 7,              # Sequence of the event whose answer wrote this state
     "h": "3f9a..."}      # checksum: first 16 hex digits of SHA-256 over the rest, canonical JSON

What the handler trusts: a state it wrote (version 2 with a matching checksum, every value of the
right type and size, and the values consistent with each other: e.g. no leg recording before the
call is answered, a pending pause only on a paused leg) and the event's participants. Anything else
(no checksum, another version, a hand-edited value, a value written by an older release) is
*rejected*: :meth:`CallState.decode` returns a state with :attr:`CallState.rejected` set, and the
core then sends no recording action for the rest of the call (a recording already running goes on
until its leg ends) while the call flow goes on. The checksum detects corruption and edits; it is not
a signature (anyone who can run code in the handler can write the map, and could as well call the
service's API).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from sma_recording._bounds import MAX_DEPTH, bounded_int, json_depth

__all__ = [
    "COMMAND_ACTIONS",
    "MAX_ATTRIBUTES",
    "MAX_STATE_CHARS",
    "STATE_KEY",
    "WANTED_STATUSES",
    "CallState",
    "Flow",
    "LegStatus",
    "Pending",
]

#: The one transaction attribute this package uses.
STATE_KEY = "smaRec"
#: Most transaction attributes the service accepts in one response (observed limit).
MAX_ATTRIBUTES = 10
_VERSION = 2
#: Longest state value decoded; a wrapped handler's action kept for a re-send is at most 4,000
#: characters and the rest about 250.
MAX_STATE_CHARS = 6000
_CHECKSUM_HEX = 16
_KEYS = frozenset({"v", "f", "a", "b", "c", "d", "s", "r", "n", "h", "wa", "wb", "pa", "pb"})


class LegStatus(StrEnum):
    """Recording status of one leg.

    ``starting`` means StartCallRecording was sent and its result has not arrived yet (recording
    commands are then deferred, see :attr:`CallState.wanted_a`). A pause, resume or stop sets
    ``paused``, ``recording`` or ``stopped`` when it is sent (:class:`Pending` keeps the status
    before it, put back if that action fails). ``stopped`` and ``failed`` are final: a leg is
    recorded at most once. ``failed`` means the leg is not recorded: its StartCallRecording, or the
    consent announcement before it, failed (a failed pause, resume or stop leaves the recording as
    it was).
    """

    IDLE = "idle"
    STARTING = "starting"
    RECORDING = "recording"
    PAUSED = "paused"
    STOPPED = "stopped"
    FAILED = "failed"

    @property
    def active(self) -> bool:
        """Whether a recording is (or is about to be) running on the leg, paused or not."""
        return self in (LegStatus.STARTING, LegStatus.RECORDING, LegStatus.PAUSED)


class Flow(StrEnum):
    """Where the call is.

    ``new``: nothing answered yet. ``bridging``: CallAndBridge sent, LEG-B not connected yet.
    ``bridged``: two legs connected. ``single``: one connected leg (inbound without bridge, or an
    answered outbound call). ``ended``: hung up, or about to be.
    """

    NEW = "new"
    BRIDGING = "bridging"
    BRIDGED = "bridged"
    SINGLE = "single"
    ENDED = "ended"

    @property
    def connected(self) -> bool:
        """Whether recording commands can apply (the call is answered and not ended)."""
        return self in (Flow.BRIDGED, Flow.SINGLE)


#: The statuses a deferred recording command can ask a leg to reach.
WANTED_STATUSES = (LegStatus.RECORDING, LegStatus.PAUSED, LegStatus.STOPPED)
#: The recording actions that change a started leg (everything but StartCallRecording).
COMMAND_ACTIONS = ("PauseCallRecording", "ResumeCallRecording", "StopCallRecording")
_PRIOR_STATUSES = (LegStatus.RECORDING, LegStatus.PAUSED)


@dataclass(frozen=True)
class Pending:
    """A pause, resume or stop (one of :data:`COMMAND_ACTIONS`) sent for a leg, not reported yet.

    The leg's status already shows the action's effect. If the action fails, or is dropped because
    an action before it in its list failed, the recording is as it was: ``prior`` (``recording`` or
    ``paused``) is put back.

    :param action: one of :data:`COMMAND_ACTIONS`.
    :param prior: the leg's status before the action was sent.
    :param in_list: the action was inserted before a wrapped handler's action, so no
        ``ACTION_SUCCESSFUL`` names it: the result of that list reports on it.
    """

    action: str
    prior: LegStatus
    in_list: bool = False

    def encode(self) -> list[Any]:
        """The JSON value stored for it."""
        return [self.action, self.prior.value, int(self.in_list)]

    @classmethod
    def decode(cls, raw: object) -> Pending | None:
        """The value :meth:`encode` wrote, or None when ``raw`` is not one."""
        if not (isinstance(raw, list) and len(raw) == 3):
            return None
        action, prior, in_list = raw
        if action not in COMMAND_ACTIONS or prior not in {s.value for s in _PRIOR_STATUSES}:
            return None
        if in_list not in (0, 1) or isinstance(in_list, (bool, float)):
            return None
        return cls(action, LegStatus(prior), bool(in_list))


@dataclass(frozen=True)
class CallState:
    """Everything the handler remembers about one call between invocations.

    ``wanted_a``/``wanted_b``: the status recording commands asked a leg to reach while a
    StartCallRecording was in flight (one of :data:`WANTED_STATUSES`), applied once it reports (one
    recording action per list: what another leg still needs goes out when the previous one
    reports); None when nothing is deferred for the leg.

    ``pending_a``/``pending_b``: the :class:`Pending` pause, resume or stop of a leg, or None.
    """

    flow: Flow = Flow.NEW
    leg_a: LegStatus = LegStatus.IDLE
    leg_b: LegStatus = LegStatus.IDLE
    consent_played: bool = False
    dtmf_armed: bool = False
    last_sent: str = ""
    resend: Mapping[str, Any] | None = None
    wanted_a: LegStatus | None = None
    wanted_b: LegStatus | None = None
    pending_a: Pending | None = None
    pending_b: Pending | None = None
    #: ``Sequence`` of the event whose answer wrote this state (None before the first answer).
    seen: int | None = None
    #: Why the stored value was not trusted (see the module docstring); never stored.
    rejected: str | None = field(default=None, compare=False)

    def leg(self, tag: str) -> LegStatus:
        """Status of ``LEG-A`` or ``LEG-B`` (any other tag reads as LEG-A)."""
        return self.leg_b if tag == "LEG-B" else self.leg_a

    def with_leg(self, tag: str, status: LegStatus) -> CallState:
        """A copy with one leg's status changed."""
        if tag == "LEG-B":
            return replace(self, leg_b=status)
        return replace(self, leg_a=status)

    def wanted(self, tag: str) -> LegStatus | None:
        """The status deferred commands ask ``LEG-A`` or ``LEG-B`` to reach, or None."""
        return self.wanted_b if tag == "LEG-B" else self.wanted_a

    def with_wanted(self, tag: str, status: LegStatus | None) -> CallState:
        """A copy with one leg's deferred status changed."""
        if tag == "LEG-B":
            return replace(self, wanted_b=status)
        return replace(self, wanted_a=status)

    def pending(self, tag: str) -> Pending | None:
        """The pause, resume or stop of ``LEG-A`` or ``LEG-B`` that has not reported yet, or None."""
        return self.pending_b if tag == "LEG-B" else self.pending_a

    def with_pending(self, tag: str, pending: Pending | None) -> CallState:
        """A copy with one leg's pending action changed."""
        if tag == "LEG-B":
            return replace(self, pending_b=pending)
        return replace(self, pending_a=pending)

    def encode(self) -> str:
        """The value stored under :data:`STATE_KEY`."""
        document: dict[str, Any] = {
            "v": _VERSION,
            "f": self.flow.value,
            "a": self.leg_a.value,
            "b": self.leg_b.value,
            "c": int(self.consent_played),
            "d": int(self.dtmf_armed),
            "s": self.last_sent,
        }
        if self.resend is not None:
            document["r"] = self.resend
        if self.wanted_a is not None:
            document["wa"] = self.wanted_a.value
        if self.wanted_b is not None:
            document["wb"] = self.wanted_b.value
        if self.pending_a is not None:
            document["pa"] = self.pending_a.encode()
        if self.pending_b is not None:
            document["pb"] = self.pending_b.encode()
        if self.seen is not None:
            document["n"] = self.seen
        return seal(document)

    @classmethod
    def decode(cls, value: object) -> tuple[CallState, str | None]:
        """The state stored in ``value``, and a warning when it was rejected.

        ``None`` (no attribute yet) is a fresh state without a warning. A value the handler did not
        write as it is (see the module docstring) gives a fresh state whose :attr:`rejected` says why,
        and the same reason as the warning.
        """
        if value is None:
            return cls(), None
        reason = _reject_reason(value)
        if isinstance(reason, CallState):
            return reason, None
        return cls(rejected=reason), f"{STATE_KEY} rejected: {reason}"

    @classmethod
    def from_attributes(cls, attributes: Mapping[str, object]) -> tuple[CallState, str | None]:
        """The state in a ``TransactionAttributes`` map (see :meth:`decode`)."""
        return cls.decode(attributes.get(STATE_KEY))


def seal(document: Mapping[str, Any]) -> str:
    """The stored value of a state document: canonical JSON with its checksum ``h``."""
    body = {k: v for k, v in document.items() if k != "h"}
    return _canonical({**body, "h": _checksum(body)})


def _canonical(document: Mapping[str, Any]) -> str:
    return json.dumps(document, separators=(",", ":"), sort_keys=True)


def _checksum(document: Mapping[str, Any]) -> str:
    """The checksum of a state document, over everything but ``h``."""
    body = {k: v for k, v in document.items() if k != "h"}
    return hashlib.sha256(_canonical(body).encode()).hexdigest()[:_CHECKSUM_HEX]


def _reject_reason(value: object) -> CallState | str:
    """The decoded state, or why ``value`` is not one the handler wrote."""
    if not isinstance(value, str):
        return "not a string"
    if len(value) > MAX_STATE_CHARS:
        return f"longer than {MAX_STATE_CHARS} characters"
    if json_depth(value) > MAX_DEPTH:
        return f"nested deeper than {MAX_DEPTH} levels"
    try:
        document = json.loads(value)
    except (ValueError, RecursionError):
        return "not JSON"
    if not isinstance(document, dict):
        return "not a JSON object"
    if document.get("v") != _VERSION:
        return "an unknown format version"
    if not set(document) <= _KEYS:
        return "unknown keys"
    if document.get("h") != _checksum(document):
        return "checksum mismatch (not written as it is by this handler)"
    try:
        state = _read(document)
    except (KeyError, TypeError, ValueError) as error:
        return f"unreadable value ({error})"
    problem = _inconsistency(state)
    return state if problem is None else f"inconsistent values ({problem})"


def _read(document: Mapping[str, Any]) -> CallState:
    """The state of a checked document; raises ValueError or TypeError on a wrong value."""

    def flag(key: str) -> bool:
        raw = document.get(key, 0)
        if raw not in (0, 1) or isinstance(raw, (bool, float)):
            raise ValueError(key)
        return bool(raw)

    def wanted(key: str) -> LegStatus | None:
        raw = document.get(key)
        if raw is None:
            return None
        if not isinstance(raw, str) or raw not in {s.value for s in WANTED_STATUSES}:
            raise ValueError(key)
        return LegStatus(raw)

    def pending(key: str) -> Pending | None:
        raw = document.get(key)
        if raw is None:
            return None
        decoded = Pending.decode(raw)
        if decoded is None:
            raise ValueError(key)
        return decoded

    last_sent = document.get("s", "")
    if not isinstance(last_sent, str) or len(last_sent) > 200:
        raise ValueError("s")
    resend = document.get("r")
    if resend is not None and not (
        isinstance(resend, dict) and isinstance(resend.get("Type"), str)
    ):
        raise ValueError("r")
    seen_raw = document.get("n")
    seen = bounded_int(seen_raw) if isinstance(seen_raw, int) else None
    if seen_raw is not None and seen is None:
        raise ValueError("n")
    return CallState(
        flow=Flow(document.get("f", Flow.NEW.value)),
        leg_a=LegStatus(document.get("a", LegStatus.IDLE.value)),
        leg_b=LegStatus(document.get("b", LegStatus.IDLE.value)),
        consent_played=flag("c"),
        dtmf_armed=flag("d"),
        last_sent=last_sent,
        resend=resend,
        wanted_a=wanted("wa"),
        wanted_b=wanted("wb"),
        pending_a=pending("pa"),
        pending_b=pending("pb"),
        seen=seen,
    )


#: The status a leg has while its pause, resume or stop is pending (set when the action is sent).
_PENDING_STATUS = {
    "PauseCallRecording": LegStatus.PAUSED,
    "ResumeCallRecording": LegStatus.RECORDING,
    "StopCallRecording": LegStatus.STOPPED,
}


def _inconsistency(state: CallState) -> str | None:
    """What in a well-typed state the handler never writes, or None."""
    legs = (("LEG-A", state.leg_a), ("LEG-B", state.leg_b))
    if state.flow in (Flow.NEW, Flow.BRIDGING):
        for tag, status in legs:
            if status not in (LegStatus.IDLE, LegStatus.FAILED):
                return f"{tag} is {status.value} before the call is connected"
    for tag, status in legs:
        if status == LegStatus.STARTING and not state.flow.connected:
            return f"{tag} is starting while the call is {state.flow.value}"
        wanted = state.wanted(tag)
        if wanted is not None and (
            not state.flow.connected or status in (LegStatus.STOPPED, LegStatus.FAILED)
        ):
            return f"{tag} has a deferred {wanted.value} while {status.value}"
        pending = state.pending(tag)
        if pending is not None and status != _PENDING_STATUS[pending.action]:
            return f"{tag} has a pending {pending.action} while {status.value}"
    return None
