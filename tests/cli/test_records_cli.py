"""``cdk-recording recordings hold|release|erase`` through ``main(argv)``: moto S3 with Object Lock,
moto DynamoDB (the seeded catalog), moto STS and EventBridge (``tests.cli.records_world``)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from cdk_recording import _audit, _recordings_aws, _records_cli
from cdk_recording.cli import main
from tests.cli.catalog_seed import (
    AGENT,
    BUCKET,
    CALL_A1,
    CALL_A2,
    CALL_C1,
    CALLER,
    TX_A,
    TX_B,
    TX_C,
    TX_D,
)
from tests.cli.records_world import (
    KEY_A,
    KEY_B,
    REDACTED_A,
    REGION,
    TRANSCRIPT_A,
    TRANSCRIPT_B,
    WHERE,
    World,
    build,
)
from tests.cli.test_cli import assert_one_line_error

SHA_TEST = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
# erase --yes with --table names the bus of Recording Erased.
ERASE_WHERE = [*WHERE, "--event-bus", "default"]


@pytest.fixture
def world(aws_credentials: None) -> Iterator[World]:
    with mock_aws():
        yield build()


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def hold_status(world: World, key: str, version: str) -> str:
    answer = world.s3.get_object_legal_hold(Bucket=BUCKET, Key=key, VersionId=version)
    return str(answer.get("LegalHold", {}).get("Status", "none"))


def call_versions(world: World) -> set[tuple[str, str]]:
    return world.all_versions(KEY_A) - world.all_versions(f"{KEY_A}.bak") | world.all_versions(
        f"transcripts/{TX_A}/"
    )


# -- hold / release -----------------------------------------------------------------------------------


def test_hold_puts_a_legal_hold_on_every_version_of_the_recording_and_its_transcripts(
    capsys: pytest.CaptureFixture[str], world: World
) -> None:
    code, out, err = run(capsys, "recordings", "hold", TX_A, "--reason", "case 41", *WHERE)

    assert (code, err) == (0, "")
    held = {KEY_A: 2, TRANSCRIPT_A: 2, REDACTED_A: 1}
    for key, count in held.items():
        assert [hold_status(world, key, v) for v in world.versions[key]] == ["ON"] * count
    assert hold_status(world, f"{KEY_A}.bak", world.versions[f"{KEY_A}.bak"][0]) != "ON"
    assert hold_status(world, KEY_B, world.versions[KEY_B][0]) != "ON"
    assert hold_status(world, TRANSCRIPT_B, world.versions[TRANSCRIPT_B][0]) != "ON"
    assert "legal hold ON on 5 version(s) of 3 object(s)" in out


def test_hold_is_recorded_on_the_call_and_in_the_audit_trail(
    capsys: pytest.CaptureFixture[str], world: World
) -> None:
    code, out, _ = run(
        capsys, "recordings", "hold", TX_A, "--reason", "case 41", *WHERE, "--output", "json"
    )

    assert code == 0
    document = json.loads(out)
    call = world.item(TX_A, "CALL")
    assert call is not None
    assert call["legalHold"] is True
    assert call["legalHoldReason"] == "case 41"
    assert str(call["legalHoldBy"]).startswith("arn:aws:")
    assert call["legalHoldAt"] == document["at"]
    intent, done = _audit.audit_entries(world.table, TX_A)
    assert (intent.action, intent.reason, intent.by) == ("hold", "case 41", call["legalHoldBy"])
    assert (intent.phase, done.phase, done.action) == ("intent", "done", "hold")
    assert intent.at == document["at"]
    assert done.detail == {"intent": intent.key, "versions": 5}
    assert {o["key"]: len(o["versionIds"]) for o in intent.detail["objects"]} == {
        KEY_A: 2,
        TRANSCRIPT_A: 2,
        REDACTED_A: 1,
    }
    assert document["legalHold"] is True
    assert document["previousHold"] is None


def test_release_removes_the_hold_and_records_who_released_it(
    capsys: pytest.CaptureFixture[str], world: World
) -> None:
    run(capsys, "recordings", "hold", TX_A, "--reason", "case 41", *WHERE)
    code, out, err = run(capsys, "recordings", "release", TX_A, "--reason", "case closed", *WHERE)

    assert (code, err) == (0, "")
    assert {hold_status(world, KEY_A, v) for v in world.versions[KEY_A]} == {"OFF"}
    call = world.item(TX_A, "CALL")
    assert call is not None
    assert (call["legalHold"], call["legalHoldReason"]) == (False, "case closed")
    trail = _audit.audit_entries(world.table, TX_A)
    assert [(e.action, e.phase) for e in trail] == [
        ("hold", "intent"),
        ("hold", "done"),
        ("release", "intent"),
        ("release", "done"),
    ]
    assert "legal hold OFF" in out
    # The catalog keeps one hold per call: release says which hold it ended.
    assert f"ended the hold put by {trail[0].by} at {trail[0].at} (case 41)" in out
    assert trail[2].detail["previousHold"] == {
        "by": trail[0].by,
        "at": trail[0].at,
        "reason": "case 41",
    }


def test_hold_without_object_lock_names_the_bucket(
    capsys: pytest.CaptureFixture[str], aws_credentials: None
) -> None:
    with mock_aws():
        world = build(object_lock=False)
        code, _, err = run(capsys, "recordings", "hold", TX_A, "--reason", "case 41", *WHERE)
        assert code == 1
        assert_one_line_error(err, f"bucket {BUCKET} has no S3 Object Lock", "object_lock_mode")
        assert _audit.audit_entries(world.table, TX_A) == []
        call = world.item(TX_A, "CALL")
        assert call is not None
        assert "legalHold" not in call


def test_hold_of_an_unknown_call_or_one_without_a_recording_fails(
    capsys: pytest.CaptureFixture[str], world: World
) -> None:
    code, _, err = run(
        capsys,
        "recordings",
        "hold",
        "00000000-0000-4000-8000-000000000000",
        "--reason",
        "x",
        *WHERE,
    )
    assert code == 1
    assert_one_line_error(err, "not found in the catalog")
    code, _, err = run(capsys, "recordings", "hold", TX_D, "--reason", "x", *WHERE)
    assert code == 1
    assert_one_line_error(err, f"transaction {TX_D} has no recording", "nothing to hold")


@pytest.mark.parametrize("reason", ["", "   ", "x" * 1025])
def test_hold_needs_a_reason(capsys: pytest.CaptureFixture[str], reason: str) -> None:
    code, _, err = run(capsys, "recordings", "hold", TX_A, "--reason", reason, *WHERE)
    assert code == 2
    assert "--reason" in err


# -- erase: dry run and refusals ----------------------------------------------------------------------


def test_erase_without_yes_lists_what_it_would_delete_and_deletes_nothing(
    capsys: pytest.CaptureFixture[str], world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    world.s3.delete_object(Bucket=BUCKET, Key=KEY_A)  # a delete marker is one of the call's too
    before = world.all_versions()
    world.stub_retention(monkeypatch, world.lockable(TX_A))

    code, out, err = run(
        capsys, "recordings", "erase", TX_A, "--reason", "GDPR request", *WHERE, "--output", "json"
    )

    assert (code, err) == (0, "")
    document = json.loads(out)
    assert document["dryRun"] is True
    assert document["refusals"] == []
    listed = {(o["key"], v) for o in document["objects"] for v in o["versionIds"]}
    assert listed == call_versions(world)
    assert len(listed) == 6
    assert world.all_versions() == before
    assert _audit.audit_entries(world.table, TX_A) == []
    assert world.events() == []


def test_erase_dry_run_as_a_table_says_to_pass_yes(
    capsys: pytest.CaptureFixture[str], world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    world.stub_retention(monkeypatch, world.lockable(TX_A))
    code, out, _ = run(capsys, "recordings", "erase", TX_A, "--reason", "GDPR request", *WHERE)
    assert code == 0
    assert "dry run: would erase 5 version(s)" in out
    assert "pass --yes to erase" in out
    assert KEY_A in out


def test_erase_is_refused_while_an_object_has_a_legal_hold(
    capsys: pytest.CaptureFixture[str], world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    held = world.versions[TRANSCRIPT_A][0]
    world.s3.put_object_legal_hold(
        Bucket=BUCKET, Key=TRANSCRIPT_A, VersionId=held, LegalHold={"Status": "ON"}
    )
    before = world.all_versions()
    world.stub_retention(monkeypatch, world.lockable(TX_A))

    code, _, err = run(
        capsys, "recordings", "erase", TX_A, "--reason", "GDPR", "--yes", *ERASE_WHERE
    )

    assert code == 1
    assert_one_line_error(
        err,
        f"erase {TX_A} refused, nothing deleted",
        f"{TRANSCRIPT_A} version {held}: legal hold ON",
    )
    assert world.all_versions() == before
    assert _audit.audit_entries(world.table, TX_A) == []


def test_erase_is_refused_after_the_hold_command_naming_the_catalog_hold(
    capsys: pytest.CaptureFixture[str], world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    run(capsys, "recordings", "hold", TX_A, "--reason", "case 41", *WHERE)
    world.stub_retention(monkeypatch, world.lockable(TX_A))

    code, out, _ = run(capsys, "recordings", "erase", TX_A, "--reason", "GDPR", *WHERE)

    assert code == 1  # the dry run says the erase would be refused
    assert "erase would be refused: catalog: legal hold recorded by arn:aws:" in out
    assert "(case 41); release it with `recordings release`" in out
    assert f"{KEY_A} version {world.versions[KEY_A][0]}: legal hold ON" in out


@pytest.mark.parametrize("mode", ["COMPLIANCE", "GOVERNANCE"])
def test_erase_is_refused_while_a_retention_has_not_expired(
    capsys: pytest.CaptureFixture[str],
    world: World,
    monkeypatch: pytest.MonkeyPatch,
    mode: str,
) -> None:
    retained = (KEY_A, world.versions[KEY_A][1])
    until = datetime.now(UTC) + timedelta(days=2555)
    stubber = world.stub_retention(monkeypatch, world.lockable(TX_A), {retained: (mode, until)})
    before = world.all_versions()

    code, _, err = run(
        capsys, "recordings", "erase", TX_A, "--reason", "GDPR", "--yes", *ERASE_WHERE
    )

    assert code == 1
    assert_one_line_error(
        err,
        f"{KEY_A} version {retained[1]}: retention {mode} until {until.strftime('%Y-%m-%dT%H:%M:%S.')}",
    )
    assert world.all_versions() == before
    stubber.assert_no_pending_responses()


def test_an_expired_retention_does_not_stop_the_erase(
    capsys: pytest.CaptureFixture[str], world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    retained = (KEY_A, world.versions[KEY_A][1])
    until = datetime(2020, 1, 1, tzinfo=UTC)
    world.stub_retention(monkeypatch, world.lockable(TX_A), {retained: ("COMPLIANCE", until)})

    code, _, err = run(
        capsys, "recordings", "erase", TX_A, "--reason", "GDPR", "--yes", *ERASE_WHERE
    )

    assert (code, err) == (0, "")
    assert call_versions(world) == set()


# -- erase --yes ---------------------------------------------------------------------------------------


def erase(
    capsys: pytest.CaptureFixture[str],
    world: World,
    monkeypatch: pytest.MonkeyPatch,
    *extra: str,
) -> dict[str, Any]:
    world.stub_retention(monkeypatch, world.lockable(TX_A))
    code, out, err = run(
        capsys,
        "recordings",
        "erase",
        TX_A,
        "--reason",
        "GDPR request 7",
        "--yes",
        *ERASE_WHERE,
        *extra,
        "--output",
        "json",
    )
    assert (code, err) == (0, "")
    document: dict[str, Any] = json.loads(out)
    return document


def test_erase_deletes_every_version_and_delete_marker_of_the_call_and_nothing_else(
    capsys: pytest.CaptureFixture[str], world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    world.s3.delete_object(Bucket=BUCKET, Key=TRANSCRIPT_A)
    others = world.all_versions() - call_versions(world)

    erase(capsys, world, monkeypatch)

    assert call_versions(world) == set()
    assert world.all_versions() == others
    assert {key for key, _ in others} == {f"{KEY_A}.bak", KEY_B, TRANSCRIPT_B}


def test_erase_leaves_tombstones_that_keep_the_key_and_hash(
    capsys: pytest.CaptureFixture[str], world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    document = erase(capsys, world, monkeypatch)

    recording = world.item(TX_A, f"REC#{CALL_A1}")
    assert recording is not None
    assert recording["status"] == "erased"
    assert recording["erasureReason"] == "GDPR request 7"
    assert recording["erasedBy"] == document["erasedBy"]
    assert recording["erasedAt"] == document["erasedAt"]
    assert (recording["key"], recording["sha256"]) == (KEY_A, SHA_TEST)
    assert sorted(recording["erasedVersionIds"]) == sorted(world.versions[KEY_A])
    assert "s3Uri" not in recording
    transcript = world.item(TX_A, f"TRANSCRIPT#{CALL_A1}")
    assert transcript is not None
    assert (transcript["status"], transcript["erasedBy"]) == ("erased", document["erasedBy"])
    missing = world.item(TX_A, f"REC#{CALL_A2}")  # never delivered: nothing to erase, untouched
    assert missing is not None
    assert missing["status"] == "missing"
    # Numbers are kept unless asked for.
    assert world.partition(TX_A, "NUM#")
    assert recording["fromNumber"] == CALLER


def test_erase_writes_intent_and_done_entries_and_puts_recording_erased(
    capsys: pytest.CaptureFixture[str], world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    document = erase(capsys, world, monkeypatch)

    intent, done = _audit.audit_entries(world.table, TX_A)
    assert (intent.action, intent.phase, intent.reason, intent.at) == (
        "erase",
        "intent",
        "GDPR request 7",
        document["erasedAt"],
    )
    assert (done.action, done.phase, done.reason) == ("erase", "done", "GDPR request 7")
    assert done.at > intent.at
    assert done.detail["intent"] == intent.key
    assert (done.detail["versions"], done.detail["tombstones"]) == (5, 2)
    [event] = world.events()
    assert (event["source"], event["detail-type"]) == ("cdk-recording", "Recording Erased")
    detail = event["detail"]
    assert detail["schemaVersion"] == "1"
    assert detail["transactionId"] == TX_A
    assert "reason" not in detail  # free text: kept in the audit trail, not broadcast
    assert "GDPR request 7" not in json.dumps(event)
    assert detail["erasedAt"] == document["erasedAt"]
    assert (detail["objectCount"], detail["versionCount"], detail["truncated"]) == (3, 5, False)
    objects = {o["key"]: o for o in detail["objects"]}
    assert set(objects) == {KEY_A, TRANSCRIPT_A, REDACTED_A}
    assert objects[KEY_A]["sha256"] == SHA_TEST
    assert objects[KEY_A]["versionCount"] == 2
    assert objects[TRANSCRIPT_A]["sha256"] is None
    assert sorted(objects[KEY_A]["versionIds"]) == sorted(world.versions[KEY_A])
    listed = {o["key"]: o for o in intent.detail["objects"]}
    assert listed[KEY_A] == {k: objects[KEY_A][k] for k in ("key", "versionIds", "sha256")}
    assert intent.detail["eventBus"] == "default"


def test_erase_again_finds_nothing_left(
    capsys: pytest.CaptureFixture[str], world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    erase(capsys, world, monkeypatch)
    world.events()
    world.stub_retention(monkeypatch, [])

    code, out, _ = run(
        capsys, "recordings", "erase", TX_A, "--reason", "again", "--yes", *ERASE_WHERE
    )

    assert code == 0
    assert "nothing left to erase" in out
    assert world.events() == []
    assert len(_audit.audit_entries(world.table, TX_A)) == 2


def test_erase_numbers_removes_the_call_s_phone_numbers(
    capsys: pytest.CaptureFixture[str], world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    document = erase(capsys, world, monkeypatch, "--erase-numbers")

    assert document["numbersErased"] == {"numberItems": 2, "itemsWithNumbers": 3, "facts": 1}
    assert world.partition(TX_A, "NUM#") == []
    text = json.dumps([dict(i) for i in world.partition(TX_A)], default=str)
    assert CALLER not in text
    assert AGENT not in text
    # Another call's numbers stay.
    assert world.partition(TX_B, "NUM#")
    number_index = world.table.query(
        IndexName="byNumber",
        KeyConditionExpression="gsi1pk = :n",
        ExpressionAttributeValues={":n": f"NUM#{CALLER}"},
    )["Items"]
    assert TX_A not in {item["transactionId"] for item in number_index}


def test_erase_takes_the_event_bus_from_the_stack_output(
    capsys: pytest.CaptureFixture[str], world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    boto3.session.Session().client("events", region_name=REGION).create_event_bus(Name="records")
    client = boto3.session.Session().client("cloudformation", region_name=REGION)
    stubber = Stubber(client)
    outputs = [
        {"OutputKey": "RecordingCatalogCatalogTableName1A2B", "OutputValue": "recording-catalog"},
        {"OutputKey": "RecordingCatalogCatalogEventBusName3C4D", "OutputValue": "records"},
    ]
    stack = {
        "Stacks": [
            {
                "StackName": "Recording",
                "CreationTime": datetime(2026, 12, 1, tzinfo=UTC),
                "StackStatus": "CREATE_COMPLETE",
                "Outputs": outputs,
            }
        ]
    }
    for _ in range(2):
        stubber.add_response("describe_stacks", stack, {"StackName": "Recording"})
    stubber.activate()
    monkeypatch.setattr(_recordings_aws, "cloudformation_client", lambda _session, _region: client)
    world.stub_retention(monkeypatch, world.lockable(TX_A))

    code, out, err = run(
        capsys,
        "recordings",
        "erase",
        TX_A,
        "--reason",
        "GDPR",
        "--yes",
        "--stack",
        "Recording",
        "--region",
        REGION,
        "--output",
        "json",
    )

    assert (code, err) == (0, "")
    assert json.loads(out)["eventBus"] == "records"
    assert world.events() == []  # not the default bus
    stubber.assert_no_pending_responses()


# -- help and errors ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("action", "says"),
    [
        ("hold", "s3:PutObjectLegalHold"),
        ("release", "s3:PutObjectLegalHold"),
        ("erase", "s3:DeleteObjectVersion"),
        ("verify", "s3:GetObjectVersion"),
    ],
)
def test_help_of_each_action_names_its_permissions_and_exit_codes(
    capsys: pytest.CaptureFixture[str], action: str, says: str
) -> None:
    code, out, _ = run(capsys, "recordings", action, "--help")
    assert code == 0
    text = " ".join(out.split())
    assert says in text
    assert "exit status: 0 success" in text
    assert "AUDIT#" in text


def test_access_denied_names_what_the_command_needs(
    capsys: pytest.CaptureFixture[str], world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = boto3.session.Session().client("s3", region_name=REGION)
    stubber = Stubber(client)
    stubber.add_client_error(
        "get_object_lock_configuration",
        service_error_code="AccessDenied",
        service_message="Access Denied",
        http_status_code=403,
        expected_params={"Bucket": BUCKET},
    )
    stubber.activate()
    monkeypatch.setattr(_records_cli, "s3_client", lambda _session, _region: client)

    code, _, err = run(capsys, "recordings", "hold", TX_A, "--reason", "case 41", *WHERE)

    assert code == 1
    assert_one_line_error(
        err,
        "access denied on GetObjectLockConfiguration",
        "s3:PutObjectLegalHold",
        "grant_legal_hold",
    )
    assert _audit.audit_entries(world.table, TX_A) == []


def test_erase_with_a_stack_without_the_bus_output_asks_for_event_bus(
    capsys: pytest.CaptureFixture[str], world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = boto3.session.Session().client("cloudformation", region_name=REGION)
    stubber = Stubber(client)
    stack = {
        "Stacks": [
            {
                "StackName": "Recording",
                "CreationTime": datetime(2026, 12, 1, tzinfo=UTC),
                "StackStatus": "CREATE_COMPLETE",
                "Outputs": [{"OutputKey": "CatalogTableName", "OutputValue": "recording-catalog"}],
            }
        ]
    }
    for _ in range(2):
        stubber.add_response("describe_stacks", stack, {"StackName": "Recording"})
    stubber.activate()
    monkeypatch.setattr(_recordings_aws, "cloudformation_client", lambda _session, _region: client)
    world.stub_retention(monkeypatch, world.lockable(TX_A))
    before = world.all_versions()

    code, _, err = run(
        capsys,
        "recordings",
        "erase",
        TX_A,
        "--reason",
        "GDPR",
        "--yes",
        "--stack",
        "Recording",
        "--region",
        REGION,
    )

    assert code == 2
    assert_one_line_error(err, "no output key starts with CatalogEventBusName", "--event-bus")
    assert world.all_versions() == before  # found out before anything is deleted


def test_erase_is_refused_while_a_recording_of_the_call_is_still_awaited(
    capsys: pytest.CaptureFixture[str], world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    world.stub_retention(monkeypatch, [])
    code, _, err = run(
        capsys, "recordings", "erase", TX_C, "--reason", "GDPR", "--yes", *ERASE_WHERE
    )
    assert code == 1
    assert_one_line_error(
        err, f"erase {TX_C} refused", f"recording {CALL_C1}: still awaited (status started)"
    )
    recording = world.item(TX_C, f"REC#{CALL_C1}")
    assert recording is not None
    assert recording["status"] == "started"
