"""On-demand recording control: start, pause, resume or stop the recording of a live call.

An application (agent desktop, supervisor tool, PCI workflow) calls :meth:`RecordingControl.pause`
and friends with the SIP media application id and the call's transaction id. The client sends
``UpdateSipMediaApplicationCall`` with ``Arguments`` built by
:func:`sma_recording.protocol.build_arguments`, the module the recording handler decodes them with,
so both sides share one contract.

Acceptance is asynchronous: the service answers HTTP 202 and *then* invokes the handler with
``CALL_UPDATE_REQUESTED``. A returned transaction id means the request was accepted, not that the
recording has changed state; the handler's own logs and the recording events say when it did.

The caller needs the IAM action ``chime:UpdateSipMediaApplicationCall`` (see
:data:`REQUIRED_IAM_ACTION`).

Errors all derive from :class:`RecordingControlError`:

* :class:`InvalidControlRequestError`: an id, command or call id was rejected before any request.
* :class:`ControlConfigurationError`: no Region, no credentials, an unknown profile, a bad endpoint.
* :class:`CallNotFoundError`: the call has ended, or the ids are wrong.
* :class:`ControlAccessDeniedError`: the caller lacks ``chime:UpdateSipMediaApplicationCall``.
* :class:`ControlThrottledError`: still throttled (or the service still unavailable) after every
  attempt.
* :class:`ControlServiceError`: any other error from the service, with its code and message.
* :class:`ControlConnectionError`: the endpoint could not be reached.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from botocore.config import Config
from botocore.exceptions import (
    ClientError,
    ConfigParseError,
    HTTPClientError,
    NoRegionError,
    ParamValidationError,
    SSLError,
    ValidationError,
)
from botocore.exceptions import ConnectionError as BotocoreConnectionError
from sma_recording.protocol import Command, ProtocolError, build_arguments

from cdk_recording import _aws

if TYPE_CHECKING:
    from mypy_boto3_chime_sdk_voice import ChimeSDKVoiceClient

__all__ = [
    "DEFAULT_BASE_DELAY",
    "DEFAULT_MAX_ATTEMPTS",
    "DEFAULT_MAX_DELAY",
    "REQUIRED_IAM_ACTION",
    "CallNotFoundError",
    "ControlAccessDeniedError",
    "ControlConfigurationError",
    "ControlConnectionError",
    "ControlServiceError",
    "ControlThrottledError",
    "InvalidControlRequestError",
    "RecordingControl",
    "RecordingControlError",
]

_LOG = logging.getLogger(__name__)

_OPERATION = "UpdateSipMediaApplicationCall"
#: The IAM action every control request needs.
REQUIRED_IAM_ACTION = "chime:UpdateSipMediaApplicationCall"

#: Attempts per request, the first included. With the default delays a request gives up after at
#: most about 7.5 s of waiting, which suits an agent clicking "pause".
DEFAULT_MAX_ATTEMPTS = 5
#: Backoff before the second attempt; it doubles per attempt (before jitter).
DEFAULT_BASE_DELAY = 0.5
#: Cap on a single backoff (before jitter).
DEFAULT_MAX_DELAY = 8.0

# The UpdateSipMediaApplicationCall quota is 5 TPS per Region, so throttling is expected under load.
_THROTTLING_CODES = frozenset(
    {
        "ThrottledClientException",
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "RequestThrottled",
        "RequestThrottledException",
        "SlowDown",
    }
)
_TRANSIENT_CODES = frozenset(
    {
        "ServiceUnavailableException",
        "ServiceFailureException",
        "ServiceUnavailable",
        "InternalFailure",
        "InternalServerError",
        "RequestTimeout",
        "RequestTimeoutException",
        "PriorRequestNotComplete",
    }
)
# Only consulted for error codes the service model does not name (a proxy or gateway answering).
_RETRYABLE_STATUS_CODES = frozenset({429, 500, 502, 503, 504})
_NOT_FOUND_CODES = frozenset({"NotFoundException"})
_ACCESS_DENIED_CODES = frozenset(
    {"ForbiddenException", "AccessDeniedException", "UnauthorizedClientException"}
)
_KNOWN_CODES = _THROTTLING_CODES | _TRANSIENT_CODES | _NOT_FOUND_CODES | _ACCESS_DENIED_CODES
_CREDENTIAL_ERRORS = _aws.CREDENTIAL_ERRORS


class RecordingControlError(Exception):
    """Base class of every error :class:`RecordingControl` raises."""


class InvalidControlRequestError(RecordingControlError, ValueError):
    """An argument was rejected before any request was sent."""


class ControlConfigurationError(RecordingControlError):
    """The AWS client could not be set up or sign: Region, credentials, profile, endpoint."""


class ControlConnectionError(RecordingControlError):
    """The endpoint could not be reached (after retries, where retrying made sense)."""


class ControlServiceError(RecordingControlError):
    """The service refused the request.

    :ivar code: the service's error code, e.g. ``BadRequestException``.
    :ivar service_message: the service's message, verbatim.
    :ivar status_code: the HTTP status, when known.
    :ivar request_id: the AWS request id, for a support case.
    """

    def __init__(
        self,
        message: str,
        *,
        code: str,
        service_message: str,
        status_code: int | None = None,
        request_id: str | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.service_message = service_message
        self.status_code = status_code
        self.request_id = request_id


class CallNotFoundError(ControlServiceError):
    """No such live call: it has ended, or the SIP media application or transaction id is wrong."""


class ControlAccessDeniedError(ControlServiceError):
    """The caller is not allowed ``chime:UpdateSipMediaApplicationCall``."""


class ControlThrottledError(ControlServiceError):
    """Throttled, or the service unavailable, on every attempt.

    :ivar attempts: how many requests were sent.
    """

    def __init__(
        self,
        message: str,
        *,
        attempts: int,
        code: str,
        service_message: str,
        status_code: int | None = None,
        request_id: str | None = None,
    ) -> None:
        super().__init__(
            message,
            code=code,
            service_message=service_message,
            status_code=status_code,
            request_id=request_id,
        )
        self.attempts = attempts


def _check_id(name: str, value: object) -> str:
    if not isinstance(value, str):
        raise InvalidControlRequestError(f"{name} must be a string, got {type(value).__name__}")
    if not value.strip():
        raise InvalidControlRequestError(f"{name} must not be empty")
    if value != value.strip() or not value.isprintable():
        raise InvalidControlRequestError(
            f"{name}={value!r} has surrounding whitespace or unprintable characters; "
            "pass the id exactly as the service gave it"
        )
    return value


def _check_positive(name: str, value: float) -> None:
    if value < 0:
        raise InvalidControlRequestError(f"{name}={value!r} must not be negative")


def _service_message(error: ClientError) -> tuple[str, str, int | None, str | None]:
    response = error.response
    details = response.get("Error", {})
    metadata = response.get("ResponseMetadata", {})
    code = details.get("Code") or "Unknown"
    message = details.get("Message") or str(error)
    return code, message, metadata.get("HTTPStatusCode"), metadata.get("RequestId")


def _is_retryable(error: ClientError) -> bool:
    code, _, status, _ = _service_message(error)
    if code in _THROTTLING_CODES or code in _TRANSIENT_CODES:
        return True
    return code not in _KNOWN_CODES and status in _RETRYABLE_STATUS_CODES


class RecordingControl:
    """Sends on-demand recording commands to live calls of a SIP media application.

    Each command is one ``UpdateSipMediaApplicationCall``. Throttling and transient service or
    connection failures are retried with exponential backoff and full jitter, at most
    ``max_attempts`` requests in all; every other error is raised at once.

    The Region, credentials and endpoint come the standard AWS ways (environment variables such as
    ``AWS_DEFAULT_REGION``, ``AWS_PROFILE``, ``AWS_ENDPOINT_URL_CHIME_SDK_VOICE`` or ``AWS_ENDPOINT_URL``,
    and the shared config files), unless given here.

    :param client: a ``chime-sdk-voice`` client to use as is, including its own retry settings
        (which add to the retries here). Mutually exclusive with ``region_name``, ``endpoint_url``
        and ``profile_name``. Default: a client is created, with botocore's own retries turned off
        so that ``max_attempts`` is the true bound.
    :param region_name: the SIP media application's Region. Default: the standard AWS configuration.
    :param endpoint_url: a different endpoint (a VPC endpoint, a local emulator). Default: the
        standard AWS configuration, else the Region's public endpoint.
    :param profile_name: the shared-config profile. Default: ``AWS_PROFILE``, else the default
        profile.
    :param max_attempts: requests per command, the first included. Default: 5.
    :param base_delay: seconds of backoff before the second attempt, doubling after each retry.
        Default: 0.5.
    :param max_delay: cap, in seconds, on one backoff. Default: 8.
    :param sleep: how to wait between attempts. Default: :func:`time.sleep`.
    :param jitter: returns a float in [0, 1) that scales each backoff. Default:
        :func:`random.random`.
    :raises InvalidControlRequestError: when a retry setting is out of range, or ``client`` is
        combined with a setting that only applies to a created client.
    :raises ControlConfigurationError: when no Region is configured, the profile does not exist, or
        the endpoint URL is not a URL.
    """

    def __init__(
        self,
        client: ChimeSDKVoiceClient | None = None,
        *,
        region_name: str | None = None,
        endpoint_url: str | None = None,
        profile_name: str | None = None,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        base_delay: float = DEFAULT_BASE_DELAY,
        max_delay: float = DEFAULT_MAX_DELAY,
        sleep: Callable[[float], None] | None = None,
        jitter: Callable[[], float] | None = None,
    ) -> None:
        if max_attempts < 1:
            raise InvalidControlRequestError(f"max_attempts={max_attempts!r} must be at least 1")
        _check_positive("base_delay", base_delay)
        _check_positive("max_delay", max_delay)
        self._max_attempts = max_attempts
        self._base_delay = base_delay
        self._max_delay = max_delay
        # Looked up now rather than at import, so a patched time.sleep applies.
        self._sleep = sleep if sleep is not None else time.sleep
        self._jitter = jitter if jitter is not None else random.random
        if client is not None:
            given = [
                name
                for name, value in (
                    ("region_name", region_name),
                    ("endpoint_url", endpoint_url),
                    ("profile_name", profile_name),
                )
                if value is not None
            ]
            if given:
                raise InvalidControlRequestError(
                    f"{', '.join(given)} cannot be combined with client: configure the client "
                    "instead, or leave client out and let RecordingControl create one"
                )
            self._client = client
        else:
            self._client = self._create_client(region_name, endpoint_url, profile_name)

    @staticmethod
    def _create_client(
        region_name: str | None, endpoint_url: str | None, profile_name: str | None
    ) -> ChimeSDKVoiceClient:
        # One retry layer only: botocore's would multiply the attempts made here, and does not treat
        # the service's modelled ThrottledClientException as throttling anyway.
        config = Config(retries={"mode": "standard", "total_max_attempts": 1})
        try:
            return _aws.session(profile_name).client(
                "chime-sdk-voice",
                region_name=region_name,
                endpoint_url=endpoint_url,
                config=config,
            )
        except _aws.AwsConfigurationError as error:
            raise ControlConfigurationError(str(error)) from error
        except NoRegionError as error:
            raise ControlConfigurationError(_aws.no_region_message(error)) from error
        except (ValidationError, ConfigParseError, ValueError) as error:
            raise ControlConfigurationError(f"invalid AWS client configuration: {error}") from error

    @property
    def client(self) -> ChimeSDKVoiceClient:
        """The ``chime-sdk-voice`` client requests go through."""
        return self._client

    def start(self, sma_id: str, transaction_id: str, call_id: str | None = None) -> str:
        """Start recording the call. See :meth:`send`."""
        return self.send(Command.START, sma_id, transaction_id, call_id)

    def pause(self, sma_id: str, transaction_id: str, call_id: str | None = None) -> str:
        """Pause the recording: audio is not captured until :meth:`resume`. See :meth:`send`."""
        return self.send(Command.PAUSE, sma_id, transaction_id, call_id)

    def resume(self, sma_id: str, transaction_id: str, call_id: str | None = None) -> str:
        """Resume a paused recording. See :meth:`send`."""
        return self.send(Command.RESUME, sma_id, transaction_id, call_id)

    def stop(self, sma_id: str, transaction_id: str, call_id: str | None = None) -> str:
        """Stop the recording. See :meth:`send`."""
        return self.send(Command.STOP, sma_id, transaction_id, call_id)

    def send(
        self,
        command: Command | str,
        sma_id: str,
        transaction_id: str,
        call_id: str | None = None,
    ) -> str:
        """Ask the SIP media application to run ``command`` on a live call.

        Acceptance is asynchronous: the service queues a ``CALL_UPDATE_REQUESTED`` invocation of the
        handler and returns. A return value means the request was accepted, not that the handler has
        run or that the recording has changed state.

        :param command: start, pause, resume or stop (a :class:`~sma_recording.protocol.Command` or
            its value).
        :param sma_id: the SIP media application id.
        :param transaction_id: the call's transaction id (from the handler's first event for inbound
            calls, or from ``CreateSipMediaApplicationCall`` for outbound calls).
        :param call_id: the leg to act on. Default: the leg the handler is configured to record.
        :returns: the transaction id the service accepted.
        :raises RecordingControlError: a subclass saying what went wrong; see the module docstring.
        """
        sma_id = _check_id("sma_id", sma_id)
        transaction_id = _check_id("transaction_id", transaction_id)
        try:
            arguments = build_arguments(command, call_id)
        except ProtocolError as error:
            raise InvalidControlRequestError(str(error)) from error

        attempt = 1
        while True:
            try:
                response = self._client.update_sip_media_application_call(
                    SipMediaApplicationId=sma_id,
                    TransactionId=transaction_id,
                    Arguments=arguments,
                )
            except ClientError as error:
                if attempt >= self._max_attempts or not _is_retryable(error):
                    raise self._translate(error, sma_id, transaction_id, attempt) from error
                self._back_off(attempt, _service_message(error)[0])
            except SSLError as error:
                raise ControlConnectionError(
                    f"TLS failure talking to {self._client.meta.endpoint_url}: {error}"
                ) from error
            except (BotocoreConnectionError, HTTPClientError) as error:
                if attempt >= self._max_attempts:
                    raise ControlConnectionError(
                        f"could not reach {self._client.meta.endpoint_url} after {attempt} "
                        f"attempt(s): {error}; check the Region, the endpoint URL and the network"
                    ) from error
                self._back_off(attempt, type(error).__name__)
            except _CREDENTIAL_ERRORS as error:
                raise ControlConfigurationError(
                    _aws.credentials_message(error, REQUIRED_IAM_ACTION)
                ) from error
            except (ParamValidationError, ValidationError) as error:
                raise InvalidControlRequestError(
                    f"the request does not match the {_OPERATION} API: {error}"
                ) from error
            else:
                accepted = response.get("SipMediaApplicationCall", {}).get("TransactionId")
                return accepted or transaction_id
            attempt += 1

    def _back_off(self, attempt: int, reason: str) -> None:
        ceiling = min(self._max_delay, self._base_delay * 2 ** (attempt - 1))
        delay = ceiling * self._jitter()
        _LOG.info(
            "%s: %s on attempt %d of %d; retrying in %.2fs",
            _OPERATION,
            reason,
            attempt,
            self._max_attempts,
            delay,
        )
        self._sleep(delay)

    @staticmethod
    def _translate(
        error: ClientError, sma_id: str, transaction_id: str, attempts: int
    ) -> ControlServiceError:
        code, message, status, request_id = _service_message(error)
        call = f"transaction {transaction_id} on SIP media application {sma_id}"
        if code in _NOT_FOUND_CODES:
            return CallNotFoundError(
                f"call not found: {call}; the call has ended, or the ids are wrong "
                f"({code}: {message})",
                code=code,
                service_message=message,
                status_code=status,
                request_id=request_id,
            )
        if code in _ACCESS_DENIED_CODES:
            return ControlAccessDeniedError(
                f"access denied for {call}: the caller needs IAM permission {REQUIRED_IAM_ACTION} "
                f"on this SIP media application ({code}: {message})",
                code=code,
                service_message=message,
                status_code=status,
                request_id=request_id,
            )
        if _is_retryable(error):
            advice = (
                "the default quota is 5 requests per second per Region: spread requests out or "
                "request a quota increase"
                if code in _THROTTLING_CODES or status == 429
                else "the service is unavailable: try again later"
            )
            return ControlThrottledError(
                f"{_OPERATION} for {call} still failed after {attempts} attempt(s) "
                f"({code}: {message}); {advice}",
                attempts=attempts,
                code=code,
                service_message=message,
                status_code=status,
                request_id=request_id,
            )
        return ControlServiceError(
            f"{_OPERATION} for {call} failed ({code}: {message})",
            code=code,
            service_message=message,
            status_code=status,
            request_id=request_id,
        )
