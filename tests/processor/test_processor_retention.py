"""Retention at arrival: the class of a call, the lock and tag of its version, and the catalog."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber
from hypothesis import given
from hypothesis import strategies as st
from recording_processor._config import ConfigError, ProcessorConfig
from recording_processor._errors import Transient
from recording_processor._retention import (
    AppliedRetention,
    RetentionApplier,
    RetentionChoice,
    RetentionClassConfig,
    RetentionPolicy,
    RetentionPolicyError,
    call_numbers,
    classify,
)

from tests.processor.conftest import (
    BUCKET,
    REGION,
)

TRADING_NUMBER = "+12065550100"
SUPPORT_NUMBER = "+12065550199"
OTHER_NUMBER = "+14155550123"
POLICY_JSON = json.dumps(
    {
        "mode": "GOVERNANCE",
        "classes": [
            {
                "name": "trading",
                "numbers": [TRADING_NUMBER],
                "days": 2555,
                "deleteDays": 2560,
            },
            {"name": "support", "numbers": [SUPPORT_NUMBER], "days": 90, "deleteDays": 90},
        ],
        "defaultDays": 365,
    }
)
POLICY = RetentionPolicy.from_json(POLICY_JSON)
LAST_MODIFIED = datetime(2026, 11, 24, 12, 1, 20, tzinfo=UTC)
ADDRESS = {"Bucket": BUCKET, "Key": "calls/k.wav", "VersionId": "v1"}
SUPPORT = RetentionChoice("support", 90, deletion="support")
SECONDS = 12.5


# -- the class of a call (pure) ---------------------------------------------------------------------


def test_a_call_with_a_class_number_gets_that_class() -> None:
    assert classify(POLICY, {OTHER_NUMBER, SUPPORT_NUMBER}) == RetentionChoice(
        "support", 90, deletion="support"
    )


def test_of_several_matching_classes_the_longest_wins() -> None:
    assert classify(POLICY, {TRADING_NUMBER, SUPPORT_NUMBER}) == RetentionChoice(
        "trading", 2555, deletion="trading"
    )


def test_a_number_in_two_classes_is_locked_by_one_and_deleted_by_the_other() -> None:
    # "long" locks longer, "late" deletes later: neither class may lose a day.
    policy = RetentionPolicy(
        "COMPLIANCE",
        (
            RetentionClassConfig("late", frozenset({OTHER_NUMBER}), 30, 5000),
            RetentionClassConfig("long", frozenset({OTHER_NUMBER}), 3000, 3000),
        ),
        None,
    )
    assert classify(policy, {OTHER_NUMBER}) == RetentionChoice("long", 3000, deletion="late")


def test_a_number_in_a_class_that_never_deletes_is_not_tagged() -> None:
    policy = RetentionPolicy(
        "COMPLIANCE",
        (
            RetentionClassConfig("short", frozenset({OTHER_NUMBER}), 30, None),
            RetentionClassConfig("long", frozenset({OTHER_NUMBER}), 3000, 3000),
        ),
        None,
    )
    assert classify(policy, {OTHER_NUMBER}) == RetentionChoice("long", 3000, deletion=None)


def test_numbers_in_no_class_get_the_default_class_and_no_tag() -> None:
    assert classify(POLICY, {OTHER_NUMBER}) == RetentionChoice("default", 365)


def test_numbers_in_no_class_without_a_default_are_not_retained() -> None:
    policy = RetentionPolicy("GOVERNANCE", POLICY.classes, None)
    assert classify(policy, {OTHER_NUMBER}) is None


def test_unknown_numbers_get_the_longest_lock_and_no_tag() -> None:
    # Before: tagged "trading", so expired at 2560 days although the call may be "default",
    # which is never expired by a class rule.
    assert classify(POLICY, set()) == RetentionChoice("trading", 2555, defaulted=True)


def test_numbers_of_a_call_not_yet_ended_are_defaulted() -> None:
    assert classify(POLICY, {SUPPORT_NUMBER}, complete=False) == RetentionChoice(
        "trading", 2555, defaulted=True
    )


def test_unknown_numbers_get_the_default_when_it_is_the_longest() -> None:
    policy = RetentionPolicy("GOVERNANCE", POLICY.classes, 4000)
    assert classify(policy, []) == RetentionChoice("default", 4000, defaulted=True)


_CLASSES = st.lists(
    st.tuples(
        st.sets(st.sampled_from([TRADING_NUMBER, SUPPORT_NUMBER, OTHER_NUMBER]), min_size=1),
        st.integers(1, 5000),
        st.one_of(st.none(), st.integers(0, 5000)),
    ),
    min_size=1,
    max_size=5,
)


@given(
    _CLASSES,
    st.sets(st.sampled_from([TRADING_NUMBER, SUPPORT_NUMBER, OTHER_NUMBER])),
    st.one_of(st.none(), st.integers(1, 5000)),
    st.booleans(),
)
def test_no_candidate_class_is_locked_or_deleted_earlier_than_it_allows(
    classes: list[tuple[set[str], int, int | None]],
    numbers: set[str],
    default: int | None,
    complete: bool,
) -> None:
    configs = tuple(
        RetentionClassConfig(f"c{i}", frozenset(n), d, None if x is None else d + x)
        for i, (n, d, x) in enumerate(classes)
    )
    policy = RetentionPolicy("GOVERNANCE", configs, default)
    choice = classify(policy, numbers, complete=complete)
    if not numbers or not complete:
        candidates = [(c.days, c.delete_days) for c in configs]
        candidates += [] if default is None else [(default, None)]
    else:
        candidates = [(c.days, c.delete_days) for c in configs if c.numbers & numbers]
        if not candidates and default is not None:
            candidates = [(default, None)]
    if not candidates:
        assert choice is None
        return
    assert choice is not None
    assert choice.days == max(days for days, _ in candidates)
    assert choice.defaulted == (not numbers or not complete)
    if choice.deletion is not None:
        deleted = next(c.delete_days for c in configs if c.name == choice.deletion)
        # Deleted no earlier than any candidate's own rule would delete it.
        assert all(d is not None and deleted is not None and deleted >= d for _, d in candidates)
        assert not choice.defaulted


def test_call_numbers_come_from_call_recording_and_number_items() -> None:
    found = call_numbers(
        {"fromNumber": OTHER_NUMBER, "toNumber": None},
        None,
        number_items=[{"number": TRADING_NUMBER}, {"sk": "NUM#"}],
    )
    assert found == {OTHER_NUMBER, TRADING_NUMBER}


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("{", "RETENTION is not JSON"),
        ('{"mode": "LOCKED", "defaultDays": 1}', "RETENTION.mode is 'LOCKED'"),
        ('{"mode": "GOVERNANCE"}', "names no class and no defaultDays"),
        (
            '{"mode": "GOVERNANCE", "classes": [{"name": "a", "numbers": ["+1206"], "days": 0}]}',
            "RETENTION.classes[0].days is 0; allowed: a whole number of days, at least 1",
        ),
        (
            '{"mode": "GOVERNANCE", "classes": [{"name": "a", "numbers": "+1206", "days": 1}]}',
            "RETENTION.classes[0].numbers must be a list",
        ),
    ],
)
def test_a_bad_policy_is_a_configuration_error(text: str, problem: str) -> None:
    with pytest.raises(RetentionPolicyError, match=problem.replace("[", r"\[").replace("]", r"\]")):
        RetentionPolicy.from_json(text)
    with pytest.raises(ConfigError):
        ProcessorConfig.from_environ(
            {"CATALOG_TABLE": "t", "RECORDING_BUCKET": "b", "RETENTION": text}
        )


def test_the_environment_carries_the_policy() -> None:
    config = ProcessorConfig.from_environ(
        {"CATALOG_TABLE": "t", "RECORDING_BUCKET": "b", "RETENTION": POLICY_JSON}
    )
    assert config.retention == POLICY


# -- the lock and the tag of one version (Stubber: exact requests; moto below) ---------------------


@pytest.fixture
def stubbed() -> Iterator[tuple[Any, Stubber]]:
    client = boto3.client(
        "s3", region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x"
    )
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def _no_retention(stubber: Stubber) -> None:
    stubber.add_client_error(
        "get_object_retention",
        service_error_code="NoSuchObjectLockConfiguration",
        http_status_code=404,
        expected_params=ADDRESS,
    )


def test_a_version_without_retention_is_locked_from_its_creation(
    stubbed: tuple[Any, Stubber],
) -> None:
    client, stubber = stubbed
    until = LAST_MODIFIED + timedelta(days=90)
    _no_retention(stubber)
    stubber.add_response(
        "put_object_retention",
        {},
        {**ADDRESS, "Retention": {"Mode": "GOVERNANCE", "RetainUntilDate": until}},
    )
    stubber.add_response("get_object_tagging", {"TagSet": [{"Key": "team", "Value": "a"}]}, ADDRESS)
    stubber.add_response(
        "put_object_tagging",
        {},
        {
            **ADDRESS,
            "Tagging": {
                "TagSet": [
                    {"Key": "team", "Value": "a"},
                    {"Key": "retention-class", "Value": "support"},
                ]
            },
        },
    )
    applied = RetentionApplier(client, "GOVERNANCE").apply(
        BUCKET, "calls/k.wav", "v1", LAST_MODIFIED, SUPPORT, LAST_MODIFIED
    )
    assert applied == AppliedRetention("support", "GOVERNANCE", until, changed=True)


def test_a_later_retention_is_kept(stubbed: tuple[Any, Stubber]) -> None:
    client, stubber = stubbed
    later = LAST_MODIFIED + timedelta(days=1000)
    stubber.add_response(
        "get_object_retention",
        {"Retention": {"Mode": "GOVERNANCE", "RetainUntilDate": later}},
        ADDRESS,
    )
    stubber.add_response(
        "get_object_tagging",
        {"TagSet": [{"Key": "retention-class", "Value": "support"}]},
        ADDRESS,
    )
    applied = RetentionApplier(client, "GOVERNANCE").apply(
        BUCKET, "calls/k.wav", "v1", LAST_MODIFIED, SUPPORT, LAST_MODIFIED
    )
    # No PutObjectRetention, no PutObjectTagging: the Stubber fails on any unexpected call.
    assert applied == AppliedRetention("support", "GOVERNANCE", later, changed=False)


def test_an_earlier_compliance_retention_is_extended_in_compliance_mode(
    stubbed: tuple[Any, Stubber],
) -> None:
    client, stubber = stubbed
    until = LAST_MODIFIED + timedelta(days=365)
    stubber.add_response(
        "get_object_retention",
        {"Retention": {"Mode": "COMPLIANCE", "RetainUntilDate": LAST_MODIFIED}},
        ADDRESS,
    )
    stubber.add_response(
        "put_object_retention",
        {},
        {**ADDRESS, "Retention": {"Mode": "COMPLIANCE", "RetainUntilDate": until}},
    )
    stubber.add_response(
        "get_object_tagging", {"TagSet": [{"Key": "retention-class", "Value": "old"}]}, ADDRESS
    )
    stubber.add_response(
        "put_object_tagging",
        {},
        # The default class deletes by no rule: a class tag the version had is removed.
        {**ADDRESS, "Tagging": {"TagSet": []}},
    )
    applied = RetentionApplier(client, "GOVERNANCE").apply(
        BUCKET, "calls/k.wav", "v1", LAST_MODIFIED, RetentionChoice("default", 365), LAST_MODIFIED
    )
    assert applied.mode == "COMPLIANCE"
    assert applied.retain_until == until


@pytest.mark.parametrize("operation", ["get_object_retention", "put_object_retention"])
def test_a_refused_retention_call_is_transient(
    stubbed: tuple[Any, Stubber], operation: str
) -> None:
    client, stubber = stubbed
    if operation == "put_object_retention":
        _no_retention(stubber)
    stubber.add_client_error(operation, service_error_code="AccessDenied", http_status_code=403)
    with pytest.raises(Transient, match="AccessDenied") as raised:
        RetentionApplier(client, "GOVERNANCE").apply(
            BUCKET, "calls/k.wav", "v1", LAST_MODIFIED, SUPPORT, LAST_MODIFIED
        )
    assert raised.value.reason == "retention"


@pytest.mark.parametrize("code", ["SlowDown", "InternalError", "ServiceUnavailable"])
def test_throttling_and_server_errors_are_transient(
    stubbed: tuple[Any, Stubber], code: str
) -> None:
    client, stubber = stubbed
    _no_retention(stubber)
    stubber.add_client_error("put_object_retention", service_error_code=code, http_status_code=503)
    with pytest.raises(Transient, match=code):
        RetentionApplier(client, "GOVERNANCE").apply(
            BUCKET, "calls/k.wav", "v1", LAST_MODIFIED, SUPPORT, LAST_MODIFIED
        )


@pytest.mark.parametrize("code", ["InvalidRequest", "InvalidArgument"])
def test_a_retention_s3_refuses_for_good_is_returned_not_retried(
    stubbed: tuple[Any, Stubber], code: str
) -> None:
    client, stubber = stubbed
    _no_retention(stubber)
    stubber.add_client_error("put_object_retention", service_error_code=code, http_status_code=400)
    # Nothing after the refusal: no tag (so no class rule deletes an unlocked recording).
    applied = RetentionApplier(client, "GOVERNANCE").apply(
        BUCKET, "calls/k.wav", "v1", LAST_MODIFIED, SUPPORT, LAST_MODIFIED
    )
    assert applied == AppliedRetention(
        "support", None, None, changed=False, failure=f"PutObjectRetention refused: {code}"
    )


def test_a_period_already_over_locks_nothing(stubbed: tuple[Any, Stubber]) -> None:
    client, stubber = stubbed
    _no_retention(stubber)
    stubber.add_response("get_object_tagging", {"TagSet": []}, ADDRESS)
    stubber.add_response(
        "put_object_tagging",
        {},
        {**ADDRESS, "Tagging": {"TagSet": [{"Key": "retention-class", "Value": "support"}]}},
    )
    # Redriven 91 days after its arrival: S3 would refuse a RetainUntilDate in the past.
    applied = RetentionApplier(client, "GOVERNANCE").apply(
        BUCKET, "calls/k.wav", "v1", LAST_MODIFIED, SUPPORT, LAST_MODIFIED + timedelta(days=91)
    )
    assert applied == AppliedRetention("support", None, None, changed=True)


def test_a_legal_hold_is_put_on_the_version(stubbed: tuple[Any, Stubber]) -> None:
    client, stubber = stubbed
    stubber.add_response("put_object_legal_hold", {}, {**ADDRESS, "LegalHold": {"Status": "ON"}})
    assert RetentionApplier(client, "GOVERNANCE").hold(BUCKET, "calls/k.wav", "v1") is None


def test_a_legal_hold_s3_refuses_is_returned(stubbed: tuple[Any, Stubber]) -> None:
    client, stubber = stubbed
    stubber.add_client_error(
        "put_object_legal_hold", service_error_code="InvalidRequest", http_status_code=400
    )
    failure = RetentionApplier(client, "GOVERNANCE").hold(BUCKET, "calls/k.wav", "v1")
    assert failure == "PutObjectLegalHold refused: InvalidRequest"


def test_a_version_with_ten_tags_cannot_take_the_class_tag(stubbed: tuple[Any, Stubber]) -> None:
    client, stubber = stubbed
    stubber.add_response(
        "get_object_retention",
        {
            "Retention": {
                "Mode": "GOVERNANCE",
                "RetainUntilDate": LAST_MODIFIED + timedelta(days=99),
            }
        },
        ADDRESS,
    )
    stubber.add_response(
        "get_object_tagging",
        {"TagSet": [{"Key": f"t{n}", "Value": "v"} for n in range(10)]},
        ADDRESS,
    )
    applied = RetentionApplier(client, "GOVERNANCE").apply(
        BUCKET, "calls/k.wav", "v1", LAST_MODIFIED, SUPPORT, LAST_MODIFIED
    )
    # Final, not retried: the lock the version has is reported, the tag is not added.
    assert applied.retain_until == LAST_MODIFIED + timedelta(days=99)
    assert applied.failure is not None
    assert "S3 allows 10" in applied.failure


# -- moto S3 with Object Lock (the end-to-end tests are in test_processor_retention_arrival) --------


class LockedS3:
    """moto's S3 client, with GetObjectRetention answered from moto's own HeadObject.

    moto 5.2 answers GetObjectRetention with a 500 for every object, with or without a retention;
    its HeadObject reports the version's lock (ObjectLockMode, ObjectLockRetainUntilDate), so the
    answer is built from that. Every other call goes to moto unchanged. ``fail`` names an
    operation to refuse with ``code`` (AccessDenied unless told).
    """

    def __init__(self, client: Any) -> None:
        self._client = client
        self.fail: str | None = None
        self.code = "AccessDenied"
        self.calls: list[str] = []

    def __getattr__(self, name: str) -> Any:
        if name == self.fail:
            raise ClientError({"Error": {"Code": self.code, "Message": "refused"}}, name)
        self.calls.append(name)
        return getattr(self._client, name)

    def get_object_retention(self, **params: Any) -> dict[str, Any]:
        self.calls.append("get_object_retention")
        head = self._client.head_object(**params)
        if "ObjectLockMode" not in head:
            raise ClientError(
                {"Error": {"Code": "NoSuchObjectLockConfiguration", "Message": "none"}},
                "GetObjectRetention",
            )
        return {
            "Retention": {
                "Mode": head["ObjectLockMode"],
                "RetainUntilDate": head["ObjectLockRetainUntilDate"],
            }
        }
