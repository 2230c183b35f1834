"""Retention at arrival: the Object Lock period and class of one recording version.

The recording bucket has Object Lock enabled but no default retention, so the Chime service's
PutObject never carries Object Lock parameters (S3 would then require ``Content-MD5`` or an
``x-amz-checksum-*`` header, which AWS does not document that the service sends). Right after the
arrival processor has hashed a version, it locks that exact version here:

* the candidate classes: the classes whose numbers include one of the call's numbers. Numbers known
  but in no class: the implicit class ``default`` (the storage's ``object_lock_retention``), or no
  retention when there is none. The call's numbers not known to be complete (no number yet, or the
  call has not ended, so more may come): every class and ``default``, with ``defaulted`` set;
* the lock class: the candidate with the longest period (the first of equals);
* the deletion class, which alone is tagged (the tag picks the lifecycle rule that deletes): none
  when any candidate has no ``delete_after`` or the candidates are defaulted, else the candidate
  with the longest ``delete_after``; so a recording is never deleted earlier than any class it may
  belong to allows;
* ``RetainUntilDate`` = the version's ``LastModified`` + the class's days, so a redelivery computes
  the same date (idempotent);
* never shorter than what the version has: the existing retention is read first, and a later date
  is kept (a COMPLIANCE retention keeps its mode);
* a ``RetainUntilDate`` already past (a record redriven long after its arrival) locks nothing: the
  retention has ended;
* the tag ``retention-class=<deletion class>`` merged into the version's tags (PutObjectTagging
  replaces the whole set), which the class's lifecycle rule filters on; with no deletion class a
  ``retention-class`` tag the version has is removed.

:func:`classify` is pure; :class:`RetentionApplier` is the S3 side. S3 refusing the request itself
(``InvalidRequest``, ``InvalidArgument``, ``InvalidTag``, ``MalformedXML``, or the 10-tag limit) is
final: :attr:`AppliedRetention.failure` names it and the recording is cataloged with it. Anything else
(throttling, 5xx, network, a missing grant) is :class:`~recording_processor._errors.Transient`: the
record is retried before anything is cataloged.
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
    "PERMANENT_CODES",
    "TAG_KEY",
    "AppliedRetention",
    "RetainedVersion",
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
#: S3's answers to a request that will never succeed as sent: retrying cannot help.
PERMANENT_CODES: Final = frozenset(
    {"InvalidRequest", "InvalidArgument", "InvalidTag", "MalformedXML"}
)
_MODES = ("GOVERNANCE", "COMPLIANCE")
_MAX_TAGS = 10

Mode = Literal["GOVERNANCE", "COMPLIANCE"]


class RetentionPolicyError(ValueError):
    """The ``RETENTION`` variable is not the JSON the construct writes."""


@dataclass(frozen=True)
class RetentionClassConfig:
    """One class as the processor sees it: its name, its numbers, its lock period in days and when
    its lifecycle rule deletes (``delete_days``; None: no rule, never deleted by class)."""

    name: str
    numbers: frozenset[str]
    days: int
    delete_days: int | None = None


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
        """Parse ``{"mode", "classes": [{"name", "numbers", "days", "deleteDays"}], "defaultDays"}``.

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
            delete = entry.get("deleteDays")
            classes.append(
                RetentionClassConfig(
                    name,
                    frozenset(numbers),
                    _days(f"{where}.days", days),
                    None if delete is None else _days(f"{where}.deleteDays", delete),
                )
            )
        default = raw.get("defaultDays")
        default_days = None if default is None else _days("RETENTION.defaultDays", default)
        if not classes and default_days is None:
            raise RetentionPolicyError("RETENTION names no class and no defaultDays")
        return cls(mode=mode, classes=tuple(classes), default_days=default_days)


@dataclass(frozen=True)
class RetentionChoice:
    """What :func:`classify` decided.

    ``name`` and ``days``: the lock class and its period; ``defaulted`` when the call's numbers
    were not known to be complete; ``deletion``: the class to tag (whose lifecycle rule deletes),
    None for no tag.
    """

    name: str
    days: int
    defaulted: bool = False
    deletion: str | None = None


@dataclass(frozen=True)
class AppliedRetention:
    """What the version carries after :meth:`RetentionApplier.apply`.

    ``retain_until`` is the version's date, ours or the later one it already had (None: no lock,
    the period had already ended); ``changed`` is False when nothing had to be written (a
    redelivery); ``failure`` names a request S3 refused for good (nothing after it was tried).
    """

    name: str
    mode: str | None
    retain_until: datetime | None
    changed: bool
    failure: str | None = None


def classify(
    policy: RetentionPolicy, numbers: Iterable[str], *, complete: bool = True
) -> RetentionChoice | None:
    """The classes of a call with ``numbers``; None when it is not to be retained.

    ``complete`` says the call's numbers are all known (the call has ended); without it, or with
    no number at all, every class and ``default`` is a candidate (``defaulted``). The lock is the
    longest candidate period (the first of equals); the deletion class is as in the module's
    docstring.
    """
    known = set(numbers)
    candidates: list[tuple[str, int, int | None]]
    defaulted = not known or not complete
    if defaulted:
        candidates = [(c.name, c.days, c.delete_days) for c in policy.classes]
        if policy.default_days is not None:
            candidates.append((DEFAULT_CLASS, policy.default_days, None))
    else:
        candidates = [(c.name, c.days, c.delete_days) for c in policy.classes if c.numbers & known]
        if not candidates and policy.default_days is not None:
            candidates = [(DEFAULT_CLASS, policy.default_days, None)]
    if not candidates:
        return None
    lock = max(candidates, key=lambda c: c[1])  # max keeps the first of equals
    deletion: str | None = None
    if not defaulted and all(c[2] is not None for c in candidates):
        deletion = max(candidates, key=lambda c: c[2] or 0)[0]
    return RetentionChoice(lock[0], lock[1], defaulted, deletion)


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


def _days(where: str, value: object) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and value >= 1:
        return value
    raise RetentionPolicyError(f"{where} is {value!r}; allowed: a whole number of days, at least 1")


class _Refused(Transient):
    """S3 refused a request for good; the message names the operation and the code.

    A :class:`Transient` to callers that do not tell the two apart (the transcription's
    :meth:`RetentionApplier.retain` and :meth:`RetentionApplier.tag`), which then retry as before;
    :meth:`RetentionApplier.apply` and :meth:`RetentionApplier.hold` return it as a failure.
    """

    def __init__(self, message: str) -> None:
        super().__init__("retention", message)


@dataclass(frozen=True)
class RetainedVersion:
    """What :meth:`RetentionApplier.retain` leaves on a version: always a lock."""

    name: str
    mode: str
    retain_until: datetime
    changed: bool


class RetentionApplier:
    """GetObjectRetention, PutObjectRetention, GetObjectTagging, PutObjectTagging and
    PutObjectLegalHold of a version."""

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
        now: datetime,
    ) -> AppliedRetention:
        """Lock the version until ``last_modified`` + ``choice.days`` (or later) and tag it for
        ``choice.deletion`` (None: remove a ``retention-class`` tag it has).

        A date at or before ``now`` locks nothing. A request S3 refuses for good ends the work
        and is returned as ``failure``.

        :raises Transient: any other S3 failure (reason ``retention``).
        """
        address = _address(bucket, key, version_id)
        wanted = last_modified + timedelta(days=choice.days)
        mode: str | None = None
        until: datetime | None = None
        changed = False
        try:
            mode, until, changed = self._lock(address, wanted, now)
            changed = self._tag(address, choice.deletion) or changed
        except _Refused as refused:
            return AppliedRetention(choice.name, mode, until, changed, str(refused))
        return AppliedRetention(choice.name, mode, until, changed)

    def retain(
        self,
        bucket: str,
        key: str,
        version_id: str | None,
        wanted: datetime,
        name: str,
        deletion: str | None,
    ) -> RetainedVersion:
        """Lock the version (None: the key's current version) until ``wanted`` or the later date
        it already has (``name``: the lock's class), and tag it ``retention-class=<deletion>``
        (None: remove a ``retention-class`` tag it has, so no class rule expires it).

        :raises Transient: any S3 failure (reason ``retention``).
        """
        address = _address(bucket, key, version_id)
        mode, until, changed = self._lock(address, wanted, None)
        changed = self._tag(address, deletion) or changed
        return RetainedVersion(name, mode or self._mode, until or wanted, changed)

    def tag(self, bucket: str, key: str, version_id: str | None, name: str | None) -> bool:
        """Only merge ``retention-class=<name>`` into the version's tags (``version_id`` None: the
        current version; ``name`` None: remove the tag); False when nothing changed.
        :raises Transient: any S3 failure."""
        return self._tag(_address(bucket, key, version_id), name)

    def hold(self, bucket: str, key: str, version_id: str | None) -> str | None:
        """Put a legal hold ON on the version; the failure S3 refused for good, if any.

        :raises Transient: any other S3 failure (reason ``retention``).
        """
        address = _address(bucket, key, version_id)
        try:
            self._call(
                "PutObjectLegalHold",
                lambda: self._client.put_object_legal_hold(**address, LegalHold={"Status": "ON"}),
            )
        except _Refused as refused:
            return str(refused)
        return None

    def _lock(
        self, address: Mapping[str, Any], wanted: datetime, now: datetime | None
    ) -> tuple[str | None, datetime | None, bool]:
        """The version's mode and date after locking it until ``wanted`` unless it already is
        locked as long, or ``wanted`` is not after ``now``; whether it was written."""
        mode, until = self._existing(address)
        if (now is not None and wanted <= now) or (until is not None and until >= wanted):
            return mode, until, False
        # A COMPLIANCE retention can be extended but never weakened to GOVERNANCE.
        new_mode = "COMPLIANCE" if mode == "COMPLIANCE" else self._mode
        lock = {"Mode": new_mode, "RetainUntilDate": wanted}
        self._call(
            "PutObjectRetention",
            lambda: self._client.put_object_retention(**address, Retention=lock),  # type: ignore[arg-type]
        )
        return new_mode, wanted, True

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

    def _tag(self, address: Mapping[str, Any], name: str | None) -> bool:
        response = self._call(
            "GetObjectTagging", lambda: self._client.get_object_tagging(**address)
        )
        tags = [dict(tag) for tag in response.get("TagSet", [])]
        others = [tag for tag in tags if tag.get("Key") != TAG_KEY]
        merged = others if name is None else [*others, {"Key": TAG_KEY, "Value": name}]
        if sorted(map(str, tags)) == sorted(map(str, merged)):
            return False
        if len(merged) > _MAX_TAGS:
            raise _Refused(
                f"PutObjectTagging: the version already has {len(tags)} tags; S3 allows "
                f"{_MAX_TAGS}, so {TAG_KEY} cannot be added"
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
    code = error_code(error)
    if code in PERMANENT_CODES:
        return _Refused(f"{operation} refused: {code}")
    return Transient("retention", f"{operation} failed: {code}")
