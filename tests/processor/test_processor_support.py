"""Configuration, event parsing, telemetry and the package's public surface."""

from __future__ import annotations

import importlib
import json
from datetime import UTC, datetime

import pytest
from recording_processor._config import ConfigError, ProcessorConfig
from recording_processor._events import Unprocessable, parse_object_created, recording_key_of
from recording_processor._telemetry import Logger, Metrics, mask_phone_numbers

from tests.processor.conftest import BUCKET, key_for, s3_event

NOW = datetime(2026, 11, 24, 12, 5, tzinfo=UTC)


def test_config_defaults() -> None:
    config = ProcessorConfig.from_environ({"CATALOG_TABLE": "t", "RECORDING_BUCKET": "b"})

    assert config.event_bus == "default"
    assert config.metrics_namespace == "CdkRecording"
    assert config.recording_prefix == ""
    assert config.folder == "Amazon-Chime-SMA-Call-Recordings"


def test_config_reads_every_variable() -> None:
    config = ProcessorConfig.from_environ(
        {
            "CATALOG_TABLE": "t",
            "RECORDING_BUCKET": "b",
            "RECORDING_PREFIX": "/calls/",
            "EVENT_BUS": "arn:aws:events:us-east-1:123456789012:event-bus/x",
            "METRICS_NAMESPACE": "Ns",
            "APPLICATION": "app",
        }
    )

    assert config.folder == "calls"
    assert config.event_bus.endswith("event-bus/x")
    assert (config.metrics_namespace, config.application) == ("Ns", "app")


def test_config_names_every_missing_variable() -> None:
    with pytest.raises(ConfigError, match="CATALOG_TABLE is not set; RECORDING_BUCKET is not set"):
        ProcessorConfig.from_environ({"CATALOG_TABLE": " "})


def test_parses_the_documented_object_created_event() -> None:
    event = parse_object_created(json.dumps(s3_event(key_for(), "v1", size=12)))

    assert event.bucket == BUCKET
    assert event.version_id == "v1"
    assert event.sequencer == "0062E99A88DC407460"
    assert event.size == 12
    assert event.time == datetime(2026, 11, 24, 12, 1, 20, tzinfo=UTC)
    assert event.partition == "aws"


def test_partition_comes_from_the_bucket_arn() -> None:
    raw = s3_event(key_for(), "v1")
    raw["resources"] = [f"arn:aws-cn:s3:::{BUCKET}"]

    assert parse_object_created(json.dumps(raw)).partition == "aws-cn"


def test_a_non_hex_sequencer_is_treated_as_none() -> None:
    raw = s3_event(key_for(), "v1", sequencer="not-hex")

    assert parse_object_created(json.dumps(raw)).sequencer == ""


def test_a_key_of_the_right_shape_in_another_folder_is_outside_the_prefix() -> None:
    event = parse_object_created(json.dumps(s3_event(key_for(prefix="x"), "v1")))

    with pytest.raises(Unprocessable) as raised:
        recording_key_of(event, BUCKET, "calls")

    assert raised.value.reason == "outside-prefix"


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("call from +12065550100 ended", "call from +*******0100 ended"),
        ("dialled 2065550100", "dialled ******0100"),
        ("id 5b1a6c2e-8d4f-4a1b-9c3e-7f6a5b4c3d2e", "id 5b1a6c2e-8d4f-4a1b-9c3e-7f6a5b4c3d2e"),
        (
            "calls/2026/11/24/2026-11-24-12-00-00-250_x.wav",
            "calls/2026/11/24/2026-11-24-12-00-00-250_x.wav",
        ),
        ("sequencer 0062E99A88DC407460", "sequencer 0062E99A88DC407460"),
    ],
)
def test_mask_phone_numbers(text: str, masked: str) -> None:
    assert mask_phone_numbers(text) == masked


def test_log_lines_mask_strings_but_not_numbers() -> None:
    lines: list[str] = []
    log = Logger(lines.append, {"transactionId": "t"}, clock=lambda: NOW)

    log.info("hello", caller="+12065550100", sizeBytes=67108864, nested={"to": ["+442071838750"]})

    [line] = [json.loads(text) for text in lines]
    assert line["caller"] == "+*******0100"
    assert line["sizeBytes"] == 67108864
    assert line["nested"] == {"to": ["+********8750"]}
    assert line["transactionId"] == "t"


def test_log_level_threshold() -> None:
    lines: list[str] = []
    log = Logger(lines.append, level="WARNING").bind(messageId="m")

    log.info("quiet")
    log.warning("loud")

    assert [json.loads(text)["message"] for text in lines] == ["loud"]


def test_emf_document_shape() -> None:
    lines: list[str] = []

    Metrics(lines.append, "Ns", "app", clock=lambda: NOW).emit(
        {"ObjectIgnored": (1, "Count")}, reason="not-wav", transactionId=None
    )

    [document] = [json.loads(text) for text in lines]
    assert document == {
        "_aws": {
            "Timestamp": int(NOW.timestamp() * 1000),
            "CloudWatchMetrics": [
                {
                    "Namespace": "Ns",
                    "Dimensions": [["Application"]],
                    "Metrics": [{"Name": "ObjectIgnored", "Unit": "Count"}],
                }
            ],
        },
        "Application": "app",
        "ObjectIgnored": 1,
        "reason": "not-wav",
    }


@pytest.mark.parametrize(
    "module",
    [
        "recording_processor._config",
        "recording_processor._errors",
        "recording_processor._events",
        "recording_processor._keys",
        "recording_processor._process",
        "recording_processor._publish",
        "recording_processor._record",
        "recording_processor._s3",
        "recording_processor._store",
        "recording_processor._telemetry",
        "recording_processor._wav",
        "recording_processor.catalog",
        "recording_processor.handler",
    ],
)
def test_every_name_in_all_exists(module: str) -> None:
    imported = importlib.import_module(module)

    assert imported.__all__
    for name in imported.__all__:
        assert hasattr(imported, name), f"{module}.{name}"


def test_runtime_imports_only_the_standard_library_and_boto3() -> None:
    import ast
    import pathlib
    import sys

    package = pathlib.Path(importlib.import_module("recording_processor").__file__).parent  # type: ignore[arg-type]
    allowed = {
        "boto3",
        "botocore",
        # type-checking only (under TYPE_CHECKING)
        "mypy_boto3_s3",
        "mypy_boto3_dynamodb",
        "mypy_boto3_events",
        "mypy_boto3_sqs",
    }
    for path in package.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            for name in names:
                top = name.split(".")[0]
                assert (
                    top in sys.stdlib_module_names or top in allowed or top == "recording_processor"
                ), f"{path.name} imports {name}"
