"""The package's shape: explicit ``__all__``, standard library and boto3 only, small modules."""

from __future__ import annotations

import ast
import importlib
import pathlib
import sys

import pytest

PACKAGE = "recording_processor.transcription"
MODULES = ["_jobs", "_options", "_plan", "_record", "_wake", "handler"]
_DIRECTORY = pathlib.Path(importlib.import_module(PACKAGE).__file__).parent  # type: ignore[arg-type]


@pytest.mark.parametrize("module", MODULES)
def test_every_name_in_all_exists(module: str) -> None:
    imported = importlib.import_module(f"{PACKAGE}.{module}")
    assert imported.__all__
    for name in imported.__all__:
        assert hasattr(imported, name), f"{module}.{name}"


@pytest.mark.parametrize("path", sorted(_DIRECTORY.glob("*.py")), ids=lambda p: p.name)
def test_imports_only_the_standard_library_and_boto3(path: pathlib.Path) -> None:
    allowed = {
        "boto3",
        "botocore",
        "mypy_boto3_dynamodb",
        "mypy_boto3_events",
        "recording_processor",
    }
    for node in ast.walk(ast.parse(path.read_text())):
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        for name in names:
            top = name.split(".")[0]
            assert top in sys.stdlib_module_names or top in allowed, f"{path.name} imports {name}"


@pytest.mark.parametrize("path", sorted(_DIRECTORY.glob("*.py")), ids=lambda p: p.name)
def test_modules_stay_small(path: pathlib.Path) -> None:
    assert len(path.read_text().splitlines()) < 400


def test_error_classes_carry_the_names_the_state_machine_matches() -> None:
    from recording_processor.transcription._jobs import TranscribeRejected, TranscribeThrottled

    assert (TranscribeThrottled.__name__, TranscribeRejected.__name__) == (
        "TranscribeThrottled",
        "TranscribeRejected",
    )
