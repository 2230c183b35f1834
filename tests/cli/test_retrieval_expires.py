"""URL lifetimes of ``recordings get`` (cdk_recording._retrieval): parsing and the credential limit."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import boto3
import pytest
from botocore.credentials import (
    DeferredRefreshableCredentials,
    ReadOnlyCredentials,
    RefreshableCredentials,
)
from hypothesis import given
from hypothesis import strategies as st

from cdk_recording import _retrieval
from cdk_recording._command import EXIT_USAGE, CommandError

NOW = datetime(2026, 12, 4, 12, 0, 0, tzinfo=UTC)


@given(st.integers(min_value=1, max_value=_retrieval.MAX_EXPIRES_SECONDS))
def test_every_lifetime_in_range_reads_back_from_its_text(seconds: int) -> None:
    assert _retrieval.parse_expires(_retrieval.expires_text(seconds)) == seconds


@given(st.integers(min_value=1, max_value=10**6), st.sampled_from(["s", "m", "h"]))
def test_lifetimes_over_twelve_hours_are_refused(amount: int, unit: str) -> None:
    seconds = amount * {"s": 1, "m": 60, "h": 3600}[unit]
    text = f"{amount}{unit}"
    if seconds <= _retrieval.MAX_EXPIRES_SECONDS:
        assert _retrieval.parse_expires(text) == seconds
    else:
        with pytest.raises(ValueError, match="from 1s to 12h"):
            _retrieval.parse_expires(text)


def test_long_term_keys_have_no_known_expiry(aws_credentials: None) -> None:
    assert _retrieval.credentials_expiry(boto3.session.Session()) is None


def test_a_lifetime_within_the_credentials_passes() -> None:
    _retrieval.check_expires(300, NOW + timedelta(minutes=5), NOW)
    _retrieval.check_expires(_retrieval.MAX_EXPIRES_SECONDS, None, NOW)


def test_a_lifetime_beyond_the_credentials_names_option_value_and_limit() -> None:
    with pytest.raises(CommandError) as raised:
        _retrieval.check_expires(3600, NOW + timedelta(minutes=45, seconds=30), NOW)
    assert raised.value.exit_code == EXIT_USAGE
    message = str(raised.value)
    assert "--expires 1h" in message
    assert "2026-12-04T12:45:30Z" in message
    assert "at most --expires 45m" in message


def test_expired_credentials_sign_nothing() -> None:
    with pytest.raises(CommandError, match="expired at 2026-12-04T11:59:00Z") as raised:
        _retrieval.check_expires(90, NOW - timedelta(minutes=1), NOW)
    assert raised.value.exit_code == EXIT_USAGE


# -- reading the expiry from botocore ----------------------------------------------------------------

# Ahead of now: botocore refuses credentials that are already expired when it fetches them.
EXPIRY = (datetime.now(UTC) + timedelta(hours=2)).replace(microsecond=0)
METADATA = {
    "access_key": "ASIATESTING",
    "secret_key": "testing-secret",
    "token": "testing-token",
    "expiry_time": EXPIRY.isoformat(),
}


class Holding:
    """A session as far as credentials_expiry reads it: it hands out ``credentials``."""

    def __init__(self, credentials: object) -> None:
        self.credentials = credentials

    def get_credentials(self) -> object:
        return self.credentials


def test_botocore_still_exposes_the_expiry_of_refreshable_credentials() -> None:
    # credentials_expiry reads botocore's private _expiry_time: this fails, rather than the
    # --expires check silently turning off, if a botocore upgrade renames or drops it.
    credentials = RefreshableCredentials.create_from_metadata(
        METADATA, refresh_using=lambda: METADATA, method="sts-assume-role"
    )
    assert isinstance(getattr(credentials, "_expiry_time", None), datetime)
    assert _retrieval.credentials_expiry(Holding(credentials)) == EXPIRY  # type: ignore[arg-type]


def test_a_role_profiles_deferred_credentials_are_fetched_to_know_their_expiry() -> None:
    # An assume-role profile's credentials are fetched on first use; until then botocore knows no
    # expiry, and the check would pass whatever --expires says.
    fetched: list[str] = []

    def fetch() -> dict[str, str]:
        fetched.append("assume-role")
        return METADATA

    credentials = DeferredRefreshableCredentials(refresh_using=fetch, method="assume-role")
    assert _retrieval.credentials_expiry(Holding(credentials)) == EXPIRY  # type: ignore[arg-type]
    assert fetched == ["assume-role"]


def test_refreshable_credentials_without_a_readable_expiry_get_a_note(
    capsys: pytest.CaptureFixture[str],
) -> None:
    class Opaque(RefreshableCredentials):
        """What a botocore that keeps the expiry elsewhere would hand out."""

        def __init__(self) -> None:
            self.method = "sso"

        def get_frozen_credentials(self) -> ReadOnlyCredentials:
            return ReadOnlyCredentials("ASIATESTING", "testing-secret", "testing-token")

    assert _retrieval.credentials_expiry(Holding(Opaque())) is None  # type: ignore[arg-type]
    note = capsys.readouterr().err
    assert note.startswith("cdk-recording: note: the AWS credentials (sso) expire")
    assert "--expires is not checked" in note
