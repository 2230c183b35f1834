"""Scenario files: the documented JSON format, and errors that name the field."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from cdk_recording.testing import (
    BUILTIN_SCENARIOS,
    Answer,
    BridgeBehaviour,
    BridgeOutcome,
    Digits,
    ErrorForm,
    Hangup,
    InboundCall,
    InjectFailure,
    OutboundCall,
    Scenario,
    ScenarioError,
    Step,
    UpdateRequest,
    builtin_scenario,
    load_scenario,
    parse_scenario,
)

FULL: dict[str, Any] = {
    "version": 1,
    "name": "full",
    "description": "every kind of step",
    "startTime": "2026-11-24T10:00:00.250+01:00",
    "seed": 9,
    "steps": [
        {"at": 0, "inboundCall": {"from": "+14255550199", "to": "+12065550100"}},
        {"at": 0, "bridge": {"outcome": "busy", "afterSeconds": 1.5, "errorType": "Busy"}},
        {
            "at": 0,
            "fail": {
                "action": "StartCallRecording",
                "errorType": "NoAccessToDestination",
                "errorMessage": "denied",
                "count": 2,
                "leg": "LEG-A",
                "form": "errorString",
            },
        },
        {"at": 2.25, "answer": {"leg": "LEG-B"}},
        {"at": 3, "answer": None},
        {"at": 4, "update": {"arguments": {"recording": "pause"}}},
        {"at": 5, "digits": {"leg": "LEG-B", "keys": "*1", "intervalMs": 100}},
        {"at": 9, "hangup": {"leg": "LEG-B", "sipResponseCode": 486}},
    ],
}


def problems(document: Any) -> tuple[str, ...]:
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(document, "test.json")
    return caught.value.problems


def test_every_step_kind_parses() -> None:
    """The documented format: one key per step, times in seconds."""
    scenario = parse_scenario(FULL)
    assert scenario.name == "full"
    assert scenario.seed == 9
    assert scenario.start_time_ms == 1_795_510_800_250
    assert [step.at_ms for step in scenario.steps] == [0, 0, 0, 2250, 3000, 4000, 5000, 9000]
    assert [step.action for step in scenario.steps] == [
        InboundCall("+14255550199", "+12065550100"),
        BridgeBehaviour(BridgeOutcome.BUSY, 1.5, "Busy", None),
        InjectFailure(
            "StartCallRecording",
            "NoAccessToDestination",
            "denied",
            2,
            "LEG-A",
            ErrorForm.ERROR_STRING,
        ),
        Answer("LEG-B"),
        Answer(None),
        UpdateRequest({"recording": "pause"}),
        Digits("*1", "LEG-B", 100),
        Hangup("LEG-B", 486),
    ]


def test_defaults() -> None:
    """Optional fields take their documented defaults."""
    scenario = parse_scenario(
        {
            "version": 1,
            "steps": [
                {"at": 0, "outboundCall": {"from": "+12065550100", "to": "+14255550199"}},
                {"at": 1, "digits": {"keys": "5"}},
                {"at": 2, "hangup": {}},
            ],
        }
    )
    assert scenario.start_time_ms == 1_795_512_600_000
    assert scenario.steps[1].action == Digits("5", "LEG-A", 250)
    assert scenario.steps[2].action == Hangup("LEG-A", 0)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"version": 2}, "version must be 1"),
        ({"steps": []}, "steps must be a non-empty list"),
        ({"colour": "red"}, "colour is not a known field"),
        ({"startTime": "2026-11-24T10:00:00"}, "startTime must carry a time zone"),
        ({"startTime": "yesterday"}, "startTime must be an ISO 8601 time"),
        ({"seed": -1}, "seed must be an integer"),
    ],
)
def test_top_level_errors_name_the_field(change: dict[str, Any], message: str) -> None:
    """Invalid documents are rejected with an error naming the field."""
    assert any(message in problem for problem in problems({**FULL, **change}))


@pytest.mark.parametrize(
    ("step", "message"),
    [
        ({"at": 1, "hangup": {"leg": "LEG-C"}}, "steps[1].hangup.leg must be one of LEG-A, LEG-B"),
        ({"at": -1, "hangup": {}}, "steps[1].at must be a number"),
        ({"at": "1", "hangup": {}}, "steps[1].at must be a number"),
        ({"hangup": {}}, "steps[1].at is required"),
        ({"at": 1}, "steps[1] must have exactly one of"),
        ({"at": 1, "hangup": {}, "answer": {}}, "(found hangup, answer)"),
        ({"at": 1, "digits": {"keys": "12a"}}, "steps[1].digits.keys must be 1-32 of the keys"),
        (
            {"at": 1, "update": {"arguments": {"n": 1}}},
            "steps[1].update.arguments must be an object of string values",
        ),
        ({"at": 1, "update": {"arguments": {str(i): "v" for i in range(21)}}}, "at most 20"),
        ({"at": 1, "fail": {"action": "Speak"}}, "steps[1].fail.errorType is required"),
        (
            {"at": 1, "fail": {"action": "Shout", "errorType": "X"}},
            "steps[1].fail.action must be one of",
        ),
        (
            {"at": 1, "fail": {"action": "Speak", "errorType": "X", "form": "xml"}},
            "steps[1].fail.form",
        ),
        ({"at": 1, "bridge": {"outcome": "maybe"}}, "steps[1].bridge.outcome"),
        ({"at": 1, "bridge": {"outcome": "answer", "errorType": "X"}}, "apply only to the busy"),
        ({"at": 1, "hangup": {"sipResponseCode": 700}}, "steps[1].hangup.sipResponseCode"),
        ({"at": 1, "hangup": {"when": "now"}}, "steps[1].hangup.when is not a known field"),
        (
            {"at": 1, "inboundCall": {"from": "+14255550199", "to": "+1"}},
            "steps[1].inboundCall.to must be an E.164 number",
        ),
        ({"at": 1, "hangup": "LEG-A"}, "steps[1].hangup must be an object"),
    ],
)
def test_step_errors_name_the_field(step: dict[str, Any], message: str) -> None:
    """Each problem names its field as ``steps[i].kind.field``."""
    document = {"version": 1, "steps": [FULL["steps"][0], step]}
    found = problems(document)
    assert any(message in problem for problem in found), found


def test_call_must_start_first_and_once() -> None:
    """The first step starts the call, and only the first."""
    assert any(
        "steps[0] must be the only inboundCall or outboundCall step (none found)" in p
        for p in problems({"version": 1, "steps": [{"at": 0, "hangup": {}}]})
    )
    twice = {"version": 1, "steps": [FULL["steps"][0], FULL["steps"][0]]}
    assert any("found at steps[0, 1]" in p for p in problems(twice))


def test_steps_must_be_in_time_order() -> None:
    """A step earlier than the one before it is a mistake, reported with both times."""
    document = {
        "version": 1,
        "steps": [FULL["steps"][0], {"at": 5, "hangup": {}}, {"at": 4, "hangup": {}}],
    }
    assert "steps[2].at must not be earlier than steps[1].at (4 < 5)" in problems(document)


def test_every_problem_is_reported_at_once() -> None:
    """All problems are collected into one error, not only the first."""
    document = {"version": 3, "steps": [{"at": 0, "inboundCall": {"from": "x", "to": "y"}}]}
    assert len(problems(document)) == 3


def test_error_message_is_one_line_naming_the_source() -> None:
    """The error is one line, so the CLI can print it as is."""
    with pytest.raises(ScenarioError, match=r"^invalid scenario test\.json: version must be 1"):
        parse_scenario({**FULL, "version": 2}, "test.json")


def test_load_scenario_reads_a_file(tmp_path: Path) -> None:
    """A scenario file is UTF-8 JSON."""
    path = tmp_path / "call.json"
    path.write_text(json.dumps(FULL))
    assert load_scenario(path) == parse_scenario(FULL, str(path))


def test_load_scenario_rejects_bad_json(tmp_path: Path) -> None:
    """A file that is not JSON is reported as such."""
    path = tmp_path / "call.json"
    path.write_text("{nope")
    with pytest.raises(ScenarioError, match="not valid JSON"):
        load_scenario(path)


def test_load_scenario_rejects_a_missing_file(tmp_path: Path) -> None:
    """A missing file is reported, not raised as OSError."""
    with pytest.raises(ScenarioError, match="cannot read the file"):
        load_scenario(tmp_path / "absent.json")


@pytest.mark.parametrize("name", BUILTIN_SCENARIOS)
def test_builtin_scenarios_are_valid(name: str) -> None:
    """Every shipped scenario parses, by name too."""
    assert builtin_scenario(name).name == name
    assert load_scenario(name) == builtin_scenario(name)


def test_unknown_builtin_is_an_error() -> None:
    """An unknown built-in name lists the built-in scenarios."""
    with pytest.raises(ScenarioError, match="no built-in scenario 'nope'"):
        builtin_scenario("nope")


def test_scenario_built_in_code_is_checked_too() -> None:
    """Scenarios built from dataclasses are checked like files."""
    with pytest.raises(ScenarioError, match="steps\\[0\\] must be the only"):
        Scenario((Step.at(0, Hangup()),))


def test_outbound_call_step() -> None:
    """A scenario may start with an outbound call (§1 NEW_OUTBOUND_CALL)."""
    scenario = Scenario((Step.at(0, OutboundCall("+12065550100", "+14255550199")),))
    assert isinstance(scenario.call, OutboundCall)
