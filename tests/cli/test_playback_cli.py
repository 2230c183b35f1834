"""``cdk-recording recordings show --html FILE [--no-audio]`` through ``main(argv)``, against moto's
DynamoDB (the catalog) and S3 (a versioned recording bucket).
"""

from __future__ import annotations

import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from recording_processor import schema

from cdk_recording import _audit, _playback_page
from tests.cli.catalog_seed import AGENT, BUCKET, CALLER
from tests.cli.playback_call import CALL_A, KEY, TX, catalog_items, sine_left_silent_right
from tests.cli.test_cli import assert_one_line_error
from tests.cli.test_recordings_cli import AGENT_MASKED, CALLER_MASKED, REGION, TABLE, WHERE, run


@dataclass
class Catalog:
    table: Any
    s3: Any
    cataloged: str  # the version the catalog names
    newer: str  # a later version of the same key


@pytest.fixture
def catalog(aws_credentials: None) -> Iterator[Catalog]:
    with mock_aws():
        session = boto3.session.Session()
        dynamodb = session.resource("dynamodb", region_name=REGION)
        dynamodb.create_table(**schema.create_table_arguments(TABLE))
        table = dynamodb.Table(TABLE)
        s3 = session.client("s3", region_name=REGION)
        s3.create_bucket(Bucket=BUCKET)
        s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
        audio = sine_left_silent_right(seconds=3)
        cataloged = s3.put_object(Bucket=BUCKET, Key=KEY, Body=audio)["VersionId"]
        # Overwritten since: the page must draw the version that was cataloged, not this one.
        newer = s3.put_object(Bucket=BUCKET, Key=KEY, Body=sine_left_silent_right(seconds=1))
        with table.batch_writer() as batch:
            for item in catalog_items(cataloged, len(audio)):
                batch.put_item(Item=item)
        yield Catalog(table, s3, cataloged, newer["VersionId"])


def show_html(
    capsys: pytest.CaptureFixture[str], path: Path, *extra: str
) -> tuple[int, str, str, str]:
    code, out, err = run(capsys, "recordings", "show", TX, *WHERE, "--html", str(path), *extra)
    page = path.read_text(encoding="utf-8") if path.exists() else ""
    return code, out, err, page


def test_html_writes_the_page_with_the_cataloged_versions_waveform(
    capsys: pytest.CaptureFixture[str], catalog: Catalog, tmp_path: Path
) -> None:
    target = tmp_path / "call.html"

    code, out, err, page = show_html(capsys, target)

    assert code == 0
    assert err == f"cdk-recording: wrote the playback page to {target}\n"
    assert f"transaction     {TX}" in out  # the text output is printed as without --html
    assert page.count('<svg class="timeline"') == 1
    assert page.count('<svg class="waveform"') == 2
    assert "(3.000 s), 8000 Hz, 16-bit, 2 channel(s)" in page  # v1 (3 s), not the newer 1 s
    assert "recording-paused" in page
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["call.html"]  # no temporary file left


def test_reading_the_audio_is_audited_first(
    capsys: pytest.CaptureFixture[str], catalog: Catalog, tmp_path: Path
) -> None:
    code, _, _, _ = show_html(capsys, tmp_path / "call.html")

    assert code == 0
    [entry] = _audit.audit_entries(catalog.table, TX)
    assert entry.action == "playback"
    assert entry.by.startswith("arn:aws:")
    assert entry.detail == {
        "buckets": [BUCKET],
        "keys": [KEY],
        "versionIds": [catalog.cataloged],
        "callIds": [CALL_A],
    }


def test_a_refused_audit_write_reads_nothing_and_writes_no_page(
    capsys: pytest.CaptureFixture[str],
    catalog: Catalog,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise ClientError(
            {"Error": {"Code": "AccessDeniedException", "Message": "no PutItem"}}, "PutItem"
        )

    def no_s3(args: Any) -> Any:
        raise AssertionError("nothing may be read without the audit entry")

    monkeypatch.setattr(_audit, "record", refuse)
    monkeypatch.setattr(_playback_page, "s3_client", no_s3)
    target = tmp_path / "call.html"

    code, _, err = run(capsys, "recordings", "show", TX, *WHERE, "--html", str(target))

    assert code == 1
    assert_one_line_error(
        err, "could not write the audit entry", "AccessDeniedException", "no recording was read"
    )
    assert list(tmp_path.iterdir()) == []


def test_html_masks_numbers_unless_unmask(
    capsys: pytest.CaptureFixture[str], catalog: Catalog, tmp_path: Path
) -> None:
    _, _, _, masked = show_html(capsys, tmp_path / "masked.html")
    _, _, _, unmasked = show_html(capsys, tmp_path / "unmasked.html", "--unmask")

    assert CALLER not in masked
    assert AGENT not in masked
    assert CALLER_MASKED in masked
    assert AGENT_MASKED in masked
    assert CALLER in unmasked


def test_no_audio_reads_no_object(
    capsys: pytest.CaptureFixture[str],
    catalog: Catalog,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def no_s3(args: Any) -> Any:
        raise AssertionError("--no-audio must not open S3")

    monkeypatch.setattr(_playback_page, "s3_client", no_s3)

    code, _, _, page = show_html(capsys, tmp_path / "call.html", "--no-audio")

    assert code == 0
    assert _audit.audit_entries(catalog.table, TX) == []  # nothing read, nothing to record
    assert '<svg class="timeline"' in page
    assert '<svg class="waveform"' not in page
    assert "waveform not read (--no-audio)" in page


def test_an_unreadable_object_is_a_note_and_a_warning_not_a_failure(
    capsys: pytest.CaptureFixture[str], catalog: Catalog, tmp_path: Path
) -> None:
    catalog.s3.delete_object(Bucket=BUCKET, Key=KEY, VersionId=catalog.cataloged)

    code, _, err, page = show_html(capsys, tmp_path / "call.html")

    assert code == 0
    warning, wrote = err.splitlines()
    assert warning.startswith(f"cdk-recording: warning: recording {CALL_A}: GetObject ")
    assert "NoSuchVersion" in warning
    assert "s3:GetObjectVersion" in warning
    assert wrote.startswith("cdk-recording: wrote the playback page")
    assert '<svg class="timeline"' in page
    assert "no waveform: GetObject" in page


def test_an_object_that_is_not_a_wav_is_a_note(
    capsys: pytest.CaptureFixture[str], catalog: Catalog, tmp_path: Path
) -> None:
    item = catalog.table.get_item(Key={"pk": f"TX#{TX}", "sk": f"REC#{CALL_A}"})["Item"]
    item["versionId"] = catalog.s3.put_object(Bucket=BUCKET, Key=KEY, Body=b"ID3" + bytes(64))[
        "VersionId"
    ]
    catalog.table.put_item(Item=item)

    code, _, err, page = show_html(capsys, tmp_path / "call.html")

    assert code == 0
    assert "cannot be drawn: not a readable WAV file" in err
    assert "cannot be drawn: not a readable WAV file" in page


def test_no_audio_without_html_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], catalog: Catalog
) -> None:
    code, out, err = run(capsys, "recordings", "show", TX, *WHERE, "--no-audio")
    assert (code, out) == (2, "")
    assert_one_line_error(err, "--no-audio", "--html FILE")


def test_an_unwritable_page_is_a_usage_error_naming_the_path(
    capsys: pytest.CaptureFixture[str], catalog: Catalog, tmp_path: Path
) -> None:
    target = tmp_path / "no-such-dir" / "call.html"
    code, _, err = run(capsys, "recordings", "show", TX, *WHERE, "--html", str(target))
    assert code == 2
    assert_one_line_error(err, f"--html {target}", "cannot write the page")


class NoCalls:
    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"no S3 request expected, got {name}")


def test_recordings_without_an_object_get_a_note_and_no_request() -> None:
    audio = _playback_page.read_audio(
        NoCalls(),
        [
            {"callId": "a", "status": "missing"},
            {"callId": "b", "status": "started"},
            {"callId": "c", "status": "delivered"},  # delivered, but no object named
            # A tombstone keeps the address of what was erased: nothing to read there.
            {"callId": "d", "status": "erased", "bucket": BUCKET, "key": KEY, "erasedAt": "t"},
        ],
    )
    assert audio == {
        "a": "no audio: the recording's status is missing",
        "b": "no audio: the recording's status is started",
        "c": "no audio: the catalog names no object for this recording",
        "d": "no audio: the recording was erased (t)",
    }
