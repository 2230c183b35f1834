"""Retention at arrival: the Object Lock period and class of one recording version.

The recording bucket has Object Lock enabled but no default retention, so the Chime service's
PutObject never carries Object Lock parameters (S3 would then require ``Content-MD5`` or an
``x-amz-checksum-*`` header, which AWS does not document that the service sends). Right after the
arrival processor has hashed a version, it locks that exact version here:

* the class: the classes whose numbers include one of the call's numbers; of several, the one with
  the longest period. Numbers known but in no class: the implicit class ``default`` (the storage's
  ``object_lock_retention``), or no retention when there is none. No number known yet (the call's
  facts have not arrived): the longest configured class, the safe side, with ``defaulted`` set;
* ``RetainUntilDate`` = the version's ``LastModified`` + the class's days, so a redelivery computes
  the same date (idempotent);
* never shorter than what the version has: the existing retention is read first, and a later date
  is kept (a COMPLIANCE retention keeps its mode);
* the tag ``retention-class=<name>`` merged into the version's tags (PutObjectTagging replaces the
  whole set), which the class's lifecycle rule filters on.

:func:`classify` is pure; :class:`RetentionApplier` is the S3 side. Any S3 failure is
:class:`~recording_processor._errors.Transient`: the record is retried before anything is cataloged.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Final, Literal

from botocore.exceptions import BotoCoreError, ClientError

from recording_processor._errors import Transient, error_code

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

__all__ = [
    "DEFAULT_CLASS",
    "TAG_KEY",
    "AppliedRetention",
    "RetentionApplier",
    "RetentionChoice",
    "RetentionClassConfig",
    "RetentionPolicy",
    "RetentionPolicyError",
    "call_numbers",
    "classify",
]

#: The tag every retained version carries; the lifecycle rule of each class filters on it.
TAG_KEY: Final = "retention-class"
#: The implicit class of calls whose numbers match no configured class.
DEFAULT_CLASS: Final = "default"
#: S3 answers GetObjectRetention of a version that has none with this code.
_NO_RETENTION_CODES = frozenset({"NoSuchObjectLockConfiguration"})
_MODES = ("GOVERNANCE", "COMPLIANCE")
_MAX_TAGS = 10

Mode = Literal["GOVERNANCE", "COMPLIANCE"]


class RetentionPolicyError(ValueError):
    """The ``RETENTION`` variable is not the JSON the construct writes."""


@dataclass(frozen=True)
class RetentionClassConfig:
    """One class as the processor sees it: its name, its numbers and its period in days."""

    name: str
    numbers: frozenset[str]
    days: int


@dataclass(frozen=True)
class RetentionPolicy:
    """The ``RETENTION`` environment variable, parsed.

    :param mode: the Object Lock mode of every retention applied.
    :param classes: the configured classes, in the construct's order.
    :param default_days: the period of the implicit ``default`` class; None: calls whose numbers
        match no class are not retained.
    """

    mode: Mode
    classes: tuple[RetentionClassConfig, ...]
    default_days: int | None

    @classmethod
    def from_json(cls, text: str) -> RetentionPolicy:
        """Parse ``{"mode", "classes": [{"name", "numbers", "days"}], "defaultDays"}``.

        :raises RetentionPolicyError: naming what is wrong.
        """
        try:
            raw = json.loads(text)
        except ValueError as error:
            raise RetentionPolicyError(f"RETENTION is not JSON: {error}") from None
        if not isinstance(raw, dict):
            raise RetentionPolicyError("RETENTION must be a JSON object")
        mode = raw.get("mode")
        if mode not in _MODES:
            raise RetentionPolicyError(f"RETENTION.mode is {mode!r}; allowed: {', '.join(_MODES)}")
        classes = []
        entries = raw.get("classes", [])
        if not isinstance(entries, list):
            raise RetentionPolicyError("RETENTION.classes must be a list")
        for index, entry in enumerate(entries):
            where = f"RETENTION.classes[{index}]"
            if not isinstance(entry, dict):
                raise RetentionPolicyError(f"{where} must be an object")
            name, numbers, days = entry.get("name"), entry.get("numbers"), entry.get("days")
            if not isinstance(name, str) or not name:
                raise RetentionPolicyError(f"{where}.name is {name!r}; allowed: a class name")
            if not isinstance(numbers, list) or not all(isinstance(n, str) for n in numbers):
                raise RetentionPolicyError(f"{where}.numbers must be a list of E.164 strings")
            classes.append(
                RetentionClassConfig(name, frozenset(numbers), _days(f"{where}.days", days))
            )
        default = raw.get("defaultDays")
        default_days = None if default is None else _days("RETENTION.defaultDays", default)
        if not classes and default_days is None:
            raise RetentionPolicyError("RETENTION names no class and no defaultDays")
        return cls(mode=mode, classes=tuple(classes), default_days=default_days)


@dataclass(frozen=True)
class RetentionChoice:
    """What :func:`classify` decided: the class and its days; ``defaulted`` when no number was known."""

    name: str
    days: int
    defaulted: bool = False


@dataclass(frozen=True)
class AppliedRetention:
    """What the version carries after :meth:`RetentionApplier.apply`.

    ``retain_until`` is the version's date, ours or the later one it already had; ``changed`` is
    False when nothing had to be written (a redelivery).
    """

    name: str
    mode: str
    retain_until: datetime
    changed: bool


def classify(policy: RetentionPolicy, numbers: Iterable[str]) -> RetentionChoice | None:
    """The class of a call with ``numbers``; None when it is not to be retained.

    Of several matching classes the longest period wins (the first of equals); with no number at
    all, the longest of every configured period, ``default`` included.
    """
    known = set(numbers)
    if not known:
        longest = _longest(policy)
        return None if longest is None else RetentionChoice(longest.name, longest.days, True)
    matching = [c for c in policy.classes if c.numbers & known]
    if matching:
        best = max(matching, key=lambda c: c.days)  # max keeps the first of equals
        return RetentionChoice(best.name, best.days)
    if policy.default_days is None:
        return None
    return RetentionChoice(DEFAULT_CLASS, policy.default_days)


def call_numbers(
    *items: Mapping[str, Any] | None, number_items: Sequence[Mapping[str, Any]] = ()
) -> set[str]:
    """Every number the catalog knows for the call: ``fromNumber``/``toNumber`` of the call and
    recording items, and each ``NUM#`` item's ``number``."""
    found: set[str] = set()
    for item in items:
        for name in ("fromNumber", "toNumber"):
            value = (item or {}).get(name)
            if isinstance(value, str) and value:
                found.add(value)
    for item in number_items:
        value = item.get("number")
        if isinstance(value, str) and value:
            found.add(value)
    return found


def _longest(policy: RetentionPolicy) -> RetentionChoice | None:
    candidates = [RetentionChoice(c.name, c.days) for c in policy.classes]
    if policy.default_days is not None:
        candidates.append(RetentionChoice(DEFAULT_CLASS, policy.default_days))
    return max(candidates, key=lambda c: c.days) if candidates else None


def _days(where: str, value: object) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and value >= 1:
        return value
    raise RetentionPolicyError(f"{where} is {value!r}; allowed: a whole number of days, at least 1")


class RetentionApplier:
    """GetObjectRetention, PutObjectRetention, GetObjectTagging and PutObjectTagging of a version."""

    def __init__(self, client: S3Client, mode: Mode) -> None:
        self._client = client
        self._mode = mode

    def apply(
        self,
        bucket: str,
        key: str,
        version_id: str | None,
        last_modified: datetime,
        choice: RetentionChoice,
    ) -> AppliedRetention:
        """Lock the version until ``last_modified`` + ``choice.days`` (or later) and tag it.

        :raises Transient: any S3 failure (reason ``retention``).
        """
        wanted = last_modified + timedelta(days=choice.days)
        return self.retain(bucket, key, version_id, wanted, choice.name)

    def retain(
        self,
        bucket: str,
        key: str,
        version_id: str | None,
        wanted: datetime,
        name: str,
    ) -> AppliedRetention:
        """Lock the version (None: the key's current version) until ``wanted`` or the later date
        it already has, and tag it ``retention-class=<name>``.

        :raises Transient: any S3 failure (reason ``retention``).
        """
        address = _address(bucket, key, version_id)
        mode, until = self._existing(address)
        changed = False
        if until is None or until < wanted:
            # A COMPLIANCE retention can be extended but never weakened to GOVERNANCE.
            mode = "COMPLIANCE" if mode == "COMPLIANCE" else self._mode
            self._call(
                "PutObjectRetention",
                lambda: self._client.put_object_retention(
                    **address, Retention={"Mode": mode, "RetainUntilDate": wanted}
                ),
            )
            until, changed = wanted, True
        changed = self._tag(address, name) or changed
        return AppliedRetention(name, mode or self._mode, until, changed)

    def _existing(self, address: Mapping[str, Any]) -> tuple[str | None, datetime | None]:
        try:
            response = self._client.get_object_retention(**address)
        except ClientError as error:
            if error_code(error) in _NO_RETENTION_CODES:
                return None, None
            raise _failed("GetObjectRetention", error) from error
        except BotoCoreError as error:
            raise _failed("GetObjectRetention", error) from error
        retention = response.get("Retention") or {}
        until = retention.get("RetainUntilDate")
        return retention.get("Mode"), until if isinstance(until, datetime) else None

    def tag(self, bucket: str, key: str, version_id: str | None, name: str) -> bool:
        """Only merge ``retention-class=<name>`` into the version's tags (None: the current
        version); False when it already had it. :raises Transient: any S3 failure."""
        return self._tag(_address(bucket, key, version_id), name)

    def _tag(self, address: Mapping[str, Any], name: str) -> bool:
        response = self._call(
            "GetObjectTagging", lambda: self._client.get_object_tagging(**address)
        )
        tags = [dict(tag) for tag in response.get("TagSet", [])]
        if {"Key": TAG_KEY, "Value": name} in tags:
            return False
        merged = [tag for tag in tags if tag.get("Key") != TAG_KEY] + [
            {"Key": TAG_KEY, "Value": name}
        ]
        if len(merged) > _MAX_TAGS:
            raise Transient(
                "retention",
                f"the version already has {len(tags)} tags; S3 allows {_MAX_TAGS}, so "
                f"{TAG_KEY} cannot be added",
            )
        self._call(
            "PutObjectTagging",
            lambda: self._client.put_object_tagging(**address, Tagging={"TagSet": merged}),  # type: ignore[typeddict-item]
        )
        return True

    @staticmethod
    def _call(operation: str, request: Any) -> Any:
        try:
            return request()
        except (ClientError, BotoCoreError) as error:
            raise _failed(operation, error) from error


def _address(bucket: str, key: str, version_id: str | None) -> dict[str, Any]:
    address: dict[str, Any] = {"Bucket": bucket, "Key": key}
    if version_id is not None:
        address["VersionId"] = version_id
    return address


def _failed(operation: str, error: ClientError | BotoCoreError) -> Transient:
    return Transient("retention", f"{operation} failed: {error_code(error)}")
