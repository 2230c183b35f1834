"""Retention classes: how long recordings of which numbers are locked, and when they are deleted.

Recordings land in a bucket with Object Lock enabled but no default retention (so the Chime
service's PutObject never needs ``Content-MD5``, which AWS does not document that it sends); the
arrival processor locks each version right after hashing it, for the longest period of the classes
its call may belong to, and tags it ``retention-class=<name>`` with the class that deletes latest
(no tag when one of them never deletes, or the call's numbers are not known to be complete). A
lifecycle rule per class with ``delete_after`` expires the tagged recordings; untagged ones are
never expired by a class rule.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import aws_cdk as cdk
import jsii
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from constructs import Construct, IConstruct

from cdk_recording._validation import Problems, check_e164, is_token

__all__ = [
    "DEFAULT_CLASS",
    "RETENTION_ENVIRONMENT_VARIABLE",
    "TAG_KEY",
    "RetentionAtArrivalCheck",
    "RetentionClass",
    "class_lifecycle_rules",
    "retention_policy",
    "retention_statements",
    "validate_retention_classes",
    "warn_ineffective_delete_after",
]

#: The tag the arrival processor puts on each retained version (the same as the runtime's).
TAG_KEY = "retention-class"
#: The implicit class of calls whose numbers match no class; its period is ``object_lock_retention``.
DEFAULT_CLASS = "default"
#: The arrival processor's variable holding the policy (JSON).
RETENTION_ENVIRONMENT_VARIABLE = "RETENTION"

_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


@dataclass(frozen=True)
class RetentionClass:
    """Recordings of calls with any of ``numbers`` are locked for ``retain_for`` after delivery.

    :param name: 1-64 of ``A-Z a-z 0-9 _ . -``, unique; ``default`` is the implicit class of
        ``object_lock_retention``. It becomes the version's ``retention-class`` tag.
    :param numbers: E.164 numbers; a call belongs to the class when any number of the call (caller,
        called, bridged) is one of them. A number may be in several classes: the longest
        ``retain_for`` locks, and the latest ``delete_after`` deletes (none, if one of them has
        none).
    :param retain_for: the Object Lock period, from the version's creation (whole days).
    :param delete_after: expire the class's recordings this long after delivery (whole days, at
        least ``retain_for``). Default: kept until someone, or a prefix-wide
        ``recording_retention``, deletes them.
    """

    name: str
    numbers: Sequence[str]
    retain_for: cdk.Duration
    delete_after: cdk.Duration | None = field(default=None)


def _days(problems: Problems, option: str, value: cdk.Duration) -> int | None:
    if is_token(value.to_string()):
        return None
    try:
        days = int(value.to_days())
    except Exception:  # jsii raises when the duration is not a whole number of days
        problems.add(option, value.to_human_string(), "must be a whole number of days")
        return None
    if days < 1:
        problems.add(option, value.to_human_string(), "must be at least 1 day")
        return None
    return days


def validate_retention_classes(
    problems: Problems,
    classes: Sequence[RetentionClass],
    lock_mode: s3.ObjectLockMode | None,
    recording_retention: cdk.Duration | None,
) -> None:
    """Every problem of ``retention_classes``, with the storage options they depend on."""
    if not classes:
        return
    if lock_mode is None:
        problems.add(
            "retention_classes",
            f"<{len(classes)} class(es)>",
            "need object_lock_mode (GOVERNANCE or COMPLIANCE): the mode of every retention "
            "the classes apply",
        )
    seen: dict[str, int] = {}
    for index, item in enumerate(classes):
        option = f"retention_classes[{index}]"
        if not isinstance(item, RetentionClass):
            problems.add(option, item, "must be a RetentionClass")
            continue
        if not isinstance(item.name, str) or not _NAME.match(item.name):
            problems.add(
                f"{option}.name", item.name, "must be 1-64 characters of A-Z a-z 0-9 _ . -"
            )
        elif item.name == DEFAULT_CLASS:
            problems.add(
                f"{option}.name",
                item.name,
                "is reserved for the implicit class of object_lock_retention; choose another name",
            )
        elif item.name in seen:
            problems.add(
                f"{option}.name",
                item.name,
                f"duplicates retention_classes[{seen[item.name]}].name; names must be unique",
            )
        else:
            seen[item.name] = index
        if isinstance(item.numbers, str) or not list(item.numbers):
            problems.add(
                f"{option}.numbers",
                item.numbers,
                "must be a non-empty list of E.164 numbers",
            )
        else:
            for n, number in enumerate(item.numbers):
                check_e164(problems, f"{option}.numbers[{n}]", number)
        retain = _days(problems, f"{option}.retain_for", item.retain_for)
        delete = (
            _days(problems, f"{option}.delete_after", item.delete_after)
            if item.delete_after is not None
            else None
        )
        if retain is not None and delete is not None and delete < retain:
            problems.add(
                f"{option}.delete_after",
                f"{delete} days",
                f"must be at least retain_for ({retain} days): a lifecycle rule can never "
                "expire a recording before its retention ends",
            )
        if recording_retention is not None and retain is not None:
            expiry = _days(Problems(), "recording_retention", recording_retention)
            if expiry is not None and expiry < retain:
                problems.add(
                    "recording_retention",
                    f"{expiry} days",
                    f"must not be shorter than {option}.retain_for ({retain} days, class "
                    f"{item.name!r}): the prefix-wide expiration would expire its recordings "
                    "before their retention ends",
                )


def class_lifecycle_rules(
    prefix: str,
    classes: Sequence[RetentionClass],
    noncurrent: cdk.Duration,
    *,
    id_prefix: str = "",
) -> list[s3.LifecycleRule]:
    """One rule per class with ``delete_after``: prefix + tag ``retention-class=<name>``.

    The storage calls it for the recording prefix and for ``transcripts/``, whose objects carry
    their recording's tag and retention; ``id_prefix`` tells the two sets of rules apart.
    """
    return [
        s3.LifecycleRule(
            id=f"{id_prefix}RetentionClass-{item.name}",
            prefix=f"{prefix}/",
            tag_filters={TAG_KEY: item.name},
            expiration=item.delete_after,
            noncurrent_version_expiration=noncurrent,
        )
        for item in classes
        if item.delete_after is not None
    ]


def retention_policy(
    mode: s3.ObjectLockMode,
    classes: Sequence[RetentionClass],
    default_retention: cdk.Duration | None,
) -> dict[str, Any]:
    """The arrival processor's ``RETENTION`` value (before JSON encoding)."""
    return {
        "mode": "COMPLIANCE" if mode == s3.ObjectLockMode.COMPLIANCE else "GOVERNANCE",
        "classes": [
            {
                "name": item.name,
                "numbers": list(item.numbers),
                "days": int(item.retain_for.to_days()),
                "deleteDays": (
                    None if item.delete_after is None else int(item.delete_after.to_days())
                ),
            }
            for item in classes
        ],
        "defaultDays": None if default_retention is None else int(default_retention.to_days()),
    }


def warn_ineffective_delete_after(
    scope: Construct, classes: Sequence[RetentionClass], recording_retention: cdk.Duration | None
) -> None:
    """A synth warning for each class whose ``delete_after`` the prefix-wide expiration pre-empts."""
    if recording_retention is None:
        return
    expiry = _days(Problems(), "recording_retention", recording_retention)
    if expiry is None:
        return
    for index, item in enumerate(classes):
        if not isinstance(item, RetentionClass) or item.delete_after is None:
            continue
        delete = _days(Problems(), "delete_after", item.delete_after)
        if delete is not None and expiry < delete:
            cdk.Annotations.of(scope).add_warning_v2(
                "cdk-recording:storage:class-delete-after-ineffective",
                f"recording_retention ({expiry} days) is shorter than retention_classes[{index}]"
                f".delete_after ({delete} days, class {item.name!r}): the prefix-wide expiration "
                f"deletes those recordings at {expiry} days, so the class's delete_after never "
                "applies. Lengthen recording_retention or shorten delete_after",
            )


def retention_statements(
    objects_arn: str, *, sid: str = "RetainRecordings", legal_hold: bool = False
) -> list[iam.PolicyStatement]:
    """What the arrival processor needs to lock and tag recordings (and the transcription function
    transcripts), on ``objects_arn`` (one prefix) only; with ``legal_hold`` also
    ``s3:PutObjectLegalHold`` (the arrival processor holds a recording whose call's ``legalHold``
    is on when it arrives).

    ``s3:BypassGovernanceRetention`` is deliberately absent: the processor can extend a retention,
    never shorten or remove one.
    """
    return [
        iam.PolicyStatement(
            sid=sid,
            actions=[
                "s3:GetObjectRetention",
                "s3:PutObjectRetention",
                "s3:GetObjectTagging",
                "s3:GetObjectVersionTagging",
                "s3:PutObjectTagging",
                "s3:PutObjectVersionTagging",
                *(["s3:PutObjectLegalHold"] if legal_hold else []),
            ],
            resources=[objects_arn],
        )
    ]


@jsii.implements(cdk.IAspect)
class RetentionAtArrivalCheck:
    """At synth: Object Lock without the arrival processor keeps the bucket's default retention.

    ``attached`` says whether a catalog took the retention over (``retain_at_arrival``); it is read
    at synth, after every construct of the app has been defined.
    """

    def __init__(
        self,
        storage: Construct,
        attached: Callable[[], bool],
        *,
        classes: bool,
        default_retention: bool,
    ) -> None:
        self._storage = storage
        self._attached = attached
        self._classes = classes
        self._default_retention = default_retention
        self._done = False

    def visit(self, node: IConstruct) -> None:
        if self._done or node is not self._storage:
            return
        self._done = True
        if self._attached():
            return
        if self._classes:
            cdk.Annotations.of(self._storage).add_error(
                "retention_classes need the arrival processor that applies them: use "
                "CallRecording with catalog=True, or define a RecordingCatalog over this storage"
            )
        if self._default_retention:
            cdk.Annotations.of(self._storage).add_warning_v2(
                "cdk-recording:storage:object-lock-default-retention",
                "object_lock_mode without a RecordingCatalog puts a default Object Lock retention "
                "on the recording bucket: S3 then rejects any PutObject without a Content-MD5 or "
                "x-amz-checksum-* header, and AWS does not document that the Chime service sends "
                "one, so recording delivery depends on undocumented behaviour (every recording "
                "could fail with NoAccessToDestination). Define a RecordingCatalog over this "
                "storage so that retention is applied per recording at arrival instead, or test "
                "a live call before relying on it",
            )
