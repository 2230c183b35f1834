"""``cdk_recording.testing``: an explicit, importable, documented public API."""

from __future__ import annotations

import importlib
import inspect

import cdk_recording.testing as testing


def test_all_is_explicit_sorted_and_importable() -> None:
    """Every name in __all__ exists; the list is sorted as ruff sorts it."""
    assert testing.__all__ == sorted(testing.__all__, key=lambda name: (not name.isupper(), name))
    for name in testing.__all__:
        assert getattr(testing, name) is not None, name


def test_every_public_name_comes_from_a_private_module() -> None:
    """Implementation lives in ``_module.py`` files; the package only re-exports."""
    for name in testing.__all__:
        value = getattr(testing, name)
        module = getattr(value, "__module__", None)
        if inspect.isclass(value) or inspect.isfunction(value):
            assert module is not None
            assert module.startswith("cdk_recording.testing._"), (name, module)


def test_every_public_class_and_function_is_documented() -> None:
    """Every exported class and function has a docstring."""
    for name in testing.__all__:
        value = getattr(testing, name)
        if inspect.isclass(value) or inspect.isfunction(value):
            assert inspect.getdoc(value), name


def test_private_modules_declare_all() -> None:
    """Each implementation module declares what it exports."""
    for module_name in (
        "_arrival_transcribe",
        "_command",
        "_handlers",
        "_report",
        "_scenario",
        "_simulator",
        "_sinks",
        "_transcribe_stub",
        "_transcription_report",
        "_validate",
        "_wav",
    ):
        module = importlib.import_module(f"cdk_recording.testing.{module_name}")
        assert isinstance(module.__all__, list), module_name
        for name in module.__all__:
            assert hasattr(module, name), (module_name, name)


def test_cli_does_not_load_the_simulator_until_asked() -> None:
    """The other subcommands never import the simulator (lazy import in ``_run_simulate``)."""
    import subprocess
    import sys

    code = "import sys, cdk_recording.cli; print('cdk_recording.testing' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"
