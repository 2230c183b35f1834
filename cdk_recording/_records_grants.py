"""The permissions of records management (``cdk-recording recordings hold|release|erase|verify``).

Nobody has them by default: each is given to a role explicitly, through
:meth:`RecordingStorage.grant_legal_hold`, :meth:`RecordingStorage.grant_erase`,
:meth:`RecordingCatalog.grant_records` (or the same on :class:`CallRecording`, which delegates to
both). The S3 statements are scoped to the recording prefix and ``transcripts/*`` (where what is
derived from a call lives); listing versions is allowed only under those prefixes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from aws_cdk import aws_iam as iam

if TYPE_CHECKING:
    from cdk_recording._catalog import RecordingCatalog
    from cdk_recording._storage import RecordingStorage

__all__ = [
    "DERIVED_PREFIX",
    "ERASE_ACTIONS",
    "LEGAL_HOLD_ACTIONS",
    "grant_erase",
    "grant_legal_hold",
    "grant_records",
]

#: Where everything derived from a call (transcripts, redacted copies) lives in the bucket.
DERIVED_PREFIX: Final = "transcripts"
#: Object actions of ``hold`` and ``release``.
LEGAL_HOLD_ACTIONS: Final = ("s3:PutObjectLegalHold", "s3:GetObjectLegalHold")
#: Object actions of ``erase``: read the locks, delete every version.
ERASE_ACTIONS: Final = (
    "s3:GetObjectLegalHold",
    "s3:GetObjectRetention",
    "s3:DeleteObject",
    "s3:DeleteObjectVersion",
)
_BUCKET_ACTIONS = ("s3:GetBucketObjectLockConfiguration",)


def _objects(storage: RecordingStorage) -> list[str]:
    bucket = storage.bucket
    return [
        bucket.arn_for_objects(f"{storage.recording_prefix}/*"),
        bucket.arn_for_objects(f"{DERIVED_PREFIX}/*"),
    ]


def _on_call_objects(
    storage: RecordingStorage, grantee: iam.IGrantable, actions: tuple[str, ...]
) -> iam.Grant:
    bucket_arn = storage.bucket.bucket_arn
    on_objects = iam.Grant.add_to_principal(
        grantee=grantee, actions=list(actions), resource_arns=_objects(storage)
    )
    listing = iam.Grant.add_to_principal(
        grantee=grantee,
        actions=["s3:ListBucketVersions"],
        resource_arns=[bucket_arn],
        conditions={
            "StringLike": {"s3:prefix": [f"{storage.recording_prefix}/*", f"{DERIVED_PREFIX}/*"]}
        },
    )
    lock_configuration = iam.Grant.add_to_principal(
        grantee=grantee, actions=list(_BUCKET_ACTIONS), resource_arns=[bucket_arn]
    )
    return on_objects.combine(listing).combine(lock_configuration)


def grant_legal_hold(storage: RecordingStorage, grantee: iam.IGrantable) -> iam.Grant:
    """Put and read legal holds on recordings and derived objects; list their versions."""
    return _on_call_objects(storage, grantee, LEGAL_HOLD_ACTIONS)


def grant_erase(storage: RecordingStorage, grantee: iam.IGrantable) -> iam.Grant:
    """Read legal holds and retention of recordings and derived objects, delete every version."""
    return _on_call_objects(storage, grantee, ERASE_ACTIONS)


def grant_records(catalog: RecordingCatalog, grantee: iam.IGrantable) -> iam.Grant:
    """Read and write the catalog table (hold attributes, tombstones, audit entries, removing
    numbers) and put events on the catalog's bus (``Recording Erased``)."""
    table = catalog.table.grant_read_write_data(grantee)
    return table.combine(catalog.event_bus.grant_put_events_to(grantee))
