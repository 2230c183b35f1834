"""Scenarios: what the outside world does during a simulated call, as timed steps.

A scenario is a JSON document (``version`` 1)::

    {
      "version": 1,
      "name": "default",                        # optional, shown in the report
      "description": "...",                     # optional
      "startTime": "2026-11-24T09:30:00.000Z",  # optional, UTC; default 2026-11-24T09:30:00Z
      "seed": 7,                                # optional; the ids (transaction, calls) derive from it
      "steps": [
        {"at": 0,   "inboundCall": {"from": "+14255550199", "to": "+12065550100"}},
        {"at": 0,   "bridge": {"outcome": "answer", "afterSeconds": 4}},
        {"at": 40,  "update": {"arguments": {"recording": "pause"}}},
        {"at": 41,  "digits": {"leg": "LEG-B", "keys": "*1", "intervalMs": 250}},
        {"at": 55,  "fail": {"action": "StartCallRecording", "errorType": "NoAccessToDestination",
                             "errorMessage": "Error while accessing destination", "count": 1,
                             "form": "errorString"}},
        {"at": 100, "hangup": {"leg": "LEG-A", "sipResponseCode": 0}}
      ]
    }

``at`` is in seconds from the start of the scenario (decimals allowed, never earlier than the previous
step). Each step has exactly one of these keys:

* ``inboundCall`` ``{from, to}`` (E.164): a call arrives (``NEW_INBOUND_CALL``). Or ``outboundCall``
  ``{from, to}``: ``CreateSipMediaApplicationCall`` dials out (``NEW_OUTBOUND_CALL``, ``RINGING``).
  Exactly one of the two, and it is the first step.
* ``answer`` ``{leg?}``: the ringing leg answers: the callee of an outbound call (``CALL_ANSWERED``)
  or the LEG-B a running CallAndBridge is ringing. ``leg`` defaults to whichever is ringing.
* ``bridge`` ``{outcome, afterSeconds?, errorType?, errorMessage?}``: how the CallAndBridge actions
  started from now on end: ``answer`` (default, after 3 s), ``busy`` (after 2 s) or ``noAnswer``
  (rings until ``CallTimeoutSeconds``). Failures are reported as ``ACTION_FAILED`` with ``errorType``
  (default ``CallNotAnswered``, the type the developer guide shows) and ``errorMessage``.
* ``update`` ``{arguments}``: ``UpdateSipMediaApplicationCall`` with ``Arguments`` (a map of 0-20
  strings), raising ``CALL_UPDATE_REQUESTED``; see :mod:`sma_recording.protocol` for the recording
  commands (``{"recording": "pause"}``).
* ``digits`` ``{keys, leg?, intervalMs?}``: a party keys DTMF digits (``0-9 * #``), one key every
  ``intervalMs`` (default 250). Default leg: LEG-A.
* ``hangup`` ``{leg?, sipResponseCode?}``: a party hangs up (default LEG-A, code 0).
* ``fail`` ``{action, errorType, errorMessage?, count?, leg?, form?}``: the next ``count`` (default 1)
  actions of type ``action`` (on ``leg``, if given) fail with ``errorType``. ``form`` is where the
  error goes in the event: ``fields`` (``ActionData.ErrorType``/``ErrorMessage``, the default),
  ``errorString`` (one ``ActionData.Error`` string, as in the StartCallRecording example) or
  ``topLevel`` (``ErrorType``/``ErrorMessage`` beside ``ActionData``).

Use :func:`load_scenario` for a file and :func:`parse_scenario` for a document; both raise
:class:`ScenarioError` listing every problem, each naming its field (``steps[3].hangup.leg``).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from importlib import resources
from pathlib import Path
from typing import Any

from cdk_recording.testing._validate import KNOWN_ACTIONS

__all__ = [
    "BUILTIN_SCENARIOS",
    "DEFAULT_START_TIME_MS",
    "SCENARIO_VERSION",
    "Answer",
    "BridgeBehaviour",
    "BridgeOutcome",
    "Digits",
    "ErrorForm",
    "Hangup",
    "InboundCall",
    "InjectFailure",
    "OutboundCall",
    "Scenario",
    "ScenarioError",
    "Step",
    "StepAction",
    "UpdateRequest",
    "builtin_scenario",
    "load_scenario",
    "parse_scenario",
]

SCENARIO_VERSION = 1
#: 2026-11-24T09:30:00Z: a fixed start, so reports and object keys are reproducible.
DEFAULT_START_TIME_MS = 1_795_512_600_000
#: Names of the scenarios shipped in ``cdk_recording/testing/scenarios/``.
BUILTIN_SCENARIOS = ("default", "busy-callee", "no-access-to-destination", "dtmf-pause")

_E164 = re.compile(r"^\+[1-9][0-9]{1,14}$")
#: What PSTN carriers put in ``From`` when a caller withholds their number (inbound calls only).
_CALLER = re.compile(
    r"^(\+[1-9][0-9]{1,14}|\+?(?i:anonymous|restricted|private|unavailable|unknown|withheld))$"
)
_KEYS = re.compile(r"^[0-9*#]{1,32}$")
_TAGS = ("LEG-A", "LEG-B")
_MAX_ARGUMENTS = 20  # UpdateSipMediaApplicationCall: 0-20 entries (§5)
_MAX_AT_SECONDS = 24 * 3600


class ScenarioError(ValueError):
    """An invalid scenario; :attr:`problems` lists every problem, each naming its field."""

    def __init__(self, problems: Sequence[str], source: str | None = None) -> None:
        self.problems: tuple[str, ...] = tuple(problems)
        self.source = source
        where = f" {source}" if source else ""
        super().__init__(f"invalid scenario{where}: " + "; ".join(self.problems))


class BridgeOutcome(StrEnum):
    """How a CallAndBridge ends."""

    ANSWER = "answer"
    BUSY = "busy"
    NO_ANSWER = "noAnswer"


class ErrorForm(StrEnum):
    """Where an event carries an error: the reference documents all three (§1, §3.3, §11.2)."""

    #: ``ActionData.ErrorType`` and ``ActionData.ErrorMessage`` (pstn-invocations).
    FIELDS = "fields"
    #: One ``ActionData.Error`` string ``"<Type>: <message>"`` (the StartCallRecording example).
    ERROR_STRING = "errorString"
    #: ``ErrorType`` and ``ErrorMessage`` at the top level of the event (attribute-trans-invalid).
    TOP_LEVEL = "topLevel"


@dataclass(frozen=True)
class InboundCall:
    """A call arrives on a number routed to the SIP media application."""

    from_number: str
    to_number: str


@dataclass(frozen=True)
class OutboundCall:
    """``CreateSipMediaApplicationCall`` dials ``to_number`` from ``from_number``."""

    from_number: str
    to_number: str


@dataclass(frozen=True)
class Answer:
    """The ringing leg answers. Default: whichever leg is ringing."""

    leg: str | None = None


@dataclass(frozen=True)
class BridgeBehaviour:
    """How the CallAndBridge actions started from now on end.

    :param outcome: answer, busy or noAnswer. Default: answer.
    :param after_seconds: ring time before the outcome. Default: 3 s to answer, 2 s to be busy;
        noAnswer rings until ``CallTimeoutSeconds``.
    :param error_type: ``ErrorType`` of the failure. Default: ``CallNotAnswered``.
    :param error_message: ``ErrorMessage`` of the failure. Default: per outcome.
    """

    outcome: BridgeOutcome = BridgeOutcome.ANSWER
    after_seconds: float | None = None
    error_type: str | None = None
    error_message: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "outcome", BridgeOutcome(self.outcome))

    @property
    def ring_ms(self) -> int | None:
        """Milliseconds of ringing before the outcome (None: until the call times out)."""
        if self.after_seconds is not None:
            return round(self.after_seconds * 1000)
        return {BridgeOutcome.ANSWER: 3000, BridgeOutcome.BUSY: 2000}.get(self.outcome)


@dataclass(frozen=True)
class UpdateRequest:
    """``UpdateSipMediaApplicationCall`` with ``Arguments``."""

    arguments: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Digits:
    """A party keys DTMF digits, one every ``interval_ms``."""

    keys: str
    leg: str = "LEG-A"
    interval_ms: int = 250


@dataclass(frozen=True)
class Hangup:
    """A party hangs up."""

    leg: str = "LEG-A"
    sip_response_code: int = 0


@dataclass(frozen=True)
class InjectFailure:
    """The next ``count`` actions of type ``action`` (on ``leg`` if given) fail with ``error_type``."""

    action: str
    error_type: str
    error_message: str = "Injected failure"
    count: int = 1
    leg: str | None = None
    form: ErrorForm | None = None

    def __post_init__(self) -> None:
        if self.form is not None:
            object.__setattr__(self, "form", ErrorForm(self.form))


#: What a step does.
StepAction = (
    InboundCall
    | OutboundCall
    | Answer
    | BridgeBehaviour
    | UpdateRequest
    | Digits
    | Hangup
    | InjectFailure
)


@dataclass(frozen=True)
class Step:
    """One step: ``action`` happens ``at_ms`` milliseconds after the start of the scenario."""

    at_ms: int
    action: StepAction

    @classmethod
    def at(cls, seconds: float, action: StepAction) -> Step:
        """A step ``seconds`` after the start."""
        return cls(round(seconds * 1000), action)


@dataclass(frozen=True)
class Scenario:
    """A simulated call: its steps, in time order, the first one starting the call.

    :param steps: the steps; the first is an :class:`InboundCall` or :class:`OutboundCall`.
    :param name: shown in the report. Default: ``scenario``.
    :param description: shown in the report. Default: none.
    :param start_time_ms: epoch milliseconds of ``at`` 0. Default: 2026-11-24T09:30:00Z.
    :param seed: the transaction and call ids derive from it. Default: 0.
    """

    steps: tuple[Step, ...]
    name: str = "scenario"
    description: str = ""
    start_time_ms: int = DEFAULT_START_TIME_MS
    seed: int = 0

    def __post_init__(self) -> None:
        problems = _check_steps(self.steps)
        if problems:
            raise ScenarioError(problems, self.name)

    @property
    def call(self) -> InboundCall | OutboundCall:
        """The step that starts the call."""
        first = self.steps[0].action
        assert isinstance(first, InboundCall | OutboundCall)
        return first


def _check_steps(steps: Sequence[Step]) -> list[str]:
    problems: list[str] = []
    if not steps:
        return ["steps must list at least the step that starts the call"]
    starts = [i for i, s in enumerate(steps) if isinstance(s.action, InboundCall | OutboundCall)]
    if starts != [0]:
        problems.append(
            "steps[0] must be the only inboundCall or outboundCall step"
            + (f" (found at steps{starts})" if starts else " (none found)")
        )
    for index in range(1, len(steps)):
        if steps[index].at_ms < steps[index - 1].at_ms:
            problems.append(
                f"steps[{index}].at must not be earlier than steps[{index - 1}].at "
                f"({steps[index].at_ms / 1000:g} < {steps[index - 1].at_ms / 1000:g})"
            )
    return problems


# -- JSON parsing ------------------------------------------------------------------------------------

_MISSING = object()


class _Fields:
    """Typed reads from one JSON object, collecting problems (each naming its path)."""

    def __init__(
        self, data: Mapping[str, Any], path: str, allowed: set[str], problems: list[str]
    ) -> None:
        self.data = data
        self.path = path
        self.problems = problems
        for key in sorted(set(data) - allowed, key=str):
            problems.append(
                f"{self.name(str(key))} is not a known field (allowed: {', '.join(sorted(allowed))})"
            )

    def name(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def problem(self, key: str, text: str) -> None:
        self.problems.append(f"{self.name(key)} {text}")

    def string(
        self,
        key: str,
        default: Any = _MISSING,
        *,
        pattern: re.Pattern[str] | None = None,
        what: str = "a non-empty string",
    ) -> Any:
        value = self.data.get(key, _MISSING)
        if value is _MISSING:
            if default is _MISSING:
                self.problem(key, "is required")
                return None
            return default
        if not isinstance(value, str) or not value or (pattern and not pattern.match(value)):
            self.problem(key, f"must be {what}, got {json.dumps(value)[:60]}")
            return None
        return value

    def number(
        self,
        key: str,
        default: Any = _MISSING,
        *,
        low: float = 0.0,
        high: float | None = None,
        integer: bool = False,
    ) -> Any:
        value = self.data.get(key, _MISSING)
        if value is _MISSING:
            if default is _MISSING:
                self.problem(key, "is required")
                return None
            return default
        kind = "an integer" if integer else "a number"
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        if ok and integer and not isinstance(value, int):
            ok = False
        if ok and (not math.isfinite(value) or value < low or (high is not None and value > high)):
            ok = False
        if not ok:
            bounds = f"{low:g}-{high:g}" if high is not None else f">= {low:g}"
            self.problem(key, f"must be {kind} {bounds}, got {json.dumps(value)[:60]}")
            return None
        return value

    def choice(self, key: str, allowed: Sequence[str], default: Any = _MISSING) -> Any:
        value = self.data.get(key, _MISSING)
        if value is _MISSING:
            if default is _MISSING:
                self.problem(key, "is required")
                return None
            return default
        if value not in allowed:
            self.problem(key, f"must be one of {', '.join(allowed)}, got {json.dumps(value)[:60]}")
            return None
        return value

    def section(self, key: str, allowed: set[str]) -> _Fields | None:
        value = self.data.get(key)
        if not isinstance(value, Mapping):
            self.problem(key, f"must be an object, got {json.dumps(value)[:60]}")
            return None
        return _Fields(value, self.name(key), allowed, self.problems)


def _phone_call(fields: _Fields, kind: type[InboundCall] | type[OutboundCall]) -> StepAction | None:
    number = "an E.164 number such as +12065550100"
    if kind is InboundCall:
        withheld = number + " or a withheld caller id such as Restricted or anonymous"
        source = fields.string("from", pattern=_CALLER, what=withheld)
    else:
        source = fields.string("from", pattern=_E164, what=number)
    target = fields.string("to", pattern=_E164, what=number)
    if source is None or target is None:
        return None
    return kind(source, target)


def _answer(fields: _Fields) -> StepAction | None:
    return Answer(fields.choice("leg", _TAGS, None))


def _bridge(fields: _Fields) -> StepAction | None:
    outcome = fields.choice("outcome", tuple(BridgeOutcome), BridgeOutcome.ANSWER.value)
    after = fields.number("afterSeconds", None, high=120)
    error_type = fields.string("errorType", None)
    error_message = fields.string("errorMessage", None)
    if outcome is None:
        return None
    if outcome == BridgeOutcome.ANSWER and (error_type or error_message):
        fields.problem("errorType", "and errorMessage apply only to the busy and noAnswer outcomes")
    return BridgeBehaviour(BridgeOutcome(outcome), after, error_type, error_message)


def _update(fields: _Fields) -> StepAction | None:
    arguments = fields.data.get("arguments", {})
    if not isinstance(arguments, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in arguments.items()
    ):
        fields.problem("arguments", "must be an object of string values")
        return None
    if len(arguments) > _MAX_ARGUMENTS:
        fields.problem("arguments", f"has {len(arguments)} entries; the API accepts at most 20")
        return None
    return UpdateRequest(dict(arguments))


def _digits(fields: _Fields) -> StepAction | None:
    keys = fields.string("keys", pattern=_KEYS, what="1-32 of the keys 0-9 * #")
    leg = fields.choice("leg", _TAGS, "LEG-A")
    interval = fields.number("intervalMs", 250, low=1, high=10_000, integer=True)
    if keys is None or leg is None or interval is None:
        return None
    return Digits(keys, leg, interval)


def _hangup(fields: _Fields) -> StepAction | None:
    leg = fields.choice("leg", _TAGS, "LEG-A")
    code = fields.number("sipResponseCode", 0, high=699, integer=True)
    if leg is None or code is None:
        return None
    return Hangup(leg, code)


def _fail(fields: _Fields) -> StepAction | None:
    action = fields.choice("action", sorted(KNOWN_ACTIONS))
    error_type = fields.string("errorType")
    message = fields.string("errorMessage", "Injected failure")
    count = fields.number("count", 1, low=1, high=1000, integer=True)
    leg = fields.choice("leg", _TAGS, None)
    form = fields.choice("form", tuple(ErrorForm), None)
    if None in (action, error_type, message, count):
        return None
    return InjectFailure(
        action, error_type, message, count, leg, None if form is None else ErrorForm(form)
    )


_STEP_KINDS: dict[str, tuple[set[str], Any]] = {
    "inboundCall": ({"from", "to"}, lambda f: _phone_call(f, InboundCall)),
    "outboundCall": ({"from", "to"}, lambda f: _phone_call(f, OutboundCall)),
    "answer": ({"leg"}, _answer),
    "bridge": ({"outcome", "afterSeconds", "errorType", "errorMessage"}, _bridge),
    "update": ({"arguments"}, _update),
    "digits": ({"keys", "leg", "intervalMs"}, _digits),
    "hangup": ({"leg", "sipResponseCode"}, _hangup),
    "fail": ({"action", "errorType", "errorMessage", "count", "leg", "form"}, _fail),
}


def _step(raw: object, index: int, problems: list[str]) -> Step | None:
    path = f"steps[{index}]"
    if not isinstance(raw, Mapping):
        problems.append(f"{path} must be an object, got {json.dumps(raw)[:60]}")
        return None
    kinds = [key for key in raw if key in _STEP_KINDS]
    if len(kinds) != 1:
        problems.append(
            f"{path} must have exactly one of {', '.join(_STEP_KINDS)}"
            + (f" (found {', '.join(kinds)})" if kinds else "")
        )
        return None
    kind = kinds[0]
    fields = _Fields(raw, path, {"at", kind}, problems)
    at = fields.number("at", high=_MAX_AT_SECONDS)
    allowed, build = _STEP_KINDS[kind]
    if raw.get(kind) is None and kind == "answer":
        section: _Fields | None = _Fields({}, f"{path}.{kind}", allowed, problems)
    else:
        section = fields.section(kind, allowed)
    if section is None:
        return None
    action = build(section)
    if at is None or action is None:
        return None
    return Step(round(at * 1000), action)


def _start_time(fields: _Fields) -> int | None:
    raw = fields.string("startTime", None, what="an ISO 8601 time with a zone")
    if raw is None:
        return None if "startTime" in fields.data else DEFAULT_START_TIME_MS
    try:
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        fields.problem(
            "startTime", f"must be an ISO 8601 time such as 2026-11-24T09:30:00Z, got {raw!r}"
        )
        return None
    if moment.tzinfo is None:
        fields.problem("startTime", f"must carry a time zone (e.g. a final Z), got {raw!r}")
        return None
    return round(moment.astimezone(UTC).timestamp() * 1000)


def parse_scenario(document: object, source: str | None = None) -> Scenario:
    """The scenario of a decoded JSON document.

    :param source: named in the error message (e.g. the file name).
    :raises ScenarioError: listing every problem found.
    """
    problems: list[str] = []
    if not isinstance(document, Mapping):
        raise ScenarioError(
            [f"the scenario must be a JSON object, got {type(document).__name__}"], source
        )
    fields = _Fields(
        document, "", {"version", "name", "description", "startTime", "seed", "steps"}, problems
    )
    version = document.get("version", _MISSING)
    if version is _MISSING:
        problems.append("version is required (1)")
    elif version != SCENARIO_VERSION or isinstance(version, bool):
        problems.append(f"version must be {SCENARIO_VERSION}, got {json.dumps(version)[:60]}")
    name = fields.string("name", source or "scenario")
    description = fields.data.get("description", "")
    if not isinstance(description, str):
        problems.append("description must be a string")
        description = ""
    start = _start_time(fields)
    seed = fields.number("seed", 0, high=2**63, integer=True)
    raw_steps = document.get("steps", _MISSING)
    steps: list[Step] = []
    if raw_steps is _MISSING:
        problems.append("steps is required")
    elif not isinstance(raw_steps, list) or not raw_steps:
        problems.append("steps must be a non-empty list")
    else:
        parsed = [_step(raw, i, problems) for i, raw in enumerate(raw_steps)]
        if all(step is not None for step in parsed):
            steps = [step for step in parsed if step is not None]
            problems.extend(_check_steps(steps))
    if problems:
        raise ScenarioError(problems, source)
    assert name is not None
    assert start is not None
    assert seed is not None
    return Scenario(tuple(steps), name, description, start, seed)


def load_scenario(source: str | Path) -> Scenario:
    """Read a scenario file, or a built-in scenario by name (see :data:`BUILTIN_SCENARIOS`).

    :raises ScenarioError: the file is missing, is not JSON, or is not a valid scenario.
    """
    path = Path(source)
    if not path.exists() and str(source) in BUILTIN_SCENARIOS:
        return builtin_scenario(str(source))
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ScenarioError(
            [f"cannot read the file: {error.strerror or error}"], str(source)
        ) from error
    try:
        document = json.loads(text)
    except ValueError as error:
        raise ScenarioError([f"not valid JSON: {error}"], str(source)) from error
    return parse_scenario(document, str(source))


def builtin_scenario(name: str = "default") -> Scenario:
    """A scenario shipped with the library (see :data:`BUILTIN_SCENARIOS`)."""
    if name not in BUILTIN_SCENARIOS:
        raise ScenarioError(
            [f"no built-in scenario {name!r} (built in: {', '.join(BUILTIN_SCENARIOS)})"]
        )
    text = (
        resources.files("cdk_recording.testing")
        .joinpath(f"scenarios/{name}.json")
        .read_text(encoding="utf-8")
    )
    return parse_scenario(json.loads(text), name)
