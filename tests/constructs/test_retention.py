"""Retention classes: validation, Object Lock at arrival, lifecycle per class, the processor's grants."""

from __future__ import annotations

import json
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Annotations, Match, Template

from cdk_recording import (
    CallRecording,
    RecordingCatalog,
    RecordingConfigurationError,
    RecordingStorage,
    RetentionClass,
)
from tests.constructs.conftest import make_stack

TRADING = RetentionClass(
    "trading", ["+12065550100", "+12065550101"], cdk.Duration.days(2555), cdk.Duration.days(2600)
)
SUPPORT = RetentionClass("support", ["+12065550199"], cdk.Duration.days(90), cdk.Duration.days(90))
LEGAL = RetentionClass("legal", ["+12065550100"], cdk.Duration.days(3650))
LOCK: dict[str, Any] = {
    "object_lock_mode": s3.ObjectLockMode.COMPLIANCE,
    "object_lock_retention": cdk.Duration.days(365),
}
DEFAULT_RETENTION_WARNING = "cdk-recording:storage:object-lock-default-retention"


def _with_catalog(**options: Any) -> tuple[cdk.Stack, Template]:
    stack = make_stack()
    storage = RecordingStorage(stack, "Storage", **options)
    RecordingCatalog(stack, "Catalog", storage=storage)
    return stack, Template.from_stack(stack)


@pytest.fixture(scope="module")
def classes() -> tuple[cdk.Stack, Template]:
    return _with_catalog(retention_classes=[TRADING, SUPPORT, LEGAL], **LOCK)


def _bucket(template: Template) -> dict[str, Any]:
    [bucket] = [
        b["Properties"]
        for b in template.find_resources("AWS::S3::Bucket").values()
        if "LoggingConfiguration" in b["Properties"]
    ]
    return bucket


def _arrival(template: Template) -> dict[str, Any]:
    [function] = [
        f["Properties"]
        for name, f in template.find_resources("AWS::Lambda::Function").items()
        if "ArrivalFunction" in name
    ]
    return function


def _arrival_statements(template: Template) -> dict[str, dict[str, Any]]:
    [policy] = [
        p["Properties"]["PolicyDocument"]["Statement"]
        for name, p in template.find_resources("AWS::IAM::ManagedPolicy").items()
        if "ArrivalRole" in name
    ]
    return {s["Sid"]: s for s in policy if "Sid" in s}


def _error(**options: Any) -> str:
    with pytest.raises(RecordingConfigurationError) as raised:
        RecordingStorage(make_stack(), "Storage", **options)
    return str(raised.value)


def _warnings(stack: cdk.Stack) -> list[Any]:
    return list(
        Annotations.from_stack(stack).find_warning(
            "/TestStack/Storage", Match.string_like_regexp("Content-MD5")
        )
    )


# -- Object Lock at arrival ---------------------------------------------------------------------


def test_with_the_arrival_processor_the_bucket_has_object_lock_but_no_default_retention(
    classes: tuple[cdk.Stack, Template],
) -> None:
    bucket = _bucket(classes[1])
    assert bucket["ObjectLockEnabled"] is True
    assert bucket["ObjectLockConfiguration"] == {"ObjectLockEnabled": "Enabled"}


def test_with_the_arrival_processor_there_is_no_content_md5_warning(
    classes: tuple[cdk.Stack, Template],
) -> None:
    assert _warnings(classes[0]) == []


def test_storage_alone_keeps_the_default_retention_and_warns_about_content_md5() -> None:
    stack = make_stack()
    RecordingStorage(stack, "Storage", **LOCK)
    bucket = _bucket(Template.from_stack(stack))
    assert bucket["ObjectLockConfiguration"]["Rule"]["DefaultRetention"] == {
        "Mode": "COMPLIANCE",
        "Days": 365,
    }
    [warning] = _warnings(stack)
    assert DEFAULT_RETENTION_WARNING in warning.entry.data
    assert "AWS does not document" in warning.entry.data


def test_storage_without_object_lock_has_no_warning() -> None:
    stack = make_stack()
    RecordingStorage(stack, "Storage")
    Template.from_stack(stack)
    assert _warnings(stack) == []


def test_a_bucket_of_your_own_with_a_default_retention_is_warned_about() -> None:
    stack = make_stack()
    bucket = s3.Bucket(
        stack,
        "Own",
        object_lock_enabled=True,
        object_lock_default_retention=s3.ObjectLockRetention.governance(cdk.Duration.days(30)),
    )
    RecordingStorage(stack, "Storage", bucket=bucket)
    Template.from_stack(stack)
    [warning] = _warnings(stack)
    assert "cdk-recording:storage:own-bucket-default-retention" in warning.entry.data
    assert "Content-MD5" in warning.entry.data


def test_a_bucket_of_your_own_with_object_lock_but_no_default_retention_is_fine() -> None:
    stack = make_stack()
    bucket = s3.Bucket(stack, "Own", object_lock_enabled=True)
    RecordingStorage(stack, "Storage", bucket=bucket)
    Template.from_stack(stack)
    assert _warnings(stack) == []


def test_classes_without_an_arrival_processor_fail_the_synth() -> None:
    stack = make_stack()
    RecordingStorage(stack, "Storage", retention_classes=[TRADING], **LOCK)
    errors = Annotations.from_stack(stack).find_error(
        "/TestStack/Storage", Match.string_like_regexp("retention_classes need the arrival")
    )
    assert len(errors) == 1


def test_the_processor_gets_the_policy_as_json(classes: tuple[cdk.Stack, Template]) -> None:
    variables = _arrival(classes[1])["Environment"]["Variables"]
    assert json.loads(variables["RETENTION"]) == {
        "mode": "COMPLIANCE",
        "classes": [
            {
                "name": "trading",
                "numbers": ["+12065550100", "+12065550101"],
                "days": 2555,
                "deleteDays": 2600,
            },
            {"name": "support", "numbers": ["+12065550199"], "days": 90, "deleteDays": 90},
            {"name": "legal", "numbers": ["+12065550100"], "days": 3650, "deleteDays": None},
        ],
        "defaultDays": 365,
    }


def test_classes_without_object_lock_retention_have_no_default_class() -> None:
    _, template = _with_catalog(
        retention_classes=[SUPPORT], object_lock_mode=s3.ObjectLockMode.GOVERNANCE
    )
    policy = json.loads(_arrival(template)["Environment"]["Variables"]["RETENTION"])
    assert policy["mode"] == "GOVERNANCE"
    assert policy["defaultDays"] is None


def test_without_object_lock_the_processor_has_no_retention() -> None:
    _, template = _with_catalog()
    assert "RETENTION" not in _arrival(template)["Environment"]["Variables"]
    statements = _arrival_statements(template)
    assert "RetainRecordings" not in statements
    assert "CallNumbers" not in statements


def test_the_processor_may_lock_and_tag_only_under_the_recording_prefix(
    classes: tuple[cdk.Stack, Template],
) -> None:
    statement = _arrival_statements(classes[1])["RetainRecordings"]
    assert sorted(statement["Action"]) == sorted(
        [
            "s3:GetObjectRetention",
            "s3:PutObjectRetention",
            "s3:GetObjectTagging",
            "s3:GetObjectVersionTagging",
            "s3:PutObjectTagging",
            "s3:PutObjectVersionTagging",
            "s3:PutObjectLegalHold",
        ]
    )
    [resource] = [statement["Resource"]]
    assert resource["Fn::Join"][1][1] == "/recordings/*"


def test_the_processor_may_not_bypass_governance_retention(
    classes: tuple[cdk.Stack, Template],
) -> None:
    statements = _arrival_statements(classes[1]).values()
    actions = [
        a
        for s in statements
        for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
    ]
    assert "s3:BypassGovernanceRetention" not in actions
    assert not [a for a in actions if a.startswith("s3:") and "*" in a]


def test_the_processor_may_query_the_call_partition_of_the_table(
    classes: tuple[cdk.Stack, Template],
) -> None:
    statement = _arrival_statements(classes[1])["CallNumbers"]
    assert statement["Action"] == "dynamodb:Query"
    assert "Fn::GetAtt" in statement["Resource"]  # the table itself, no index


# -- lifecycle per class --------------------------------------------------------------------------


def test_each_class_with_delete_after_gets_a_rule_on_its_tag(
    classes: tuple[cdk.Stack, Template],
) -> None:
    rules = {r["Id"]: r for r in _bucket(classes[1])["LifecycleConfiguration"]["Rules"]}
    assert rules["RetentionClass-trading"] == {
        "Id": "RetentionClass-trading",
        "Status": "Enabled",
        "Prefix": "recordings/",
        "TagFilters": [{"Key": "retention-class", "Value": "trading"}],
        "ExpirationInDays": 2600,
        "NoncurrentVersionExpiration": {"NoncurrentDays": 90},
    }
    assert rules["RetentionClass-support"]["ExpirationInDays"] == 90
    # No delete_after: no rule, so its recordings are never expired by a class rule.
    assert "RetentionClass-legal" not in rules
    # The prefix-wide rule is unchanged and expires nothing by default.
    assert "ExpirationInDays" not in rules["Recordings"]


def test_each_class_rule_covers_the_transcripts_too(
    classes: tuple[cdk.Stack, Template],
) -> None:
    rules = {r["Id"]: r for r in _bucket(classes[1])["LifecycleConfiguration"]["Rules"]}
    for name in ("trading", "support"):
        assert rules[f"TranscriptsRetentionClass-{name}"] == {
            **rules[f"RetentionClass-{name}"],
            "Id": f"TranscriptsRetentionClass-{name}",
            "Prefix": "transcripts/",
        }
    assert "TranscriptsRetentionClass-legal" not in rules
    assert len(rules) == 6  # two prefix-wide rules and two per class with delete_after


# -- CallRecording ----------------------------------------------------------------------------------


def test_call_recording_passes_the_options_to_its_storage() -> None:
    stack = make_stack()
    recording = CallRecording(stack, "Recording", retention_classes=[SUPPORT], **LOCK)
    assert recording.storage.retention_classes == (SUPPORT,)
    assert recording.storage.object_lock_mode == s3.ObjectLockMode.COMPLIANCE
    bucket = _bucket(Template.from_stack(stack))
    assert bucket["ObjectLockConfiguration"] == {"ObjectLockEnabled": "Enabled"}


def test_call_recording_rejects_classes_without_the_catalog() -> None:
    with pytest.raises(RecordingConfigurationError) as raised:
        CallRecording(make_stack(), "Recording", catalog=False, retention_classes=[SUPPORT], **LOCK)
    assert "retention_classes='<1 class(es)>': applies only with catalog=True" in str(raised.value)


def test_call_recording_rejects_storage_options_with_a_storage_passed() -> None:
    stack = make_stack()
    storage = RecordingStorage(stack, "Mine")
    with pytest.raises(RecordingConfigurationError) as raised:
        CallRecording(stack, "Recording", storage=storage, retention_classes=[SUPPORT], **LOCK)
    message = str(raised.value)
    for option in ("object_lock_mode", "object_lock_retention", "retention_classes"):
        assert f"{option}=" in message
    assert "set it on the storage you passed" in message


# -- bad input --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("", "must be 1-64 characters of A-Z a-z 0-9 _ . -"),
        ("a" * 65, "must be 1-64 characters of A-Z a-z 0-9 _ . -"),
        ("trading desk", "must be 1-64 characters of A-Z a-z 0-9 _ . -"),
        ("default", "is reserved for the implicit class of object_lock_retention"),
    ],
)
def test_fails_on_a_bad_class_name(name: str, reason: str) -> None:
    message = _error(
        retention_classes=[RetentionClass(name, ["+12065550100"], cdk.Duration.days(1))], **LOCK
    )
    assert f"retention_classes[0].name={name!r}: {reason}" in message


def test_fails_on_duplicate_class_names() -> None:
    message = _error(retention_classes=[SUPPORT, SUPPORT], **LOCK)
    assert "retention_classes[1].name='support': duplicates retention_classes[0].name" in message


def test_fails_on_a_number_that_is_not_e164() -> None:
    bad = RetentionClass("desk", ["+12065550100", "206-555-0100"], cdk.Duration.days(30))
    message = _error(retention_classes=[bad], **LOCK)
    assert "retention_classes[0].numbers[1]='206-555-0100': must be an E.164" in message


def test_fails_on_a_class_without_numbers() -> None:
    message = _error(retention_classes=[RetentionClass("desk", [], cdk.Duration.days(30))], **LOCK)
    assert "retention_classes[0].numbers=[]: must be a non-empty list of E.164 numbers" in message


def test_a_number_may_be_in_several_classes() -> None:
    stack = make_stack()
    storage = RecordingStorage(stack, "Storage", retention_classes=[TRADING, LEGAL], **LOCK)
    assert len(storage.retention_classes) == 2


def test_fails_when_delete_after_precedes_retain_for() -> None:
    early = RetentionClass("desk", ["+12065550100"], cdk.Duration.days(365), cdk.Duration.days(30))
    message = _error(retention_classes=[early], **LOCK)
    assert (
        "retention_classes[0].delete_after='30 days': must be at least retain_for (365 days)"
        in (message)
    )


def test_fails_when_the_class_rules_would_pass_the_s3_rule_limit() -> None:
    def expiring(count: int) -> list[RetentionClass]:
        return [
            RetentionClass(f"c{n}", ["+12065550100"], cdk.Duration.days(1), cdk.Duration.days(1))
            for n in range(count)
        ]

    message = _error(retention_classes=expiring(500), **LOCK)
    assert "retention_classes='<500 class(es) with delete_after>': at most 499" in message
    # 499 classes: 2 + 2 x 499 = 1,000 rules, S3's limit exactly.
    assert (
        len(
            RecordingStorage(
                make_stack(), "S", retention_classes=expiring(499), **LOCK
            ).retention_classes
        )
        == 499
    )


def test_fails_when_retain_for_is_not_whole_days() -> None:
    odd = RetentionClass("desk", ["+12065550100"], cdk.Duration.hours(36))
    message = _error(retention_classes=[odd], **LOCK)
    assert "retention_classes[0].retain_for='1 day 12 hours': must be a whole number of days" in (
        message
    )


def test_fails_when_classes_lack_object_lock_mode() -> None:
    message = _error(retention_classes=[SUPPORT])
    assert "retention_classes='<1 class(es)>': need object_lock_mode" in message


def test_fails_when_the_prefix_expiration_precedes_a_class_retention() -> None:
    message = _error(
        retention_classes=[TRADING],
        recording_retention=cdk.Duration.days(400),
        **LOCK,
    )
    assert "recording_retention='400 days': must not be shorter than retention_classes[0]" in (
        message
    )


INEFFECTIVE = "cdk-recording:storage:class-delete-after-ineffective"


def _ineffective(stack: cdk.Stack) -> list[str]:
    return [
        str(w.entry.data)
        for w in Annotations.from_stack(stack).find_warning(
            "/TestStack/Storage", Match.string_like_regexp(INEFFECTIVE)
        )
    ]


def test_warns_when_the_prefix_expiration_pre_empts_a_class_delete_after() -> None:
    stack = make_stack()
    RecordingStorage(
        stack,
        "Storage",
        retention_classes=[SUPPORT, TRADING],
        recording_retention=cdk.Duration.days(2560),
        **LOCK,
    )
    [warning] = _ineffective(stack)
    assert "recording_retention (2560 days)" in warning
    assert "retention_classes[1].delete_after (2600 days, class 'trading')" in warning


def test_no_warning_when_the_prefix_expiration_comes_after_every_delete_after() -> None:
    stack = make_stack()
    RecordingStorage(
        stack,
        "Storage",
        retention_classes=[SUPPORT, TRADING],
        recording_retention=cdk.Duration.days(2600),
        **LOCK,
    )
    assert _ineffective(stack) == []


def test_classes_let_object_lock_mode_come_without_a_default_retention() -> None:
    RecordingStorage(
        make_stack(),
        "Storage",
        retention_classes=[SUPPORT],
        object_lock_mode=s3.ObjectLockMode.GOVERNANCE,
    )


def test_fails_when_classes_meet_a_brought_bucket() -> None:
    stack = make_stack()
    message = ""
    with pytest.raises(RecordingConfigurationError) as raised:
        RecordingStorage(
            stack, "Storage", bucket=s3.Bucket(stack, "Mine"), retention_classes=[SUPPORT]
        )
    message = str(raised.value)
    assert "retention_classes='<1 item(s)>': applies only to a bucket this construct defines" in (
        message
    )


def test_every_problem_is_reported_at_once() -> None:
    message = _error(
        retention_classes=[
            RetentionClass("default", ["+1"], cdk.Duration.days(10), cdk.Duration.days(5))
        ]
    )
    assert "need object_lock_mode" in message
    assert "is reserved" in message
    assert "numbers[0]='+1'" in message
    assert "delete_after='5 days'" in message


def test_the_catalog_exposes_the_retention_metrics() -> None:
    stack = make_stack()
    storage = RecordingStorage(stack, "Storage", **LOCK)
    catalog = RecordingCatalog(stack, "Catalog", storage=storage, application="app")
    assert catalog.metric_retention_failed().metric_name == "RetentionFailed"
    assert catalog.metric_recording_after_erasure().metric_name == "RecordingAfterErasure"
    assert catalog.metric_retention_deferred().metric_name == "RetentionDeferred"
    defaulted = catalog.metric_retention_class_defaulted()
    assert defaulted.metric_name == "RetentionClassDefaulted"
    assert defaulted.dimensions == {"Application": "app"}


def test_a_final_retention_failure_has_an_alarm_only_with_object_lock() -> None:
    def alarmed(**options: Any) -> bool:
        stack = make_stack()
        CallRecording(stack, "Recording", **options)
        alarms = Template.from_stack(stack).find_resources("AWS::CloudWatch::Alarm").values()
        return any(a["Properties"].get("MetricName") == "RetentionFailed" for a in alarms)

    assert alarmed(**LOCK)
    assert not alarmed()


# -- the deferral of recordings whose call has not ended ----------------------------------------


def _arrival_receives(template: Template) -> int:
    queues = template.find_resources("AWS::SQS::Queue")
    [arrival] = [q for logical, q in queues.items() if "ArrivalQueue" in logical]
    return int(arrival["Properties"]["RedrivePolicy"]["maxReceiveCount"])


def test_with_classes_the_arrival_queue_keeps_five_attempts_after_a_deferral() -> None:
    _, with_classes = _with_catalog(retention_classes=[TRADING, SUPPORT], **LOCK)
    _, without = _with_catalog(**LOCK)
    assert (_arrival_receives(with_classes), _arrival_receives(without)) == (6, 5)


def test_with_classes_missing_after_must_cover_a_deferral() -> None:
    stack = make_stack()
    storage = RecordingStorage(stack, "Storage", retention_classes=[TRADING], **LOCK)
    with pytest.raises(RecordingConfigurationError, match=r"missing_after=.*at least 15 minutes"):
        RecordingCatalog(stack, "Catalog", storage=storage, missing_after=cdk.Duration.minutes(14))
    # Without classes nothing is deferred, and a short wait is allowed.
    plain = RecordingStorage(stack, "Plain", **LOCK)
    RecordingCatalog(stack, "PlainCatalog", storage=plain, missing_after=cdk.Duration.minutes(5))
