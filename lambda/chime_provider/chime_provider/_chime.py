"""The chime-sdk-voice client as the resource handlers use it: retried, logged, clear errors.

There is one retry layer, :class:`RetryPolicy`: the provider builds its boto3 clients with
botocore's retries turned off, so the bounds here are the true bounds. A failed request falls in one
of three groups:

* rejected before the service processed it: throttling (``ThrottledClientException``, HTTP 429)
  and connection failures (the request never left). Any call is retried.
* outcome unknown: HTTP 5xx, a read timeout, a connection closed before the reply. The service may
  have carried the request out. :meth:`Chime.call` retries it, which is safe for the reads, updates
  and deletes it is used for. A create must go through :meth:`Chime.create`, which first asks the
  caller whether the attempt landed and adopts what it finds, and retries only if nothing did.
* anything else (4xx, TLS failures): raised at once as :class:`ChimeApiError`.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from botocore.exceptions import ClientError, HTTPClientError, SSLError
from botocore.exceptions import ConnectionError as BotocoreConnectionError

from chime_provider._events import ProviderError
from chime_provider._logging import EventLogger, mask_phone_numbers

if TYPE_CHECKING:
    from mypy_boto3_chime_sdk_voice import ChimeSDKVoiceClient

__all__ = [
    "CONFLICT",
    "NOT_FOUND",
    "THROTTLING_ERROR_CODES",
    "TRANSIENT_ERROR_CODES",
    "Chime",
    "ChimeApiError",
    "ChimeClients",
    "FailureKind",
    "RetryPolicy",
]

NOT_FOUND = "NotFoundException"
CONFLICT = "ConflictException"

#: The service refused the request before processing it (HTTP 429): a retry cannot duplicate it.
THROTTLING_ERROR_CODES = frozenset(
    {
        "ThrottledClientException",
        "TooManyRequestsException",
        "ThrottlingException",
        "Throttling",
    }
)
#: Server-side failures (HTTP 5xx): the request may or may not have been carried out.
TRANSIENT_ERROR_CODES = frozenset(
    {
        "ServiceUnavailableException",
        "ServiceFailureException",
        "InternalFailure",
        "InternalServerError",
        "RequestTimeout",
        "RequestTimeoutException",
    }
)
_THROTTLED_STATUS = 429
_TRANSIENT_STATUS_CODES = frozenset({500, 502, 503, 504})

#: ``rejected``: not processed, safe to repeat; ``unknown``: may have been processed; ``final``:
#: an answer that repeating will not change.
FailureKind = Literal["rejected", "unknown", "final"]

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
_R = TypeVar("_R")


def _full_jitter(upper: float) -> float:
    return random.uniform(0, upper)  # noqa: S311 - backoff jitter, not cryptography


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded exponential backoff with full jitter.

    The n-th retry waits a random time in ``[0, min(max_delay, base_delay * 2**n)]``. ``sleep`` and
    ``jitter`` are injectable so tests never wait. ``max_attempts`` counts every request, the first
    included.
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
    """A chime-sdk-voice call that failed; the message names the operation, code and reason.

    ``kind`` tells whether the request may have been carried out (see :data:`FailureKind`).
    """

    def __init__(
        self, operation: str, code: str, message: str, kind: FailureKind = "final"
    ) -> None:
        # The reason lands in stack events and in the Lambda's error log: mask numbers there too.
        super().__init__(
            mask_phone_numbers(f"chime-sdk-voice {operation} failed with {code}: {message}")
        )
        self.operation = operation
        self.code = code
        self.service_message = message
        self.kind: FailureKind = kind

    @property
    def transient(self) -> bool:
        """Whether asking again later may succeed (throttling, 5xx, network trouble)."""
        return self.kind != "final"


# The failures a call can raise that this module judges; anything else (invalid parameters,
# missing credentials) is a programming or configuration error and propagates unchanged.
_CallError = (ClientError, HTTPClientError, BotocoreConnectionError)


@dataclass(frozen=True)
class _Failure:
    code: str
    message: str
    kind: FailureKind


def _failure(error: Exception) -> _Failure:
    if isinstance(error, ClientError):
        code, message, status = _error_details(error)
        if code in THROTTLING_ERROR_CODES or status == _THROTTLED_STATUS:
            return _Failure(code, message, "rejected")
        if code in TRANSIENT_ERROR_CODES or status in _TRANSIENT_STATUS_CODES:
            return _Failure(code, message, "unknown")
        return _Failure(code, message, "final")
    name = type(error).__name__
    if isinstance(error, SSLError):
        # A certificate or TLS setup problem: repeating the handshake will not fix it.
        return _Failure(name, str(error), "final")
    if isinstance(error, BotocoreConnectionError):
        # No connection, so no request: endpoint unreachable, connect timeout, proxy refused.
        return _Failure(name, str(error), "rejected")
    # Read timeout or connection closed mid-reply: the request was sent and may have landed.
    return _Failure(name, str(error), "unknown")


class Chime:
    """One region's client, wrapped so every call is retried when that is safe and logged once."""

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

        For calls that are safe to repeat (reads, updates, deletes). Throttling, 5xx and network
        failures are retried with backoff, and so are ``retry_codes`` (errors a caller knows to be
        transient). Any other error, or the last attempt's, raises :class:`ChimeApiError`.
        """
        operation = self._operation(method)
        summary = _summarize(params)
        started = time.monotonic()
        attempt = 1
        while True:
            try:
                result = method(**params)
            except _CallError as error:
                failure = _failure(error)
                retryable = failure.kind != "final" or failure.code in retry_codes
                if retryable and attempt < self._retry.max_attempts:
                    self._back_off(operation, attempt, failure)
                    attempt += 1
                    continue
                self._log_call(operation, summary, started, attempt, failure)
                raise ChimeApiError(
                    operation, failure.code, failure.message, failure.kind
                ) from error
            self._log_call(operation, summary, started, attempt)
            return result

    def create(
        self,
        method: Callable[..., _T],
        /,
        *,
        result: Callable[[_T], _R],
        find: Callable[[], _R | None],
        **params: Any,
    ) -> _R:
        """Call a create ``method``, which is not idempotent, and return ``result(response)``.

        Never retried blindly: a repeated create would make a second resource that nothing manages.
        A rejected request (throttling, no connection) is retried with backoff. After a failure
        whose outcome is unknown (5xx, read timeout, connection closed), ``find()`` is asked, after
        the backoff delay, whether the attempt created the resource: what it returns is adopted
        and returned; only if it returns None is the create sent again, and if that retry is
        refused, ``find()`` is asked once more. Any other error, a failed ``find``, or the last
        attempt's error raises :class:`ChimeApiError`.
        """
        operation = self._operation(method)
        summary = _summarize(params)
        started = time.monotonic()
        attempt = 1
        uncertain = False
        while True:
            try:
                response = method(**params)
            except _CallError as error:
                failure = _failure(error)
                if failure.kind == "final" and uncertain:
                    # A refusal of the retry (a conflict, "number not available") may mean that an
                    # earlier attempt landed after all and only now shows: look once more.
                    found = self._find(operation, failure, find, error)
                    if found is not None:
                        self._log_call(operation, summary, started, attempt, failure, adopted=True)
                        return found
                if failure.kind == "final" or (
                    failure.kind == "rejected" and attempt >= self._retry.max_attempts
                ):
                    self._log_call(operation, summary, started, attempt, failure)
                    raise ChimeApiError(
                        operation, failure.code, failure.message, failure.kind
                    ) from error
                if failure.kind == "rejected":
                    self._back_off(operation, attempt, failure)
                    attempt += 1
                    continue
                # The service gets the backoff delay to show what the attempt created, if anything.
                uncertain = True
                self._back_off(operation, attempt, failure, checking=True)
                found = self._find(operation, failure, find, error)
                if found is not None:
                    self._log_call(operation, summary, started, attempt, failure, adopted=True)
                    return found
                if attempt >= self._retry.max_attempts:
                    self._log_call(operation, summary, started, attempt, failure)
                    raise ChimeApiError(
                        operation,
                        failure.code,
                        f"{failure.message} (after {attempt} attempts, none of which created the "
                        "resource as far as the service shows)",
                        failure.kind,
                    ) from error
                attempt += 1
                continue
            self._log_call(operation, summary, started, attempt)
            return result(response)

    def _find(
        self,
        operation: str,
        failure: _Failure,
        find: Callable[[], _R | None],
        error: Exception,
    ) -> _R | None:
        try:
            return find()
        except ChimeApiError as check:
            raise ChimeApiError(
                operation,
                failure.code,
                f"{failure.message}. The request may have been carried out, and checking whether "
                f"it was failed too ({check}); look for the resource before deploying again",
                failure.kind,
            ) from error

    def _operation(self, method: Callable[..., object]) -> str:
        return self.client.meta.method_to_api_mapping.get(method.__name__, method.__name__)

    def _back_off(
        self, operation: str, attempt: int, failure: _Failure, *, checking: bool = False
    ) -> None:
        delay = self._retry.delay(attempt - 1)
        self._log.warning(
            "chime call outcome unknown; checking whether it landed"
            if checking
            else "chime call retried",
            operation=operation,
            attempt=attempt,
            error_code=failure.code,
            delay_seconds=round(delay, 3),
        )
        self._retry.sleep(delay)

    def _log_call(
        self,
        operation: str,
        summary: Mapping[str, object],
        started: float,
        attempts: int,
        failure: _Failure | None = None,
        *,
        adopted: bool = False,
    ) -> None:
        fields: dict[str, object] = {"operation": operation}
        if adopted:
            fields["outcome"] = "adopted"
        elif failure is None:
            fields["outcome"] = "ok"
        else:
            fields["outcome"] = "error"
        if failure is not None:
            fields["error_code"] = failure.code
        self._log.info(
            "chime call",
            **fields,
            attempts=attempts,
            duration_ms=_elapsed_ms(started),
            params=summary,
        )


class ChimeClients:
    """Hands out a :class:`Chime` per region, all logging with one event's correlation fields.

    ``clock`` is the wall clock (epoch seconds) the handlers read deadlines from.
    """

    def __init__(
        self,
        client_for: Callable[[str], ChimeSDKVoiceClient],
        default_region: str,
        retry: RetryPolicy,
        log: EventLogger,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._client_for = client_for
        self.default_region = default_region
        self._retry = retry
        self.log = log
        self.clock = clock

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
