"""RecordingAccessTrail: the data-event selectors, log file validation, the log bucket, the key."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk.assertions import Match, Template

from cdk_recording import (
    CallRecording,
    RecordingAccessTrail,
    RecordingConfigurationError,
    RecordingStorage,
)
from tests.constructs.conftest import make_stack


def _trail_template(**options: Any) -> tuple[Template, RecordingAccessTrail, RecordingStorage]:
    stack = make_stack()
    storage = RecordingStorage(stack, "Storage")
    trail = RecordingAccessTrail(stack, "AccessTrail", bucket=storage.bucket, **options)
    return Template.from_stack(stack), trail, storage


@pytest.fixture(scope="module")
def default() -> Template:
    return _trail_template()[0]


def _only(template: Template, resource_type: str) -> dict[str, Any]:
    found = template.find_resources(resource_type)
    assert len(found) == 1, found
    return dict(next(iter(found.values())))


def _selector_fields(template: Template) -> dict[str, Any]:
    trail = _only(template, "AWS::CloudTrail::Trail")["Properties"]
    (selector,) = trail["AdvancedEventSelectors"]
    return {f["Field"]: f for f in selector["FieldSelectors"]}


def _object_arn(prefix: str) -> dict[str, Any]:
    return {
        "Fn::Join": [
            "",
            [{"Fn::GetAtt": [Match.string_like_regexp("StorageBucket"), "Arn"]}, prefix],
        ]
    }


def test_reads_of_recordings_and_transcripts_are_selected_by_arn_prefix(default: Template) -> None:
    fields = _selector_fields(default)
    assert fields["eventCategory"] == {"Field": "eventCategory", "Equals": ["Data"]}
    assert fields["resources.type"] == {"Field": "resources.type", "Equals": ["AWS::S3::Object"]}
    assert fields["readOnly"] == {"Field": "readOnly", "Equals": ["true"]}
    starts = fields["resources.ARN"]["StartsWith"]
    assert [part["Fn::Join"][1][1] for part in starts] == ["/recordings/", "/transcripts/"]
    default.has_resource_properties(
        "AWS::CloudTrail::Trail",
        {
            "AdvancedEventSelectors": [
                {
                    "FieldSelectors": Match.array_with(
                        [
                            {
                                "Field": "resources.ARN",
                                "StartsWith": [
                                    _object_arn("/recordings/"),
                                    _object_arn("/transcripts/"),
                                ],
                            }
                        ]
                    )
                }
            ]
        },
    )


def test_trail_is_data_only_single_region_with_log_file_validation(default: Template) -> None:
    trail = _only(default, "AWS::CloudTrail::Trail")["Properties"]
    assert "EventSelectors" not in trail
    assert trail["EnableLogFileValidation"] is True
    assert trail["IsMultiRegionTrail"] is False
    assert trail["IncludeGlobalServiceEvents"] is False
    assert trail["KMSKeyId"]["Fn::GetAtt"][0].startswith("AccessTrailKey")
    assert "CloudWatchLogsLogGroupArn" not in trail


def test_write_events_drops_the_read_only_filter() -> None:
    template = _trail_template(write_events=True)[0]
    fields = _selector_fields(template)
    assert "readOnly" not in fields
    assert set(fields) == {"eventCategory", "resources.type", "resources.ARN"}


def test_transcripts_prefix_none_watches_recordings_only() -> None:
    template = _trail_template(transcripts_prefix=None, recording_prefix="calls/audio")[0]
    starts = _selector_fields(template)["resources.ARN"]["StartsWith"]
    assert [part["Fn::Join"][1][1] for part in starts] == ["/calls/audio/"]


def _log_bucket(template: Template) -> tuple[str, dict[str, Any]]:
    trail = _only(template, "AWS::CloudTrail::Trail")["Properties"]
    name = trail["S3BucketName"]["Ref"]
    return name, template.to_json()["Resources"][name]


def test_log_bucket_is_private_tls_only_versioned_encrypted_logged_and_retained(
    default: Template,
) -> None:
    name, bucket = _log_bucket(default)
    properties = bucket["Properties"]
    assert bucket["DeletionPolicy"] == "Retain"
    assert bucket["UpdateReplacePolicy"] == "Retain"
    assert properties["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    assert properties["VersioningConfiguration"] == {"Status": "Enabled"}
    assert properties["BucketEncryption"]["ServerSideEncryptionConfiguration"] == [
        {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}
    ]
    assert properties["LoggingConfiguration"]["LogFilePrefix"] == "access-trail-bucket/"
    (rule,) = properties["LifecycleConfiguration"]["Rules"]
    assert "ExpirationInDays" not in rule, "log files are kept unless log_retention says otherwise"
    default.has_resource_properties(
        "AWS::S3::BucketPolicy",
        {
            "Bucket": {"Ref": name},
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Effect": "Deny",
                                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                            }
                        ),
                        Match.object_like(
                            {
                                "Action": "s3:PutObject",
                                "Principal": {"Service": "cloudtrail.amazonaws.com"},
                            }
                        ),
                    ]
                )
            },
        },
    )


def test_log_retention_expires_log_files() -> None:
    template = _trail_template(log_retention=cdk.Duration.days(2555))[0]
    _, bucket = _log_bucket(template)
    (rule,) = bucket["Properties"]["LifecycleConfiguration"]["Rules"]
    assert rule["ExpirationInDays"] == 2555


def test_key_rotates_and_lets_cloudtrail_encrypt_for_this_account_only(default: Template) -> None:
    default.has_resource_properties(
        "AWS::KMS::Key",
        {
            "EnableKeyRotation": True,
            "KeyPolicy": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Sid": "CloudTrailEncryptsLogFiles",
                                "Action": "kms:GenerateDataKey*",
                                "Principal": {"Service": "cloudtrail.amazonaws.com"},
                                "Condition": {
                                    "StringEquals": {"aws:SourceAccount": "123456789012"},
                                    "StringLike": {
                                        "kms:EncryptionContext:aws:cloudtrail:arn": Match.any_value()
                                    },
                                },
                            }
                        )
                    ]
                )
            },
        },
    )
    assert _only(default, "AWS::KMS::Key")["DeletionPolicy"] == "Retain"


def test_cloud_watch_logs_go_to_an_encrypted_log_group() -> None:
    template = _trail_template(
        cloud_watch_logs=True, cloud_watch_logs_retention=logs.RetentionDays.TWO_YEARS
    )[0]
    group = _only(template, "AWS::Logs::LogGroup")
    assert group["Properties"]["RetentionInDays"] == 731
    assert group["Properties"]["KmsKeyId"]["Fn::GetAtt"][1] == "Arn"
    assert group["DeletionPolicy"] == "Retain"
    trail = _only(template, "AWS::CloudTrail::Trail")["Properties"]
    assert "CloudWatchLogsLogGroupArn" in trail
    assert "CloudWatchLogsRoleArn" in trail
    template.has_resource_properties(
        "AWS::KMS::Key",
        {
            "KeyPolicy": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Sid": "CloudWatchLogsEncryptsTrailEvents",
                                "Principal": {"Service": "logs.us-east-1.amazonaws.com"},
                                "Action": [
                                    "kms:Encrypt*",
                                    "kms:Decrypt*",
                                    "kms:ReEncrypt*",
                                    "kms:GenerateDataKey*",
                                    "kms:Describe*",
                                ],
                                "Condition": {
                                    "ArnLike": {
                                        "kms:EncryptionContext:aws:logs:arn": Match.any_value()
                                    }
                                },
                            }
                        )
                    ]
                )
            }
        },
    )


def test_grant_read_logs_reads_the_log_bucket_and_decrypts() -> None:
    stack = make_stack()
    storage = RecordingStorage(stack, "Storage")
    trail = RecordingAccessTrail(stack, "AccessTrail", bucket=storage.bucket)
    role = iam.Role(stack, "Auditor", assumed_by=iam.AccountRootPrincipal())
    grant = trail.grant_read_logs(role)
    assert grant.success
    statements = Template.from_stack(stack).find_resources("AWS::IAM::Policy")
    actions = {
        action
        for policy in statements.values()
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        for action in (
            [statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"]
        )
    }
    assert {"s3:GetObject*", "kms:Decrypt"} <= actions


def test_bad_options_are_reported_together() -> None:
    stack = make_stack()
    storage = RecordingStorage(stack, "Storage")
    with pytest.raises(RecordingConfigurationError) as raised:
        RecordingAccessTrail(
            stack,
            "AccessTrail",
            bucket=storage.bucket,
            recording_prefix="/recordings",
            transcripts_prefix="a//b",
            cloud_watch_logs_retention=logs.RetentionDays.ONE_MONTH,
            log_retention=cdk.Duration.hours(12),
            trail_name="my--trail",
        )
    problems = raised.value.problems
    assert len(problems) == 5
    for option in (
        "recording_prefix",
        "transcripts_prefix",
        "cloud_watch_logs_retention",
        "log_retention",
        "trail_name",
    ):
        assert any(p.startswith(f"{option}=") for p in problems), option
    assert "applies only with cloud_watch_logs=True" in str(raised.value)


def test_call_recording_has_no_trail_by_default() -> None:
    stack = make_stack()
    recording = CallRecording(stack, "CallRecording")
    assert recording.access_trail is None
    Template.from_stack(stack).resource_count_is("AWS::CloudTrail::Trail", 0)


def test_call_recording_access_trail_watches_its_prefix_and_shares_the_access_log_bucket() -> None:
    stack = make_stack()
    recording = CallRecording(stack, "CallRecording", recording_prefix="calls", access_trail=True)
    assert recording.access_trail is not None
    assert recording.access_trail.watched_prefixes == ("calls", "transcripts")
    assert recording.access_trail.access_logs_bucket is recording.storage.access_logs_bucket
    template = Template.from_stack(stack)
    template.resource_count_is("AWS::CloudTrail::Trail", 1)
    # The recording bucket, its access log bucket and the trail's log bucket: no second log bucket.
    template.resource_count_is("AWS::S3::Bucket", 3)
    starts = _selector_fields(template)["resources.ARN"]["StartsWith"]
    assert [part["Fn::Join"][1][1] for part in starts] == ["/calls/", "/transcripts/"]
