"""Fixtures for the control client, the console script and the report renderer.

Every test runs with an empty AWS environment (no credentials, no Region, no config files, no
instance metadata), so nothing can reach a real account. Tests that need a client ask for
``chime_client`` (a real botocore client with dummy credentials, to wrap in a ``Stubber``) or for
``fake_chime`` (a local HTTP endpoint that answers like chime-sdk-voice, for the console script).
"""

from __future__ import annotations

import json
import os
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
import pytest

if TYPE_CHECKING:
    from mypy_boto3_chime_sdk_voice import ChimeSDKVoiceClient

DATA = Path(__file__).parent / "data"
SMA_ID = "a1b2c3d4-0000-4000-8000-000000000001"
TRANSACTION_ID = "7e4f2b1c-0000-4000-8000-000000000002"
CALL_ID = "0f9e8d7c-0000-4000-8000-000000000003"


@pytest.fixture(autouse=True)
def isolated_aws(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "absent-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "absent-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")


@pytest.fixture
def aws_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDTESTING")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing-secret")


@pytest.fixture
def chime_client(aws_credentials: None) -> ChimeSDKVoiceClient:
    # A fresh session per test: the default session would cache credentials across tests.
    return boto3.session.Session().client("chime-sdk-voice", region_name="us-east-1")


class SleepRecorder:
    """Stands in for time.sleep: records the delays instead of waiting."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


@pytest.fixture
def sleep() -> SleepRecorder:
    return SleepRecorder()


@dataclass
class Reply:
    status: int
    body: dict[str, Any]
    error_type: str | None = None


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: dict[str, Any]


@dataclass
class FakeChime:
    """A local chime-sdk-voice endpoint: answers 202 unless replies are queued, records requests."""

    url: str = ""
    replies: list[Reply] = field(default_factory=list)
    requests: list[Received] = field(default_factory=list)

    def fail(self, status: int, code: str, message: str, *, times: int = 1) -> None:
        self.replies.extend(Reply(status, {"Message": message}, code) for _ in range(times))


@pytest.fixture
def fake_chime() -> Iterator[FakeChime]:
    fake = FakeChime()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = json.loads(self.rfile.read(length) or b"{}")
            fake.requests.append(Received("POST", self.path, dict(self.headers.items()), body))
            if fake.replies:
                reply = fake.replies.pop(0)
            else:
                transaction_id = self.path.rstrip("/").rsplit("/", 1)[-1]
                reply = Reply(202, {"SipMediaApplicationCall": {"TransactionId": transaction_id}})
            payload = json.dumps(reply.body).encode()
            self.send_response(reply.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.send_header("x-amzn-RequestId", "fake-request-id")
            if reply.error_type:
                self.send_header("x-amzn-ErrorType", reply.error_type)
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: object) -> None:
            pass  # keep the test's stderr for the code under test

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture
def closed_port_url() -> str:
    """An endpoint URL nothing listens on (the port was bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def report_data(name: str) -> dict[str, Any]:
    """A fixture report, decoded (so a test can damage a copy)."""
    data: dict[str, Any] = json.loads((DATA / f"{name}-report.json").read_text(encoding="utf-8"))
    return data
