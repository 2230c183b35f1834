"""Encrypted CloudWatch log groups and least-privilege roles for the library's Lambda functions, and
the server access log buckets of its S3 buckets."""

from __future__ import annotations

from collections.abc import Sequence

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from constructs import Construct

from cdk_recording._compliance import acknowledge
from cdk_recording._defaults import LOG_RETENTION

__all__ = [
    "KMS_PACKS",
    "REPLICATION_REASON",
    "LogsKey",
    "access_logs_bucket",
    "encrypted_log_group",
    "function_role",
]

#: The cdk-nag packs whose rules ask for customer managed keys and replication.
KMS_PACKS = ("HIPAA.Security", "NIST.800.53.R5", "PCI.DSS.321")
#: Why the library's buckets are not replicated to another Region.
REPLICATION_REASON = (
    "Cross-Region replication needs a destination bucket in another Region, which a single-Region "
    "stack cannot define, and recordings may be bound to their Region by data-residency rules. "
    "Versioning, which replication requires, is on, so replication can be added to this bucket "
    "where the operator's recovery plan calls for it."
)

_KEY_ID = "CdkRecordingLogsKey"


class LogsKey(Construct):
    """One customer managed key per stack for every log group the library defines.

    The logs hold call metadata (transaction ids, masked numbers, recording keys), which regulated
    users must keep under a key they control. Rotation is on; the key is retained with the stack.
    """

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        stack = cdk.Stack.of(self)
        self.key = kms.Key(
            self,
            "Resource",
            description="cdk-recording: encrypts the CloudWatch log groups of call recording",
            enable_key_rotation=True,
            removal_policy=cdk.RemovalPolicy.RETAIN,
        )
        self.key.add_to_resource_policy(logs_may_use_key(stack, "CloudWatchLogsUsesKey"))

    @classmethod
    def of(cls, scope: Construct) -> kms.Key:
        """The stack's logs key, created on first use."""
        stack = cdk.Stack.of(scope)
        existing = stack.node.try_find_child(_KEY_ID)
        if isinstance(existing, LogsKey):
            return existing.key
        return cls(stack, _KEY_ID).key


def encrypted_log_group(
    scope: Construct, construct_id: str, retention: logs.RetentionDays = LOG_RETENTION
) -> logs.LogGroup:
    """A log group encrypted with the stack's logs key, retained with the stack."""
    return logs.LogGroup(
        scope,
        construct_id,
        retention=retention,
        encryption_key=LogsKey.of(scope),
        removal_policy=cdk.RemovalPolicy.RETAIN,
    )


def function_role(
    scope: Construct,
    construct_id: str,
    *,
    description: str,
    log_group: logs.ILogGroup,
    statements: Sequence[iam.PolicyStatement] = (),
) -> iam.Role:
    """A Lambda execution role whose only permissions are one customer managed policy.

    Writing to ``log_group``, X-Ray tracing and ``statements``; no AWS managed policy, no inline policy.
    Pass ``role.without_policy_updates()`` to the function so nothing is added behind our back.
    """
    role = iam.Role(
        scope,
        construct_id,
        assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
        description=description,
    )
    policy = iam.ManagedPolicy(
        role,
        "Policy",
        description=f"Permissions of: {description}",
        statements=[
            iam.PolicyStatement(
                sid="WriteOwnLogs",
                actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                resources=[f"{log_group.log_group_arn}"],
            ),
            iam.PolicyStatement(
                sid="Tracing",
                actions=["xray:PutTraceSegments", "xray:PutTelemetryRecords"],
                resources=["*"],
            ),
            *statements,
        ],
    )
    role.add_managed_policy(policy)
    return role


def access_logs_bucket(
    scope: Construct,
    construct_id: str,
    *,
    removal_policy: cdk.RemovalPolicy,
    retention: cdk.Duration,
    logs_of: str,
) -> s3.Bucket:
    """A bucket for the server access logs of ``logs_of`` (how the acknowledgements name it):
    private, TLS only, SSE-S3 (the only encryption S3 delivers access logs into), versioned, its
    logs expired after ``retention``. It is the end of the audit chain: logging it into itself
    would be circular, and into another bucket would only move the finding one bucket further."""
    bucket = s3.Bucket(
        scope,
        construct_id,
        block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
        enforce_ssl=True,
        encryption=s3.BucketEncryption.S3_MANAGED,
        object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
        versioned=True,
        removal_policy=removal_policy,
        lifecycle_rules=[
            s3.LifecycleRule(
                id="ExpireAccessLogs",
                expiration=retention,
                noncurrent_version_expiration=cdk.Duration.days(30),
                abort_incomplete_multipart_upload_after=cdk.Duration.days(7),
            )
        ],
    )
    acknowledge(
        bucket,
        [f"{pack}::{pack}-S3DefaultEncryptionKMS" for pack in KMS_PACKS],
        "S3 server access logs can be delivered only to a bucket whose default "
        "encryption is SSE-S3; SSE-KMS is not supported for log destination buckets.",
    )
    acknowledge(
        bucket,
        [f"{pack}::{pack}-S3BucketReplicationEnabled" for pack in KMS_PACKS],
        REPLICATION_REASON,
    )
    acknowledge(
        bucket,
        ["AwsSolutions::AwsSolutions-S1"],
        f"This bucket receives {logs_of}'s server access logs; logging it into "
        "another bucket would only move the same finding one bucket further.",
    )
    return bucket


def logs_may_use_key(stack: cdk.Stack, sid: str) -> iam.PolicyStatement:
    """The key policy statement that lets CloudWatch Logs of ``stack``'s Region use a key for the
    log groups of ``stack``'s account (the statement of the CloudWatch Logs encryption guide)."""
    return iam.PolicyStatement(
        sid=sid,
        principals=[iam.ServicePrincipal(f"logs.{stack.region}.amazonaws.com")],
        actions=[
            "kms:Encrypt*",
            "kms:Decrypt*",
            "kms:ReEncrypt*",
            "kms:GenerateDataKey*",
            "kms:Describe*",
        ],
        resources=["*"],
        conditions={
            "ArnLike": {
                "kms:EncryptionContext:aws:logs:arn": stack.format_arn(
                    service="logs",
                    resource="log-group",
                    resource_name="*",
                    arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
                )
            }
        },
    )
