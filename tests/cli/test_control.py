"""RecordingControl against a real chime-sdk-voice client: Stubber for the API, a local endpoint for
retries the client must bound itself, and the standard AWS configuration for Region and endpoint."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from botocore.stub import Stubber
from sma_recording.protocol import Command

from cdk_recording.control import (
    REQUIRED_IAM_ACTION,
    CallNotFoundError,
    ControlAccessDeniedError,
    ControlConfigurationError,
    ControlConnectionError,
    ControlServiceError,
    ControlThrottledError,
    InvalidControlRequestError,
    RecordingControl,
    RecordingControlError,
)
from tests.cli.conftest import CALL_ID, SMA_ID, TRANSACTION_ID, FakeChime, SleepRecorder

if TYPE_CHECKING:
    from mypy_boto3_chime_sdk_voice import ChimeSDKVoiceClient

OPERATION = "update_sip_media_application_call"


def accepted(transaction_id: str = TRANSACTION_ID) -> dict[str, Any]:
    return {"SipMediaApplicationCall": {"TransactionId": transaction_id}}


def expected(command: str, call_id: str | None = None) -> dict[str, Any]:
    arguments = {"recording": command}
    if call_id is not None:
        arguments["callId"] = call_id
    return {
        "SipMediaApplicationId": SMA_ID,
        "TransactionId": TRANSACTION_ID,
        "Arguments": arguments,
    }


def control_for(
    client: ChimeSDKVoiceClient, sleep: SleepRecorder, **options: Any
) -> RecordingControl:
    # jitter=1.0 makes every backoff its ceiling, so the delays are exact.
    return RecordingControl(client, sleep=sleep, jitter=lambda: 1.0, **options)


def add_error(stubber: Stubber, code: str, status: int, message: str = "message") -> None:
    stubber.add_client_error(
        OPERATION,
        service_error_code=code,
        service_message=message,
        http_status_code=status,
        expected_params=expected("pause"),
    )


# -- each command sends the protocol's arguments -----------------------------------------------------


@pytest.mark.parametrize("command", ["start", "pause", "resume", "stop"])
def test_each_command_sends_its_protocol_arguments(
    chime_client: ChimeSDKVoiceClient, sleep: SleepRecorder, command: str
) -> None:
    control = control_for(chime_client, sleep)
    with Stubber(chime_client) as stubber:
        stubber.add_response(OPERATION, accepted(), expected(command))
        result = getattr(control, command)(SMA_ID, TRANSACTION_ID)
        stubber.assert_no_pending_responses()
    assert result == TRANSACTION_ID
    assert sleep.delays == []


@pytest.mark.parametrize("command", list(Command))
def test_call_id_names_the_leg_in_the_arguments(
    chime_client: ChimeSDKVoiceClient, sleep: SleepRecorder, command: Command
) -> None:
    control = control_for(chime_client, sleep)
    with Stubber(chime_client) as stubber:
        stubber.add_response(OPERATION, accepted(), expected(command.value, CALL_ID))
        control.send(command, SMA_ID, TRANSACTION_ID, call_id=CALL_ID)
        stubber.assert_no_pending_responses()


def test_send_accepts_the_command_as_text(
    chime_client: ChimeSDKVoiceClient, sleep: SleepRecorder
) -> None:
    control = control_for(chime_client, sleep)
    with Stubber(chime_client) as stubber:
        stubber.add_response(OPERATION, accepted(), expected("resume"))
        control.send(" Resume ", SMA_ID, TRANSACTION_ID)
        stubber.assert_no_pending_responses()


def test_returns_the_transaction_id_the_service_accepted(
    chime_client: ChimeSDKVoiceClient, sleep: SleepRecorder
) -> None:
    control = control_for(chime_client, sleep)
    with Stubber(chime_client) as stubber:
        stubber.add_response(OPERATION, accepted("accepted-by-service"), expected("stop"))
        assert control.stop(SMA_ID, TRANSACTION_ID) == "accepted-by-service"


def test_returns_the_requested_transaction_id_when_the_response_omits_it(
    chime_client: ChimeSDKVoiceClient, sleep: SleepRecorder
) -> None:
    control = control_for(chime_client, sleep)
    with Stubber(chime_client) as stubber:
        stubber.add_response(OPERATION, {}, expected("stop"))
        assert control.stop(SMA_ID, TRANSACTION_ID) == TRANSACTION_ID


# -- retries ------------------------------------------------------------------------------------------


def test_throttling_is_retried_with_exponential_backoff_then_succeeds(
    chime_client: ChimeSDKVoiceClient, sleep: SleepRecorder
) -> None:
    control = control_for(chime_client, sleep, base_delay=0.5)
    with Stubber(chime_client) as stubber:
        add_error(stubber, "ThrottledClientException", 429)
        add_error(stubber, "ThrottledClientException", 429)
        stubber.add_response(OPERATION, accepted(), expected("pause"))
        assert control.pause(SMA_ID, TRANSACTION_ID) == TRANSACTION_ID
        stubber.assert_no_pending_responses()
    assert sleep.delays == [0.5, 1.0]


@pytest.mark.parametrize(
    ("code", "status"),
    [
        ("ServiceUnavailableException", 503),
        ("ServiceFailureException", 500),
        ("ThrottlingException", 400),
        ("BadGateway", 502),  # not in the model: a gateway in front of the service
    ],
)
def test_transient_errors_are_retried(
    chime_client: ChimeSDKVoiceClient, sleep: SleepRecorder, code: str, status: int
) -> None:
    control = control_for(chime_client, sleep)
    with Stubber(chime_client) as stubber:
        add_error(stubber, code, status)
        stubber.add_response(OPERATION, accepted(), expected("pause"))
        control.pause(SMA_ID, TRANSACTION_ID)
        stubber.assert_no_pending_responses()
    assert len(sleep.delays) == 1


def test_backoff_is_capped_and_scaled_by_jitter(
    chime_client: ChimeSDKVoiceClient, sleep: SleepRecorder
) -> None:
    control = RecordingControl(
        chime_client,
        max_attempts=5,
        base_delay=1.0,
        max_delay=3.0,
        sleep=sleep,
        jitter=lambda: 0.5,
    )
    with Stubber(chime_client) as stubber:
        for _ in range(4):
            add_error(stubber, "ThrottledClientException", 429)
        stubber.add_response(OPERATION, accepted(), expected("pause"))
        control.pause(SMA_ID, TRANSACTION_ID)
        stubber.assert_no_pending_responses()
    # Ceilings 1, 2, 4 -> capped at 3, 8 -> capped at 3; each scaled by the jitter draw.
    assert sleep.delays == [0.5, 1.0, 1.5, 1.5]


def test_gives_up_after_max_attempts_with_a_throttled_error(
    chime_client: ChimeSDKVoiceClient, sleep: SleepRecorder
) -> None:
    control = control_for(chime_client, sleep, max_attempts=3)
    with Stubber(chime_client) as stubber:
        for _ in range(3):
            add_error(stubber, "ThrottledClientException", 429, "Rate exceeded")
        with pytest.raises(ControlThrottledError) as caught:
            control.pause(SMA_ID, TRANSACTION_ID)
        stubber.assert_no_pending_responses()
    error = caught.value
    assert (error.attempts, error.code, error.service_message) == (
        3,
        "ThrottledClientException",
        "Rate exceeded",
    )
    assert "5 requests per second" in str(error)
    assert len(sleep.delays) == 2


def test_gives_up_on_an_unavailable_service_without_quota_advice(
    chime_client: ChimeSDKVoiceClient, sleep: SleepRecorder
) -> None:
    control = control_for(chime_client, sleep, max_attempts=2)
    with Stubber(chime_client) as stubber:
        add_error(stubber, "ServiceUnavailableException", 503)
        add_error(stubber, "ServiceUnavailableException", 503)
        with pytest.raises(ControlThrottledError, match="service is unavailable"):
            control.pause(SMA_ID, TRANSACTION_ID)


def test_one_attempt_means_no_retry(
    chime_client: ChimeSDKVoiceClient, sleep: SleepRecorder
) -> None:
    control = control_for(chime_client, sleep, max_attempts=1)
    with Stubber(chime_client) as stubber:
        add_error(stubber, "ThrottledClientException", 429)
        with pytest.raises(ControlThrottledError):
            control.pause(SMA_ID, TRANSACTION_ID)
    assert sleep.delays == []


def test_created_client_makes_exactly_max_attempts_requests(
    aws_credentials: None, fake_chime: FakeChime, sleep: SleepRecorder
) -> None:
    # botocore's own retries would resend a 503 on top of ours; the wire shows they are off.
    fake_chime.fail(503, "ServiceUnavailableException", "down", times=10)
    control = RecordingControl(
        region_name="us-east-1", endpoint_url=fake_chime.url, max_attempts=3, sleep=sleep
    )
    with pytest.raises(ControlThrottledError):
        control.pause(SMA_ID, TRANSACTION_ID)
    assert len(fake_chime.requests) == 3
    assert len(sleep.delays) == 2


def test_unreachable_endpoint_is_retried_then_reported(
    aws_credentials: None, closed_port_url: str, sleep: SleepRecorder
) -> None:
    control = RecordingControl(
        region_name="us-east-1", endpoint_url=closed_port_url, max_attempts=2, sleep=sleep
    )
    with pytest.raises(ControlConnectionError, match=r"could not reach .* after 2 attempt"):
        control.start(SMA_ID, TRANSACTION_ID)
    assert len(sleep.delays) == 1


# -- errors that are not retried ---------------------------------------------------------------------


def test_call_that_ended_raises_call_not_found(
    chime_client: ChimeSDKVoiceClient, sleep: SleepRecorder
) -> None:
    control = control_for(chime_client, sleep)
    with Stubber(chime_client) as stubber:
        add_error(stubber, "NotFoundException", 404, "Call not found")
        with pytest.raises(CallNotFoundError) as caught:
            control.pause(SMA_ID, TRANSACTION_ID)
        stubber.assert_no_pending_responses()
    message = str(caught.value)
    assert "the call has ended, or the ids are wrong" in message
    assert TRANSACTION_ID in message
    assert SMA_ID in message
    assert caught.value.status_code == 404
    assert sleep.delays == []


@pytest.mark.parametrize(
    ("code", "status"),
    [
        ("ForbiddenException", 403),
        ("AccessDeniedException", 403),
        ("UnauthorizedClientException", 401),
    ],
)
def test_access_denied_names_the_iam_action(
    chime_client: ChimeSDKVoiceClient, sleep: SleepRecorder, code: str, status: int
) -> None:
    control = control_for(chime_client, sleep)
    with Stubber(chime_client) as stubber:
        add_error(stubber, code, status, "User is not authorized")
        with pytest.raises(ControlAccessDeniedError) as caught:
            control.pause(SMA_ID, TRANSACTION_ID)
        stubber.assert_no_pending_responses()
    assert REQUIRED_IAM_ACTION == "chime:UpdateSipMediaApplicationCall"
    assert REQUIRED_IAM_ACTION in str(caught.value)
    assert caught.value.code == code
    assert sleep.delays == []


@pytest.mark.parametrize(
    ("code", "status"),
    [("BadRequestException", 400), ("ResourceLimitExceededException", 400)],
)
def test_other_service_errors_carry_code_and_message(
    chime_client: ChimeSDKVoiceClient, sleep: SleepRecorder, code: str, status: int
) -> None:
    control = control_for(chime_client, sleep)
    with Stubber(chime_client) as stubber:
        add_error(stubber, code, status, "Something specific went wrong")
        with pytest.raises(ControlServiceError) as caught:
            control.pause(SMA_ID, TRANSACTION_ID)
        stubber.assert_no_pending_responses()
    error = caught.value
    assert type(error) is ControlServiceError
    assert (error.code, error.service_message, error.status_code) == (
        code,
        "Something specific went wrong",
        status,
    )
    assert f"{code}: Something specific went wrong" in str(error)
    assert sleep.delays == []


def test_every_error_shares_one_base_class() -> None:
    for error in (
        InvalidControlRequestError,
        ControlConfigurationError,
        ControlConnectionError,
        ControlServiceError,
        CallNotFoundError,
        ControlAccessDeniedError,
        ControlThrottledError,
    ):
        assert issubclass(error, RecordingControlError)


# -- validation before any request -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sma_id", "transaction_id", "call_id", "named"),
    [
        ("", TRANSACTION_ID, None, "sma_id must not be empty"),
        ("   ", TRANSACTION_ID, None, "sma_id must not be empty"),
        (SMA_ID, "", None, "transaction_id must not be empty"),
        (SMA_ID, f" {TRANSACTION_ID}\n", None, "transaction_id="),
        (SMA_ID, TRANSACTION_ID, "", "callId must be a non-empty"),
    ],
)
def test_bad_ids_are_rejected_before_any_request(
    chime_client: ChimeSDKVoiceClient,
    sleep: SleepRecorder,
    sma_id: str,
    transaction_id: str,
    call_id: str | None,
    named: str,
) -> None:
    control = control_for(chime_client, sleep)
    # No response is queued: a request would fail the test with UnStubbedResponseError.
    with Stubber(chime_client), pytest.raises(InvalidControlRequestError, match=named):
        control.pause(sma_id, transaction_id, call_id)


def test_unknown_command_is_rejected_before_any_request(
    chime_client: ChimeSDKVoiceClient, sleep: SleepRecorder
) -> None:
    control = control_for(chime_client, sleep)
    with (
        Stubber(chime_client),
        pytest.raises(InvalidControlRequestError, match="start, pause, resume, stop"),
    ):
        control.send("rewind", SMA_ID, TRANSACTION_ID)


@pytest.mark.parametrize(
    ("options", "named"),
    [
        ({"max_attempts": 0}, "max_attempts=0"),
        ({"base_delay": -1.0}, "base_delay=-1.0"),
        ({"max_delay": -0.5}, "max_delay=-0.5"),
    ],
)
def test_bad_retry_settings_are_rejected(
    chime_client: ChimeSDKVoiceClient, options: dict[str, Any], named: str
) -> None:
    with pytest.raises(InvalidControlRequestError, match=named):
        RecordingControl(chime_client, **options)


def test_injected_client_excludes_client_settings(chime_client: ChimeSDKVoiceClient) -> None:
    with pytest.raises(InvalidControlRequestError, match="region_name, profile_name cannot"):
        RecordingControl(chime_client, region_name="us-east-1", profile_name="agent")


# -- Region, endpoint, profile and credentials the standard AWS ways ---------------------------------


def test_region_comes_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, aws_credentials: None
) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-central-1")
    control = RecordingControl()
    assert control.client.meta.region_name == "eu-central-1"
    assert control.client.meta.endpoint_url == "https://voice-chime.eu-central-1.amazonaws.com"


def test_explicit_region_wins_over_the_environment(
    monkeypatch: pytest.MonkeyPatch, aws_credentials: None
) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-central-1")
    assert RecordingControl(region_name="us-west-2").client.meta.region_name == "us-west-2"


@pytest.mark.parametrize("variable", ["AWS_ENDPOINT_URL_CHIME_SDK_VOICE", "AWS_ENDPOINT_URL"])
def test_endpoint_comes_from_the_standard_environment_variables(
    monkeypatch: pytest.MonkeyPatch, aws_credentials: None, variable: str
) -> None:
    monkeypatch.setenv(variable, "http://127.0.0.1:4566")
    control = RecordingControl(region_name="us-east-1")
    assert control.client.meta.endpoint_url == "http://127.0.0.1:4566"


def test_explicit_endpoint_wins_over_the_environment(
    monkeypatch: pytest.MonkeyPatch, aws_credentials: None
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_CHIME_SDK_VOICE", "http://127.0.0.1:4566")
    control = RecordingControl(region_name="us-east-1", endpoint_url="http://127.0.0.1:9999")
    assert control.client.meta.endpoint_url == "http://127.0.0.1:9999"


def test_profile_supplies_region_and_credentials(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, fake_chime: FakeChime
) -> None:
    config = tmp_path / "config"
    config.write_text(
        "[profile agent]\nregion = ap-southeast-2\n"
        "aws_access_key_id = AKIDAGENT\naws_secret_access_key = agent-secret\n"
    )
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    control = RecordingControl(profile_name="agent", endpoint_url=fake_chime.url)
    control.start(SMA_ID, TRANSACTION_ID)
    authorization = fake_chime.requests[0].headers["Authorization"]
    assert "Credential=AKIDAGENT/" in authorization
    assert "/ap-southeast-2/chime/aws4_request" in authorization


def test_no_region_is_a_configuration_error(aws_credentials: None) -> None:
    with pytest.raises(ControlConfigurationError, match="no AWS Region is configured"):
        RecordingControl()


def test_unknown_profile_is_a_configuration_error() -> None:
    with pytest.raises(ControlConfigurationError, match="profile nobody was not found"):
        RecordingControl(profile_name="nobody", region_name="us-east-1")


def test_malformed_endpoint_is_a_configuration_error(aws_credentials: None) -> None:
    with pytest.raises(ControlConfigurationError, match="not a url"):
        RecordingControl(region_name="us-east-1", endpoint_url="not a url")


def test_no_credentials_is_a_configuration_error(
    fake_chime: FakeChime, sleep: SleepRecorder
) -> None:
    control = RecordingControl(region_name="us-east-1", endpoint_url=fake_chime.url, sleep=sleep)
    with pytest.raises(ControlConfigurationError, match="no usable AWS credentials"):
        control.start(SMA_ID, TRANSACTION_ID)
    assert fake_chime.requests == []
    assert sleep.delays == []
