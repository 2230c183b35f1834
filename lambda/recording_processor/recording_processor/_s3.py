"""Reading one version of a recording from S3: its metadata, its SHA-256 and its WAV header.

Always by version id when the event names one: the key may be overwritten between the event and
this read, and the catalog must describe the version the event announced.

The digest streams the object in 1 MiB chunks, so memory stays flat whatever the recording's size
(a 4-hour stereo recording at 8 kHz is about 460 MB). The first :data:`HEADER_BYTES` of that same
stream are kept for the WAV header: one GET serves both, and the header is guaranteed to belong to
the hashed bytes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from recording_processor._errors import Transient, error_code, is_not_found
from recording_processor._events import Unprocessable
from recording_processor._wav import HEADER_BYTES

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

__all__ = ["CHUNK_BYTES", "ObjectContent", "ObjectHead", "RecordingObjects"]

#: Read size of the streamed digest.
CHUNK_BYTES = 1024 * 1024


@dataclass(frozen=True)
class ObjectHead:
    """What HeadObject says about the version. ``etag`` is without its quotes."""

    content_length: int
    etag: str | None
    metadata: Mapping[str, str]
    version_id: str | None
    #: When S3 created the version: the start of its Object Lock retention period.
    last_modified: datetime | None = None


@dataclass(frozen=True)
class ObjectContent:
    """The streamed read: the SHA-256 (hex), the bytes counted, and the header bytes."""

    sha256: str
    size: int
    header: bytes


class RecordingObjects:
    """HeadObject and the streamed GetObject of recording versions."""

    def __init__(self, client: S3Client, chunk_bytes: int = CHUNK_BYTES) -> None:
        self._client = client
        self._chunk_bytes = chunk_bytes

    def head(self, bucket: str, key: str, version_id: str | None) -> ObjectHead:
        """HeadObject of the version.

        :raises Unprocessable: the object or version does not exist (deleted since the event).
        :raises Transient: any other failure.
        """
        try:
            response = self._client.head_object(**_address(bucket, key, version_id))
        except ClientError as error:
            # HEAD has no error body: an unknown version id comes back as a bare 400.
            if is_not_found(error) or (version_id is not None and error_code(error) == "400"):
                raise Unprocessable(
                    "object-missing", f"HeadObject found no such object ({error_code(error)})"
                ) from None
            raise Transient("s3-head", f"HeadObject failed: {error_code(error)}") from error
        except BotoCoreError as error:
            raise Transient("s3-head", f"HeadObject failed: {error_code(error)}") from error
        etag = response.get("ETag")
        return ObjectHead(
            content_length=int(response.get("ContentLength", 0)),
            etag=etag.strip('"') if etag else None,
            metadata=dict(response.get("Metadata") or {}),
            version_id=response.get("VersionId"),
            last_modified=response.get("LastModified"),
        )

    def read(self, bucket: str, key: str, version_id: str | None) -> ObjectContent:
        """Stream the version once: SHA-256 of every byte, and the first bytes for the header.

        :raises Unprocessable: the object or version no longer exists.
        :raises Transient: any other failure, including a connection lost mid-stream.
        """
        digest = hashlib.sha256()
        header = bytearray()
        size = 0
        try:
            response = self._client.get_object(**_address(bucket, key, version_id))
            body = response["Body"]
            try:
                for chunk in body.iter_chunks(self._chunk_bytes):
                    digest.update(chunk)
                    size += len(chunk)
                    if len(header) < HEADER_BYTES:
                        header += chunk[: HEADER_BYTES - len(header)]
            finally:
                body.close()
        except ClientError as error:
            if is_not_found(error):
                raise Unprocessable(
                    "object-missing", f"GetObject found no such object ({error_code(error)})"
                ) from None
            raise Transient("s3-get", f"GetObject failed: {error_code(error)}") from error
        except BotoCoreError as error:
            raise Transient("s3-get", f"GetObject failed: {error_code(error)}") from error
        return ObjectContent(sha256=digest.hexdigest(), size=size, header=bytes(header))


def _address(bucket: str, key: str, version_id: str | None) -> dict[str, Any]:
    address: dict[str, Any] = {"Bucket": bucket, "Key": key}
    if version_id is not None:
        address["VersionId"] = version_id
    return address
