"""Synth warnings for storage choices that make recording delivery depend on what AWS does not
document about the Chime service's writes.

Every way a user can make delivery depend on an undocumented behaviour of the service warns at
synth, naming the behaviour: a bucket default Object Lock retention (Content-MD5), SSE-KMS or
DSSE-KMS (the service using a KMS key), and a bucket of the user's own whose object ownership is
not ``BucketOwnerPreferred`` (the ACL the service sends). The storage's own bucket avoids all
three unless ``encryption=KMS`` is chosen.

A bucket of your own is inspected at synth (:class:`OwnBucketChecks`, an aspect), after the app
has set every property, through the bucket's rendered properties. Raw overrides
(``add_property_override``) are not seen: acknowledge the warning
(``cdk.Annotations.of(storage).acknowledge_warning(id, reason)``) where one sets what the check
looks for. An imported bucket cannot be inspected at all; the README says what to check by hand.
"""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
import jsii
from aws_cdk import aws_s3 as s3
from constructs import Construct, IConstruct

__all__ = [
    "KMS_DELIVERY_WARNING",
    "OWN_BUCKET_OWNERSHIP_WARNING",
    "OWN_BUCKET_RETENTION_WARNING",
    "OwnBucketChecks",
    "warn_kms_delivery",
]

#: The warning id for SSE-KMS (or DSSE-KMS) recording storage.
KMS_DELIVERY_WARNING = "cdk-recording:storage:kms-delivery"
#: The warning id for a bucket of your own whose object ownership may refuse the service's ACL.
OWN_BUCKET_OWNERSHIP_WARNING = "cdk-recording:storage:own-bucket-object-ownership"
#: The warning id for a bucket of your own with a default Object Lock retention.
OWN_BUCKET_RETENTION_WARNING = "cdk-recording:storage:own-bucket-default-retention"

_KMS_ALGORITHMS = frozenset({"aws:kms", "aws:kms:dsse"})


def warn_kms_delivery(storage: Construct, what: str) -> None:
    """Warn at synth that recordings go to a KMS-encrypted bucket (``what`` names the key): AWS
    documents SMA recording delivery only into SSE-S3 buckets, so the service's use of the key is
    undocumented."""
    cdk.Annotations.of(storage).add_warning_v2(
        KMS_DELIVERY_WARNING,
        f"recordings are encrypted with {what}: AWS documents SMA recording delivery only into "
        "SSE-S3 buckets, so delivery depends on undocumented behaviour of the Chime service "
        "(that it can encrypt with the key); if it cannot, every recording fails with "
        "NoAccessToDestination. Test a live call before relying on it and keep the "
        "recording-failed alarm on, or use SSE-S3 (encryption=RecordingEncryption.S3_MANAGED)",
    )


@jsii.implements(cdk.IAspect)
class OwnBucketChecks:
    """At synth: the delivery checks of the bucket passed as ``bucket`` (defined in this app).

    ``key_known`` says the storage already warned about a customer managed key it knows of; the
    bucket's own default encryption (``aws:kms`` with the AWS managed key, or ``aws:kms:dsse``) is
    warned about here.
    """

    def __init__(self, storage: Construct, bucket: s3.IBucket, *, key_known: bool) -> None:
        self._storage = storage
        self._bucket = bucket
        self._key_known = key_known
        self._done = False

    def visit(self, node: IConstruct) -> None:
        if self._done or node is not self._storage:
            return
        self._done = True
        cfn = self._bucket.node.default_child
        if not isinstance(cfn, s3.CfnBucket):
            return
        # The rendered properties, not the L1 getters: aws-cdk-lib fills some (ownership rules)
        # lazily, and a getter cannot return a value that resolves to nothing.
        rendered = cdk.Stack.of(cfn).resolve(cfn._cfn_properties)
        if not isinstance(rendered, dict):
            return
        path = self._bucket.node.path
        self._retention(rendered, path)
        self._ownership(rendered, path)
        algorithms = _kms_algorithms(rendered)
        if not self._key_known and algorithms:
            warn_kms_delivery(
                self._storage,
                f"the default encryption of the bucket {path} ({', '.join(sorted(algorithms))})",
            )

    def _retention(self, rendered: dict[str, Any], path: str) -> None:
        rule = _get(rendered, "objectLockConfiguration", "rule")
        if not isinstance(rule, dict) or "defaultRetention" not in rule:
            return
        cdk.Annotations.of(self._storage).add_warning_v2(
            OWN_BUCKET_RETENTION_WARNING,
            f"the bucket {path} has a default Object Lock retention: S3 then rejects any "
            "PutObject without a Content-MD5 or x-amz-checksum-* header, and AWS does not document "
            "that the Chime service sends one, so recording delivery depends on undocumented "
            "behaviour (every recording could fail with NoAccessToDestination). Remove the default "
            "retention (keep Object Lock enabled) and let the arrival processor lock each recording "
            "(object_lock_mode on a bucket this construct defines), or test a live call first",
        )

    def _ownership(self, rendered: dict[str, Any], path: str) -> None:
        rules = _get(rendered, "ownershipControls", "rules")
        owned = [
            rule.get("objectOwnership")
            for rule in (rules if isinstance(rules, list) else [])
            if isinstance(rule, dict)
        ]
        if owned == ["BucketOwnerPreferred"]:
            return
        setting = ", ".join(str(o) for o in owned) or "BucketOwnerEnforced, S3's default"
        cdk.Annotations.of(self._storage).add_warning_v2(
            OWN_BUCKET_OWNERSHIP_WARNING,
            f"the bucket {path} has object ownership {setting}: AWS does not document which ACL "
            "the Chime service sends with a recording (it needs s3:PutObjectAcl). "
            "BucketOwnerEnforced rejects any ACL other than bucket-owner-full-control (every "
            "recording could fail with NoAccessToDestination), and with ObjectWriter the "
            "recordings may belong to the writer, not to you. Set "
            "object_ownership=s3.ObjectOwnership.BUCKET_OWNER_PREFERRED on the bucket, as the "
            "storage's own bucket has, or test a live call first",
        )


def _get(data: dict[str, Any], *path: str) -> Any:
    value: Any = data
    for key in path:
        value = value.get(key) if isinstance(value, dict) else None
    return value


def _kms_algorithms(rendered: dict[str, Any]) -> set[str]:
    rules = _get(rendered, "bucketEncryption", "serverSideEncryptionConfiguration")
    return {
        str(_get(rule, "serverSideEncryptionByDefault", "sseAlgorithm"))
        for rule in (rules if isinstance(rules, list) else [])
        if isinstance(rule, dict)
    } & _KMS_ALGORITHMS
