"""The processor's configuration, read from the Lambda environment once per cold start."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from recording_processor._keys import recording_folder

__all__ = ["ConfigError", "ProcessorConfig"]

_DEFAULT_BUS = "default"
_DEFAULT_NAMESPACE = "CdkRecording"
_DEFAULT_APPLICATION = "cdk-recording"


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
    """

    catalog_table: str
    recording_bucket: str
    recording_prefix: str = ""
    event_bus: str = _DEFAULT_BUS
    metrics_namespace: str = _DEFAULT_NAMESPACE
    application: str = _DEFAULT_APPLICATION

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
        if problems:
            raise ConfigError("; ".join(problems))
        return cls(
            catalog_table=environ["CATALOG_TABLE"].strip(),
            recording_bucket=environ["RECORDING_BUCKET"].strip(),
            recording_prefix=environ.get("RECORDING_PREFIX", "").strip().strip("/"),
            event_bus=environ.get("EVENT_BUS", "").strip() or _DEFAULT_BUS,
            metrics_namespace=environ.get("METRICS_NAMESPACE", "").strip() or _DEFAULT_NAMESPACE,
            application=environ.get("APPLICATION", "").strip() or _DEFAULT_APPLICATION,
        )
