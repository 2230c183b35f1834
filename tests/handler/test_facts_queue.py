"""Sending the call facts to SQS: moto for the happy path, Stubber, raising clients and a local
server that never answers for the failures. Whatever happens, the response is the one the handler
gives with facts off, and what was not sent is counted."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import (
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)
from botocore.stub import ANY, Stubber
from moto import mock_aws
from sma_recording import entry
from sma_recording._facts_queue import (
    FACTS_QUEUE_ENV,
    MAX_BODY_BYTES,
    FactsQueue,
    client_config,
    error_type,
)
from sma_recording.entry import RecordingHandler

from .conftest import (
    AGENT,
    CALLER,
    DTMF,
    SPEAK_CONSENT,
    TRANSACTION_ID,
    Call,
    Output,
    make_config,
)

ReadOutput = Callable[[], Output]
REGION = "us-east-1"
CLOCK = 1764067209.5
#: The full bridged call of the brief: inbound, consent, start, pause and resume by DTMF, hangup.
FULL_CALL = [
    "new_inbound_call",
    "action_successful_call_and_bridge",
    "action_successful_start_call_recording",
    "digits_received_pause",
    "action_successful_pause_call_recording",
    "digits_received_resume",
    "action_successful_resume_call_recording",
    "hangup_leg_a_bridged",
    "hangup_leg_b_bridged",
]
#: Invocations of FULL_CALL that establish something (the others send nothing).
SENDING = 6
NUMBERS = (CALLER, AGENT, "+14345550101")


@pytest.fixture(autouse=True)
def _dummy_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("AWS_PROFILE", "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))


def config() -> Any:
    return make_config(consent=SPEAK_CONSENT, announceToCallee=True, dtmf=DTMF)


def run_call(queue: FactsQueue | None) -> list[dict[str, Any]]:
    """The responses to FULL_CALL, with facts sent to ``queue`` (None: facts off)."""
    call = Call(RecordingHandler(config(), clock=lambda: CLOCK, facts_queue=queue))
    for name in FULL_CALL:
        call.send(name)
    return call.responses


def facts_off_responses(read_output: ReadOutput) -> list[dict[str, Any]]:
    responses = run_call(None)
    read_output()
    return responses


class RaisingClient:
    """An SQS client whose every SendMessage raises ``error``."""

    def __init__(self, error: Exception) -> None:
        self.error = error
        self.calls = 0

    def send_message(self, **_: Any) -> dict[str, Any]:
        self.calls += 1
        raise self.error


# -- sent -----------------------------------------------------------------------------------------------


@mock_aws
def test_facts_reach_the_queue_with_the_transaction_id_attribute(read_output: ReadOutput) -> None:
    off = facts_off_responses(read_output)
    sqs = boto3.client("sqs", region_name=REGION)
    url = sqs.create_queue(QueueName="call-facts")["QueueUrl"]

    on = run_call(FactsQueue(url))  # the default client: boto3, the region from the URL

    assert on == off
    received: list[dict[str, Any]] = []
    while batch := sqs.receive_message(
        QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"]
    ).get("Messages"):
        received.extend(batch)
        sqs.delete_message_batch(
            QueueUrl=url,
            Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(batch)
            ],
        )
    assert len(received) == SENDING
    bodies = sorted((json.loads(m["Body"]) for m in received), key=lambda b: b["sequence"])
    assert [b["sequence"] for b in bodies] == [1, 2, 3, 5, 7, 8]
    assert [[f["kind"] for f in b["facts"]] for b in bodies] == [
        ["call-started"],
        ["leg-joined", "consent-played", "recording-requested"],
        ["consent-played", "recording-started"],
        ["recording-paused"],
        ["recording-resumed"],
        ["recording-stopped", "call-ended"],
    ]
    for message in received:
        assert message["MessageAttributes"]["transactionId"] == {
            "StringValue": TRANSACTION_ID,
            "DataType": "String",
        }
    for body in bodies:
        assert body["transactionId"] == TRANSACTION_ID
        assert body["at"] == "2025-11-25T10:40:09.500Z"
    assert bodies[0]["participants"][0]["from"] == CALLER
    assert read_output().metric_names().count("FactsSent") == SENDING


def test_facts_sent_is_counted_and_logged_at_debug(read_output: ReadOutput) -> None:
    client = boto3.client("sqs", region_name=REGION)
    url = "https://sqs.us-east-1.amazonaws.com/123456789012/call-facts"
    with Stubber(client) as stubber:
        stubber.add_response(
            "send_message",
            {"MessageId": "m-1", "MD5OfMessageBody": "0" * 32},
            {
                "QueueUrl": url,
                "MessageBody": ANY,
                "MessageAttributes": {
                    "transactionId": {"DataType": "String", "StringValue": TRANSACTION_ID}
                },
            },
        )
        handler = RecordingHandler(
            config(), log_level="DEBUG", facts_queue=FactsQueue(url, client=client)
        )
        Call(handler).send("new_inbound_call")
        stubber.assert_no_pending_responses()

    output = read_output()
    assert output.metric_names() == ["FactsSent"]
    sent = next(line for line in output.logs if line["message"] == "call facts sent")
    assert sent["kinds"] == ["call-started"]
    assert sent["messageId"] == "m-1"


# -- not sent -------------------------------------------------------------------------------------------


def _stubbed_errors(code: str, status: int, count: int) -> tuple[Any, Stubber]:
    client = boto3.client("sqs", region_name=REGION)
    stubber = Stubber(client)
    for _ in range(count):
        stubber.add_client_error(
            "send_message",
            service_error_code=code,
            service_message=f"not allowed for {CALLER}",
            http_status_code=status,
        )
    stubber.activate()
    return client, stubber


@pytest.mark.parametrize(
    ("code", "status"),
    [
        ("AccessDenied", 403),
        ("AWS.SimpleQueueService.NonExistentQueue", 400),
        ("InternalError", 500),
    ],
)
def test_service_errors_change_nothing_and_are_counted(
    read_output: ReadOutput, code: str, status: int
) -> None:
    off = facts_off_responses(read_output)
    client, stubber = _stubbed_errors(code, status, SENDING)

    on = run_call(FactsQueue("https://sqs.us-east-1.amazonaws.com/1/q", client=client))

    assert on == off
    stubber.assert_no_pending_responses()  # one attempt per message, no retry
    output = read_output()
    failed = [m for m in output.metrics if "FactsFailed" in m]
    assert len(failed) == SENDING
    assert {m["ErrorType"] for m in failed} == {code}
    assert failed[0]["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [
        ["Application"],
        ["Application", "ErrorType"],
    ]
    assert "FactsSent" not in output.metric_names()
    errors = [
        line for line in output.logs if line["message"] == "call facts not sent; the call goes on"
    ]
    assert len(errors) == SENDING
    assert errors[0]["level"] == "ERROR"
    assert errors[0]["errorType"] == code
    assert errors[0]["kinds"] == ["call-started"]
    assert "+*******0199" in errors[0]["error"]


@pytest.mark.parametrize(
    "error",
    [
        EndpointConnectionError(endpoint_url="https://sqs.us-east-1.amazonaws.com/"),
        ConnectTimeoutError(endpoint_url="https://sqs.us-east-1.amazonaws.com/"),
        ReadTimeoutError(endpoint_url="https://sqs.us-east-1.amazonaws.com/"),
        RuntimeError("anything else"),
    ],
    ids=lambda error: type(error).__name__,
)
def test_transport_errors_change_nothing_and_are_counted(
    read_output: ReadOutput, error: Exception
) -> None:
    off = facts_off_responses(read_output)
    client = RaisingClient(error)

    on = run_call(FactsQueue("https://sqs.us-east-1.amazonaws.com/1/q", client=client))

    assert on == off
    assert client.calls == SENDING
    failed = [m["ErrorType"] for m in read_output().metrics if "FactsFailed" in m]
    assert failed == [type(error).__name__] * SENDING


def test_a_client_that_cannot_be_built_changes_nothing(read_output: ReadOutput) -> None:
    off = facts_off_responses(read_output)

    def no_client(url: str) -> Any:
        raise ValueError(f"cannot build a client for {url}")

    on = run_call(FactsQueue("https://sqs.us-east-1.amazonaws.com/1/q", client_factory=no_client))

    assert on == off
    assert read_output().metric_names().count("FactsFailed") == SENDING


def test_a_fault_in_the_facts_code_changes_nothing(
    read_output: ReadOutput, monkeypatch: pytest.MonkeyPatch
) -> None:
    off = facts_off_responses(read_output)
    client = RaisingClient(AssertionError("never called"))

    def broken(*_: Any, **__: Any) -> Any:
        raise KeyError(f"fault while reading {CALLER}")

    monkeypatch.setattr("sma_recording.facts.facts_of", broken)
    on = run_call(FactsQueue("https://sqs.us-east-1.amazonaws.com/1/q", client=client))

    assert on == off
    assert client.calls == 0
    output = read_output()
    failed = [m["ErrorType"] for m in output.metrics if "FactsFailed" in m]
    assert failed == ["BuildError"] * len(FULL_CALL)
    error = next(line for line in output.logs if line["message"].startswith("call facts could not"))
    assert "KeyError" in error["exception"]
    assert CALLER not in output.raw


def test_a_body_over_the_bound_is_not_sent() -> None:
    client = RaisingClient(AssertionError("never called"))
    queue = FactsQueue("https://sqs.us-east-1.amazonaws.com/1/q", client=client)

    with pytest.raises(ValueError, match="larger than"):
        queue.send("x" * (MAX_BODY_BYTES + 1), TRANSACTION_ID)
    assert client.calls == 0


def test_no_log_line_holds_a_full_number(read_output: ReadOutput) -> None:
    client, _ = _stubbed_errors("AccessDenied", 403, SENDING)
    call = Call(
        RecordingHandler(
            config(),
            log_level="DEBUG",
            facts_queue=FactsQueue("https://sqs.us-east-1.amazonaws.com/1/q", client=client),
        )
    )
    for name in FULL_CALL:
        call.send(name)

    raw = read_output().raw
    assert "call facts not sent" in raw
    for number in NUMBERS:
        assert number not in raw
        assert number[1:] not in raw
    assert not re.search(r"(?<![\d*])\d{10,}(?!\d)", _without_timestamps(raw))


def _without_timestamps(raw: str) -> str:
    """The printed lines less EMF timestamps (epoch milliseconds are 13 digits, not numbers)."""
    return re.sub(r'"Timestamp":\d+', "", raw)


# -- the bounds, against a server that accepts and never answers --------------------------------------


class _Silent(BaseHTTPRequestHandler):
    requests = 0
    release = threading.Event()

    def do_POST(self) -> None:
        type(self).requests += 1
        self.release.wait(5)  # longer than the read timeout; released when the test ends

    def log_message(self, *_: Any) -> None:
        pass


@pytest.fixture
def silent_server() -> Iterator[str]:
    _Silent.requests = 0
    _Silent.release = threading.Event()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Silent)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        _Silent.release.set()
        server.shutdown()
        server.server_close()
        thread.join(5)


def test_a_queue_that_never_answers_times_out_after_one_attempt(
    read_output: ReadOutput, silent_server: str
) -> None:
    client = boto3.client(
        "sqs", region_name=REGION, endpoint_url=silent_server, config=client_config()
    )
    call = Call(
        RecordingHandler(config(), facts_queue=FactsQueue(f"{silent_server}/1/q", client=client))
    )

    response = call.send("new_inbound_call")

    assert [a["Type"] for a in response["Actions"]] == ["Speak", "CallAndBridge"]
    assert _Silent.requests == 1  # a single attempt: no retry after the timeout
    failed = [m["ErrorType"] for m in read_output().metrics if "FactsFailed" in m]
    assert failed == ["ReadTimeoutError"]


def test_client_config_bounds() -> None:
    config = client_config()
    assert (config.connect_timeout, config.read_timeout) == (0.2, 0.3)
    assert config.retries == {"total_max_attempts": 1, "mode": "standard"}


# -- switching on -------------------------------------------------------------------------------------


def test_the_queue_comes_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, cold_start: None
) -> None:
    url = "https://sqs.us-east-1.amazonaws.com/123456789012/call-facts"
    monkeypatch.setenv(
        "SMA_RECORDING_CONFIG",
        json.dumps(
            {"version": 1, "application": "a", "destination": {"bucket": "recordings-bucket"}}
        ),
    )
    monkeypatch.setenv(FACTS_QUEUE_ENV, url)
    queue = entry._cold_start().runtime.facts_queue
    assert queue is not None
    assert queue.queue_url == url

    entry._cold_start.cache_clear()
    monkeypatch.setenv(FACTS_QUEUE_ENV, "")
    assert entry._cold_start().runtime.facts_queue is None
    entry._cold_start.cache_clear()
    monkeypatch.delenv(FACTS_QUEUE_ENV)
    assert entry._cold_start().runtime.facts_queue is None


def test_the_client_is_built_once_on_first_use() -> None:
    built: list[str] = []

    class Client:
        def send_message(self, **_: Any) -> dict[str, Any]:
            return {"MessageId": "m"}

    def factory(url: str) -> Client:
        built.append(url)
        return Client()

    queue = FactsQueue("https://sqs.eu-west-1.amazonaws.com/1/q", client_factory=factory)
    assert built == []
    queue.send("{}", TRANSACTION_ID)
    queue.send("{}", TRANSACTION_ID)
    assert built == ["https://sqs.eu-west-1.amazonaws.com/1/q"]


def test_the_entry_module_does_not_import_boto3_or_the_facts() -> None:
    """boto3 and the facts code cost a cold start only when a message is sent."""
    layer = Path(__file__).resolve().parents[2] / "lambda" / "layers" / "recording" / "python"
    code = (
        "import sys, sma_recording.entry;"
        "print(*(name in sys.modules for name in ('boto3', 'botocore', 'sma_recording.facts')))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        env={"PYTHONPATH": str(layer), "PATH": ""},
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.split() == ["False", "False", "False"]


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (EndpointConnectionError(endpoint_url="x"), "EndpointConnectionError"),
        (type("E", (Exception,), {"response": {"Error": {"Code": "Throttling!"}}})(), "Throttling"),
        (type("E", (Exception,), {"response": {"Error": {"Code": ""}}})(), "E"),
    ],
    ids=["class", "code", "empty-code"],
)
def test_error_type(error: Exception, expected: str) -> None:
    assert error_type(error) == expected
