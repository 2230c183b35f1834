"""The package's public surface."""

from __future__ import annotations

import importlib

import pytest
import sma_recording

MODULES = [
    "sma_recording",
    "sma_recording.actions",
    "sma_recording.config",
    "sma_recording.core",
    "sma_recording.entry",
    "sma_recording.events",
    "sma_recording.protocol",
    "sma_recording.state",
    "sma_recording.telemetry",
    "sma_recording.wrapper",
]


@pytest.mark.parametrize("name", MODULES)
def test_every_name_in_all_exists(name: str) -> None:
    module = importlib.import_module(name)

    missing = [n for n in module.__all__ if not hasattr(module, n)]
    assert missing == []
    assert sorted(module.__all__) == sorted(set(module.__all__))


def test_exports_the_entry_points_and_the_core() -> None:
    for name in (
        "handler",
        "with_recording",
        "decide",
        "RecordingConfig",
        "CallState",
        "build_arguments",
    ):
        assert name in sma_recording.__all__


def test_ships_a_py_typed_marker() -> None:
    assert sma_recording.__file__ is not None
    assert (importlib.resources.files("sma_recording") / "py.typed").is_file()
