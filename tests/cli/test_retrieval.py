"""``cdk-recording recordings get`` through ``main(argv)``, against moto's S3, DynamoDB and STS.

The catalog is seeded as docs/catalog.md describes (``tests.cli.catalog_seed``), with the delivered
recordings pointing at objects put into a versioned moto bucket.
"""

from __future__ import annotations

import hashlib
import json
import stat
import sys
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from recording_processor import schema
from recording_processor.catalog import Call

from cdk_recording import _audit, _retrieval
from cdk_recording._command import CommandError
from cdk_recording.cli import main
from tests.cli.catalog_seed import (
    CALL_A1,
    CALL_A2,
    CALL_B1,
    CALL_C1,
    TX_A,
    TX_B,
    TX_C,
    TX_D,
    one_call,
    seed,
)
from tests.cli.test_cli import assert_one_line_error

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

TABLE = "recording-catalog"
REGION = "us-east-1"
BUCKET = "recordings-123456789012"
WHERE = ["--table", TABLE, "--region", REGION]
AUDIO_A = b"RIFF" + b"\x01\x02" * 40_000
AUDIO_B = b"RIFF" + b"\x03\x04" * 30_000
TX_E = "8a9b0c1d-2e3f-4a5b-8c6d-7e8f9a0b1c2d"
CALL_E1 = "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d"
CALL_E2 = "2b3c4d5e-6f7a-4b8c-9d0e-1f2a3b4c5d6e"


@dataclass
class Catalog:
    table: Table
    s3: Any


def _put(
    s3: Any, table: Table, tx: str, call_id: str, body: bytes, *, sha256: str | None = None
) -> None:
    """Put ``body`` as the recording of ``call_id`` and point its catalog item at that version."""
    key = f"recordings/2026/12/03/20261203T202709_{tx}_{call_id}.wav"
    version = s3.put_object(Bucket=BUCKET, Key=key, Body=body)["VersionId"]
    table.update_item(
        Key={"pk": f"TX#{tx}", "sk": f"REC#{call_id}"},
        UpdateExpression="SET #b = :b, #k = :k, versionId = :v, sha256 = :s, sizeBytes = :n",
        ExpressionAttributeNames={"#b": "bucket", "#k": "key"},
        ExpressionAttributeValues={
            ":b": BUCKET,
            ":k": key,
            ":v": version,
            ":s": sha256 or hashlib.sha256(body).hexdigest(),
            ":n": len(body),
        },
    )


@pytest.fixture
def catalog(aws_credentials: None) -> Iterator[Catalog]:
    with mock_aws():
        session = boto3.session.Session()
        dynamodb = session.resource("dynamodb", region_name=REGION)
        dynamodb.create_table(**schema.create_table_arguments(TABLE))
        table = dynamodb.Table(TABLE)
        seed(table)
        # TX_E: two delivered legs, for the all-or-nothing download.
        with table.batch_writer() as batch:
            for item in one_call(
                TX_E,
                "inbound",
                "+12065550100",
                "+13125550199",
                "2026-12-03T21:00:00.000Z",
                [
                    (CALL_E1, "LEG-A", "delivered", "60", 1),
                    (CALL_E2, "LEG-B", "delivered", "60", 1),
                ],
            ):
                batch.put_item(Item=item)
        s3 = session.client("s3", region_name=REGION)
        s3.create_bucket(Bucket=BUCKET)
        s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
        _put(s3, table, TX_A, CALL_A1, AUDIO_A)
        _put(s3, table, TX_B, CALL_B1, AUDIO_B)
        _put(s3, table, TX_E, CALL_E1, AUDIO_A)
        _put(s3, table, TX_E, CALL_E2, AUDIO_B)
        yield Catalog(table, s3)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["recordings", "get", *argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def audit_items(table: Table, tx: str) -> list[_audit.AuditEntry]:
    return _audit.audit_entries(table, tx)


def recording_of(table: Table, tx: str, call_id: str) -> dict[str, Any]:
    item = table.get_item(Key={"pk": f"TX#{tx}", "sk": f"REC#{call_id}"})["Item"]
    return dict(item)


# -- download -----------------------------------------------------------------------------------------


def test_download_writes_the_cataloged_version_checked_and_audited(
    capsys: pytest.CaptureFixture[str], catalog: Catalog, tmp_path: Path
) -> None:
    recording = recording_of(catalog.table, TX_A, CALL_A1)
    # A later overwrite of the key must not be what is downloaded: the cataloged version is.
    catalog.s3.put_object(Bucket=BUCKET, Key=recording["key"], Body=b"overwritten")
    code, out, err = run(capsys, TX_A, *WHERE, "--out", str(tmp_path), "--output", "json")
    assert (code, err) == (0, "")
    document = json.loads(out)
    target = tmp_path / Path(recording["key"]).name
    assert target.read_bytes() == AUDIO_A
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert list(tmp_path.iterdir()) == [target]
    assert document["action"] == "download"
    assert [f["path"] for f in document["files"]] == [str(target)]
    assert document["files"][0]["versionId"] == recording["versionId"]
    assert document["files"][0]["sizeBytes"] == len(AUDIO_A)
    assert document["call"]["fromNumber"] == "+*******0100"
    (entry,) = audit_items(catalog.table, TX_A)
    assert entry.action == "download"
    assert entry.by.startswith("arn:aws:")
    assert entry.by == document["audit"]["by"]
    assert entry.detail == {
        "buckets": [BUCKET],
        "keys": [recording["key"]],
        "versionIds": [recording["versionId"]],
        "callIds": [CALL_A1],
    }


def test_download_text_output_lists_the_files(
    capsys: pytest.CaptureFixture[str],
    catalog: Catalog,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, TX_E, *WHERE)
    assert (code, err) == (0, "")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        Path(recording_of(catalog.table, TX_E, c)["key"]).name for c in (CALL_E1, CALL_E2)
    )
    assert "download by arn:aws:" in out
    assert [line.split()[0] for line in out.splitlines() if "verified" in line] == [
        "LEG-A",
        "LEG-B",
    ]


def test_call_option_downloads_one_leg(
    capsys: pytest.CaptureFixture[str], catalog: Catalog, tmp_path: Path
) -> None:
    code, _, err = run(capsys, TX_E, *WHERE, "--out", str(tmp_path), "--call", CALL_E2.upper())
    assert (code, err) == (0, "")
    assert [p.read_bytes() for p in tmp_path.iterdir()] == [AUDIO_B]
    (entry,) = audit_items(catalog.table, TX_E)
    assert entry.detail["callIds"] == [CALL_E2]


def test_sha256_mismatch_hands_over_nothing_exit_1(
    capsys: pytest.CaptureFixture[str], catalog: Catalog, tmp_path: Path
) -> None:
    # LEG-A matches, LEG-B was altered after cataloging: neither file is kept.
    _put(catalog.s3, catalog.table, TX_E, CALL_E2, AUDIO_B, sha256=hashlib.sha256(b"x").hexdigest())
    code, out, err = run(capsys, TX_E, *WHERE, "--out", str(tmp_path))
    assert (code, out) == (1, "")
    assert_one_line_error(err, "SHA-256 mismatch", CALL_E2, hashlib.sha256(AUDIO_B).hexdigest())
    assert list(tmp_path.iterdir()) == []
    # The objects were read, so the read is in the trail.
    assert [e.action for e in audit_items(catalog.table, TX_E)] == ["download"]


def test_existing_file_is_not_overwritten_and_nothing_is_read(
    capsys: pytest.CaptureFixture[str], catalog: Catalog, tmp_path: Path
) -> None:
    name = Path(recording_of(catalog.table, TX_A, CALL_A1)["key"]).name
    (tmp_path / name).write_bytes(b"mine")
    code, out, err = run(capsys, TX_A, *WHERE, "--out", str(tmp_path))
    assert (code, out) == (1, "")
    assert_one_line_error(err, name, "already exists", "--force")
    assert (tmp_path / name).read_bytes() == b"mine"
    assert audit_items(catalog.table, TX_A) == []


def test_force_overwrites_an_existing_file(
    capsys: pytest.CaptureFixture[str], catalog: Catalog, tmp_path: Path
) -> None:
    name = Path(recording_of(catalog.table, TX_A, CALL_A1)["key"]).name
    (tmp_path / name).write_bytes(b"mine")
    code, _, err = run(capsys, TX_A, *WHERE, "--out", str(tmp_path), "--force")
    assert (code, err) == (0, "")
    assert (tmp_path / name).read_bytes() == AUDIO_A


def test_out_must_be_a_directory(
    capsys: pytest.CaptureFixture[str], catalog: Catalog, tmp_path: Path
) -> None:
    code, _, err = run(capsys, TX_A, *WHERE, "--out", str(tmp_path / "absent"))
    assert code == 2
    assert_one_line_error(err, "--out", "absent", "not a directory")


@pytest.mark.parametrize(
    ("tx", "says"),
    [
        (TX_C, f"recordings: {CALL_C1}: started"),
        (TX_D, "has no delivered recording to retrieve (recordings: none)"),
        ("00000000-0000-4000-8000-000000000000", "not found in the catalog"),
    ],
)
def test_no_delivered_recording_is_exit_1(
    capsys: pytest.CaptureFixture[str], catalog: Catalog, tmp_path: Path, tx: str, says: str
) -> None:
    code, out, err = run(capsys, tx, *WHERE, "--out", str(tmp_path))
    assert (code, out) == (1, "")
    assert_one_line_error(err, says)
    assert list(tmp_path.iterdir()) == []
    assert audit_items(catalog.table, tx) == []


def test_a_missing_leg_is_skipped_and_named_when_asked_for(
    capsys: pytest.CaptureFixture[str], catalog: Catalog, tmp_path: Path
) -> None:
    code, _, err = run(capsys, TX_A, *WHERE, "--out", str(tmp_path), "--call", CALL_A2)
    assert code == 1
    assert_one_line_error(err, f"{CALL_A2}: missing")


@pytest.mark.parametrize("status", ["transcribed", "erased", "missing"])
def test_only_delivered_recordings_are_retrievable(status: str) -> None:
    # An erased tombstone keeps the address of what was deleted; "transcribed" has no writer.
    item = {
        "transactionId": TX_A,
        "callId": CALL_A1,
        "status": status,
        "bucket": BUCKET,
        "key": "recordings/a.wav",
        "versionId": "v1",
        "sha256": "0" * 64,
    }
    call = Call(TX_A, None, (item,))
    with pytest.raises(CommandError, match=f"no delivered recording .*{CALL_A1}: {status}"):
        _retrieval.retrievable(call)
    assert _retrieval.retrievable(Call(TX_A, None, ({**item, "status": "delivered"},)))


def test_unknown_call_id_names_the_option(
    capsys: pytest.CaptureFixture[str], catalog: Catalog, tmp_path: Path
) -> None:
    code, _, err = run(capsys, TX_A, *WHERE, "--out", str(tmp_path), "--call", CALL_B1)
    assert code == 2
    assert_one_line_error(err, f"--call {CALL_B1}", CALL_A1)


# -- presigned URLs -----------------------------------------------------------------------------------


def _query(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query)


def test_url_presigns_the_cataloged_version_for_five_minutes_by_default(
    capsys: pytest.CaptureFixture[str],
    catalog: Catalog,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    recording = recording_of(catalog.table, TX_A, CALL_A1)
    code, out, err = run(capsys, TX_A, *WHERE, "--url", "--output", "json")
    assert (code, err) == (0, "")
    (url,) = json.loads(out)["urls"]
    query = _query(url["url"])
    assert urlsplit(url["url"]).path.endswith(recording["key"])
    assert query["versionId"] == [recording["versionId"]]
    assert query["X-Amz-Expires"] == ["300"]
    assert query["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"]
    assert list(tmp_path.iterdir()) == []
    (entry,) = audit_items(catalog.table, TX_A)
    assert entry.action == "presign"
    assert entry.detail["expiresSeconds"] == 300
    assert entry.detail["versionIds"] == [recording["versionId"]]
    at = datetime.strptime(entry.at, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    expires_at = datetime.strptime(entry.detail["expiresAt"], "%Y-%m-%dT%H:%M:%SZ").replace(
        tzinfo=UTC
    )
    assert timedelta(seconds=299) <= expires_at - at <= timedelta(seconds=300)


@pytest.mark.parametrize(
    ("given", "seconds"), [("90s", "90"), ("5m", "300"), ("1h", "3600"), ("12h", "43200")]
)
def test_url_expires_accepts_seconds_minutes_hours(
    capsys: pytest.CaptureFixture[str], catalog: Catalog, given: str, seconds: str
) -> None:
    code, out, err = run(capsys, TX_B, *WHERE, "--url", "--expires", given, "--output", "json")
    assert (code, err) == (0, "")
    (url,) = json.loads(out)["urls"]
    assert _query(url["url"])["X-Amz-Expires"] == [seconds]
    (entry,) = audit_items(catalog.table, TX_B)
    assert entry.detail["expiresSeconds"] == int(seconds)


def test_url_text_output_prints_each_url(
    capsys: pytest.CaptureFixture[str], catalog: Catalog
) -> None:
    code, out, err = run(capsys, TX_E, *WHERE, "--url", "--expires", "90s")
    assert (code, err) == (0, "")
    urls = [line for line in out.splitlines() if line.startswith("https://")]
    assert len(urls) == 2
    assert all("X-Amz-Expires=90" in u for u in urls)


@pytest.mark.parametrize("value", ["0s", "13h", "721m", "5", "5 m", "1d", "-5m", "1.5h", ""])
def test_invalid_expires_is_exit_2_naming_option_value_and_range(
    capsys: pytest.CaptureFixture[str], catalog: Catalog, value: str
) -> None:
    code, out, err = run(capsys, TX_A, *WHERE, "--url", f"--expires={value}")
    assert (code, out) == (2, "")
    assert "--expires" in err
    assert repr(value) in err
    assert "from 1s to 12h" in err
    assert audit_items(catalog.table, TX_A) == []


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["--expires", "5m"], "--expires 5m applies only with --url"),
        (["--url", "--out", "."], "--out applies to downloads, not to --url"),
        (["--url", "--force"], "--force applies to downloads, not to --url"),
    ],
)
def test_options_of_the_other_mode_are_usage_errors(
    capsys: pytest.CaptureFixture[str], catalog: Catalog, argv: list[str], says: str
) -> None:
    code, _, err = run(capsys, TX_A, *WHERE, *argv)
    assert code == 2
    assert_one_line_error(err, says)


def _expiring_profile(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, minutes: int) -> None:
    """A profile whose credentials come from ``credential_process`` and expire in ``minutes``:
    botocore then knows the expiry, as for a role session or SSO."""
    expiration = (datetime.now(UTC) + timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%SZ")
    script = tmp_path / "credentials.py"
    script.write_text(
        "import json\n"
        + "print(json.dumps("
        + repr(
            {
                "Version": 1,
                "AccessKeyId": "ASIATESTING",
                "SecretAccessKey": "testing-secret",
                "SessionToken": "testing-token",
                "Expiration": expiration,
            }
        )
        + "))\n"
    )
    config = tmp_path / "config"
    config.write_text(
        textwrap.dedent(
            f"""\
            [profile expiring]
            region = {REGION}
            credential_process = {sys.executable} {script}
            """
        )
    )
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")


def test_expires_longer_than_the_credentials_last_is_exit_2(
    capsys: pytest.CaptureFixture[str],
    catalog: Catalog,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _expiring_profile(tmp_path, monkeypatch, minutes=30)
    code, out, err = run(
        capsys, TX_A, "--table", TABLE, "--profile", "expiring", "--url", "--expires", "1h"
    )
    assert (code, out) == (2, "")
    assert_one_line_error(
        err, "--expires 1h", "longer than the signing credentials last", "at most --expires 29m"
    )
    assert audit_items(catalog.table, TX_A) == []


def test_expires_within_the_credentials_lifetime_is_signed(
    capsys: pytest.CaptureFixture[str],
    catalog: Catalog,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _expiring_profile(tmp_path, monkeypatch, minutes=30)
    code, out, err = run(
        capsys,
        TX_A,
        "--table",
        TABLE,
        "--profile",
        "expiring",
        "--url",
        "--expires",
        "20m",
        "--output",
        "json",
    )
    assert (code, err) == (0, "")
    (url,) = json.loads(out)["urls"]
    query = _query(url["url"])
    assert query["X-Amz-Expires"] == ["1200"]
    assert query["X-Amz-Security-Token"] == ["testing-token"]


# -- the audit entry comes first ----------------------------------------------------------------------


@pytest.fixture
def failing_audit(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    calls: list[str] = []

    def refuse(*args: Any, **kwargs: Any) -> Any:
        calls.append(args[2])
        raise ClientError(
            {"Error": {"Code": "AccessDeniedException", "Message": "not allowed PutItem"}},
            "PutItem",
        )

    monkeypatch.setattr(_audit, "record", refuse)
    return calls


def test_failed_audit_write_downloads_nothing(
    capsys: pytest.CaptureFixture[str],
    catalog: Catalog,
    tmp_path: Path,
    failing_audit: list[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    reads: list[str] = []
    # The command builds its own clients, so reads are counted at the botocore layer.
    monkeypatch.setattr(
        "botocore.client.BaseClient._make_api_call",
        _spy(reads),
    )
    code, out, err = run(capsys, TX_A, *WHERE, "--out", str(tmp_path))
    assert (code, out) == (1, "")
    assert_one_line_error(
        err, "could not write the audit entry", "AccessDeniedException", "no file was downloaded"
    )
    assert failing_audit == ["download"]
    assert list(tmp_path.iterdir()) == []
    assert "GetObject" not in reads


def test_failed_audit_write_signs_no_url(
    capsys: pytest.CaptureFixture[str], catalog: Catalog, failing_audit: list[str]
) -> None:
    code, out, err = run(capsys, TX_A, *WHERE, "--url")
    assert (code, out) == (1, "")
    assert_one_line_error(err, "could not write the audit entry", "no URL was signed")
    assert "https://" not in err
    assert failing_audit == ["presign"]


def _spy(reads: list[str]) -> Any:
    from botocore.client import BaseClient

    original = BaseClient._make_api_call

    def spy(self: BaseClient, operation_name: str, api_params: Any) -> Any:
        reads.append(operation_name)
        return original(self, operation_name, api_params)

    return spy


def test_help_documents_get(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["recordings", "get", "--help"]) == 0
    out = capsys.readouterr().out
    for text in ("--url", "--expires", "--out", "--force", "--call", "AUDIT#", "SHA-256"):
        assert text in out


def test_unknown_caller_hands_nothing_over(
    capsys: pytest.CaptureFixture[str],
    catalog: Catalog,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def refuse(sts: Any) -> str:
        raise ClientError({"Error": {"Code": "AccessDenied", "Message": "no"}}, "GetCallerIdentity")

    monkeypatch.setattr(_audit, "caller_arn", refuse)
    code, out, err = run(capsys, TX_A, *WHERE, "--out", str(tmp_path))
    assert (code, out) == (1, "")
    assert_one_line_error(err, "STS GetCallerIdentity", "AccessDenied", "nothing was handed over")
    assert list(tmp_path.iterdir()) == []
    assert audit_items(catalog.table, TX_A) == []
