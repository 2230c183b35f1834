"""A large recording is hashed as a stream: memory stays flat whatever the object's size.

moto keeps objects in memory and builds whole response bodies, so the 64 MiB object here is served
by botocore's Stubber instead: a real S3 client, whose requests are checked against the S3 model
(VersionId included), answering with a body generated lazily, 1 MiB at a time. The catalog and the
event bus are still moto's.
"""

from __future__ import annotations

import hashlib
import io
import struct
import tracemalloc
from decimal import Decimal

import boto3
from botocore.response import StreamingBody
from botocore.stub import Stubber

from tests.processor.conftest import (
    BUCKET,
    REGION,
    Aws,
    Output,
    key_for,
    make_runtime,
    metadata_for,
    run,
    s3_event,
    sqs_batch,
)

MIB = 1024 * 1024
DATA_BYTES = 64 * MIB
VERSION = "Dl5xfu6N0gkM.1RNDyCRKbWsZVmn4Ttz"
#: A generous bound: the object is 64 MiB; streaming in 1 MiB chunks needs a few MiB at most.
PEAK_LIMIT = 16 * MIB


class LazyWav(io.RawIOBase):
    """A stereo 8 kHz 16-bit WAV of ``data_bytes`` of samples, produced as it is read."""

    def __init__(self, data_bytes: int) -> None:
        self._header = b"RIFF" + struct.pack("<I", 36 + data_bytes) + b"WAVE"
        self._header += b"fmt " + struct.pack("<IHHIIHH", 16, 1, 2, 8000, 32000, 4, 16)
        self._header += b"data" + struct.pack("<I", data_bytes)
        self.size = len(self._header) + data_bytes
        # One MiB of a repeating sample pattern, sliced into every read.
        self._block = bytes(range(256)) * (MIB // 256)
        self._position = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        view = memoryview(buffer).cast("B")
        wanted = min(len(view), self.size - self._position)
        written = 0
        while written < wanted:
            if self._position < len(self._header):
                piece = self._header[self._position : self._position + wanted - written]
            else:
                offset = (self._position - len(self._header)) % len(self._block)
                piece = self._block[offset : offset + wanted - written]
            view[written : written + len(piece)] = piece
            written += len(piece)
            self._position += len(piece)
        return written


def expected_sha256(data_bytes: int) -> str:
    source, digest = LazyWav(data_bytes), hashlib.sha256()
    while chunk := source.read(MIB):
        digest.update(chunk)
    return digest.hexdigest()


def test_large_recording_is_hashed_in_constant_memory(aws: Aws, output: Output) -> None:
    key = key_for()
    source = LazyWav(DATA_BYTES)
    seconds = DATA_BYTES / 32000
    s3 = boto3.client("s3", region_name=REGION)
    address = {"Bucket": BUCKET, "Key": key, "VersionId": VERSION}
    with Stubber(s3) as stub:
        stub.add_response(
            "head_object",
            {
                "ContentLength": source.size,
                "ETag": '"9b2cf535f27731c974343645a3985328-8"',
                "VersionId": VERSION,
                "Metadata": metadata_for(seconds),
            },
            address,
        )
        stub.add_response(
            "get_object",
            {"Body": StreamingBody(source, source.size), "ContentLength": source.size},
            address,
        )
        runtime = make_runtime(aws, output, s3=s3)
        batch = sqs_batch(s3_event(key, VERSION, size=source.size))

        tracemalloc.start()
        try:
            failures = run(batch, runtime)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        stub.assert_no_pending_responses()

    assert failures == []
    item = aws.recording_item()
    assert item is not None
    assert item["sha256"] == expected_sha256(DATA_BYTES)
    assert item["sizeBytes"] == source.size
    assert item["durationSeconds"] == Decimal("2097.152")
    assert item["billedMinutes"] == 35
    assert item["etag"] == "9b2cf535f27731c974343645a3985328-8"
    assert peak < PEAK_LIMIT, f"peak traced memory {peak / MIB:.1f} MiB"


def test_lazy_source_is_the_object_it_claims() -> None:
    """The fixture itself: a readable WAV of the declared size (else the test above proves little)."""
    source = LazyWav(3 * MIB + 5)
    data = source.read()
    assert len(data) == source.size
    assert data[:4] == b"RIFF"
    assert data[8:12] == b"WAVE"
    assert hashlib.sha256(data).hexdigest() == expected_sha256(3 * MIB + 5)
