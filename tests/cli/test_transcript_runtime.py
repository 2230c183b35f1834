"""The transcription runtime writes the ``TRANSCRIPT#`` item; ``recordings transcript`` reads it.

The runtime (``recording_processor.transcription``) runs plan, start, status and record as the
state machine passes them, against moto's DynamoDB and EventBridge and a Transcribe Stubber (the
fixtures of tests/transcription); the transcripts are then put where the job said it wrote them,
and the command prints them from the item the runtime wrote, not from a hand-made one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from moto import mock_aws

from cdk_recording.cli import main
from tests.cli.conftest import DATA
from tests.processor.conftest import (  # noqa: F401 - an autouse fixture, found by name
    BUCKET,
    CALL_ID,
    REGION,
    TABLE,
    TRANSACTION_ID,
    Aws,
    Output,
    _dummy_credentials,
)
from tests.transcription.conftest import (
    KEY,
    REDACTION,
    Transcribe,
    config,
    invoke,
    make_runtime,
    seed_recording,
)

OUTPUT = f"transcripts/{TRANSACTION_ID}"
WHERE = ["--table", TABLE, "--region", REGION]


@pytest.fixture
def world() -> Iterator[tuple[Aws, Transcribe, Output]]:
    """The runtime's moto resources, a Transcribe Stubber and the log capture."""
    with mock_aws():
        stubbed = Transcribe()
        with stubbed.stubber:
            yield Aws(), stubbed, Output()
            stubbed.stubber.assert_no_pending_responses()


def transcribe_recording(
    aws: Aws,
    transcribe: Transcribe,
    output: Output,
    options: dict[str, Any],
    job: Callable[[str], dict[str, Any]],
) -> dict[str, Any]:
    """Plan, start, status and record; the plan. ``job(name)`` is what Get*Job tells of the
    completed job."""
    runtime = make_runtime(aws, transcribe, output, config(options))
    plan = invoke(runtime, action="plan", recording={"bucket": BUCKET, "key": KEY})
    assert plan["skip"] is False
    analytics = plan["jobType"] == "call-analytics"
    name_field = "CallAnalyticsJobName" if analytics else "TranscriptionJobName"
    status_field = "CallAnalyticsJobStatus" if analytics else "TranscriptionJobStatus"
    wrapper = "CallAnalyticsJob" if analytics else "TranscriptionJob"
    method = "call_analytics_job" if analytics else "transcription_job"
    ident = {name_field: plan["jobName"]}
    transcribe.add(f"start_{method}", {wrapper: {**ident, status_field: "QUEUED"}}, plan["request"])
    invoke(runtime, action="start", plan=plan)
    transcribe.add(
        f"get_{method}",
        {wrapper: {**ident, status_field: "COMPLETED", **job(plan["jobName"])}},
        ident,
    )
    status = invoke(runtime, action="status", jobName=plan["jobName"], jobType=plan["jobType"])
    invoke(runtime, action="record", plan=plan, status=status)
    return plan


def put(aws: Aws, key: str, fixture: str) -> None:
    body = (DATA / f"transcribe-{fixture}.json").read_bytes()
    aws.s3.put_object(Bucket=BUCKET, Key=key, Body=body)


def test_call_analytics_item_of_the_runtime_is_read_redacted_and_unredacted(
    capsys: pytest.CaptureFixture[str], world: tuple[Aws, Transcribe, Output]
) -> None:
    aws, transcribe, output = world
    seed_recording(aws, leg="LEG-B", call_direction="inbound")

    def job(name: str) -> dict[str, Any]:
        return {
            "LanguageCode": "en-US",
            "Transcript": {
                "TranscriptFileUri": f"s3://{BUCKET}/{OUTPUT}/analytics/{name}.json",
                "RedactedTranscriptFileUri": (
                    f"s3://{BUCKET}/{OUTPUT}/redacted-analytics/{name}.json"
                ),
            },
        }

    name = transcribe_recording(aws, transcribe, output, {"redaction": REDACTION}, job)["jobName"]
    put(aws, f"{OUTPUT}/redacted-analytics/{name}.json", "call-analytics-redacted")
    put(aws, f"{OUTPUT}/analytics/{name}.json", "call-analytics")

    code, out, err = main_out(capsys, TRANSACTION_ID, *WHERE)
    assert (code, err) == (0, "")
    assert out.splitlines()[0] == (
        f"call {CALL_ID} (call-analytics, en-US, redacted) "
        f"s3://{BUCKET}/{OUTPUT}/redacted-analytics/{name}.json"
    )
    assert "[00:00:04.100] CUSTOMER: I want to pay my bill, card [PII]." in out.splitlines()

    code, out, err = main_out(capsys, TRANSACTION_ID, "--unredacted", *WHERE)
    assert (code, err) == (0, "")
    assert "card 4111111111111111." in out


def test_mono_standard_item_of_the_runtime_prints_one_speaker(
    capsys: pytest.CaptureFixture[str], world: tuple[Aws, Transcribe, Output]
) -> None:
    aws, transcribe, output = world
    seed_recording(aws, track="INCOMING", channels=1)
    transcript = f"{OUTPUT}/mono.json"

    def job(_name: str) -> dict[str, Any]:
        return {
            "LanguageCode": "en-US",
            "Transcript": {"TranscriptFileUri": f"s3://{BUCKET}/{transcript}"},
        }

    plan = transcribe_recording(aws, transcribe, output, {"redaction": None}, job)
    assert (plan["jobType"], plan["fallbackReason"], plan["channelRoles"]) == (
        "standard",
        "mono-track",
        None,
    )
    put(aws, transcript, "standard-mono")

    code, out, err = main_out(capsys, TRANSACTION_ID, *WHERE)
    assert (code, err) == (0, "")
    assert out == (
        f"call {CALL_ID} (standard, en-US, unredacted) s3://{BUCKET}/{transcript}\n"
        "[00:00:00.540] SPEAKER: Hello, this is Anna.\n"
        "[00:00:02.600] SPEAKER: My card is [PII].\n"
    )
    code, _, err = main_out(capsys, TRANSACTION_ID, "--redacted", *WHERE)
    assert code == 1
    assert "was transcribed without redaction" in err


def main_out(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["recordings", "transcript", *argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err
