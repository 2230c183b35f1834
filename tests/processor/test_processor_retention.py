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
from moto import mock_aws
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
    CONFIG,
    REGION,
    TRANSACTION_ID,
    Aws,
    Output,
    key_for,
    make_runtime,
    metadata_for,
    run,
    s3_event,
    sqs_batch,
    stereo_wav,
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


# -- at arrival, end to end over moto S3 with Object Lock ----------------------------------------


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


@pytest.fixture
def locked() -> Iterator[tuple[Aws, LockedS3]]:
    with mock_aws():
        aws = Aws()
        # The same bucket, created again with Object Lock enabled (and no default retention).
        aws.s3.delete_bucket(Bucket=BUCKET)
        aws.s3.create_bucket(Bucket=BUCKET, ObjectLockEnabledForBucket=True)
        yield aws, LockedS3(aws.s3)


def _runtime(aws: Aws, s3: LockedS3, output: Output, **overrides: Any) -> Any:
    config = ProcessorConfig(**{**CONFIG.__dict__, "retention": POLICY})
    return make_runtime(aws, output, s3=s3, config=config, **overrides)


def _call(aws: Aws, **attributes: Any) -> None:
    """The call item as the facts consumer (and the records commands) leave it: ended."""
    aws.table.put_item(
        Item={
            "pk": f"TX#{TRANSACTION_ID}",
            "sk": "CALL",
            "transactionId": TRANSACTION_ID,
            "endedAt": "2026-11-24T12:01:10.000Z",
            **attributes,
        }
    )


def _number(aws: Aws, number: str) -> None:
    aws.table.put_item(
        Item={
            "pk": f"TX#{TRANSACTION_ID}",
            "sk": f"NUM#{number}",
            "transactionId": TRANSACTION_ID,
            "number": number,
            "role": "to",
        }
    )


def _deliver(aws: Aws) -> tuple[str, str, dict[str, Any]]:
    key = key_for()
    version = aws.put_recording(key, stereo_wav(SECONDS), metadata_for(SECONDS))
    return key, version, s3_event(key, version)


def _lock(aws: Aws, key: str, version: str) -> tuple[str | None, datetime | None, datetime]:
    head = aws.s3.head_object(Bucket=BUCKET, Key=key, VersionId=version)
    return head.get("ObjectLockMode"), head.get("ObjectLockRetainUntilDate"), head["LastModified"]


def _tags(aws: Aws, key: str, version: str) -> list[dict[str, str]]:
    return aws.s3.get_object_tagging(Bucket=BUCKET, Key=key, VersionId=version)["TagSet"]


def test_arrival_locks_and_tags_the_version_of_a_class_number(
    locked: tuple[Aws, LockedS3], output: Output
) -> None:
    aws, s3 = locked
    _call(aws)
    _number(aws, TRADING_NUMBER)
    key, version, event = _deliver(aws)
    assert run(sqs_batch(event), _runtime(aws, s3, output)) == []
    mode, until, created = _lock(aws, key, version)
    assert mode == "GOVERNANCE"
    assert until == created + timedelta(days=2555)
    assert _tags(aws, key, version) == [{"Key": "retention-class", "Value": "trading"}]
    item = aws.recording_item()
    assert item is not None
    assert item["status"] == "delivered"
    assert item["retentionClass"] == item["deletionClass"] == "trading"
    assert item["retainUntil"].startswith((created + timedelta(days=2555)).strftime("%Y-%m-%dT"))
    assert "retentionDefaulted" not in item
    assert "retentionFailed" not in item
    assert output.metric_values("RetentionClassDefaulted") == []


def test_the_call_item_numbers_classify_the_call(
    locked: tuple[Aws, LockedS3], output: Output
) -> None:
    aws, s3 = locked
    _call(aws, fromNumber=SUPPORT_NUMBER)
    key, version, event = _deliver(aws)
    assert run(sqs_batch(event), _runtime(aws, s3, output)) == []
    _, until, created = _lock(aws, key, version)
    assert until == created + timedelta(days=90)
    assert aws.recording_item()["retentionClass"] == "support"  # type: ignore[index]


def test_unknown_numbers_take_the_longest_lock_no_tag_and_are_counted(
    locked: tuple[Aws, LockedS3], output: Output
) -> None:
    aws, s3 = locked
    _call(aws)
    key, version, event = _deliver(aws)
    assert run(sqs_batch(event), _runtime(aws, s3, output)) == []
    _, until, created = _lock(aws, key, version)
    assert until == created + timedelta(days=2555)
    # No class tag: no class rule expires it (it may be a "default" call, never expired).
    assert _tags(aws, key, version) == []
    item = aws.recording_item()
    assert item is not None
    assert item["retentionClass"] == "trading"
    assert "deletionClass" not in item
    assert item["retentionDefaulted"] is True
    assert output.metric_values("RetentionClassDefaulted") == [1]


def test_a_call_not_yet_ended_is_defaulted_although_a_number_is_known(
    locked: tuple[Aws, LockedS3], output: Output
) -> None:
    aws, s3 = locked
    # The call item has no endedAt: a number of a longer class may still come.
    aws.table.put_item(
        Item={"pk": f"TX#{TRANSACTION_ID}", "sk": "CALL", "fromNumber": SUPPORT_NUMBER}
    )
    key, version, event = _deliver(aws)
    assert run(sqs_batch(event), _runtime(aws, s3, output)) == []
    _, until, created = _lock(aws, key, version)
    assert until == created + timedelta(days=2555)
    assert _tags(aws, key, version) == []
    item = aws.recording_item()
    assert item is not None
    assert item["retentionClass"] == "trading"
    assert item["retentionDefaulted"] is True
    assert output.metric_values("RetentionClassDefaulted") == [1]


def test_an_existing_later_retention_is_never_shortened(
    locked: tuple[Aws, LockedS3], output: Output
) -> None:
    aws, s3 = locked
    _call(aws)
    _number(aws, SUPPORT_NUMBER)
    key, version, event = _deliver(aws)
    far = datetime(2040, 1, 1, tzinfo=UTC)
    aws.s3.put_object_retention(
        Bucket=BUCKET,
        Key=key,
        VersionId=version,
        Retention={"Mode": "GOVERNANCE", "RetainUntilDate": far},
    )
    assert run(sqs_batch(event), _runtime(aws, s3, output)) == []
    # moto would accept a shorter date (real S3 refuses one without a bypass): so this checks
    # that the processor never asked for one.
    assert _lock(aws, key, version)[1] == far
    assert "put_object_retention" not in s3.calls
    assert aws.recording_item()["retainUntil"] == "2040-01-01T00:00:00.000Z"  # type: ignore[index]


def test_a_version_redelivered_after_a_lost_catalog_commit_is_not_written_again(
    locked: tuple[Aws, LockedS3], output: Output
) -> None:
    aws, s3 = locked
    _call(aws)
    _number(aws, SUPPORT_NUMBER)
    key, version, event = _deliver(aws)
    batch = sqs_batch(event)

    def lost(*_: Any, **__: Any) -> Any:
        raise ClientError(
            {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "x"}},
            "TransactWriteItems",
        )

    dynamodb = _Patched(aws.dynamodb, transact_write_items=lost)
    # The first delivery locks and tags the version, then loses its catalog commit.
    assert run(batch, _runtime(aws, s3, output, dynamodb=dynamodb)) == [
        batch["Records"][0]["messageId"]
    ]
    assert aws.recording_item() is None
    before = (_lock(aws, key, version), _tags(aws, key, version))
    assert before[0][0] == "GOVERNANCE"
    s3.calls.clear()
    # The redelivery reaches the retention code again (nothing cataloged) and writes nothing.
    assert run(batch, _runtime(aws, s3, output)) == []
    assert "get_object_retention" in s3.calls
    assert not [c for c in s3.calls if c.startswith("put_")]
    assert (_lock(aws, key, version), _tags(aws, key, version)) == before
    item = aws.recording_item()
    assert item is not None
    assert item["retainUntil"].startswith(before[0][1].strftime("%Y-%m-%dT"))  # type: ignore[union-attr]


def test_retention_applied_again_to_a_locked_version_writes_nothing(
    locked: tuple[Aws, LockedS3],
) -> None:
    aws, s3 = locked
    key, version, _ = _deliver(aws)
    created = _lock(aws, key, version)[2]
    applier = RetentionApplier(s3, "GOVERNANCE")
    first = applier.apply(BUCKET, key, version, created, SUPPORT, created)
    s3.calls.clear()
    second = applier.apply(BUCKET, key, version, created, SUPPORT, created)
    assert first.changed
    assert not second.changed
    assert second.retain_until == first.retain_until
    assert not [c for c in s3.calls if c.startswith("put_")]


def test_a_failed_retention_retries_the_record_and_catalogs_nothing_until_it_succeeds(
    locked: tuple[Aws, LockedS3], output: Output
) -> None:
    aws, s3 = locked
    _call(aws)
    _number(aws, SUPPORT_NUMBER)
    key, version, event = _deliver(aws)
    batch = sqs_batch(event)
    s3.fail = "put_object_retention"
    assert run(batch, _runtime(aws, s3, output)) == [batch["Records"][0]["messageId"]]
    # A transient failure is a ProcessorFailed (ProcessorFailing alarm), not a RetentionFailed.
    assert output.metric_values("ProcessorFailed") == [1]
    assert output.metric_values("RetentionFailed") == []
    assert aws.recording_item() is None
    assert aws.emitted() == []
    s3.fail = None
    assert run(batch, _runtime(aws, s3, output)) == []
    assert _lock(aws, key, version)[0] == "GOVERNANCE"
    item, call = aws.recording_item(), aws.call_item()
    assert item is not None
    assert call is not None
    assert item["retentionClass"] == "support"
    assert call["recordings"] == {item["callId"]}
    # Counted once, although the record was processed twice.
    assert call["billedMinutes"] == item["billedMinutes"] == 1
    assert [e["detail-type"] for e in aws.emitted()] == ["Recording Available"]


@pytest.mark.parametrize(
    ("operation", "code"),
    [("put_object_retention", "InvalidRequest"), ("put_object_tagging", "InvalidTag")],
)
def test_a_retention_s3_refuses_for_good_is_cataloged_as_failed(
    locked: tuple[Aws, LockedS3], output: Output, operation: str, code: str
) -> None:
    aws, s3 = locked
    _call(aws)
    _number(aws, SUPPORT_NUMBER)
    _, _, event = _deliver(aws)
    s3.fail, s3.code = operation, code
    # Not retried: before, the record went to the dead-letter queue and the sweep called the
    # recording missing.
    assert run(sqs_batch(event), _runtime(aws, s3, output)) == []
    item = aws.recording_item()
    assert item is not None
    assert item["status"] == "delivered"
    assert code in item["retentionFailed"]
    assert "deletionClass" not in item
    assert output.metric_values("RetentionFailed") == [1]
    assert output.metric_values("ProcessorFailed") == []
    assert [e["detail-type"] for e in aws.emitted()] == ["Recording Available"]


def test_a_record_redriven_after_its_period_is_cataloged_without_a_lock(
    locked: tuple[Aws, LockedS3], output: Output
) -> None:
    aws, s3 = locked
    _call(aws)
    _number(aws, SUPPORT_NUMBER)
    key, version, event = _deliver(aws)
    created = _lock(aws, key, version)[2]
    runtime = _runtime(aws, s3, output, clock=lambda: created + timedelta(days=91))
    assert run(sqs_batch(event), runtime) == []
    assert _lock(aws, key, version)[0] is None
    item = aws.recording_item()
    assert item is not None
    assert item["retentionClass"] == "support"
    assert "retainUntil" not in item
    assert "retentionFailed" not in item
    assert output.metric_values("RetentionFailed") == []


def test_a_recording_of_a_call_under_legal_hold_is_held_at_arrival(
    locked: tuple[Aws, LockedS3], output: Output
) -> None:
    aws, s3 = locked
    _call(aws, legalHold=True)
    _number(aws, SUPPORT_NUMBER)
    key, version, event = _deliver(aws)
    assert run(sqs_batch(event), _runtime(aws, s3, output)) == []
    head = aws.s3.head_object(Bucket=BUCKET, Key=key, VersionId=version)
    assert head["ObjectLockLegalHoldStatus"] == "ON"
    item = aws.recording_item()
    assert item is not None
    assert item["legalHold"] is True
    assert item["retentionClass"] == "support"


def test_a_recording_without_legal_hold_is_not_held(
    locked: tuple[Aws, LockedS3], output: Output
) -> None:
    aws, s3 = locked
    _call(aws, legalHold=False)
    _, _, event = _deliver(aws)
    assert run(sqs_batch(event), _runtime(aws, s3, output)) == []
    assert "put_object_legal_hold" not in s3.calls
    assert "legalHold" not in aws.recording_item()  # type: ignore[operator]


def test_a_recording_after_its_call_was_erased_is_cataloged_unannounced_and_unlocked(
    locked: tuple[Aws, LockedS3], output: Output
) -> None:
    aws, s3 = locked
    _call(aws, erasedAt="2026-11-24T12:03:00.000Z")
    key, version, event = _deliver(aws)
    batch = sqs_batch(event)
    assert run(batch, _runtime(aws, s3, output)) == []
    item = aws.recording_item()
    assert item is not None
    assert item["afterErasure"] is True
    assert "retentionClass" not in item
    # Not locked, so running the erasure again can delete it; not announced, so not transcribed.
    assert _lock(aws, key, version)[0] is None
    assert aws.emitted() == []
    assert output.metric_values("RecordingAfterErasure") == [1]
    # A redelivery finds no event flag, and still sends nothing.
    assert run(batch, _runtime(aws, s3, output)) == []
    assert aws.emitted() == []


def test_without_a_policy_nothing_is_locked(locked: tuple[Aws, LockedS3], output: Output) -> None:
    aws, s3 = locked
    key, version, event = _deliver(aws)
    assert run(sqs_batch(event), make_runtime(aws, output, s3=s3)) == []
    assert _lock(aws, key, version)[0] is None
    assert "retentionClass" not in aws.recording_item()  # type: ignore[operator]


class _Patched:
    """A client with some operations replaced; every other call goes to the client."""

    def __init__(self, client: Any, **operations: Any) -> None:
        self._client = client
        self._operations = operations

    def __getattr__(self, name: str) -> Any:
        return self._operations.get(name) or getattr(self._client, name)


def test_after_an_erasure_without_object_lock_the_recording_is_still_not_announced(
    aws: Aws, output: Output
) -> None:
    _call(aws, erasedAt="2026-11-24T12:03:00.000Z")
    _, _, event = _deliver(aws)
    assert run(sqs_batch(event), make_runtime(aws, output)) == []
    item = aws.recording_item()
    assert item is not None
    assert item["afterErasure"] is True
    assert "retentionClass" not in item
    assert aws.emitted() == []
    assert output.metric_values("RecordingAfterErasure") == [1]
