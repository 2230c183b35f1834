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
            {"name": "trading", "numbers": [TRADING_NUMBER], "days": 2555},
            {"name": "support", "numbers": [SUPPORT_NUMBER], "days": 90},
        ],
        "defaultDays": 365,
    }
)
POLICY = RetentionPolicy.from_json(POLICY_JSON)
LAST_MODIFIED = datetime(2026, 11, 24, 12, 1, 20, tzinfo=UTC)
ADDRESS = {"Bucket": BUCKET, "Key": "calls/k.wav", "VersionId": "v1"}
SECONDS = 12.5


# -- the class of a call (pure) ---------------------------------------------------------------------


def test_a_call_with_a_class_number_gets_that_class() -> None:
    assert classify(POLICY, {OTHER_NUMBER, SUPPORT_NUMBER}) == RetentionChoice("support", 90)


def test_of_several_matching_classes_the_longest_wins() -> None:
    assert classify(POLICY, {TRADING_NUMBER, SUPPORT_NUMBER}) == RetentionChoice("trading", 2555)


def test_a_number_in_two_classes_takes_the_longer() -> None:
    policy = RetentionPolicy(
        "COMPLIANCE",
        (
            RetentionClassConfig("short", frozenset({OTHER_NUMBER}), 30),
            RetentionClassConfig("long", frozenset({OTHER_NUMBER}), 3000),
        ),
        None,
    )
    assert classify(policy, {OTHER_NUMBER}) == RetentionChoice("long", 3000)


def test_numbers_in_no_class_get_the_default_class() -> None:
    assert classify(POLICY, {OTHER_NUMBER}) == RetentionChoice("default", 365)


def test_numbers_in_no_class_without_a_default_are_not_retained() -> None:
    policy = RetentionPolicy("GOVERNANCE", POLICY.classes, None)
    assert classify(policy, {OTHER_NUMBER}) is None


def test_unknown_numbers_get_the_longest_period_and_are_marked_defaulted() -> None:
    assert classify(POLICY, set()) == RetentionChoice("trading", 2555, defaulted=True)


def test_unknown_numbers_get_the_default_when_it_is_the_longest() -> None:
    policy = RetentionPolicy("GOVERNANCE", POLICY.classes, 4000)
    assert classify(policy, []) == RetentionChoice("default", 4000, defaulted=True)


@given(
    st.lists(
        st.tuples(
            st.sets(st.sampled_from([TRADING_NUMBER, SUPPORT_NUMBER, OTHER_NUMBER]), min_size=1),
            st.integers(1, 5000),
        ),
        min_size=1,
        max_size=5,
    ),
    st.sets(st.sampled_from([TRADING_NUMBER, SUPPORT_NUMBER, OTHER_NUMBER])),
    st.one_of(st.none(), st.integers(1, 5000)),
)
def test_the_chosen_period_is_never_shorter_than_a_matching_class(
    classes: list[tuple[set[str], int]], numbers: set[str], default: int | None
) -> None:
    policy = RetentionPolicy(
        "GOVERNANCE",
        tuple(RetentionClassConfig(f"c{i}", frozenset(n), d) for i, (n, d) in enumerate(classes)),
        default,
    )
    choice = classify(policy, numbers)
    matching = [days for n, days in classes if n & numbers]
    if not numbers:
        assert choice is not None
        assert choice.days == max([d for _, d in classes] + ([default] if default else []))
    elif matching:
        assert choice is not None
        assert choice.days == max(matching)
    elif default is None:
        assert choice is None
    else:
        assert choice == RetentionChoice("default", default)


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
        BUCKET, "calls/k.wav", "v1", LAST_MODIFIED, RetentionChoice("support", 90)
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
        BUCKET, "calls/k.wav", "v1", LAST_MODIFIED, RetentionChoice("support", 90)
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
        {**ADDRESS, "Tagging": {"TagSet": [{"Key": "retention-class", "Value": "default"}]}},
    )
    applied = RetentionApplier(client, "GOVERNANCE").apply(
        BUCKET, "calls/k.wav", "v1", LAST_MODIFIED, RetentionChoice("default", 365)
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
            BUCKET, "calls/k.wav", "v1", LAST_MODIFIED, RetentionChoice("support", 90)
        )
    assert raised.value.reason == "retention"


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
    with pytest.raises(Transient, match="S3 allows 10"):
        RetentionApplier(client, "GOVERNANCE").apply(
            BUCKET, "calls/k.wav", "v1", LAST_MODIFIED, RetentionChoice("support", 90)
        )


# -- at arrival, end to end over moto S3 with Object Lock ----------------------------------------


class LockedS3:
    """moto's S3 client, with GetObjectRetention answered from moto's own HeadObject.

    moto 5.2 answers GetObjectRetention with a 500 for every object, with or without a retention;
    its HeadObject reports the version's lock (ObjectLockMode, ObjectLockRetainUntilDate), so the
    answer is built from that. Every other call goes to moto unchanged. ``fail`` names an
    operation to refuse with AccessDenied.
    """

    def __init__(self, client: Any) -> None:
        self._client = client
        self.fail: str | None = None
        self.calls: list[str] = []

    def __getattr__(self, name: str) -> Any:
        if name == self.fail:
            raise ClientError({"Error": {"Code": "AccessDenied", "Message": "denied"}}, name)
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


def _runtime(aws: Aws, s3: LockedS3, output: Output) -> Any:
    config = ProcessorConfig(**{**CONFIG.__dict__, "retention": POLICY})
    return make_runtime(aws, output, s3=s3, config=config)


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
    assert item["retentionClass"] == "trading"
    assert item["retainUntil"].startswith((created + timedelta(days=2555)).strftime("%Y-%m-%dT"))
    assert "retentionDefaulted" not in item
    assert output.metric_values("RetentionClassDefaulted") == []


def test_the_call_item_numbers_classify_the_call(
    locked: tuple[Aws, LockedS3], output: Output
) -> None:
    aws, s3 = locked
    aws.table.put_item(
        Item={"pk": f"TX#{TRANSACTION_ID}", "sk": "CALL", "fromNumber": SUPPORT_NUMBER}
    )
    key, version, event = _deliver(aws)
    assert run(sqs_batch(event), _runtime(aws, s3, output)) == []
    _, until, created = _lock(aws, key, version)
    assert until == created + timedelta(days=90)
    assert aws.recording_item()["retentionClass"] == "support"  # type: ignore[index]


def test_unknown_numbers_take_the_longest_class_and_are_counted(
    locked: tuple[Aws, LockedS3], output: Output
) -> None:
    aws, s3 = locked
    key, version, event = _deliver(aws)
    assert run(sqs_batch(event), _runtime(aws, s3, output)) == []
    _, until, created = _lock(aws, key, version)
    assert until == created + timedelta(days=2555)
    item = aws.recording_item()
    assert item is not None
    assert item["retentionClass"] == "trading"
    assert item["retentionDefaulted"] is True
    assert output.metric_values("RetentionClassDefaulted") == [1]


def test_an_existing_later_retention_is_never_shortened(
    locked: tuple[Aws, LockedS3], output: Output
) -> None:
    aws, s3 = locked
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


def test_a_redelivered_event_changes_nothing(locked: tuple[Aws, LockedS3], output: Output) -> None:
    aws, s3 = locked
    _number(aws, SUPPORT_NUMBER)
    key, version, event = _deliver(aws)
    runtime = _runtime(aws, s3, output)
    assert run(sqs_batch(event), runtime) == []
    before = (_lock(aws, key, version), _tags(aws, key, version), aws.recording_item())
    s3.calls.clear()
    assert run(sqs_batch(event), runtime) == []
    assert (_lock(aws, key, version), _tags(aws, key, version), aws.recording_item()) == before
    assert not [c for c in s3.calls if c.startswith("put_")]


def test_retention_applied_again_to_a_locked_version_writes_nothing(
    locked: tuple[Aws, LockedS3],
) -> None:
    aws, s3 = locked
    key, version, _ = _deliver(aws)
    created = _lock(aws, key, version)[2]
    applier = RetentionApplier(s3, "GOVERNANCE")
    first = applier.apply(BUCKET, key, version, created, RetentionChoice("support", 90))
    s3.calls.clear()
    second = applier.apply(BUCKET, key, version, created, RetentionChoice("support", 90))
    assert first.changed
    assert not second.changed
    assert second.retain_until == first.retain_until
    assert not [c for c in s3.calls if c.startswith("put_")]


def test_a_failed_retention_retries_the_record_and_catalogs_nothing_until_it_succeeds(
    locked: tuple[Aws, LockedS3], output: Output
) -> None:
    aws, s3 = locked
    _number(aws, SUPPORT_NUMBER)
    key, version, event = _deliver(aws)
    batch = sqs_batch(event)
    s3.fail = "put_object_retention"
    assert run(batch, _runtime(aws, s3, output)) == [batch["Records"][0]["messageId"]]
    assert output.metric_values("RetentionFailed") == [1]
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


def test_without_a_policy_nothing_is_locked(locked: tuple[Aws, LockedS3], output: Output) -> None:
    aws, s3 = locked
    key, version, event = _deliver(aws)
    assert run(sqs_batch(event), make_runtime(aws, output, s3=s3)) == []
    assert _lock(aws, key, version)[0] is None
    assert "retentionClass" not in aws.recording_item()  # type: ignore[operator]
