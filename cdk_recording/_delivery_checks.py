"""Synth warnings for storage choices that make recording delivery depend on what AWS does not
document about the Chime service's writes.

Every way a user can make delivery depend on an undocumented behaviour of the service warns at
synth, naming the behaviour: a bucket default Object Lock retention (Content-MD5), SSE-KMS (the
service using a customer managed key), and a bucket of the user's own that enforces bucket-owner
ownership (the ACL the service sends). The storage's own default bucket avoids all three.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

__all__ = [
    "KMS_DELIVERY_WARNING",
    "OWN_BUCKET_OWNERSHIP_WARNING",
    "warn_default_retention_of_own_bucket",
    "warn_kms_delivery",
    "warn_object_ownership_of_own_bucket",
]

#: The warning id for SSE-KMS recording storage.
KMS_DELIVERY_WARNING = "cdk-recording:storage:kms-delivery"
#: The warning id for a bucket of your own whose object ownership rejects the service's ACL.
OWN_BUCKET_OWNERSHIP_WARNING = "cdk-recording:storage:own-bucket-object-ownership"


def warn_default_retention_of_own_bucket(storage: Construct, bucket: s3.IBucket) -> None:
    """Warn at synth when the bucket passed as ``bucket`` (defined in this app) has a default
    Object Lock retention: the Chime service's PutObject then needs a ``Content-MD5`` or checksum
    header, which AWS does not document that it sends. An imported bucket cannot be inspected; the
    README says to check it."""
    cfn = bucket.node.default_child
    if not isinstance(cfn, s3.CfnBucket):
        return
    config = cdk.Stack.of(cfn).resolve(cfn.object_lock_configuration)
    rule = config.get("rule") if isinstance(config, dict) else None
    if not isinstance(rule, dict) or "defaultRetention" not in rule:
        return
    cdk.Annotations.of(storage).add_warning_v2(
        "cdk-recording:storage:own-bucket-default-retention",
        f"the bucket {bucket.node.path} has a default Object Lock retention: S3 then rejects any "
        "PutObject without a Content-MD5 or x-amz-checksum-* header, and AWS does not document "
        "that the Chime service sends one, so recording delivery depends on undocumented "
        "behaviour (every recording could fail with NoAccessToDestination). Remove the default "
        "retention (keep Object Lock enabled) and let the arrival processor lock each recording "
        "(object_lock_mode on a bucket this construct defines), or test a live call first",
    )


def warn_kms_delivery(storage: Construct, key: kms.IKey) -> None:
    """Warn at synth that recordings go to an SSE-KMS bucket: AWS documents SMA recording delivery
    only into SSE-S3 buckets, so the service's use of the key is undocumented."""
    cdk.Annotations.of(storage).add_warning_v2(
        KMS_DELIVERY_WARNING,
        f"recordings are encrypted with SSE-KMS (key {key.node.path}): AWS documents SMA recording "
        "delivery only into SSE-S3 buckets, so delivery depends on undocumented behaviour of the "
        "Chime service (that it encrypts with the key its key-policy statement admits it to); if "
        "it does not, every recording fails with NoAccessToDestination. Test a live call before "
        "relying on it and keep the recording-failed alarm on, or use "
        "encryption=RecordingEncryption.S3_MANAGED",
    )


def warn_object_ownership_of_own_bucket(storage: Construct, bucket: s3.IBucket) -> None:
    """Warn at synth when the bucket passed as ``bucket`` (defined in this app) enforces bucket
    owner ownership (``BucketOwnerEnforced``, S3's default when no ownership is set): it rejects
    every ACL but ``bucket-owner-full-control``, and AWS does not document which ACL the service
    sends with a recording. An imported bucket cannot be inspected; the README says to check it."""
    cfn = bucket.node.default_child
    if not isinstance(cfn, s3.CfnBucket):
        return
    # The rendered properties, not the ``ownership_controls`` getter: aws-cdk-lib fills the rules
    # lazily, and the getter cannot return rules that resolve to nothing.
    rendered = cdk.Stack.of(cfn).resolve(cfn._cfn_properties)
    controls = rendered.get("ownershipControls") if isinstance(rendered, dict) else None
    rules = controls.get("rules") if isinstance(controls, dict) else None
    owned = [rule.get("objectOwnership") for rule in rules or [] if isinstance(rule, dict)]
    if owned and "BucketOwnerEnforced" not in owned:
        return
    cdk.Annotations.of(storage).add_warning_v2(
        OWN_BUCKET_OWNERSHIP_WARNING,
        f"the bucket {bucket.node.path} enforces bucket owner ownership (BucketOwnerEnforced, "
        "S3's default when object_ownership is not set): S3 then rejects any ACL other than "
        "bucket-owner-full-control, and AWS does not document which ACL the Chime service "
        "sends with a recording (it needs s3:PutObjectAcl), so delivery depends on undocumented "
        "behaviour (every recording could fail with NoAccessToDestination). Set "
        "object_ownership=s3.ObjectOwnership.BUCKET_OWNER_PREFERRED on the bucket, as the "
        "storage's own bucket has, or test a live call first",
    )
