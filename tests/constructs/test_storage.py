"""RecordingStorage: every promise of the recording bucket, its policy and lifecycle."""

from __future__ import annotations

import json
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Annotations, Match, Template

from cdk_recording import (
    RecordingConfigurationError,
    RecordingEncryption,
    RecordingStorage,
    RecordingTransition,
)
from tests.constructs.conftest import make_stack

SMA_ARN = "arn:aws:chime:us-east-1:123456789012:sma/11111111-2222-3333-4444-555555555555"


def _storage_template(**options: Any) -> tuple[Template, RecordingStorage]:
    stack = make_stack()
    storage = RecordingStorage(stack, "Storage", **options)
    storage.allow_sip_media_application(SMA_ARN)
    return Template.from_stack(stack), storage


@pytest.fixture(scope="module")
def default() -> Template:
    return _storage_template()[0]


def _recording_bucket(template: Template) -> dict[str, Any]:
    buckets = template.find_resources(
        "AWS::S3::Bucket", {"Properties": {"LifecycleConfiguration": Match.any_value()}}
    )
    recording = [b for b in buckets.values() if "LoggingConfiguration" in b["Properties"]]
    assert len(recording) == 1
    result: dict[str, Any] = recording[0]
    return result


def _statements(template: Template, sid: str) -> list[dict[str, Any]]:
    found = []
    for policy in template.find_resources("AWS::S3::BucketPolicy").values():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            if statement.get("Sid") == sid:
                found.append(statement)
    return found


def test_recording_bucket_blocks_all_public_access(default: Template) -> None:
    assert _recording_bucket(default)["Properties"]["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }


def test_recording_bucket_is_versioned_and_sse_s3_by_default(default: Template) -> None:
    props = _recording_bucket(default)["Properties"]
    assert props["VersioningConfiguration"] == {"Status": "Enabled"}
    rule = props["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
    assert rule["ServerSideEncryptionByDefault"] == {"SSEAlgorithm": "AES256"}


def test_recording_bucket_accepts_the_service_acl(default: Template) -> None:
    assert _recording_bucket(default)["Properties"]["OwnershipControls"] == {
        "Rules": [{"ObjectOwnership": "BucketOwnerPreferred"}]
    }


def test_every_bucket_denies_requests_without_tls(default: Template) -> None:
    policies = default.find_resources("AWS::S3::BucketPolicy")
    assert len(policies) == 2
    for policy in policies.values():
        statements = policy["Properties"]["PolicyDocument"]["Statement"]
        assert any(
            s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
            for s in statements
        )


def test_access_logs_go_to_a_separate_private_expiring_bucket(default: Template) -> None:
    props = _recording_bucket(default)["Properties"]
    log_ref = props["LoggingConfiguration"]["DestinationBucketName"]["Ref"]
    log_bucket = default.to_json()["Resources"][log_ref]["Properties"]
    assert log_bucket["PublicAccessBlockConfiguration"]["BlockPublicPolicy"] is True
    assert log_bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert log_bucket["LifecycleConfiguration"]["Rules"][0]["ExpirationInDays"] == 365


def test_buckets_are_retained_with_the_stack(default: Template) -> None:
    for bucket in default.find_resources("AWS::S3::Bucket").values():
        assert bucket["DeletionPolicy"] == "Retain"
        assert bucket["UpdateReplacePolicy"] == "Retain"


def test_chime_may_write_only_under_the_recording_prefix(default: Template) -> None:
    [statement] = _statements(default, "ChimeSmaWritesRecordings")
    assert statement["Principal"] == {"Service": "voiceconnector.chime.amazonaws.com"}
    assert sorted(statement["Action"]) == ["s3:PutObject", "s3:PutObjectAcl"]
    resource = json.dumps(statement["Resource"])
    assert "/recordings/*" in resource
    assert '"/*"' not in resource


def test_chime_writes_are_limited_to_this_account_and_sma(default: Template) -> None:
    [statement] = _statements(default, "ChimeSmaWritesRecordings")
    assert statement["Condition"] == {
        "StringEquals": {"aws:SourceAccount": "123456789012", "aws:SourceArn": SMA_ARN}
    }


def test_every_registered_sma_joins_the_source_arn_condition() -> None:
    stack = make_stack()
    storage = RecordingStorage(stack, "Storage")
    other = SMA_ARN.replace("11111111", "99999999")
    storage.allow_sip_media_application(SMA_ARN)
    storage.allow_sip_media_application(other)
    template = Template.from_stack(stack)
    [statement] = _statements(template, "ChimeSmaWritesRecordings")
    assert statement["Condition"]["StringEquals"]["aws:SourceArn"] == [SMA_ARN, other]


def test_chime_may_read_prompts_only(default: Template) -> None:
    [statement] = _statements(default, "ChimeSmaReadsPrompts")
    assert statement["Action"] == "s3:GetObject"
    assert "/prompts/*" in json.dumps(statement["Resource"])
    assert statement["Condition"]["StringEquals"]["aws:SourceArn"] == SMA_ARN


def _rules(template: Template) -> dict[str, dict[str, Any]]:
    rules = _recording_bucket(template)["Properties"]["LifecycleConfiguration"]["Rules"]
    return {rule["Id"]: rule for rule in rules}


def test_lifecycle_is_scoped_to_the_recording_prefix(default: Template) -> None:
    rule = _rules(default)["Recordings"]
    assert rule["Prefix"] == "recordings/"
    assert rule["Transitions"] == [
        {"StorageClass": "STANDARD_IA", "TransitionInDays": 30},
        {"StorageClass": "GLACIER_IR", "TransitionInDays": 90},
    ]
    assert rule["NoncurrentVersionExpiration"] == {"NoncurrentDays": 90}
    assert rule["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": 7}
    assert "ExpirationInDays" not in rule


def test_recording_retention_expires_recordings() -> None:
    template, _ = _storage_template(recording_retention=cdk.Duration.days(2555))
    assert _rules(template)["Recordings"]["ExpirationInDays"] == 2555


def test_transcripts_share_the_recordings_lifecycle(default: Template) -> None:
    rules = _rules(default)
    assert set(rules) == {"Recordings", "Transcripts"}
    assert rules["Transcripts"] == {
        **rules["Recordings"],
        "Id": "Transcripts",
        "Prefix": "transcripts/",
    }


def test_recording_retention_expires_transcripts_too() -> None:
    template, _ = _storage_template(recording_retention=cdk.Duration.days(2555))
    assert _rules(template)["Transcripts"]["ExpirationInDays"] == 2555


def test_custom_prefix_flows_into_policy_lifecycle_and_destination() -> None:
    template, storage = _storage_template(recording_prefix="calls/eu")
    assert _rules(template)["Recordings"]["Prefix"] == "calls/eu/"
    [statement] = _statements(template, "ChimeSmaWritesRecordings")
    assert "/calls/eu/*" in json.dumps(statement["Resource"])
    assert storage.recording_destination.endswith("/calls/eu")


def test_object_lock_sets_default_retention() -> None:
    template, _ = _storage_template(
        object_lock_mode=s3.ObjectLockMode.COMPLIANCE,
        object_lock_retention=cdk.Duration.days(365),
        recording_retention=cdk.Duration.days(400),
    )
    props = _recording_bucket(template)["Properties"]
    assert props["ObjectLockEnabled"] is True
    assert props["ObjectLockConfiguration"]["Rule"]["DefaultRetention"] == {
        "Mode": "COMPLIANCE",
        "Days": 365,
    }


def test_kms_encryption_defines_a_rotating_key_the_service_may_use() -> None:
    template, _ = _storage_template(encryption=RecordingEncryption.KMS)
    template.has_resource_properties("AWS::KMS::Key", {"EnableKeyRotation": True})
    template.has_resource("AWS::KMS::Key", {"DeletionPolicy": "Retain"})
    props = _recording_bucket(template)["Properties"]
    rule = props["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
    assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
    key = next(iter(template.find_resources("AWS::KMS::Key").values()))
    [statement] = [
        s
        for s in key["Properties"]["KeyPolicy"]["Statement"]
        if s.get("Sid") == "ChimeSmaEncryptsRecordings"
    ]
    assert statement["Principal"] == {"Service": "voiceconnector.chime.amazonaws.com"}
    assert sorted(statement["Action"]) == ["kms:Decrypt", "kms:GenerateDataKey"]
    # Any SMA of this account and Region, through S3 only (naming the SMA would be a cycle).
    assert statement["Condition"]["StringEquals"] == {
        "aws:SourceAccount": "123456789012",
        "kms:ViaService": "s3.us-east-1.amazonaws.com",
    }
    assert "sma/*" in json.dumps(statement["Condition"]["ArnLike"]["aws:SourceArn"])


def test_read_grant_is_scoped_to_recordings_and_includes_the_key() -> None:
    stack = make_stack()
    storage = RecordingStorage(stack, "Storage", encryption=RecordingEncryption.KMS)
    role = iam.Role(stack, "Reader", assumed_by=iam.AccountRootPrincipal())
    storage.grant_read_recordings(role)
    template = Template.from_stack(stack)
    policy = next(iter(template.find_resources("AWS::IAM::Policy").values()))
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    rendered = json.dumps(statements)
    assert "/recordings/*" in rendered
    assert "kms:Decrypt" in rendered
    assert "s3:PutObject" not in rendered


def test_imported_bucket_warns_with_the_statement_to_add() -> None:
    stack = make_stack()
    bucket = s3.Bucket.from_bucket_name(stack, "Existing", "my-existing-recordings")
    storage = RecordingStorage(stack, "Storage", bucket=bucket)
    storage.allow_sip_media_application(SMA_ARN)
    warnings = Annotations.from_stack(stack).find_warning(
        "/TestStack/Storage", Match.string_like_regexp("NoAccessToDestination")
    )
    assert len(warnings) == 1
    text = warnings[0].entry.data
    assert "voiceconnector.chime.amazonaws.com" in text
    assert ":s3:::my-existing-recordings/recordings/*" in text
    assert SMA_ARN in text


def test_brought_bucket_in_the_stack_gets_the_statements() -> None:
    stack = make_stack()
    bucket = s3.Bucket(stack, "Mine", object_ownership=s3.ObjectOwnership.BUCKET_OWNER_PREFERRED)
    storage = RecordingStorage(stack, "Storage", bucket=bucket)
    storage.allow_sip_media_application(SMA_ARN)
    template = Template.from_stack(stack)
    assert len(_statements(template, "ChimeSmaWritesRecordings")) == 1
    assert not Annotations.from_stack(stack).find_warning("*", Match.any_value())


def _delivery_warnings(stack: cdk.Stack, warning_id: str) -> list[str]:
    return [
        message.entry.data
        for message in Annotations.from_stack(stack).find_warning(
            "/TestStack/Storage", Match.string_like_regexp(warning_id)
        )
    ]


@pytest.mark.parametrize(
    "ownership",
    [None, s3.ObjectOwnership.BUCKET_OWNER_ENFORCED, s3.ObjectOwnership.OBJECT_WRITER],
    ids=["s3-default", "enforced", "object-writer"],
)
def test_a_bucket_of_your_own_that_enforces_ownership_is_warned_about(
    ownership: s3.ObjectOwnership | None,
) -> None:
    # S3's default (no OwnershipControls) is BucketOwnerEnforced: any ACL but
    # bucket-owner-full-control is refused, and the service's ACL is undocumented.
    stack = make_stack()
    bucket = s3.Bucket(stack, "Mine", object_ownership=ownership)
    RecordingStorage(stack, "Storage", bucket=bucket)
    [text] = _delivery_warnings(stack, "cdk-recording:storage:own-bucket-object-ownership")
    assert "TestStack/Mine" in text
    assert "BUCKET_OWNER_PREFERRED" in text
    assert "AWS does not document which ACL" in text


def test_a_bucket_of_your_own_owned_by_the_bucket_owner_preferred_is_not_warned_about() -> None:
    stack = make_stack()
    bucket = s3.Bucket(stack, "Mine", object_ownership=s3.ObjectOwnership.BUCKET_OWNER_PREFERRED)
    RecordingStorage(stack, "Storage", bucket=bucket)
    assert _delivery_warnings(stack, "object-ownership") == []


def test_the_own_bucket_is_checked_at_synth_after_the_app_set_it() -> None:
    # Ownership set on the L1 bucket after the storage was built is what deploys: no warning.
    stack = make_stack()
    bucket = s3.Bucket(stack, "Mine")
    RecordingStorage(stack, "Storage", bucket=bucket)
    cfn = bucket.node.default_child
    assert isinstance(cfn, s3.CfnBucket)
    cfn.ownership_controls = s3.CfnBucket.OwnershipControlsProperty(
        rules=[s3.CfnBucket.OwnershipControlsRuleProperty(object_ownership="BucketOwnerPreferred")]
    )
    assert _delivery_warnings(stack, "object-ownership") == []


@pytest.mark.parametrize(
    ("encryption", "algorithm"),
    [(s3.BucketEncryption.KMS_MANAGED, "aws:kms"), (s3.BucketEncryption.DSSE_MANAGED, "dsse")],
)
def test_a_bucket_of_your_own_with_an_aws_managed_kms_key_is_warned_about(
    encryption: s3.BucketEncryption, algorithm: str
) -> None:
    stack = make_stack()
    bucket = s3.Bucket(
        stack,
        "Mine",
        encryption=encryption,
        object_ownership=s3.ObjectOwnership.BUCKET_OWNER_PREFERRED,
    )
    RecordingStorage(stack, "Storage", bucket=bucket)
    [text] = _delivery_warnings(stack, "cdk-recording:storage:kms-delivery")
    assert "TestStack/Mine" in text
    assert algorithm in text


def test_the_storage_bucket_has_no_ownership_or_kms_warning() -> None:
    stack = make_stack()
    RecordingStorage(stack, "Storage")
    assert not Annotations.from_stack(stack).find_warning("*", Match.any_value())


def test_sse_kms_storage_warns_that_delivery_is_undocumented() -> None:
    stack = make_stack()
    RecordingStorage(stack, "Storage", encryption=RecordingEncryption.KMS)
    [text] = _delivery_warnings(stack, "cdk-recording:storage:kms-delivery")
    assert "TestStack/Storage/Key" in text
    assert "only into SSE-S3 buckets" in text
    assert "NoAccessToDestination" in text


def test_a_bucket_of_your_own_with_a_key_warns_that_delivery_is_undocumented() -> None:
    stack = make_stack()
    key = kms.Key(stack, "OwnKey")
    bucket = s3.Bucket(
        stack,
        "Mine",
        encryption_key=key,
        object_ownership=s3.ObjectOwnership.BUCKET_OWNER_PREFERRED,
    )
    RecordingStorage(stack, "Storage", bucket=bucket)
    [text] = _delivery_warnings(stack, "cdk-recording:storage:kms-delivery")
    assert "TestStack/OwnKey" in text


def test_imported_key_warns_with_the_key_statement() -> None:
    stack = make_stack()
    bucket = s3.Bucket(stack, "Mine")
    key = kms.Key.from_key_arn(stack, "Key", "arn:aws:kms:us-east-1:123456789012:key/abcd-1234")
    storage = RecordingStorage(stack, "Storage", bucket=bucket, encryption_key=key)
    storage.allow_sip_media_application(SMA_ARN)
    warnings = Annotations.from_stack(stack).find_warning(
        "/TestStack/Storage", Match.string_like_regexp("key policy")
    )
    assert len(warnings) == 1
    assert "kms:GenerateDataKey" in warnings[0].entry.data


# -- bad input ------------------------------------------------------------------------------------


def _error(**options: Any) -> str:
    stack = make_stack()
    with pytest.raises(RecordingConfigurationError) as raised:
        RecordingStorage(stack, "Storage", **options)
    return str(raised.value)


@pytest.mark.parametrize(
    ("prefix", "reason"),
    [
        ("", "must not be empty"),
        ("/recordings", "must not start or end with '/'"),
        ("recordings/", "must not start or end with '/'"),
        ("a/../b", "'..'"),
        ("calls//x", "segments separated by single '/'"),
        ("calls with space", "may contain only"),
        ("x" * 901, "at most 900"),
    ],
)
def test_fails_on_malformed_recording_prefix(prefix: str, reason: str) -> None:
    message = _error(recording_prefix=prefix)
    assert "recording_prefix=" in message
    assert reason in message


def test_fails_when_prompts_overlap_recordings() -> None:
    message = _error(recording_prefix="media", prompts_prefix="media/prompts")
    assert "prompts_prefix='media/prompts'" in message


@pytest.mark.parametrize(
    ("options", "named"),
    [
        ({"recording_prefix": "transcripts"}, "recording_prefix='transcripts'"),
        ({"recording_prefix": "transcripts/calls"}, "recording_prefix='transcripts/calls'"),
        ({"prompts_prefix": "transcripts"}, "prompts_prefix='transcripts'"),
    ],
)
def test_fails_when_a_prefix_overlaps_the_transcripts(options: dict[str, str], named: str) -> None:
    message = _error(**options)
    assert named in message
    assert "must not overlap 'transcripts'" in message


def test_a_prefix_that_only_starts_with_the_same_letters_is_not_an_overlap() -> None:
    _storage_template(recording_prefix="transcripts-archive")


def test_fails_when_transitions_out_of_order() -> None:
    message = _error(
        transitions=[
            RecordingTransition(s3.StorageClass.GLACIER, cdk.Duration.days(90)),
            RecordingTransition(s3.StorageClass.INFREQUENT_ACCESS, cdk.Duration.days(120)),
        ]
    )
    assert "transitions[1].storage_class='STANDARD_IA'" in message
    assert "lifecycle order" in message


def test_fails_when_transition_ages_do_not_increase() -> None:
    message = _error(
        transitions=[
            RecordingTransition(s3.StorageClass.INFREQUENT_ACCESS, cdk.Duration.days(60)),
            RecordingTransition(s3.StorageClass.GLACIER, cdk.Duration.days(60)),
        ]
    )
    assert "transitions[1].after='60 days'" in message


def test_fails_when_transition_below_s3_minimum_age() -> None:
    message = _error(
        transitions=[RecordingTransition(s3.StorageClass.INFREQUENT_ACCESS, cdk.Duration.days(7))]
    )
    assert "transitions[0].after='7 days'" in message
    assert "no sooner than 30 days" in message


def test_fails_when_expiry_precedes_last_transition() -> None:
    message = _error(recording_retention=cdk.Duration.days(60))
    assert "recording_retention='60 days'" in message
    assert "last transition (90 days)" in message


def test_fails_when_object_lock_outlives_expiry() -> None:
    message = _error(
        recording_retention=cdk.Duration.days(365),
        object_lock_mode=s3.ObjectLockMode.GOVERNANCE,
        object_lock_retention=cdk.Duration.days(3650),
    )
    assert "object_lock_retention='3650 days'" in message


def test_fails_when_object_lock_mode_lacks_retention() -> None:
    message = _error(object_lock_mode=s3.ObjectLockMode.GOVERNANCE)
    assert "object_lock_retention" in message
    assert "together" in message


def test_fails_when_own_bucket_options_meet_a_brought_bucket() -> None:
    stack = make_stack()
    bucket = s3.Bucket(stack, "Mine")
    with pytest.raises(RecordingConfigurationError) as raised:
        RecordingStorage(
            stack,
            "Storage",
            bucket=bucket,
            recording_retention=cdk.Duration.days(400),
            encryption=RecordingEncryption.KMS,
        )
    message = str(raised.value)
    assert "recording_retention='400 days'" in message
    assert "encryption='KMS'" in message
    assert "applies only to a bucket this construct defines" in message


def test_reports_every_problem_at_once() -> None:
    message = _error(recording_prefix="/x", prompts_prefix="")
    assert "recording_prefix='/x'" in message
    assert "prompts_prefix=''" in message


def test_token_prefix_passes_through_unchecked() -> None:
    stack = make_stack()
    token = cdk.Token.as_string(cdk.Fn.ref("AWS::StackName"))
    storage = RecordingStorage(stack, "Storage", recording_prefix=token)
    assert storage.recording_prefix == token


def test_prompt_upload_grant_is_scoped_to_prompts() -> None:
    stack = make_stack()
    storage = RecordingStorage(stack, "Storage")
    role = iam.Role(stack, "Uploader", assumed_by=iam.AccountRootPrincipal())
    storage.grant_write_prompts(role)
    policy = next(iter(Template.from_stack(stack).find_resources("AWS::IAM::Policy").values()))
    rendered = json.dumps(policy["Properties"]["PolicyDocument"])
    assert "/prompts/*" in rendered
    assert "/recordings/" not in rendered
    assert storage.bucket is not None
