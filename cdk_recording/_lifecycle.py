"""Lifecycle of recordings: storage class transitions and expiry, checked against Object Lock."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import aws_cdk as cdk
from aws_cdk import aws_s3 as s3

from cdk_recording._validation import Problems, is_token

__all__ = ["DEFAULT_TRANSITIONS", "RecordingTransition", "lifecycle_rule", "validate_lifecycle"]

#: S3 lifecycle order ("waterfall") and minimum ages in days before a transition into each class
#: (Amazon S3 User Guide, "Transitioning objects using Amazon S3 Lifecycle").
_WATERFALL: dict[str, tuple[int, int]] = {
    "STANDARD_IA": (1, 30),
    "INTELLIGENT_TIERING": (2, 0),
    "ONEZONE_IA": (3, 30),
    "GLACIER_IR": (4, 0),
    "GLACIER": (5, 0),
    "DEEP_ARCHIVE": (6, 0),
}


_GLACIER_CLASSES = ("GLACIER_IR", "GLACIER", "DEEP_ARCHIVE")
_DAYS_IN_IA_BEFORE_GLACIER = 30


@dataclass(frozen=True)
class RecordingTransition:
    """Move recordings to a colder storage class once they are ``after`` old."""

    storage_class: s3.StorageClass
    after: cdk.Duration


DEFAULT_TRANSITIONS = (
    RecordingTransition(s3.StorageClass.INFREQUENT_ACCESS, cdk.Duration.days(30)),
    RecordingTransition(s3.StorageClass.GLACIER_INSTANT_RETRIEVAL, cdk.Duration.days(90)),
)


def _days(option: str, duration: cdk.Duration, problems: Problems) -> int | None:
    if is_token(duration.to_string()):
        return None
    try:
        return int(duration.to_days())
    except Exception:  # jsii raises when the duration is not a whole number of days
        problems.add(option, duration.to_human_string(), "must be a whole number of days")
        return None


def validate_lifecycle(
    problems: Problems,
    transitions: Sequence[RecordingTransition],
    retention: cdk.Duration | None,
    lock_mode: s3.ObjectLockMode | None,
    lock_retention: cdk.Duration | None,
    *,
    with_classes: bool = False,
) -> None:
    """Every problem of the lifecycle and Object Lock options. ``with_classes``: retention classes
    are configured, so ``object_lock_mode`` may come without ``object_lock_retention`` (calls in no
    class are then not locked)."""
    last_days = -1
    last_rank = 0
    last_days_of_transitions: int | None = None
    ia_days: int | None = None
    for index, transition in enumerate(transitions):
        option = f"transitions[{index}]"
        name = transition.storage_class.value
        rank_min = _WATERFALL.get(name)
        days = _days(f"{option}.after", transition.after, problems)
        if rank_min is None:
            problems.add(f"{option}.storage_class", name, f"must be one of {', '.join(_WATERFALL)}")
            continue
        rank, minimum = rank_min
        if days is None:
            continue
        if days < minimum:
            problems.add(
                f"{option}.after",
                f"{days} days",
                f"S3 moves objects to {name} no sooner than {minimum} days after creation",
            )
        if days <= last_days:
            problems.add(
                f"{option}.after",
                f"{days} days",
                "transitions must be in increasing order of age (each later than the one before)",
            )
        if rank <= last_rank:
            problems.add(
                f"{option}.storage_class",
                name,
                "transitions must follow S3's lifecycle order: " + " -> ".join(_WATERFALL),
            )
        if (
            name in _GLACIER_CLASSES
            and ia_days is not None
            and days - ia_days < _DAYS_IN_IA_BEFORE_GLACIER
        ):
            problems.add(
                f"{option}.after",
                f"{days} days",
                f"S3 keeps objects {_DAYS_IN_IA_BEFORE_GLACIER} days in an infrequent-access class "
                f"before a Glacier class: at least {ia_days + _DAYS_IN_IA_BEFORE_GLACIER} days here",
            )
        if name in ("STANDARD_IA", "ONEZONE_IA") and ia_days is None:
            ia_days = days
        last_days, last_rank = days, rank
        last_days_of_transitions = days
    retention_days = _days("recording_retention", retention, problems) if retention else None
    if (
        retention_days is not None
        and last_days_of_transitions is not None
        and retention_days <= last_days_of_transitions
    ):
        problems.add(
            "recording_retention",
            f"{retention_days} days",
            f"must be longer than the last transition ({last_days_of_transitions} days)",
        )
    if retention_days is not None and retention_days < 1:
        problems.add("recording_retention", f"{retention_days} days", "must be at least 1 day")
    if (lock_mode is None) != (lock_retention is None) and not (with_classes and lock_mode):
        problems.add(
            "object_lock_retention" if lock_mode is not None else "object_lock_mode",
            None,
            "object_lock_mode and object_lock_retention must be given together",
        )
    if lock_retention is not None:
        lock_days = _days("object_lock_retention", lock_retention, problems)
        if lock_days is not None and lock_days < 1:
            problems.add("object_lock_retention", f"{lock_days} days", "must be at least 1 day")
        if lock_days is not None and retention_days is not None and lock_days > retention_days:
            problems.add(
                "object_lock_retention",
                f"{lock_days} days",
                f"must not exceed recording_retention ({retention_days} days): S3 cannot expire "
                "a locked recording",
            )


def lifecycle_rule(
    prefix: str,
    transitions: Sequence[RecordingTransition],
    retention: cdk.Duration | None,
    noncurrent: cdk.Duration,
    abort_after: cdk.Duration,
    *,
    rule_id: str = "Recordings",
) -> s3.LifecycleRule:
    """The prefix-wide rule: transitions, expiration, noncurrent versions, incomplete uploads."""
    return s3.LifecycleRule(
        id=rule_id,
        prefix=f"{prefix}/",
        transitions=[
            s3.Transition(storage_class=t.storage_class, transition_after=t.after)
            for t in transitions
        ],
        expiration=retention,
        noncurrent_version_expiration=noncurrent,
        abort_incomplete_multipart_upload_after=abort_after,
    )
