"""Complete call flows through the Lambda entry point, and what it prints."""

from __future__ import annotations

import importlib.util
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sma_recording import entry
from sma_recording.config import ENV_VAR
from sma_recording.entry import RecordingHandler
from sma_recording.state import Flow, LegStatus

from .conftest import (
    AGENT,
    BASE_CONFIG,
    CALLER,
    DTMF,
    LEG_A,
    LEG_B,
    SPEAK_CONSENT,
    TRANSACTION_ID,
    Call,
    FakeContext,
    Output,
    action_types,
    config_document,
    load_event,
    make_config,
)

ReadOutput = Callable[[], Output]
INDEX = Path(__file__).resolve().parents[2] / "lambda" / "recording" / "index.py"


def handler_for(**overrides: Any) -> RecordingHandler:
    return RecordingHandler(make_config(**overrides), clock=lambda: 1764067200.5)


# -- complete call flows ------------------------------------------------------------------------------


def test_bridged_call_with_consent_dtmf_and_hangup(read_output: ReadOutput) -> None:
    call = Call(handler_for(consent=SPEAK_CONSENT, announceToCallee=True, dtmf=DTMF))

    assert action_types(call.send("new_inbound_call")["Actions"]) == ["Speak", "CallAndBridge"]
    assert action_types(call.send("action_successful_call_and_bridge")["Actions"]) == [
        "Speak",
        "StartCallRecording",
    ]
    assert action_types(call.send("action_successful_start_call_recording")["Actions"]) == [
        "ReceiveDigits"
    ]
    assert action_types(call.send("digits_received_pause")["Actions"]) == ["PauseCallRecording"]
    assert action_types(call.send("action_successful_pause_call_recording")["Actions"]) == [
        "ReceiveDigits"
    ]
    assert action_types(call.send("digits_received_resume")["Actions"]) == ["ResumeCallRecording"]
    assert action_types(call.send("action_successful_resume_call_recording")["Actions"]) == [
        "ReceiveDigits"
    ]
    hangup = call.send("hangup_leg_a_bridged")

    assert hangup["Actions"] == [
        {"Type": "Hangup", "Parameters": {"CallId": LEG_B, "SipResponseCode": "0"}}
    ]
    assert (call.state.flow, call.state.leg_a) == (Flow.ENDED, LegStatus.STOPPED)
    assert read_output().metric_names() == [
        "RecordingStarted",
        "RecordingPaused",
        "RecordingResumed",
    ]


def test_on_demand_recording_of_a_bridged_call(read_output: ReadOutput) -> None:
    call = Call(handler_for(autoStart=False))
    call.send("new_inbound_call")

    assert call.send("action_successful_call_and_bridge")["Actions"] == []
    assert action_types(call.send("call_update_requested_start")["Actions"]) == [
        "StartCallRecording"
    ]
    call.send("action_successful_start_call_recording")
    assert action_types(call.send("call_update_requested_stop")["Actions"]) == ["StopCallRecording"]
    call.send("action_successful_stop_call_recording")
    assert call.send("call_update_requested_start")["Actions"] == []

    output = read_output()
    assert output.metric_names() == ["RecordingStarted", "RecordingStopped"]
    assert "start does not apply: a leg is recorded at most once" in output.messages("WARNING")


def test_single_leg_inbound_call_is_recorded_and_kept_up(read_output: ReadOutput) -> None:
    call = Call(handler_for(bridge=None, consent=SPEAK_CONSENT))

    assert action_types(call.send("new_inbound_call")["Actions"]) == ["Speak", "StartCallRecording"]
    assert action_types(
        call.send("action_successful_start_call_recording", single_leg=True)["Actions"]
    ) == ["Pause"]
    assert action_types(call.send("action_successful_pause")["Actions"]) == ["Pause"]
    assert call.send("hangup_single_leg")["Actions"] == []
    assert call.state.leg_a == LegStatus.STOPPED
    assert read_output().metric_names() == ["RecordingStarted"]


def test_outbound_call_is_recorded_when_answered(read_output: ReadOutput) -> None:
    call = Call(handler_for())

    assert call.send("new_outbound_call")["Actions"] == []
    assert call.send("ringing")["Actions"] == []
    assert action_types(call.send("call_answered")["Actions"]) == ["StartCallRecording"]
    assert call.state.leg_a == LegStatus.STARTING


def test_recording_failure_keeps_the_bridged_call_and_alarms(read_output: ReadOutput) -> None:
    call = Call(handler_for())
    call.send("new_inbound_call")
    call.send("action_successful_call_and_bridge")

    assert call.send("action_failed_start_call_recording")["Actions"] == []
    assert call.state.leg_a == LegStatus.FAILED
    assert call.send("call_update_requested_pause")["Actions"] == []

    output = read_output()
    failed = next(m for m in output.metrics if "RecordingFailed" in m)
    assert failed["ErrorType"] == "NoAccessToDestination"
    assert failed["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [
        ["Application"],
        ["Application", "ErrorType"],
    ]
    error = next(line for line in output.logs if line["level"] == "ERROR")
    assert error["errorType"] == "NoAccessToDestination"
    assert error["errorMessage"] == "Error while accessing destination"


def test_unanswered_bridge_ends_the_call(read_output: ReadOutput) -> None:
    call = Call(handler_for())
    call.send("new_inbound_call")

    response = call.send("action_failed_call_and_bridge")

    assert response["Actions"] == [
        {"Type": "Hangup", "Parameters": {"CallId": LEG_A, "SipResponseCode": "480"}}
    ]
    assert read_output().metric_names() == []


def test_rejected_response_is_logged_with_the_response_sent_before(read_output: ReadOutput) -> None:
    call = Call(handler_for())
    call.send("new_inbound_call")

    response = call.send("invalid_lambda_response_top_level")

    assert response == {"SchemaVersion": "1.0", "Actions": []}
    output = read_output()
    error = next(line for line in output.logs if line["level"] == "ERROR")
    assert error["previousResponse"] == "1:CallAndBridge"
    assert output.metric_names() == ["InvalidLambdaResponse"]


# -- what is printed ----------------------------------------------------------------------------------


def test_every_log_line_carries_the_correlation_fields(read_output: ReadOutput) -> None:
    handler_for()(load_event("new_inbound_call"), FakeContext())

    logs = read_output().logs
    assert logs
    for line in logs:
        assert line["transactionId"] == TRANSACTION_ID
        assert line["sequence"] == 1
        assert line["eventType"] == "NEW_INBOUND_CALL"
        assert line["requestId"] == FakeContext.aws_request_id
        assert line["application"] == BASE_CONFIG["application"]
        assert {"timestamp", "level", "message"} <= set(line)


def test_no_full_phone_number_is_ever_printed(read_output: ReadOutput) -> None:
    handler = RecordingHandler(make_config(consent=SPEAK_CONSENT), log_level="DEBUG")
    call = Call(handler)
    call.send("new_inbound_call")
    call.send("action_failed_call_and_bridge")

    raw = read_output().raw
    assert "event" in raw
    for number in (CALLER, AGENT, "+14345550101", CALLER[1:], AGENT[1:]):
        assert number not in raw
    assert "+*******0199" in raw


def test_response_is_logged_with_its_actions(read_output: ReadOutput) -> None:
    handler_for()(load_event("new_inbound_call"), FakeContext())

    line = next(line for line in read_output().logs if line["message"] == "response")
    assert action_types(line["actions"]) == ["CallAndBridge"]


def test_metrics_are_embedded_metric_format_documents(read_output: ReadOutput) -> None:
    call = Call(handler_for(metricsNamespace="Calls/Recording"))
    call.send("new_inbound_call")
    call.send("action_successful_call_and_bridge")
    call.send("action_successful_start_call_recording")

    (document,) = read_output().metrics
    assert document == {
        "_aws": {
            "Timestamp": 1764067200500,
            "CloudWatchMetrics": [
                {
                    "Namespace": "Calls/Recording",
                    "Dimensions": [["Application"]],
                    "Metrics": [{"Name": "RecordingStarted", "Unit": "Count"}],
                }
            ],
        },
        "Application": BASE_CONFIG["application"],
        "RecordingStarted": 1,
        "transactionId": TRANSACTION_ID,
        "requestId": FakeContext.aws_request_id,
    }


def test_malformed_event_is_answered_with_no_actions_and_counted(read_output: ReadOutput) -> None:
    response = handler_for()({"Sequence": 4}, FakeContext())

    assert response == {"SchemaVersion": "1.0", "Actions": []}
    output = read_output()
    assert output.metric_names() == ["MalformedEvent"]
    assert "malformed event; answered with no actions" in output.messages("ERROR")


def test_unreadable_state_on_a_new_call_is_bridged_unrecorded_with_a_warning(
    read_output: ReadOutput,
) -> None:
    event = load_event("new_inbound_call", attributes={"smaRec": "{broken"})

    response = handler_for()(event, FakeContext())
    after = handler_for()(
        load_event(
            "action_successful_call_and_bridge", attributes=response["TransactionAttributes"]
        ),
        FakeContext(),
    )

    assert action_types(response["Actions"]) == ["CallAndBridge"]
    assert "StartCallRecording" not in action_types(after["Actions"])
    output = read_output()
    assert any("smaRec" in m for m in output.messages("WARNING"))
    assert "RecordingFailed" in output.metric_names()


def test_internal_error_is_logged_and_answered_with_no_actions(
    read_output: ReadOutput, monkeypatch: pytest.MonkeyPatch
) -> None:
    def explode(*args: object) -> None:
        raise RuntimeError("bug")

    monkeypatch.setattr(entry, "decide", explode)

    response = handler_for()(load_event("new_inbound_call"), FakeContext())

    assert response == {"SchemaVersion": "1.0", "Actions": []}
    error = next(line for line in read_output().logs if line["level"] == "ERROR")
    assert error["message"] == "internal error; answered with no actions"
    assert "RuntimeError: bug" in error["exception"]
    assert error["transactionId"] == TRANSACTION_ID


# -- cold start ---------------------------------------------------------------------------------------


@pytest.mark.usefixtures("cold_start")
def test_handler_reads_the_configuration_once_per_cold_start(
    monkeypatch: pytest.MonkeyPatch, read_output: ReadOutput
) -> None:
    monkeypatch.setenv(ENV_VAR, json.dumps(config_document(bridge=None)))
    first = entry.handler(load_event("new_inbound_call"), FakeContext())
    monkeypatch.setenv(ENV_VAR, json.dumps(config_document()))

    second = entry.handler(load_event("new_inbound_call"), FakeContext())

    assert action_types(first["Actions"]) == ["Pause", "StartCallRecording"]
    assert second == first
    cold = [line["coldStart"] for line in read_output().logs if line["message"] == "response"]
    assert cold == [True, False]


@pytest.mark.usefixtures("cold_start")
def test_invalid_configuration_is_logged_once_and_calls_still_go_through(
    monkeypatch: pytest.MonkeyPatch, read_output: ReadOutput
) -> None:
    monkeypatch.setenv(ENV_VAR, json.dumps(config_document(track="STEREO")))

    first = entry.handler(load_event("new_inbound_call"), FakeContext())
    entry.handler(load_event("new_inbound_call"), FakeContext())

    assert action_types(first["Actions"]) == ["CallAndBridge"]
    output = read_output()
    problems = [
        line
        for line in output.logs
        if line["message"].startswith("invalid recording configuration")
    ]
    assert len(problems) == 1
    assert any("track" in p for p in problems[0]["problems"])
    assert output.metric_names() == ["RecordingFailed", "RecordingFailed"]


@pytest.mark.usefixtures("cold_start")
def test_missing_configuration_answers_inbound_calls_it_cannot_route_unrecorded(
    monkeypatch: pytest.MonkeyPatch, read_output: ReadOutput
) -> None:
    monkeypatch.delenv(ENV_VAR, raising=False)

    response = entry.handler(load_event("new_inbound_call"), FakeContext())

    assert action_types(response["Actions"]) == ["Pause"]
    output = read_output()
    assert "SMA_RECORDING_CONFIG is not set" in output.raw
    assert output.metric_names() == ["RecordingFailed"]


@pytest.mark.usefixtures("cold_start")
def test_lambda_module_index_exposes_the_handler(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_VAR, json.dumps(BASE_CONFIG))
    spec = importlib.util.spec_from_file_location("recording_index", INDEX)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)

    response = module.handler(load_event("new_inbound_call"), FakeContext())

    assert module.handler is entry.handler
    assert action_types(response["Actions"]) == ["CallAndBridge"]


def test_log_level_filters_debug_lines(read_output: ReadOutput) -> None:
    RecordingHandler(make_config(), log_level="WARNING")(
        load_event("new_inbound_call"), FakeContext()
    )

    assert read_output().logs == []
    RecordingHandler(
        make_config(), log_level="INFO"
    )  # leave the shared logger as other tests expect


def test_masking_keeps_call_ids_and_timestamps_readable() -> None:
    from sma_recording.telemetry import mask_phone_numbers

    text = f'{{"callId": "{LEG_B}", "n": "+14255550199", "raw": "14255550199", "at": "2026-11-25"}}'

    masked = mask_phone_numbers(text)

    assert LEG_B in masked
    assert re.search(r'"n": "\+\*{7}0199"', masked)
    assert '"raw": "*******0199"' in masked
