"""The chime-sdk-voice client as the resource handlers use it: retried, logged, clear errors."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from botocore.exceptions import ClientError

from chime_provider._events import ProviderError
from chime_provider._logging import EventLogger, mask_phone_numbers

if TYPE_CHECKING:
    from mypy_boto3_chime_sdk_voice import ChimeSDKVoiceClient

__all__ = [
    "CONFLICT",
    "NOT_FOUND",
    "RETRYABLE_ERROR_CODES",
    "Chime",
    "ChimeApiError",
    "ChimeClients",
    "RetryPolicy",
]

NOT_FOUND = "NotFoundException"
CONFLICT = "ConflictException"

#: Error codes retried with backoff on top of botocore's own (standard mode) retries: the service's
#: throttling (HTTP 429) and unavailability (503) errors, and the generic throttling codes.
RETRYABLE_ERROR_CODES = frozenset(
    {
        "ThrottledClientException",
        "ServiceUnavailableException",
        "TooManyRequestsException",
        "ThrottlingException",
        "Throttling",
    }
)
_RETRYABLE_STATUS_CODES = frozenset({429, 503})

# Values of these request fields are logged as sent; the rest only by shape (count of items or
# "<redacted>"), because the model marks LambdaArn, tags and phone-number names as sensitive.
_LOGGED_FIELDS = frozenset(
    {
        "AwsRegion",
        "AreaCode",
        "City",
        "Country",
        "Disabled",
        "E164PhoneNumber",
        "E164PhoneNumbers",
        "MaxResults",
        "PhoneNumberId",
        "PhoneNumberOrderId",
        "PhoneNumberType",
        "ProductType",
        "SipMediaApplicationId",
        "SipRuleId",
        "State",
        "TollFreePrefix",
        "TriggerType",
        "TriggerValue",
    }
)

_T = TypeVar("_T")


def _full_jitter(upper: float) -> float:
    return random.uniform(0, upper)  # noqa: S311 - backoff jitter, not cryptography


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded exponential backoff with full jitter.

    The n-th retry waits a random time in ``[0, min(max_delay, base_delay * 2**n)]``. ``sleep`` and
    ``jitter`` are injectable so tests never wait.
    """

    max_attempts: int = 5
    base_delay: float = 1.0
    max_delay: float = 20.0
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False)
    jitter: Callable[[float], float] = field(default=_full_jitter, repr=False)

    def delay(self, retry: int) -> float:
        """How long to wait before retry number ``retry`` (0-based)."""
        return self.jitter(min(self.max_delay, self.base_delay * 2**retry))


class ChimeApiError(ProviderError):
    """A chime-sdk-voice call that failed; the message names the operation, code and reason."""

    def __init__(self, operation: str, code: str, message: str) -> None:
        # The reason lands in stack events and in the Lambda's error log: mask numbers there too.
        super().__init__(
            mask_phone_numbers(f"chime-sdk-voice {operation} failed with {code}: {message}")
        )
        self.operation = operation
        self.code = code
        self.service_message = message


class Chime:
    """One region's client, wrapped so every call is retried when throttled and logged once."""

    def __init__(self, client: ChimeSDKVoiceClient, retry: RetryPolicy, log: EventLogger) -> None:
        self.client = client
        self._retry = retry
        self._log = log

    def call(
        self,
        method: Callable[..., _T],
        /,
        *,
        retry_codes: Collection[str] = (),
        **params: Any,
    ) -> _T:
        """Call ``method`` (a method of :attr:`client`) with ``params``.

        Throttling and unavailability are retried with backoff, and so are ``retry_codes`` (for
        errors a caller knows to be transient). Any other error raises :class:`ChimeApiError`.
        """
        operation = self.client.meta.method_to_api_mapping.get(method.__name__, method.__name__)
        summary = _summarize(params)
        started = time.monotonic()
        attempt = 1
        while True:
            try:
                result = method(**params)
            except ClientError as error:
                code, message, status = _error_details(error)
                retryable = (
                    code in RETRYABLE_ERROR_CODES
                    or code in retry_codes
                    or status in _RETRYABLE_STATUS_CODES
                )
                if retryable and attempt < self._retry.max_attempts:
                    delay = self._retry.delay(attempt - 1)
                    self._log.warning(
                        "chime call retried",
                        operation=operation,
                        attempt=attempt,
                        error_code=code,
                        delay_seconds=round(delay, 3),
                    )
                    self._retry.sleep(delay)
                    attempt += 1
                    continue
                self._log.info(
                    "chime call",
                    operation=operation,
                    outcome="error",
                    error_code=code,
                    attempts=attempt,
                    duration_ms=_elapsed_ms(started),
                    params=summary,
                )
                raise ChimeApiError(operation, code, message) from error
            self._log.info(
                "chime call",
                operation=operation,
                outcome="ok",
                attempts=attempt,
                duration_ms=_elapsed_ms(started),
                params=summary,
            )
            return result


class ChimeClients:
    """Hands out a :class:`Chime` per region, all logging with one event's correlation fields."""

    def __init__(
        self,
        client_for: Callable[[str], ChimeSDKVoiceClient],
        default_region: str,
        retry: RetryPolicy,
        log: EventLogger,
    ) -> None:
        self._client_for = client_for
        self.default_region = default_region
        self._retry = retry
        self.log = log

    def region(self, name: str | None = None) -> Chime:
        """The client for ``name``, or for the provider's own region when ``name`` is None."""
        return Chime(self._client_for(name or self.default_region), self._retry, self.log)


def _error_details(error: ClientError) -> tuple[str, str, int | None]:
    details = error.response.get("Error", {})
    code = details.get("Code") or "UnknownError"
    message = details.get("Message") or str(error)
    status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return code, message, status


def _summarize(params: Mapping[str, Any]) -> dict[str, object]:
    summary: dict[str, object] = {}
    for name, value in params.items():
        if name in _LOGGED_FIELDS:
            summary[name] = value
        elif isinstance(value, list | tuple):
            summary[name] = f"<{len(value)} items>"
        else:
            summary[name] = "<redacted>"
    return summary


def _elapsed_ms(started: float) -> int:
    return round((time.monotonic() - started) * 1000)
