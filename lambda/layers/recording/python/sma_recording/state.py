"""Per-call recording state, kept in the call's ``TransactionAttributes``.

The service keeps at most 10 transaction attributes per call (the documented 100 is contradicted by
the service's own error example), replaces the stored map with each response's map, and a handler
wrapped with :func:`sma_recording.with_recording` shares the map with its own keys. So the whole
state is one attribute, :data:`STATE_KEY` (``"smaRec"``), whose value is compact JSON::

    {"v": 1,              # format version
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
     "r": {...}}          # wrapper only: the handler's action queued after ours (re-sent if ours fail)

A value that cannot be read is replaced by a fresh state (and the handler logs a warning).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

__all__ = [
    "COMMAND_ACTIONS",
    "MAX_ATTRIBUTES",
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
_VERSION = 1


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
        return json.dumps(document, separators=(",", ":"), sort_keys=True)

    @classmethod
    def decode(cls, value: object) -> tuple[CallState, str | None]:
        """The state stored in ``value``, and a warning when it had to be (partly) discarded.

        ``None`` (no attribute yet) is a fresh state without a warning.
        """
        if value is None:
            return cls(), None
        if not isinstance(value, str):
            return cls(), f"{STATE_KEY} is not a string; starting from a fresh state"
        try:
            document = json.loads(value)
        except ValueError:
            return cls(), f"{STATE_KEY} is not JSON; starting from a fresh state"
        if not isinstance(document, dict) or document.get("v") != _VERSION:
            return cls(), f"{STATE_KEY} has an unknown format; starting from a fresh state"
        problems: list[str] = []

        def enum_value(key: str, kind: type[Flow] | type[LegStatus], default: Any) -> Any:
            raw = document.get(key, default.value)
            try:
                return kind(raw)
            except ValueError:
                problems.append(f"{key}={raw!r}")
                return default

        def flag(key: str) -> bool:
            raw = document.get(key, 0)
            if raw not in (0, 1) or isinstance(raw, float):
                problems.append(f"{key}={raw!r}")
                return False
            return bool(raw)

        last_sent = document.get("s", "")
        if not isinstance(last_sent, str):
            problems.append("s")
            last_sent = ""
        resend = document.get("r")
        if resend is not None and not (
            isinstance(resend, dict) and isinstance(resend.get("Type"), str)
        ):
            problems.append("r")
            resend = None

        def wanted(key: str) -> LegStatus | None:
            raw = document.get(key)
            if raw is None:
                return None
            if not isinstance(raw, str) or raw not in {s.value for s in WANTED_STATUSES}:
                problems.append(f"{key}={raw!r}")
                return None
            return LegStatus(raw)

        def pending(key: str) -> Pending | None:
            raw = document.get(key)
            if raw is None:
                return None
            decoded = Pending.decode(raw)
            if decoded is None:
                problems.append(f"{key}={raw!r}")
            return decoded

        state = cls(
            flow=enum_value("f", Flow, Flow.NEW),
            leg_a=enum_value("a", LegStatus, LegStatus.IDLE),
            leg_b=enum_value("b", LegStatus, LegStatus.IDLE),
            consent_played=flag("c"),
            dtmf_armed=flag("d"),
            last_sent=last_sent,
            resend=resend,
            wanted_a=wanted("wa"),
            wanted_b=wanted("wb"),
            pending_a=pending("pa"),
            pending_b=pending("pb"),
        )
        warning = None
        if problems:
            warning = f"{STATE_KEY} had unreadable values ({', '.join(problems)}); defaults used"
        return state, warning

    @classmethod
    def from_attributes(cls, attributes: Mapping[str, object]) -> tuple[CallState, str | None]:
        """The state in a ``TransactionAttributes`` map (see :meth:`decode`)."""
        return cls.decode(attributes.get(STATE_KEY))
