"""The permissions of records management (``cdk-recording recordings hold|release|erase|verify``).

Nobody has them by default: each is given to a role explicitly, through
:meth:`RecordingStorage.grant_legal_hold`, :meth:`RecordingStorage.grant_erase` and, on the
catalog, one grant per kind of action: :meth:`RecordingCatalog.grant_hold_records` (hold/release),
:meth:`RecordingCatalog.grant_erase_records` (erase), :meth:`RecordingCatalog.grant_audit_records`
(verify, get: read and write audit entries). :class:`CallRecording`'s ``grant_legal_hold`` and
``grant_erase`` delegate to both. The S3 statements are scoped to the recording prefix and
``transcripts/*`` (where what is derived from a call lives); listing versions is allowed only under
those prefixes. Only the erase grant has ``dynamodb:DeleteItem`` (the call's ``NUM#`` items, with
``--erase-numbers``); none has ``Scan``, ``BatchWriteItem`` or the table's management actions.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from aws_cdk import aws_iam as iam

from cdk_recording._defaults import TRANSCRIPTS_PREFIX

if TYPE_CHECKING:
    from cdk_recording._catalog import RecordingCatalog
    from cdk_recording._storage import RecordingStorage

__all__ = [
    "AUDIT_RECORDS_ACTIONS",
    "ERASE_ACTIONS",
    "ERASE_RECORDS_ACTIONS",
    "HOLD_RECORDS_ACTIONS",
    "LEGAL_HOLD_ACTIONS",
    "TRANSCRIBE_JOB_ACTIONS",
    "grant_audit_records",
    "grant_erase",
    "grant_erase_records",
    "grant_hold_records",
    "grant_legal_hold",
]

#: Object actions of ``hold`` and ``release``.
LEGAL_HOLD_ACTIONS: Final = ("s3:PutObjectLegalHold", "s3:GetObjectLegalHold")
#: Object actions of ``erase``: read the locks, delete every version.
ERASE_ACTIONS: Final = (
    "s3:GetObjectLegalHold",
    "s3:GetObjectRetention",
    "s3:DeleteObject",
    "s3:DeleteObjectVersion",
)
#: What ``erase`` does to the call's Transcribe jobs (their records name the media and output URIs).
TRANSCRIBE_JOB_ACTIONS: Final = (
    "transcribe:DeleteCallAnalyticsJob",
    "transcribe:DeleteTranscriptionJob",
)
#: Catalog actions of ``hold`` and ``release``: read the call, set the hold, write audit entries.
HOLD_RECORDS_ACTIONS: Final = (
    "dynamodb:Query",
    "dynamodb:GetItem",
    "dynamodb:UpdateItem",
    "dynamodb:PutItem",
)
#: Catalog actions of ``erase``: as hold, and ``DeleteItem`` for the ``NUM#`` items.
ERASE_RECORDS_ACTIONS: Final = (*HOLD_RECORDS_ACTIONS, "dynamodb:DeleteItem")
#: Catalog actions of ``verify`` and ``get``: read, and put audit entries.
AUDIT_RECORDS_ACTIONS: Final = ("dynamodb:Query", "dynamodb:GetItem", "dynamodb:PutItem")
_BUCKET_ACTIONS = ("s3:GetBucketObjectLockConfiguration",)


def _objects(storage: RecordingStorage) -> list[str]:
    bucket = storage.bucket
    return [
        bucket.arn_for_objects(f"{storage.recording_prefix}/*"),
        bucket.arn_for_objects(f"{TRANSCRIPTS_PREFIX}/*"),
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
            "StringLike": {
                "s3:prefix": [f"{storage.recording_prefix}/*", f"{TRANSCRIPTS_PREFIX}/*"]
            }
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
    """Read legal holds and retention of recordings and derived objects, delete every version, and
    delete the call's Transcribe jobs.

    The Transcribe statement is on ``*``: job names come from each recording's key at run time, and
    the Service Authorization Reference names no resource type we could scope the delete actions
    of Call Analytics jobs to (the same as the transcription function's ``Start*Job``).
    """
    objects = _on_call_objects(storage, grantee, ERASE_ACTIONS)
    jobs = iam.Grant.add_to_principal(
        grantee=grantee, actions=list(TRANSCRIBE_JOB_ACTIONS), resource_arns=["*"]
    )
    return objects.combine(jobs)


def grant_hold_records(catalog: RecordingCatalog, grantee: iam.IGrantable) -> iam.Grant:
    """Read the call, record its legal hold and write audit entries (:data:`HOLD_RECORDS_ACTIONS`
    on the table and its indexes)."""
    return catalog.table.grant(grantee, *HOLD_RECORDS_ACTIONS)


def grant_erase_records(catalog: RecordingCatalog, grantee: iam.IGrantable) -> iam.Grant:
    """Read the call, tombstone it, write audit entries and delete its ``NUM#`` items
    (:data:`ERASE_RECORDS_ACTIONS`), and put ``Recording Erased`` on the catalog's bus."""
    table = catalog.table.grant(grantee, *ERASE_RECORDS_ACTIONS)
    return table.combine(catalog.event_bus.grant_put_events_to(grantee))


def grant_audit_records(catalog: RecordingCatalog, grantee: iam.IGrantable) -> iam.Grant:
    """Read the catalog and write audit entries (:data:`AUDIT_RECORDS_ACTIONS`): ``verify`` and
    ``get``."""
    return catalog.table.grant(grantee, *AUDIT_RECORDS_ACTIONS)
