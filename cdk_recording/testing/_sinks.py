"""Where the simulator delivers recordings: a local folder, an S3 client, or memory."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

__all__ = [
    "METADATA_SUFFIX",
    "FolderSink",
    "MemorySink",
    "RecordingObject",
    "RecordingSink",
    "S3Sink",
]

#: The sidecar file next to each WAV written by :class:`FolderSink` holds the object's metadata.
METADATA_SUFFIX = ".metadata.json"


@dataclass(frozen=True)
class RecordingObject:
    """One delivered recording: an S3 object with its user metadata (§3.4)."""

    bucket: str
    key: str
    body: bytes
    metadata: Mapping[str, str] = field(default_factory=dict)


class RecordingSink(Protocol):
    """Receives each recording when the service would deliver it."""

    def deliver(self, recording: RecordingObject) -> str:
        """Store the recording; return where it went (shown in the report)."""
        ...


class FolderSink:
    """Writes ``<root>/<bucket>/<key>`` and, beside it, ``<key>.metadata.json`` with the metadata.

    :param root: the output folder (created when missing).
    """

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def deliver(self, recording: RecordingObject) -> str:
        path = self.root / recording.bucket / recording.key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(recording.body)
        sidecar = path.with_name(path.name + METADATA_SUFFIX)
        sidecar.write_text(
            json.dumps(
                {
                    "Bucket": recording.bucket,
                    "Key": recording.key,
                    "ContentLength": len(recording.body),
                    "Metadata": dict(recording.metadata),
                },
                indent=2,
            )
            + "\n",
            encoding="utf-8",
        )
        return str(path)


class S3Sink:
    """Puts each recording with ``put_object`` (Bucket, Key, Body, Metadata) on an S3 client.

    :param client: a boto3 S3 client (a real one, one pointed at a local endpoint, or one wrapped in
        a botocore ``Stubber``).
    """

    def __init__(self, client: S3Client | Any) -> None:
        self.client = client

    def deliver(self, recording: RecordingObject) -> str:
        self.client.put_object(
            Bucket=recording.bucket,
            Key=recording.key,
            Body=recording.body,
            Metadata=dict(recording.metadata),
        )
        return f"s3://{recording.bucket}/{recording.key}"


class MemorySink:
    """Keeps every recording in :attr:`objects`, by ``(bucket, key)``."""

    def __init__(self) -> None:
        self.objects: dict[tuple[str, str], RecordingObject] = {}

    def deliver(self, recording: RecordingObject) -> str:
        self.objects[(recording.bucket, recording.key)] = recording
        return f"memory://{recording.bucket}/{recording.key}"
