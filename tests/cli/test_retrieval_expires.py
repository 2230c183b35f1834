"""URL lifetimes of ``recordings get`` (cdk_recording._retrieval): parsing and the credential limit."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import boto3
import pytest
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
