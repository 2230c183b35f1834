"""``recordings erase`` and ``hold`` when things go wrong or run twice: the intent entry comes before
any S3 change, the tombstone is additive, a transcription in flight stops the erase, Transcribe jobs
are deleted (botocore ``Stubber``: moto has no ``Delete*Job`` for Call Analytics), the bus is named
with ``--table``, and ``Recording Erased`` stays small and without the reason."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber
from hypothesis import given
from hypothesis import strategies as st
from moto import mock_aws

from cdk_recording import _audit, _records_cli, _records_erase_cli, _records_jobs
from tests.cli.catalog_seed import CALL_A1, CALL_A2, TX_A
from tests.cli.records_world import KEY_A, REGION, WHERE, World, build
from tests.cli.test_cli import assert_one_line_error
from tests.cli.test_records_cli import ERASE_WHERE, call_versions, hold_status, run


@pytest.fixture
def world(aws_credentials: None) -> Iterator[World]:
    with mock_aws():
        yield build()


class _Failing:
    """``client`` whose ``operation`` answers AccessDenied from its ``after``-th call on."""

    def __init__(self, client: Any, operation: str, after: int) -> None:
        self._client = client
        self._operation = operation
        self._after = after
        self.calls = 0

    def __getattr__(self, name: str) -> Any:
        if name != self._operation:
            return getattr(self._client, name)

        def call(**kwargs: Any) -> Any:
            self.calls += 1
            if self.calls > self._after:
                raise ClientError(
                    {"Error": {"Code": "AccessDenied", "Message": "Access Denied"}},
                    "".join(word.capitalize() for word in self._operation.split("_")),
                )
            return getattr(self._client, name)(**kwargs)

        return call


def _failing_s3(
    world: World, monkeypatch: pytest.MonkeyPatch, operation: str, after: int
) -> _Failing:
    failing = _Failing(world.s3, operation, after)
    monkeypatch.setattr(_records_cli, "s3_client", lambda _session, _region: failing)
    return failing


def _erase_yes(
    capsys: pytest.CaptureFixture[str], world: World, monkeypatch: pytest.MonkeyPatch, reason: str
) -> tuple[int, str, str]:
    world.stub_retention(monkeypatch, world.lockable(TX_A))
    return run(capsys, "recordings", "erase", TX_A, "--reason", reason, "--yes", *ERASE_WHERE)


# -- intent before the first change ------------------------------------------------------------------


def test_erase_writes_its_intent_before_deleting_and_a_failed_entry_when_s3_refuses(
    capsys: pytest.CaptureFixture[str], world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    failing = _failing_s3(world, monkeypatch, "delete_object", after=1)
    before = call_versions(world)

    code, _, err = _erase_yes(capsys, world, monkeypatch, "GDPR request 7")

    assert code == 1
    assert_one_line_error(
        err,
        "access denied on DeleteObject of",
        "locked or held since the check (or missing s3:DeleteObjectVersion)",
        "1 version(s) deleted before it, nothing more was deleted; re-run",
    )
    assert failing.calls == 2
    assert len(before - call_versions(world)) == 1
    intent, failed = _audit.audit_entries(world.table, TX_A)
    assert (intent.action, intent.phase, intent.reason) == ("erase", "intent", "GDPR request 7")
    listed = {(o["key"], v) for o in intent.detail["objects"] for v in o["versionIds"]}
    assert listed == before
    assert {o["key"]: o["sha256"] for o in intent.detail["objects"]}[KEY_A] is not None
    assert (failed.phase, failed.detail["intent"]) == ("failed", intent.key)
    assert "locked or held since the check" in failed.detail["error"]
    # The call is marked erased from the intent on, so other writers stop adding to it.
    call = world.item(TX_A, "CALL")
    assert call is not None
    assert (call["erasedAt"], call["erasedBy"]) == (intent.at, intent.by)
    assert world.events() == []


def test_hold_writes_its_intent_before_the_first_legal_hold(
    capsys: pytest.CaptureFixture[str], world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    _failing_s3(world, monkeypatch, "put_object_legal_hold", after=0)

    code, _, err = run(capsys, "recordings", "hold", TX_A, "--reason", "case 41", *WHERE)

    assert code == 1
    assert "access denied on PutObjectLegalHold" in err
    intent, failed = _audit.audit_entries(world.table, TX_A)
    assert [(e.action, e.phase) for e in (intent, failed)] == [
        ("hold", "intent"),
        ("hold", "failed"),
    ]
    assert len(intent.detail["objects"]) == 3
    call = world.item(TX_A, "CALL")
    assert call is not None
    assert "legalHold" not in call


def test_a_second_hold_replaces_the_first_and_says_so(
    capsys: pytest.CaptureFixture[str], world: World
) -> None:
    run(capsys, "recordings", "hold", TX_A, "--reason", "case 41", *WHERE)
    code, out, _ = run(capsys, "recordings", "hold", TX_A, "--reason", "case 42", *WHERE)

    assert code == 0
    first = _audit.audit_entries(world.table, TX_A)[0]
    assert f"replaced the hold put by {first.by} at {first.at} (case 41)" in out
    assert "one hold per call" in out
    assert {hold_status(world, KEY_A, v) for v in world.versions[KEY_A]} == {"ON"}


# -- a re-run never loses what was recorded ----------------------------------------------------------


def test_erase_again_after_a_late_version_keeps_the_first_tombstone_and_adds_the_version(
    capsys: pytest.CaptureFixture[str], world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert _erase_yes(capsys, world, monkeypatch, "GDPR request 7")[0] == 0
    first = world.item(TX_A, f"REC#{CALL_A1}")
    call = world.item(TX_A, "CALL")
    assert first is not None
    assert call is not None
    late = world.put(KEY_A, b"late copy")

    code, _, err = _erase_yes(capsys, world, monkeypatch, "second run")

    assert (code, err) == (0, "")
    again = world.item(TX_A, f"REC#{CALL_A1}")
    assert again is not None
    for name in ("erasedAt", "erasedBy", "erasureReason"):
        assert again[name] == first[name]
    assert again["erasureReason"] == "GDPR request 7"
    assert sorted(again["erasedVersionIds"]) == sorted([*first["erasedVersionIds"], late])
    call_again = world.item(TX_A, "CALL")
    assert call_again is not None
    assert call_again["erasedAt"] == call["erasedAt"] == first["erasedAt"]
    assert [e.phase for e in _audit.audit_entries(world.table, TX_A)] == [
        "intent",
        "done",
        "intent",
        "done",
    ]


# -- a transcription in flight -----------------------------------------------------------------------


def test_erase_is_refused_while_a_transcription_of_the_call_is_in_flight(
    capsys: pytest.CaptureFixture[str], world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    world.table.update_item(
        Key={"pk": f"TX#{TX_A}", "sk": f"TRANSCRIPT#{CALL_A1}"},
        UpdateExpression="SET #s = :started, jobName = :job, jobType = :type",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":started": "started", ":job": "job-a1", ":type": "standard"},
    )
    before = world.all_versions()

    code, _, err = _erase_yes(capsys, world, monkeypatch, "GDPR")

    assert code == 1
    assert_one_line_error(
        err,
        f"erase {TX_A} refused, nothing deleted",
        f"transcript of call {CALL_A1}: transcription in flight (status started, job job-a1)",
        "wait for it to end",
        "Step Functions execution",
    )
    assert world.all_versions() == before
    assert _audit.audit_entries(world.table, TX_A) == []


# -- Transcribe jobs ---------------------------------------------------------------------------------


def _with_jobs(world: World) -> None:
    world.table.update_item(
        Key={"pk": f"TX#{TX_A}", "sk": f"TRANSCRIPT#{CALL_A1}"},
        UpdateExpression="SET jobName = :job, jobType = :type",
        ExpressionAttributeValues={":job": "ca-job-a1", ":type": "call-analytics"},
    )
    world.table.put_item(
        Item={
            "pk": f"TX#{TX_A}",
            "sk": f"TRANSCRIPT#{CALL_A2}",
            "transactionId": TX_A,
            "callId": CALL_A2,
            "status": "failed",
            "jobName": "std-job-a2",
            "jobType": "standard",
        }
    )


def _stub_transcribe(monkeypatch: pytest.MonkeyPatch) -> Stubber:
    client = boto3.session.Session().client("transcribe", region_name=REGION)
    stubber = Stubber(client)
    monkeypatch.setattr(_records_cli, "transcribe_client", lambda _session, _region: client)
    return stubber


def test_erase_deletes_the_call_s_transcribe_jobs_and_records_them(
    capsys: pytest.CaptureFixture[str], world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    _with_jobs(world)
    stubber = _stub_transcribe(monkeypatch)
    stubber.add_response("delete_call_analytics_job", {}, {"CallAnalyticsJobName": "ca-job-a1"})
    stubber.add_client_error(
        "delete_transcription_job",
        service_error_code="BadRequestException",
        service_message="The requested job couldn't be found. Check the job name and try again.",
        http_status_code=400,
        expected_params={"TranscriptionJobName": "std-job-a2"},
    )
    stubber.activate()

    code, out, err = _erase_yes(capsys, world, monkeypatch, "GDPR")

    assert (code, err) == (0, "")
    stubber.assert_no_pending_responses()
    assert "2 Transcribe job(s) deleted (1 already gone)" in out
    deleted = world.item(TX_A, f"TRANSCRIPT#{CALL_A1}")
    gone = world.item(TX_A, f"TRANSCRIPT#{CALL_A2}")
    assert deleted is not None
    assert gone is not None
    assert (deleted["transcribeJobDeleted"], gone["transcribeJobDeleted"]) == (
        "deleted",
        "already-gone",
    )
    intent, done = _audit.audit_entries(world.table, TX_A)
    assert {j["jobName"] for j in intent.detail["transcribeJobs"]} == {"ca-job-a1", "std-job-a2"}
    assert {j["jobName"]: j["result"] for j in done.detail["transcribeJobs"]} == {
        "ca-job-a1": "deleted",
        "std-job-a2": "already-gone",
    }


def test_erase_dry_run_lists_the_jobs_and_deletes_none(
    capsys: pytest.CaptureFixture[str], world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    _with_jobs(world)
    stubber = _stub_transcribe(monkeypatch)
    stubber.activate()  # no response queued: any Transcribe request fails the test
    world.stub_retention(monkeypatch, world.lockable(TX_A))

    code, out, _ = run(capsys, "recordings", "erase", TX_A, "--reason", "GDPR", *WHERE)

    assert code == 0
    assert "delete 2 Transcribe job(s) (call-analytics ca-job-a1, standard std-job-a2)" in out


def test_a_transcribe_error_other_than_not_found_fails_the_erase_after_its_intent(
    capsys: pytest.CaptureFixture[str], world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    _with_jobs(world)
    stubber = _stub_transcribe(monkeypatch)
    stubber.add_client_error(
        "delete_call_analytics_job",
        service_error_code="LimitExceededException",
        service_message="slow down",
        http_status_code=400,
        expected_params={"CallAnalyticsJobName": "ca-job-a1"},
    )
    stubber.activate()

    code, _, _ = _erase_yes(capsys, world, monkeypatch, "GDPR")

    assert code == 1
    intent, failed = _audit.audit_entries(world.table, TX_A)
    assert (intent.phase, failed.phase) == ("intent", "failed")
    assert "LimitExceededException" in failed.detail["error"]
    transcript = world.item(TX_A, f"TRANSCRIPT#{CALL_A1}")
    assert transcript is not None
    assert "transcribeJobDeleted" not in transcript


# -- the event bus -----------------------------------------------------------------------------------


def test_erase_yes_with_table_needs_event_bus(
    capsys: pytest.CaptureFixture[str], world: World
) -> None:
    before = world.all_versions()

    code, _, err = run(capsys, "recordings", "erase", TX_A, "--reason", "GDPR", "--yes", *WHERE)

    assert code == 2
    assert_one_line_error(err, "--event-bus is required with --table", "`default`")
    assert world.all_versions() == before
    assert _audit.audit_entries(world.table, TX_A) == []


@pytest.mark.parametrize(
    ("extra", "says"),
    [
        ([], "Recording Erased would need --event-bus (required with --table for --yes)"),
        (["--event-bus", "records"], "Recording Erased would be put on the event bus records"),
    ],
)
def test_erase_dry_run_names_the_bus(
    capsys: pytest.CaptureFixture[str],
    world: World,
    monkeypatch: pytest.MonkeyPatch,
    extra: list[str],
    says: str,
) -> None:
    world.stub_retention(monkeypatch, world.lockable(TX_A))
    code, out, _ = run(capsys, "recordings", "erase", TX_A, "--reason", "GDPR", *WHERE, *extra)
    assert code == 0
    assert says in out


# -- Recording Erased stays under EventBridge's entry size --------------------------------------------


@given(
    counts=st.lists(st.integers(min_value=1, max_value=400), min_size=0, max_size=300),
)
def test_event_objects_caps_the_lists_and_keeps_the_counts(counts: list[int]) -> None:
    # Long keys and S3-length version ids: the worst case the catalog can hold.
    objects = [
        {
            "key": f"calls/{i:04d}/" + "k" * 200,
            "versionIds": [f"{j:04d}" + "v" * 28 for j in range(n)],
            "sha256": "f" * 64,
        }
        for i, n in enumerate(counts)
    ]

    capped = _records_erase_cli.event_objects(objects)

    listed = capped["objects"]
    assert len(listed) == min(len(counts), _records_erase_cli.EVENT_OBJECT_LIMIT)
    shown = sum(len(o["versionIds"]) for o in listed)
    assert shown <= _records_erase_cli.EVENT_VERSION_LIMIT
    assert [o["versionCount"] for o in listed] == counts[: len(listed)]
    for entry, original in zip(listed, objects, strict=False):
        assert entry["versionIds"] == original["versionIds"][: len(entry["versionIds"])]
    assert (capped["objectCount"], capped["versionCount"]) == (len(counts), sum(counts))
    assert capped["truncated"] == (shown < sum(counts))
    detail = {"schemaVersion": "1", "transactionId": "t" * 36, "erasedAt": "x" * 24, **capped}
    assert len(json.dumps(detail, separators=(",", ":"))) < 256 * 1024 - 4096


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("NotFoundException", "not there"),
        ("BadRequestException", "The requested job couldn't be found."),
    ],
)
def test_a_job_transcribe_no_longer_has_is_already_gone(code: str, message: str) -> None:
    client = boto3.session.Session().client("transcribe", region_name=REGION)
    job = _records_jobs.TranscribeJob("TRANSCRIPT#c", "c", "job-c", "standard")
    with Stubber(client) as stubber:
        stubber.add_client_error(
            "delete_transcription_job",
            service_error_code=code,
            service_message=message,
            http_status_code=400,
            expected_params={"TranscriptionJobName": "job-c"},
        )
        assert _records_jobs.delete_jobs(client, [job]) == {job: _records_jobs.GONE}


def test_a_bad_request_that_is_not_a_missing_job_is_raised() -> None:
    client = boto3.session.Session().client("transcribe", region_name=REGION)
    job = _records_jobs.TranscribeJob("TRANSCRIPT#c", "c", "job-c", "call-analytics")
    with Stubber(client) as stubber:
        stubber.add_client_error(
            "delete_call_analytics_job",
            service_error_code="BadRequestException",
            service_message="The job is IN_PROGRESS.",
            http_status_code=400,
            expected_params={"CallAnalyticsJobName": "job-c"},
        )
        with pytest.raises(ClientError, match="IN_PROGRESS"):
            _records_jobs.delete_jobs(client, [job])
