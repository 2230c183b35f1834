"""Delivering recordings: a local folder with metadata sidecars, or S3 ``put_object`` with the
object's user metadata (reference §3.4)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber

from cdk_recording.testing import (
    METADATA_SUFFIX,
    FolderSink,
    MemorySink,
    RecordingObject,
    S3Sink,
    SmaSimulator,
    builtin_scenario,
)
from tests.simulator.conftest import read_wav

OBJECT = RecordingObject(
    "recordings-bucket",
    "recordings/2026/11/24/2026-11-24-09-30-00-000_tx_call.wav",
    b"RIFF....WAVE",
    {
        "transaction-id": "tx",
        "call-id": "call",
        "recording-duration": "1.000",
        "recording-audio-file-format": "audio/wav",
    },
)


def test_folder_sink_writes_bucket_and_key_with_a_metadata_sidecar(tmp_path: Path) -> None:
    """§3.4: the file lands at <root>/<bucket>/<key>; the object's metadata sits beside it."""
    where = FolderSink(tmp_path).deliver(OBJECT)
    path = tmp_path / OBJECT.bucket / OBJECT.key
    assert where == str(path)
    assert path.read_bytes() == OBJECT.body
    sidecar = json.loads(path.with_name(path.name + METADATA_SUFFIX).read_text())
    assert sidecar == {
        "Bucket": OBJECT.bucket,
        "Key": OBJECT.key,
        "ContentLength": len(OBJECT.body),
        "Metadata": dict(OBJECT.metadata),
    }


@pytest.fixture
def s3_client(monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDTESTING")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing-secret")
    return boto3.client("s3", region_name="us-east-1")


def test_s3_sink_puts_the_object_with_its_metadata(s3_client: Any) -> None:
    """§3.4: put_object(Bucket, Key, Body, Metadata); the Stubber checks the request against the
    real S3 model."""
    with Stubber(s3_client) as stubber:
        stubber.add_response(
            "put_object",
            {"ETag": '"etag"'},
            {
                "Bucket": OBJECT.bucket,
                "Key": OBJECT.key,
                "Body": OBJECT.body,
                "Metadata": dict(OBJECT.metadata),
            },
        )
        where = S3Sink(s3_client).deliver(OBJECT)
        stubber.assert_no_pending_responses()
    assert where == f"s3://{OBJECT.bucket}/{OBJECT.key}"


def test_simulated_call_delivers_a_stereo_wav_to_s3(s3_client: Any) -> None:
    """§3.2, §3.4: the default call's recording is put once, under the documented key, with the
    documented metadata and a stereo WAV body."""
    with Stubber(s3_client) as stubber:
        stubber.add_response(
            "put_object",
            {"ETag": '"etag"'},
            {"Bucket": "callrecordingexample-recordings", "Key": ANY, "Body": ANY, "Metadata": ANY},
        )
        report = SmaSimulator.for_recording_handler(sink=S3Sink(s3_client)).run(
            builtin_scenario("default")
        )
        stubber.assert_no_pending_responses()
    [recording] = report.recordings
    assert recording.destination == recording.uri
    assert recording.key.startswith("recordings/2026/11/24/2026-11-24-09-30-00-000_")
    assert set(recording.metadata) == {
        "transaction-id",
        "call-id",
        "recording-duration",
        "recording-audio-file-format",
    }


def test_memory_sink_keeps_objects_by_bucket_and_key() -> None:
    """§3.2: the in-memory sink lets tests read the delivered stereo WAV, as long as the
    recording."""
    sink = MemorySink()
    report = SmaSimulator.for_recording_handler(sink=sink).run(builtin_scenario("default"))
    [recording] = report.recordings
    channels, rate, (left, right) = read_wav(sink.objects[(recording.bucket, recording.key)].body)
    assert (channels, rate) == (2, 8000)
    assert len(left) == len(right) == recording.duration_ms * 8
