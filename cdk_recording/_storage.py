"""The account-owned S3 bucket the SIP media application delivers recordings into."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from enum import Enum
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from cdk_recording._compliance import acknowledge
from cdk_recording._defaults import TRANSCRIPTS_PREFIX
from cdk_recording._delivery_checks import OwnBucketChecks, warn_kms_delivery
from cdk_recording._lifecycle import (
    DEFAULT_TRANSITIONS,
    RecordingTransition,
    lifecycle_rule,
    validate_lifecycle,
)
from cdk_recording._logs import KMS_PACKS, REPLICATION_REASON
from cdk_recording._logs import access_logs_bucket as access_logs_bucket_of
from cdk_recording._retention import (
    RetentionAtArrivalCheck,
    RetentionClass,
    class_lifecycle_rules,
    retention_policy,
    retention_statements,
    validate_retention_classes,
    warn_ineffective_delete_after,
)
from cdk_recording._storage_policy import (
    CHIME_SERVICE_PRINCIPAL,
    WarnWithStatements,
    chime_key_statement,
    service_statements,
)
from cdk_recording._validation import Problems, is_token

__all__ = [
    "CHIME_SERVICE_PRINCIPAL",
    "RecordingEncryption",
    "RecordingStorage",
    "RecordingTransition",
]

#: Object key prefixes we accept: segments of S3-safe characters separated by single slashes.
_PREFIX = re.compile(r"^[A-Za-z0-9!_.*'()-]+(/[A-Za-z0-9!_.*'()-]+)*$")
#: Keys the service appends after the prefix are about 110 characters
#: (``/YYYY/MM/DD/<timestamp>_<36>_<36>.wav``); S3 keys stop at 1,024.
_MAX_PREFIX_LENGTH = 900

#: S3's limit of lifecycle rules per bucket (Amazon S3 User Guide, "Lifecycle configuration").
_MAX_LIFECYCLE_RULES = 1000


class RecordingEncryption(Enum):
    """How recordings are encrypted at rest."""

    #: SSE-S3 (the default). AWS documents SMA recording into SSE-S3 buckets.
    S3_MANAGED = "s3-managed"
    #: SSE-KMS with a customer managed key (a new key with rotation, or ``encryption_key``). AWS does
    #: not document SMA recording into SSE-KMS buckets; test it in your account before relying on it.
    KMS = "kms"


def validate_prefix(problems: Problems, option: str, value: str) -> None:
    """A recording or prompt prefix: S3-safe, relative, no ``.``/``..`` segments, no trailing slash."""
    if is_token(value):
        return
    if not value:
        problems.add(option, value, "must not be empty (it scopes the bucket policy and lifecycle)")
        return
    if value.startswith("/") or value.endswith("/"):
        problems.add(option, value, "must not start or end with '/'")
        return
    if any(segment in (".", "..") for segment in value.split("/")):
        problems.add(option, value, "must not contain '.' or '..' path segments")
        return
    if not _PREFIX.match(value):
        problems.add(
            option,
            value,
            "may contain only letters, digits and ! _ . * ' ( ) -, in segments separated by single '/'",
        )
        return
    if len(value) > _MAX_PREFIX_LENGTH:
        problems.add(option, value, f"must be at most {_MAX_PREFIX_LENGTH} characters")


class RecordingStorage(Construct):
    """The S3 bucket that receives SIP media application call recordings, with secure defaults.

    By default a new bucket is defined: all public access blocked, TLS only, versioned, SSE-S3 encrypted,
    server access logs to a separate log bucket, object ownership ``BUCKET_OWNER_PREFERRED`` (the service
    sends an ACL with each recording), lifecycle rules scoped to the recording prefix, and retained when the
    stack is deleted. The Chime service principal may write only under ``recording_prefix`` and read only
    under ``prompts_prefix``, and only on behalf of the SIP media applications registered with
    :meth:`allow_sip_media_application`.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        bucket: s3.IBucket | None = None,
        encryption: RecordingEncryption | None = None,
        encryption_key: kms.IKey | None = None,
        recording_prefix: str = "recordings",
        prompts_prefix: str = "prompts",
        transitions: Sequence[RecordingTransition] | None = None,
        recording_retention: cdk.Duration | None = None,
        noncurrent_version_retention: cdk.Duration | None = None,
        abort_incomplete_uploads_after: cdk.Duration | None = None,
        object_lock_mode: s3.ObjectLockMode | None = None,
        object_lock_retention: cdk.Duration | None = None,
        retention_classes: Sequence[RetentionClass] = (),
        access_logs_bucket: s3.IBucket | None = None,
        access_logs_retention: cdk.Duration | None = None,
        removal_policy: cdk.RemovalPolicy | None = None,
    ) -> None:
        """
        :param bucket: an existing bucket to record into. Statements are added to its policy where the
            stack owns it; for an imported bucket a synth warning prints the statement to add by hand.
            Default: a new bucket with the secure defaults above.
        :param encryption: ``S3_MANAGED`` or ``KMS``. Default: ``KMS`` when ``encryption_key`` is given,
            else ``S3_MANAGED``.
        :param encryption_key: a customer managed key for SSE-KMS. Default: with ``encryption=KMS``, a new
            key with rotation; with a brought bucket, none (pass the bucket's key to have grants include it).
        :param recording_prefix: the key prefix recordings are written under; the same value scopes the
            StartCallRecording destination, the bucket policy and the lifecycle rules. Default: ``recordings``.
        :param prompts_prefix: the key prefix of announcement WAVs the service may read (PlayAudio).
            Default: ``prompts``.
        :param transitions: storage class transitions of recordings, in S3 lifecycle order. Default:
            Standard-IA after 30 days, Glacier Instant Retrieval after 90 days. ``[]`` for none.
        :param recording_retention: delete recordings this long after delivery. Default: recordings are
            kept until someone deletes them.
        :param noncurrent_version_retention: delete overwritten or deleted versions after this long.
            Default: 90 days.
        :param abort_incomplete_uploads_after: abort incomplete multipart uploads after this long.
            Default: 7 days.
        :param object_lock_mode: ``GOVERNANCE`` or ``COMPLIANCE`` to make recordings immutable for
            ``object_lock_retention`` (and their class's period). Default: no Object Lock.
        :param object_lock_retention: the Object Lock period of recordings. With the arrival
            processor (a :class:`RecordingCatalog` over this storage, as :class:`CallRecording`
            defines by default) it is the period of the implicit class ``default`` (calls whose
            numbers match no class), applied per version at arrival, and the bucket has no default
            retention. Without one it is the bucket's default retention, and a synth warning says
            that delivery then depends on the Chime service sending ``Content-MD5``. Required with
            ``object_lock_mode`` unless ``retention_classes`` are given (then calls in no class are
            not locked).
        :param retention_classes: Object Lock periods and lifecycle expiry by phone number
            (:class:`RetentionClass`), applied by the arrival processor; need ``object_lock_mode``
            and a catalog. Default: none.
        :param access_logs_bucket: where S3 server access logs go. Default: a new private, TLS-only,
            encrypted log bucket.
        :param access_logs_retention: expiry of the access logs in a log bucket this construct defines.
            Default: 365 days.
        :param removal_policy: what happens to the bucket, its log bucket and key when the stack is
            deleted or they are replaced. Default: ``RETAIN``; ``DESTROY`` deletes them only when empty.
        """
        super().__init__(scope, construct_id)
        # Server access logs are delivered under a bucket policy, not the legacy LogDeliveryWrite ACL,
        # whatever the app's feature flags say (must be set before any child exists).
        self.node.set_context("@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy", True)

        problems = Problems()
        validate_prefix(problems, "recording_prefix", recording_prefix)
        validate_prefix(problems, "prompts_prefix", prompts_prefix)
        if (
            not is_token(recording_prefix)
            and not is_token(prompts_prefix)
            and recording_prefix
            and prompts_prefix
            and _overlaps(recording_prefix, prompts_prefix)
        ):
            problems.add(
                "prompts_prefix",
                prompts_prefix,
                f"must not overlap recording_prefix={recording_prefix!r}: the service may write "
                "recordings but only read prompts",
            )
        for prefix_option, prefix in (
            ("recording_prefix", recording_prefix),
            ("prompts_prefix", prompts_prefix),
        ):
            if not is_token(prefix) and prefix and _overlaps(prefix, TRANSCRIPTS_PREFIX):
                problems.add(
                    prefix_option,
                    prefix,
                    f"must not overlap {TRANSCRIPTS_PREFIX!r}, where transcripts and redacted copies "
                    "of every call live (the service must not write or read them, and legal hold "
                    "and erasure treat them apart)",
                )
        expiring = [c for c in retention_classes if getattr(c, "delete_after", None) is not None]
        if 2 * (1 + len(expiring)) > _MAX_LIFECYCLE_RULES:
            problems.add(
                "retention_classes",
                f"<{len(expiring)} class(es) with delete_after>",
                f"at most {_MAX_LIFECYCLE_RULES // 2 - 1}: each takes two lifecycle rules (the "
                f"recording prefix and {TRANSCRIPTS_PREFIX}/), with the two prefix-wide ones, and S3 "
                f"allows {_MAX_LIFECYCLE_RULES} per bucket",
            )
        if bucket is not None:
            own_only = {
                "encryption": encryption,
                "transitions": transitions,
                "recording_retention": recording_retention,
                "noncurrent_version_retention": noncurrent_version_retention,
                "abort_incomplete_uploads_after": abort_incomplete_uploads_after,
                "object_lock_mode": object_lock_mode,
                "object_lock_retention": object_lock_retention,
                "retention_classes": tuple(retention_classes) or None,
                "access_logs_bucket": access_logs_bucket,
                "access_logs_retention": access_logs_retention,
                "removal_policy": removal_policy,
            }
            for option, value in own_only.items():
                if value is not None:
                    problems.add(
                        option,
                        _describe(value),
                        "applies only to a bucket this construct defines; configure it on the bucket "
                        "you passed as `bucket`, or leave `bucket` unset",
                    )
        if access_logs_bucket is not None and access_logs_retention is not None:
            problems.add(
                "access_logs_retention",
                _describe(access_logs_retention),
                "applies only to a log bucket this construct defines; set the expiry on the "
                "access_logs_bucket you passed",
            )
        if encryption is RecordingEncryption.S3_MANAGED and encryption_key is not None:
            problems.add(
                "encryption",
                "S3_MANAGED",
                "conflicts with encryption_key; use RecordingEncryption.KMS or drop encryption_key",
            )
        resolved_transitions = (
            tuple(DEFAULT_TRANSITIONS) if transitions is None else tuple(transitions)
        )
        if bucket is None:
            validate_lifecycle(
                problems,
                resolved_transitions,
                recording_retention,
                object_lock_mode,
                object_lock_retention,
                with_classes=bool(retention_classes),
            )
            validate_retention_classes(
                problems, tuple(retention_classes), object_lock_mode, recording_retention
            )
        problems.raise_if_any(self.node.path)
        if bucket is None:
            warn_ineffective_delete_after(self, tuple(retention_classes), recording_retention)

        stack = cdk.Stack.of(self)
        self.recording_prefix: str = recording_prefix
        """Key prefix of recordings (no trailing slash)."""
        self.prompts_prefix: str = prompts_prefix
        """Key prefix of announcement prompts the service may read."""
        self._source_arns: list[str] = []
        self._statements: list[iam.PolicyStatement] = []
        self.access_logs_bucket: s3.IBucket | None = None
        """The server access log bucket, when this construct defines or was given one."""
        self.object_lock_mode: s3.ObjectLockMode | None = object_lock_mode
        """The Object Lock mode of recordings, when they are locked."""
        self.retention_classes: tuple[RetentionClass, ...] = tuple(retention_classes)
        """The retention classes the arrival processor applies."""
        self._object_lock_retention = object_lock_retention
        self._retained_at_arrival = False

        if bucket is not None:
            self.bucket: s3.IBucket = bucket
            """The recording bucket."""
            self.encryption_key: kms.IKey | None = encryption_key or bucket.encryption_key
            """The key recordings are encrypted with, where there is a customer managed one."""
            self.owns_bucket = False
            cdk.Aspects.of(self).add(
                OwnBucketChecks(self, bucket, key_known=self.encryption_key is not None)
            )
        else:
            policy = removal_policy or cdk.RemovalPolicy.RETAIN
            use_kms = encryption is RecordingEncryption.KMS or encryption_key is not None
            key = encryption_key
            if use_kms and key is None:
                key = kms.Key(
                    self,
                    "Key",
                    description=f"Encrypts call recordings of {self.node.path}",
                    enable_key_rotation=True,
                    removal_policy=policy,
                )
            self.encryption_key = key
            if access_logs_bucket is None:
                access_logs_bucket = access_logs_bucket_of(
                    self,
                    "AccessLogs",
                    removal_policy=policy,
                    retention=access_logs_retention or cdk.Duration.days(365),
                    logs_of="the recording bucket",
                )
            self.access_logs_bucket = access_logs_bucket
            noncurrent = noncurrent_version_retention or cdk.Duration.days(90)
            abort_after = abort_incomplete_uploads_after or cdk.Duration.days(7)
            lifecycle = lifecycle_rule(
                recording_prefix, resolved_transitions, recording_retention, noncurrent, abort_after
            )
            # Transcripts are records too: what is derived from a call ages, expires and (by its
            # retention-class tag) is deleted with the recordings; harmless without transcription.
            derived = lifecycle_rule(
                TRANSCRIPTS_PREFIX,
                resolved_transitions,
                recording_retention,
                noncurrent,
                abort_after,
                rule_id="Transcripts",
            )
            lock_retention: s3.ObjectLockRetention | None = None
            if object_lock_mode is not None and object_lock_retention is not None:
                lock_retention = (
                    s3.ObjectLockRetention.compliance(object_lock_retention)
                    if object_lock_mode == s3.ObjectLockMode.COMPLIANCE
                    else s3.ObjectLockRetention.governance(object_lock_retention)
                )
            self.bucket = s3.Bucket(
                self,
                "Bucket",
                block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
                enforce_ssl=True,
                versioned=True,
                encryption=s3.BucketEncryption.KMS if key else s3.BucketEncryption.S3_MANAGED,
                encryption_key=key,
                bucket_key_enabled=True if key else None,
                # The service sends an ACL with every recording (it needs s3:PutObjectAcl).
                # BUCKET_OWNER_PREFERRED accepts it and makes the bucket owner own the object;
                # BUCKET_OWNER_ENFORCED would reject ACLs other than bucket-owner-full-control,
                # and AWS does not document which ACL the service sends.
                object_ownership=s3.ObjectOwnership.BUCKET_OWNER_PREFERRED,
                server_access_logs_bucket=access_logs_bucket,
                server_access_logs_prefix="recording-bucket/",
                lifecycle_rules=[
                    lifecycle,
                    *class_lifecycle_rules(recording_prefix, self.retention_classes, noncurrent),
                    derived,
                    *class_lifecycle_rules(
                        TRANSCRIPTS_PREFIX,
                        self.retention_classes,
                        noncurrent,
                        id_prefix="Transcripts",
                    ),
                ],
                object_lock_enabled=True if object_lock_mode is not None else None,
                object_lock_default_retention=lock_retention,
                removal_policy=policy,
            )
            self.owns_bucket = True
            acknowledge(
                self.bucket,
                [f"{pack}::{pack}-S3BucketReplicationEnabled" for pack in KMS_PACKS],
                REPLICATION_REASON,
            )
            if key is None:
                acknowledge(
                    self.bucket,
                    [f"{pack}::{pack}-S3DefaultEncryptionKMS" for pack in KMS_PACKS],
                    "Encrypted with SSE-S3 by default because AWS documents SIP media application "
                    "recording delivery only into SSE-S3 buckets; SSE-KMS with a customer managed "
                    "key is available as encryption=RecordingEncryption.KMS once tested in the "
                    "account.",
                )

        if self.encryption_key is not None:
            warn_kms_delivery(self, f"SSE-KMS (key {self.encryption_key.node.path})")
        self._account = stack.account
        self._partition = stack.partition
        if object_lock_mode is not None:
            cdk.Aspects.of(self).add(
                RetentionAtArrivalCheck(
                    self,
                    lambda: self._retained_at_arrival,
                    classes=bool(self.retention_classes),
                    default_retention=object_lock_retention is not None,
                )
            )

    # -- retention at arrival ------------------------------------------------------------------------

    def retain_at_arrival(self) -> tuple[str, list[iam.PolicyStatement]] | None:
        """Hand Object Lock retention to the arrival processor; None when recordings are not locked.

        Called by :class:`RecordingCatalog`. Removes the bucket's default retention (Object Lock
        stays enabled), so the Chime service's PutObject carries no Object Lock parameters, and
        returns the processor's ``RETENTION`` value (JSON) and the statements its role needs.
        """
        text = self.retention_environment()
        if text is None:
            return None
        self._retained_at_arrival = True
        cfn = self.bucket.node.default_child
        if isinstance(cfn, s3.CfnBucket):
            cfn.add_property_deletion_override("ObjectLockConfiguration.Rule")
        return text, retention_statements(self.recordings_arn(), legal_hold=True)

    def retention_environment(self) -> str | None:
        """The ``RETENTION`` value (JSON) of the functions that lock what is stored (recordings
        at arrival, transcripts when they are recorded); None when recordings are not locked."""
        if self.object_lock_mode is None:
            return None
        policy = retention_policy(
            self.object_lock_mode, self.retention_classes, self._object_lock_retention
        )
        text = json.dumps(policy, separators=(",", ":"))
        if is_token(text):
            # A number given as a token: CloudFormation joins the JSON (and drops the nulls,
            # which the processor reads as absent).
            text = cdk.Stack.of(self).to_json_string(policy)
        return text

    # -- service access -----------------------------------------------------------------------------

    @property
    def recording_destination(self) -> str:
        """The StartCallRecording ``Destination.Location``: ``<bucket>/<recording_prefix>``."""
        return f"{self.bucket.bucket_name}/{self.recording_prefix}"

    def recordings_arn(self) -> str:
        """The ARN pattern of every recording object."""
        return self.bucket.arn_for_objects(f"{self.recording_prefix}/*")

    def prompts_arn(self) -> str:
        """The ARN pattern of every prompt object."""
        return self.bucket.arn_for_objects(f"{self.prompts_prefix}/*")

    def _conditions(self) -> dict[str, Any]:
        arns = list(self._source_arns)
        return {
            "aws:SourceAccount": self._account,
            "aws:SourceArn": arns[0] if len(arns) == 1 else arns,
        }

    def enable_event_bridge_notifications(self) -> None:
        """Send the bucket's S3 events to EventBridge (the catalog's arrival path).

        Set on the CloudFormation bucket itself (``NotificationConfiguration``), not through
        aws-cdk-lib's notifications custom resource, so no extra Lambda function is deployed. This works
        for a bucket defined in this app, passed or not; an imported bucket must have EventBridge
        notifications turned on by its owner, and a synth warning says so.
        """
        cfn = self.bucket.node.default_child
        if isinstance(self.bucket, s3.Bucket) and self.bucket.node.try_find_child("Notifications"):
            # The bucket already has aws-cdk-lib notifications: their custom resource rewrites the
            # whole notification configuration after deploy, so EventBridge goes through it too.
            self.bucket.enable_event_bridge_notification()
            return
        if isinstance(cfn, s3.CfnBucket):
            cfn.add_property_override(
                "NotificationConfiguration.EventBridgeConfiguration.EventBridgeEnabled", True
            )
            return
        cdk.Annotations.of(self).add_warning_v2(
            "cdk-recording:storage:event-bridge",
            f"the bucket {self.bucket.node.path} was not defined by this construct: turn on its "
            "Amazon EventBridge notifications (S3 console > Properties > Event notifications, or "
            "`event_bridge_enabled=True`), or no recording is ever cataloged",
        )

    def allow_sip_media_application(self, sip_media_application_arn: str) -> None:
        """Let the Chime service write recordings and read prompts on behalf of this SMA.

        Every registered ARN joins the ``aws:SourceArn`` condition of one set of bucket statements
        (with ``aws:SourceAccount``), so no other account's or application's Chime traffic can use the
        bucket. The key policy, where there is a key, admits this account's SMAs by pattern.
        """
        self._source_arns.append(sip_media_application_arn)
        first = not self._statements
        if first:
            self._statements = service_statements(self.recordings_arn(), self.prompts_arn())
        for statement in self._statements:
            statement.add_condition("StringEquals", self._conditions())
        if not first:
            return
        if not all(self.bucket.add_to_resource_policy(s).statement_added for s in self._statements):
            self._warn(
                "bucket-policy-not-managed",
                "The recording bucket was imported, so this stack cannot change its policy. "
                "Every recording will fail with NoAccessToDestination until you add these "
                "statements to the bucket policy yourself",
                self._statements,
            )
        if self.encryption_key is not None:
            key_statement = chime_key_statement(self, self._account)
            result = self.encryption_key.add_to_resource_policy(key_statement, allow_no_op=True)
            if not result.statement_added:
                self._warn(
                    "key-policy-not-managed",
                    "The recording key was imported, so this stack cannot change its key "
                    "policy. Add this statement to the key policy yourself",
                    [key_statement],
                )

    def _warn(self, warning_id: str, text: str, statements: list[iam.PolicyStatement]) -> None:
        # Rendered when the app synthesizes, so every SMA registered by then is in the statement.
        cdk.Aspects.of(self).add(WarnWithStatements(self, warning_id, text, statements))

    # -- grants -------------------------------------------------------------------------------------

    def grant_read_recordings(self, grantee: iam.IGrantable) -> iam.Grant:
        """Let people or systems that consume recordings read them (and decrypt them, with a key)."""
        grant = self.bucket.grant_read(grantee, f"{self.recording_prefix}/*")
        if self.encryption_key is not None and self.bucket.encryption_key is None:
            self.encryption_key.grant_decrypt(grantee)
        return grant

    def grant_legal_hold(self, grantee: iam.IGrantable) -> iam.Grant:
        """Let ``grantee`` put and release legal holds (``recordings hold|release``) on recordings
        and ``transcripts/*``: PutObjectLegalHold, GetObjectLegalHold, ListBucketVersions under
        those prefixes, GetBucketObjectLockConfiguration. Nobody has it by default."""
        from cdk_recording._records_grants import grant_legal_hold

        return grant_legal_hold(self, grantee)

    def grant_erase(self, grantee: iam.IGrantable) -> iam.Grant:
        """Let ``grantee`` erase calls (``recordings erase``): delete every version of recordings
        and ``transcripts/*`` after reading their legal hold and retention, and delete the call's
        Transcribe jobs (``transcribe:Delete*Job`` on ``*``). Nobody has it by default; Object
        Lock still refuses what is held or retained."""
        from cdk_recording._records_grants import grant_erase

        return grant_erase(self, grantee)

    def grant_write_prompts(self, grantee: iam.IGrantable) -> iam.Grant:
        """Let a person or pipeline upload announcement WAVs under the prompts prefix."""
        grant = self.bucket.grant_put(grantee, f"{self.prompts_prefix}/*")
        if self.encryption_key is not None and self.bucket.encryption_key is None:
            self.encryption_key.grant_encrypt(grantee)
        return grant


def _overlaps(first: str, second: str) -> bool:
    """Whether one key prefix contains the other (as whole path segments)."""
    return (first + "/").startswith(second + "/") or (second + "/").startswith(first + "/")


def _describe(value: object) -> object:
    if isinstance(value, cdk.Duration):
        return value.to_human_string()
    if isinstance(value, Enum):
        return value.name
    if isinstance(value, (list, tuple)):
        return f"<{len(value)} item(s)>"
    if isinstance(value, Construct):
        return value.node.path
    return value
