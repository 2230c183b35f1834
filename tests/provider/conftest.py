"""Fixtures for the chime-sdk-voice provider: a real boto3 client under botocore's Stubber.

The Stubber checks every request against the chime-sdk-voice service model; teardown fails a test
whose expected calls did not all happen.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.exceptions import ReadTimeoutError
from botocore.stub import Stubber
from chime_provider._chime import RetryPolicy
from chime_provider.handler import Runtime

ACCOUNT = "123456789012"
REGION = "us-east-1"
SERVICE_TOKEN = (
    f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:Recording-ProviderframeworkonEvent-1A2B3C"
)
#: The provider's wall clock in tests, and the timestamp of every stubbed resource.
NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
STACK_ID = (
    f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/Recording/"
    "1f3c9a80-aa2b-11ef-9c61-0a1b2c3d4e5f"
)


@pytest.fixture(autouse=True)
def _dummy_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    for name in ("AWS_PROFILE", "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "testing")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))


@pytest.fixture
def client() -> Any:
    return boto3.client("chime-sdk-voice", region_name=REGION)


@pytest.fixture
def stubber(client: Any) -> Iterator[Stubber]:
    with Stubber(client) as stub:
        yield stub
        stub.assert_no_pending_responses()


@pytest.fixture
def sleeps() -> list[float]:
    """Every backoff delay the provider asked for, instead of sleeping."""
    return []


@pytest.fixture
def regions() -> list[str]:
    """The Region of every client the provider asked for."""
    return []


class Clock:
    """A wall clock (epoch seconds) that only moves when a test moves it."""

    def __init__(self, now: datetime) -> None:
        self.now = now.timestamp()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> Clock:
    return Clock(NOW)


@pytest.fixture
def runtime(
    client: Any, stubber: Stubber, sleeps: list[float], regions: list[str], clock: Clock
) -> Runtime:
    def client_for(region: str) -> Any:
        regions.append(region)
        return client

    return Runtime(
        client_for=client_for,
        default_region=REGION,
        # The upper bound of each jittered delay, so tests can assert on it.
        retry=RetryPolicy(sleep=sleeps.append, jitter=lambda upper: upper),
        clock=clock,
    )


def lose_reply(client: Any, operation: str, error: Exception | None = None) -> None:
    """Make the next ``operation`` call raise ``error`` after the stubbed service handled it.

    The Stubber has consumed the call's expected response by then: the request landed and only its
    reply was lost, which is what a read timeout or a dropped connection can hide. Default error:
    a read timeout.
    """
    pending = [
        error or ReadTimeoutError(endpoint_url=f"https://voice-chime.{REGION}.amazonaws.com")
    ]

    def raise_once(**_: Any) -> None:
        if pending:
            raise pending.pop()

    client.meta.events.register(f"after-call.chime-sdk-voice.{operation}", raise_once)


def _with_token(properties: Mapping[str, Any]) -> dict[str, Any]:
    return {"ServiceToken": SERVICE_TOKEN, **properties}


@pytest.fixture
def cfn_event() -> Callable[..., dict[str, Any]]:
    """Build a CloudFormation custom-resource event as the Provider framework forwards it."""

    def build(
        request_type: str,
        resource_type: str,
        properties: Mapping[str, Any],
        *,
        physical_id: str | None = None,
        old_properties: Mapping[str, Any] | None = None,
        logical_id: str = "Resource",
    ) -> dict[str, Any]:
        event: dict[str, Any] = {
            "RequestType": request_type,
            "ServiceToken": SERVICE_TOKEN,
            "ResponseURL": "https://cloudformation-custom-resource-response-useast1.s3.amazonaws.com/x",
            "StackId": STACK_ID,
            "RequestId": str(uuid.uuid4()),
            "LogicalResourceId": logical_id,
            "ResourceType": resource_type,
            "ResourceProperties": _with_token(properties),
        }
        if physical_id is not None:
            event["PhysicalResourceId"] = physical_id
        if old_properties is not None:
            event["OldResourceProperties"] = _with_token(old_properties)
        return event

    return build


def fail_before_send(client: Any, operation: str, error: Exception) -> None:
    """Make the next ``operation`` call raise ``error`` before the request leaves the client.

    The call's expected response stays queued in the Stubber for the next attempt: the service
    never saw this one (no connection, a connect timeout).
    """
    pending = [error]

    def raise_once(**_: Any) -> None:
        if pending:
            raise pending.pop()

    # The first event of a call, before the Stubber checks it against its queue.
    client.meta.events.register(f"provide-client-params.chime-sdk-voice.{operation}", raise_once)


def unavailable(stubber: Stubber, operation: str) -> None:
    """The next ``operation`` answers 503 ServiceUnavailableException (outcome unknown)."""
    stubber.add_client_error(
        operation,
        service_error_code="ServiceUnavailableException",
        service_message="try later",
        http_status_code=503,
    )


def throttled(stubber: Stubber, operation: str) -> None:
    """The next ``operation`` answers 429 ThrottledClientException (rejected, safe to retry)."""
    stubber.add_client_error(
        operation,
        service_error_code="ThrottledClientException",
        service_message="Rate exceeded",
        http_status_code=429,
    )
