"""The processor's configuration, read from the Lambda environment once per cold start."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from recording_processor._keys import recording_folder
from recording_processor._retention import RetentionPolicy, RetentionPolicyError

__all__ = [
    "DEFAULT_APPLICATION",
    "DEFAULT_BUS",
    "DEFAULT_NAMESPACE",
    "CatalogConfig",
    "ConfigError",
    "ProcessorConfig",
    "retention_from_environ",
]

#: ``EVENT_BUS``, ``METRICS_NAMESPACE`` and ``APPLICATION`` when unset (every function).
DEFAULT_BUS = "default"
DEFAULT_NAMESPACE = "CdkRecording"
DEFAULT_APPLICATION = "cdk-recording"
_DEFAULT_MAX_CALL_HOURS = 24
_DEFAULT_GRACE_MINUTES = 15
#: A week: longer than any call the SMA keeps up, short enough to notice a lost recording.
_MAX_CALL_HOURS_RANGE = (1, 168)
#: A day: S3 delivers a recording seconds after the call; a larger grace only delays the alarm.
_GRACE_MINUTES_RANGE = (1, 1440)


def retention_from_environ(
    environ: Mapping[str, str], problems: list[str]
) -> RetentionPolicy | None:
    """The ``RETENTION`` policy, None when unset; a malformed one is added to ``problems``."""
    text = environ.get("RETENTION", "").strip()
    if not text:
        return None
    try:
        return RetentionPolicy.from_json(text)
    except RetentionPolicyError as error:
        problems.append(str(error))
        return None


class ConfigError(ValueError):
    """The environment is missing a required variable or holds an invalid one."""


@dataclass(frozen=True)
class ProcessorConfig:
    """Where recordings arrive and where their catalog entries and events go.

    :param catalog_table: the DynamoDB catalog table (``CATALOG_TABLE``, required).
    :param recording_bucket: the only bucket whose objects are processed (``RECORDING_BUCKET``,
        required: accepting any bucket would let a misrouted event catalog a foreign object).
    :param recording_prefix: the ``StartCallRecording`` destination prefix (``RECORDING_PREFIX``).
        Default: empty, meaning the service's ``Amazon-Chime-SMA-Call-Recordings`` folder.
    :param event_bus: name or ARN of the bus "Recording Available" events go to (``EVENT_BUS``).
        Default: ``default``.
    :param metrics_namespace: CloudWatch namespace of the EMF metrics (``METRICS_NAMESPACE``).
        Default: ``CdkRecording``.
    :param application: value of the ``Application`` metric dimension (``APPLICATION``).
        Default: ``cdk-recording``.
    :param retention: the Object Lock retention applied to each version at arrival
        (``RETENTION``, JSON, see :mod:`~recording_processor._retention`). Default: none.
    """

    catalog_table: str
    recording_bucket: str
    recording_prefix: str = ""
    event_bus: str = DEFAULT_BUS
    metrics_namespace: str = DEFAULT_NAMESPACE
    application: str = DEFAULT_APPLICATION
    retention: RetentionPolicy | None = None

    @property
    def folder(self) -> str:
        """The key folder recordings arrive in (the prefix, or the service default)."""
        return recording_folder(self.recording_prefix)

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> ProcessorConfig:
        """Read the configuration; every problem is named in one :class:`ConfigError`."""
        problems = [
            f"{name} is not set"
            for name in ("CATALOG_TABLE", "RECORDING_BUCKET")
            if not environ.get(name, "").strip()
        ]
        retention = retention_from_environ(environ, problems)
        if problems:
            raise ConfigError("; ".join(problems))
        return cls(
            catalog_table=environ["CATALOG_TABLE"].strip(),
            recording_bucket=environ["RECORDING_BUCKET"].strip(),
            recording_prefix=environ.get("RECORDING_PREFIX", "").strip().strip("/"),
            event_bus=environ.get("EVENT_BUS", "").strip() or DEFAULT_BUS,
            metrics_namespace=environ.get("METRICS_NAMESPACE", "").strip() or DEFAULT_NAMESPACE,
            application=environ.get("APPLICATION", "").strip() or DEFAULT_APPLICATION,
            retention=retention,
        )


@dataclass(frozen=True)
class CatalogConfig:
    """What the facts consumer and the missing sweep need (no bucket: they never read S3).

    :param catalog_table: the DynamoDB catalog table (``CATALOG_TABLE``, required).
    :param event_bus: name or ARN of the bus "Recording Missing" events go to (``EVENT_BUS``).
        Default: ``default``.
    :param metrics_namespace: CloudWatch namespace of the EMF metrics (``METRICS_NAMESPACE``).
        Default: ``CdkRecording``.
    :param application: value of the ``Application`` metric dimension (``APPLICATION``).
        Default: ``cdk-recording``.
    :param max_call_hours: how long a started recording may run before its file is overdue when
        no stop was seen (``MAX_CALL_HOURS``, 1-168). Default: 24.
    :param grace_minutes: how long after a recording stops its file may take to arrive before it
        is reported missing (``GRACE_MINUTES``, 1-1440). Default: 15.
    """

    catalog_table: str
    event_bus: str = DEFAULT_BUS
    metrics_namespace: str = DEFAULT_NAMESPACE
    application: str = DEFAULT_APPLICATION
    max_call_hours: int = _DEFAULT_MAX_CALL_HOURS
    grace_minutes: int = _DEFAULT_GRACE_MINUTES

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> CatalogConfig:
        """Read the configuration; every problem is named in one :class:`ConfigError`."""
        problems: list[str] = []
        table = environ.get("CATALOG_TABLE", "").strip()
        if not table:
            problems.append("CATALOG_TABLE is not set")
        hours = _bounded_int(
            environ, "MAX_CALL_HOURS", _DEFAULT_MAX_CALL_HOURS, _MAX_CALL_HOURS_RANGE, problems
        )
        grace = _bounded_int(
            environ, "GRACE_MINUTES", _DEFAULT_GRACE_MINUTES, _GRACE_MINUTES_RANGE, problems
        )
        if problems:
            raise ConfigError("; ".join(problems))
        return cls(
            catalog_table=table,
            event_bus=environ.get("EVENT_BUS", "").strip() or DEFAULT_BUS,
            metrics_namespace=environ.get("METRICS_NAMESPACE", "").strip() or DEFAULT_NAMESPACE,
            application=environ.get("APPLICATION", "").strip() or DEFAULT_APPLICATION,
            max_call_hours=hours,
            grace_minutes=grace,
        )


def _bounded_int(
    environ: Mapping[str, str],
    name: str,
    default: int,
    bounds: tuple[int, int],
    problems: list[str],
) -> int:
    text = environ.get(name, "").strip()
    if not text:
        return default
    low, high = bounds
    # ASCII digits only: int() would also take "+5", "1_0" and non-ASCII digits.
    if text.isascii() and text.isdigit() and low <= int(text) <= high:
        return int(text)
    problems.append(f"{name} is {text!r}; allowed: a whole number from {low} to {high}")
    return default
