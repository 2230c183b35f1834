"""``cdk-recording recordings verify`` through ``main(argv)`` over moto S3 and DynamoDB.

A version's content cannot be changed in place in S3, so tampering is shown the ways it can be
seen: the catalog's hash no longer matches the object's, the cataloged version is gone, or it is
no longer what the key reads as (another version, or a delete marker, is current).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from moto import mock_aws

from cdk_recording import _audit
from cdk_recording._records_verify import check_recording
from cdk_recording.cli import main
from tests.cli.catalog_seed import BUCKET, CALL_A1, CALL_B1, TX_A, TX_B
from tests.cli.records_world import KEY_A, KEY_B, WHERE, World, build
from tests.cli.test_cli import assert_one_line_error

RANGE = ["--since", "2026-12-03", "--until", "2026-12-04"]


@pytest.fixture
def world(aws_credentials: None) -> Iterator[World]:
    with mock_aws():
        yield build()


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def verify_json(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict[str, Any]]:
    code, out, err = run(capsys, "recordings", "verify", *argv, *WHERE, "--output", "json")
    assert err == ""
    document: dict[str, Any] = json.loads(out)
    return code, document


def set_sha(world: World, tx: str, call_id: str, sha: str) -> None:
    world.table.update_item(
        Key={"pk": f"TX#{tx}", "sk": f"REC#{call_id}"},
        UpdateExpression="SET sha256 = :s",
        ExpressionAttributeValues={":s": sha},
    )


def test_verify_passes_when_every_recording_matches_its_catalog_hash(
    capsys: pytest.CaptureFixture[str], world: World
) -> None:
    code, out, err = run(capsys, "recordings", "verify", *RANGE, *WHERE)

    assert (code, err) == (0, "")
    assert out == (
        "checked 2 recording(s): 2 ok, 0 mismatch, 0 superseded, 0 hidden, 0 missing, "
        "0 unverifiable\n"
    )


def test_a_hash_that_differs_is_a_mismatch_and_exit_1(
    capsys: pytest.CaptureFixture[str], world: World
) -> None:
    set_sha(world, TX_B, CALL_B1, "0" * 64)

    code, document = verify_json(capsys, *RANGE)

    assert code == 1
    assert (document["checked"], document["ok"], document["mismatch"]) == (2, 1, 1)
    [bad] = [r for r in document["results"] if r["result"] != "ok"]
    assert (bad["transactionId"], bad["key"], bad["result"]) == (TX_B, KEY_B, "mismatch")
    assert (bad["expected"], bad["actual"]) == ("0" * 64, world_sha(world, KEY_B))


def world_sha(world: World, key: str) -> str:
    import hashlib

    return hashlib.sha256(world.s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()).hexdigest()


def test_a_deleted_cataloged_version_is_missing_and_exit_1(
    capsys: pytest.CaptureFixture[str], world: World
) -> None:
    cataloged = world.versions[KEY_A][1]
    world.s3.delete_object(Bucket=BUCKET, Key=KEY_A, VersionId=cataloged)

    code, out, _ = run(capsys, "recordings", "verify", *RANGE, *WHERE)

    assert code == 1
    header, row, summary_line = out.splitlines()
    assert header.split()[:5] == ["TRANSACTION", "CALL", "ID", "KEY", "VERSION"]
    assert row.split()[:5] == [TX_A, CALL_A1, KEY_A, cataloged, "missing"]
    assert summary_line.endswith(
        "1 ok, 0 mismatch, 0 superseded, 0 hidden, 1 missing, 0 unverifiable"
    )


def test_a_version_hidden_by_a_delete_marker_is_a_finding_and_exit_1(
    capsys: pytest.CaptureFixture[str], world: World
) -> None:
    # The cataloged version stays intact, but whoever reads the key (a service, Transcribe) fails.
    marker = world.s3.delete_object(Bucket=BUCKET, Key=KEY_A)["VersionId"]

    code, document = verify_json(capsys, "--transaction", TX_A)

    assert code == 1
    assert (document["ok"], document["hidden"]) == (0, 1)
    [result] = document["results"]
    assert (result["result"], result["versionId"]) == ("hidden", world.versions[KEY_A][1])
    assert result["actual"] == result["expected"]
    assert result["currentVersionId"] == marker


def test_an_overwritten_key_is_superseded_and_exit_1(
    capsys: pytest.CaptureFixture[str], world: World
) -> None:
    cataloged = world.versions[KEY_A][1]
    newer = world.put(KEY_A, b"tampered audio")  # a new version with other bytes, now current

    code, out, err = run(capsys, "recordings", "verify", *RANGE, *WHERE)

    assert (code, err) == (1, "")
    header, row, summary_line = out.splitlines()
    assert header.split()[-1] == "CURRENT"
    assert row.split()[:5] == [TX_A, CALL_A1, KEY_A, cataloged, "superseded"]
    assert row.split()[-1] == newer
    assert summary_line.endswith(
        "1 ok, 0 mismatch, 1 superseded, 0 hidden, 0 missing, 0 unverifiable"
    )
    [entry] = _audit.audit_entries(world.table, TX_A)
    assert entry.detail["findings"] == [
        {"key": KEY_A, "versionId": cataloged, "result": "superseded", "currentVersionId": newer}
    ]


def test_a_recording_without_a_catalog_hash_is_unverifiable(
    capsys: pytest.CaptureFixture[str], world: World
) -> None:
    world.table.update_item(
        Key={"pk": f"TX#{TX_A}", "sk": f"REC#{CALL_A1}"}, UpdateExpression="REMOVE sha256"
    )
    code, document = verify_json(capsys, "--transaction", TX_A)
    assert code == 1
    assert document["unverifiable"] == 1


def test_verify_writes_one_audit_entry_per_call_checked(
    capsys: pytest.CaptureFixture[str], world: World
) -> None:
    set_sha(world, TX_B, CALL_B1, "0" * 64)
    verify_json(capsys, *RANGE)

    [entry_a] = _audit.audit_entries(world.table, TX_A)
    [entry_b] = _audit.audit_entries(world.table, TX_B)
    assert (entry_a.action, entry_a.detail["ok"], entry_a.detail["findings"]) == ("verify", 1, [])
    assert entry_b.detail["mismatch"] == 1
    assert entry_b.detail["findings"] == [
        {"key": KEY_B, "versionId": world.versions[KEY_B][0], "result": "mismatch"}
    ]


def test_verify_of_one_call_reads_only_its_recordings(
    capsys: pytest.CaptureFixture[str], world: World
) -> None:
    set_sha(world, TX_B, CALL_B1, "0" * 64)
    code, document = verify_json(capsys, "--transaction", TX_A)
    assert code == 0
    assert [r["transactionId"] for r in document["results"]] == [TX_A]
    assert _audit.audit_entries(world.table, TX_B) == []


def test_an_erased_recording_is_not_checked(
    capsys: pytest.CaptureFixture[str], world: World
) -> None:
    world.table.update_item(
        Key={"pk": f"TX#{TX_A}", "sk": f"REC#{CALL_A1}"},
        UpdateExpression="SET #s = :e",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":e": "erased"},
    )
    code, document = verify_json(capsys, *RANGE)
    assert code == 0
    assert document["checked"] == 1


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--transaction", TX_A, "--since", "2026-12-03"], "cannot be combined with --since"),
        (["--until", "2026-12-03"], "--until 2026-12-03 needs --since"),
        (["--since", "2026-12-04", "--until", "2026-12-03"], "is after --until"),
        (["--since", "2026-01-01", "--until", "2026-12-31"], "spans 365 days; at most 92"),
    ],
)
def test_bad_ranges_are_usage_errors(
    capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    code, _, err = run(capsys, "recordings", "verify", *argv, *WHERE)
    assert code == 2
    assert_one_line_error(err, message)


@settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(content=st.binary(max_size=3 * 1024 * 1024 + 7), tamper=st.booleans())
def test_check_recording_agrees_with_hashlib_for_any_content(
    world: World, content: bytes, tamper: bool
) -> None:
    import hashlib

    key = "calls/property.wav"
    version = world.put(key, content)
    sha = hashlib.sha256(content + (b"x" if tamper else b"")).hexdigest()
    item = {"transactionId": TX_A, "callId": CALL_A1, "bucket": BUCKET, "key": key}
    result = check_recording(world.s3, {**item, "versionId": version, "sha256": sha.upper()})
    assert result.result == ("mismatch" if tamper else "ok")
