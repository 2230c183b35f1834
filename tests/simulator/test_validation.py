"""Responses checked as the service checks them (reference §2, §3.1, §6, §11)."""

from __future__ import annotations

from typing import Any

import pytest

from cdk_recording.testing import (
    IssueLevel,
    UpdateRequest,
    validate_action,
    validate_response,
)
from tests.simulator.conftest import (
    Script,
    bridge,
    call_id,
    inbound,
    on,
    pause,
    respond,
    simulate,
    speak,
    start_recording,
)


def issue_types(response: Any) -> list[str]:
    return [issue.error_type for issue in validate_response(response)]


def test_valid_response_has_no_issue() -> None:
    """§2: SchemaVersion 1.0, a list of known actions, string attributes."""
    assert validate_response(respond(pause(100), attributes={"k": "v"})) == ()


@pytest.mark.parametrize("version", [None, "2.0", 1.0, "1"])
def test_schema_version_must_be_1_0(version: object) -> None:
    """§2: the response carries SchemaVersion "1.0"."""
    response = respond(pause(100))
    response["SchemaVersion"] = version
    assert issue_types(response) == ["InvalidSchemaVersion"]


def test_at_most_ten_actions() -> None:
    """§2: at most 10 actions per response."""
    assert validate_response(respond(*[pause(100)] * 10)) == ()
    assert issue_types(respond(*[pause(100)] * 11)) == ["TooManyActions"]


def test_unknown_action_type_is_rejected() -> None:
    """§2, §6: only known action types; a misspelt one rejects the response."""
    assert issue_types(respond({"Type": "StartRecording", "Parameters": {}})) == [
        "InvalidActionType"
    ]


def test_more_than_ten_transaction_attributes_is_rejected() -> None:
    """§2, §11.1: the service's own example rejects 11 keys with
    TransactionAttributesInvalidMapSize ("Maximum number of mappings is 10")."""
    ten = {f"key{i}": "v" for i in range(10)}
    assert validate_response(respond(attributes=ten)) == ()
    [issue] = validate_response(respond(attributes={**ten, "key10": "v"}))
    assert issue.error_type == "TransactionAttributesInvalidMapSize"
    assert "Maximum number of mappings is 10" in issue.message


def test_transaction_attribute_values_must_be_strings() -> None:
    """§2: TransactionAttributes is a string-to-string map."""
    assert issue_types(
        {"SchemaVersion": "1.0", "Actions": [], "TransactionAttributes": {"n": 1}}
    ) == ["TransactionAttributesInvalidFormat"]


def test_transaction_attributes_over_20_kb_are_rejected() -> None:
    """§2: the documented size limit is 20 KB."""
    assert issue_types(respond(attributes={"big": "x" * 21_000})) == [
        "TransactionAttributesInvalidSize"
    ]


def test_response_must_be_an_object() -> None:
    """§2: the response is a JSON object."""
    assert issue_types(None) == ["InvalidResponseFormat"]
    assert issue_types({"SchemaVersion": "1.0", "Actions": {"Type": "Pause"}}) == [
        "InvalidResponseFormat"
    ]


@pytest.mark.parametrize(
    ("action", "missing"),
    [
        (
            {
                "Type": "StartCallRecording",
                "Parameters": {"Track": "BOTH", "Destination": {"Type": "S3", "Location": "b"}},
            },
            "CallId",
        ),
        (
            {
                "Type": "StartCallRecording",
                "Parameters": {"CallId": "c", "Destination": {"Type": "S3", "Location": "b"}},
            },
            "Track",
        ),
        (
            {"Type": "StartCallRecording", "Parameters": {"CallId": "c", "Track": "BOTH"}},
            "Destination",
        ),
        (
            {
                "Type": "StartCallRecording",
                "Parameters": {"CallId": "c", "Track": "BOTH", "Destination": {"Type": "S3"}},
            },
            "Destination.Location",
        ),
        ({"Type": "PauseCallRecording", "Parameters": {}}, "CallId"),
        ({"Type": "ResumeCallRecording", "Parameters": {}}, "CallId"),
        ({"Type": "StopCallRecording", "Parameters": {}}, "CallId"),
        ({"Type": "Speak", "Parameters": {"CallId": "c"}}, "Text"),
        ({"Type": "Speak", "Parameters": {"Text": "hi"}}, "CallId"),
        ({"Type": "PlayAudio", "Parameters": {"CallId": "c"}}, "AudioSource"),
        ({"Type": "Pause", "Parameters": {"CallId": "c"}}, "DurationInMilliseconds"),
        (
            {
                "Type": "ReceiveDigits",
                "Parameters": {
                    "InBetweenDigitsDurationInMilliseconds": 1,
                    "FlushDigitsDurationInMilliseconds": 1,
                },
            },
            "InputDigitsRegex",
        ),
        (
            {
                "Type": "CallAndBridge",
                "Parameters": {
                    "Endpoints": [{"BridgeEndpointType": "PSTN", "Uri": "+12065550142"}]
                },
            },
            "CallerIdNumber",
        ),
        ({"Type": "CallAndBridge", "Parameters": {"CallerIdNumber": "+12065550142"}}, "Endpoints"),
        (
            {"Type": "RecordAudio", "Parameters": {"RecordingTerminators": ["#"]}},
            "RecordingDestination",
        ),
    ],
)
def test_required_parameters(action: dict[str, Any], missing: str) -> None:
    """§3.1 and §6: each required parameter, when missing, is named in a
    MissingRequiredActionParameter issue."""
    issue = validate_action(action)
    assert issue is not None
    assert issue.level == IssueLevel.ACTION
    assert issue.error_type == "MissingRequiredActionParameter"
    assert missing in issue.message


@pytest.mark.parametrize(
    ("action", "named"),
    [
        (start_recording("c", track="ALL"), "Track"),
        (
            {
                "Type": "StartCallRecording",
                "Parameters": {
                    "CallId": "c",
                    "Track": "BOTH",
                    "Destination": {"Type": "FTP", "Location": "b"},
                },
            },
            "Destination.Type",
        ),
        ({"Type": "Speak", "Parameters": {"CallId": "c", "Text": "x" * 1001}}, "Text"),
        (
            {"Type": "Speak", "Parameters": {"CallId": "c", "Text": "x", "Engine": "turbo"}},
            "Engine",
        ),
        (pause(0), "DurationInMilliseconds"),
        ({"Type": "Hangup", "Parameters": {"SipResponseCode": "404"}}, "SipResponseCode"),
        ({"Type": "Hangup", "Parameters": {"ParticipantTag": "LEG-C"}}, "ParticipantTag"),
        (
            {**bridge(), "Parameters": {**bridge()["Parameters"], "CallTimeoutSeconds": 121}},
            "CallTimeoutSeconds",
        ),
        (
            {**bridge(), "Parameters": {**bridge()["Parameters"], "CallerIdNumber": "555-0100"}},
            "CallerIdNumber",
        ),
        (
            {
                "Type": "PlayAudio",
                "Parameters": {
                    "Repeat": 0,
                    "AudioSource": {"Type": "S3", "BucketName": "b", "Key": "k"},
                },
            },
            "Repeat",
        ),
    ],
)
def test_invalid_parameters(action: dict[str, Any], named: str) -> None:
    """§3.1 and §6: out-of-range values are InvalidActionParameter, naming the parameter."""
    issue = validate_action(action)
    assert issue is not None
    assert issue.error_type == "InvalidActionParameter"
    assert named in issue.message


def test_invalid_response_is_answered_with_invalid_lambda_response() -> None:
    """§1, §11.2: a rejected response is answered with INVALID_LAMBDA_RESPONSE, its ErrorType and
    ErrorMessage at the top level (as in the service's example)."""
    script = Script(on(NEW_INBOUND_CALL=respond(attributes={f"k{i}": "v" for i in range(11)})))
    report = simulate(script, inbound(hangup_at=5))
    invalid = script.events[1]
    assert invalid["InvocationEventType"] == "INVALID_LAMBDA_RESPONSE"
    assert invalid["ErrorType"] == "TransactionAttributesInvalidMapSize"
    assert "ActionData" not in invalid
    assert [p.kind for p in report.problems] == ["invalid-response"]
    assert not report.invocations[0].valid


def test_invalid_lambda_response_error_can_sit_in_action_data() -> None:
    """§11.2: pstn-invocations puts ErrorType/ErrorMessage in ActionData; an option selects it."""
    script = Script(on(NEW_INBOUND_CALL={"SchemaVersion": "0.9", "Actions": []}))
    simulate(script, inbound(hangup_at=5), invalid_response_error_form="fields")
    assert script.events[1]["ActionData"]["ErrorType"] == "InvalidSchemaVersion"


def test_rejected_response_changes_nothing() -> None:
    """§2: a rejected response's attributes are not stored and its actions do not run."""
    script = Script(on(NEW_INBOUND_CALL=respond(*[pause(100)] * 11, attributes={"kept": "no"})))
    report = simulate(script, inbound((3, UpdateRequest()), hangup_at=5))
    assert report.actions == ()
    assert all("TransactionAttributes" not in e["CallDetails"] for e in script.events)


def test_the_answer_to_invalid_lambda_response_is_run() -> None:
    """§1: the handler can recover: its answer to INVALID_LAMBDA_RESPONSE is run as usual."""
    script = Script(
        on(
            NEW_INBOUND_CALL={"SchemaVersion": "1.0", "Actions": [{"Type": "Nope"}]},
            INVALID_LAMBDA_RESPONSE=lambda e: respond(speak(call_id(e))),
        )
    )
    report = simulate(script, inbound(hangup_at=10))
    assert [a.type for a in report.actions] == ["Speak"]


def test_missing_parameter_fails_the_action_by_default() -> None:
    """§6: MissingRequiredActionParameter is an action error (ACTION_FAILED when the action's
    turn comes; the actions before it run)."""
    script = Script(on(NEW_INBOUND_CALL=respond(pause(500), {"Type": "Speak", "Parameters": {}})))
    report = simulate(script, inbound(hangup_at=10))
    failed = script.of("ACTION_FAILED")[0]
    assert failed["ActionData"]["ErrorType"] == "MissingRequiredActionParameter"
    assert [a.outcome for a in report.actions] == ["succeeded", "failed"]
    assert [p.kind for p in report.problems] == ["invalid-action"]


def test_missing_parameter_rejects_the_response_in_strict_mode() -> None:
    """§2: with ``parameter_checks=invalidResponse`` a parameter problem rejects the response."""
    script = Script(on(NEW_INBOUND_CALL=respond(pause(500), {"Type": "Speak", "Parameters": {}})))
    report = simulate(script, inbound(hangup_at=10), parameter_checks="invalidResponse")
    assert script.events[1]["ErrorType"] == "MissingRequiredActionParameter"
    assert report.actions == ()


def test_at_most_1000_invocations_per_call() -> None:
    """§2, §7: at most 1,000 Lambda invocations per call; the simulator ends the call there."""
    script = Script(lambda e: respond(pause(1)) if e["InvocationEventType"] != "HANGUP" else None)
    report = simulate(script, inbound(hangup_at=3600))
    assert len(report.invocations) == 1000
    assert report.problems[0].kind == "invocation-limit"
    assert report.hangups[0].cause == "service"
    assert report.hangups[0].sip_response_code == 480


def test_handler_error_is_retried_once_then_the_call_ends_with_480() -> None:
    """§2 (timeouts): a failing invocation is retried once; when retries run out the call ends
    with 480 Unavailable."""
    calls: list[int] = []

    def broken(event: dict[str, Any], context: object) -> Any:
        calls.append(event["Sequence"])
        raise RuntimeError("boom")

    report = simulate(broken, inbound(hangup_at=10))
    assert calls == [1, 1]
    assert [i.attempt for i in report.invocations] == [1, 2]
    assert "RuntimeError: boom" in (report.invocations[0].error or "")
    assert report.problems[0].kind == "handler-error"
    assert (report.hangups[0].cause, report.hangups[0].sip_response_code) == ("service", 480)


def test_handler_recovering_on_retry_keeps_the_call() -> None:
    """§2: the retry gets the same event (same Sequence); if it succeeds the call goes on."""
    attempts: list[int] = []

    def flaky(event: dict[str, Any], context: object) -> Any:
        attempts.append(event["Sequence"])
        if len(attempts) == 1:
            raise TimeoutError("cold")
        return respond()

    report = simulate(flaky, inbound(hangup_at=10))
    assert attempts[:2] == [1, 1]
    assert report.hangups[0].cause == "remote"
    assert report.problems == ()


def test_unserialisable_response_is_a_handler_error() -> None:
    """§2: the response must be JSON; what Lambda cannot serialise fails the invocation."""
    report = simulate(
        lambda _event, _context: {"SchemaVersion": "1.0", "Actions": [object()]}, inbound()
    )
    assert report.problems[0].kind == "handler-error"


def test_handler_output_is_captured_per_invocation() -> None:
    """§1: each invocation is separate; what the handler prints (logs, EMF metrics) is kept with
    its invocation."""

    def chatty(event: dict[str, Any], context: object) -> Any:
        print("seen", event["InvocationEventType"])
        return respond()

    report = simulate(chatty, inbound(hangup_at=3))
    assert report.invocations[0].output == "seen NEW_INBOUND_CALL\n"
