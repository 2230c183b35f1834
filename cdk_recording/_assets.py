"""Where the runtime code lives, found from this file and never from the working directory.

In a source checkout the code is in ``<repo>/lambda``; in an installed wheel it is packaged as
``cdk_recording/_lambda`` (see ``pyproject.toml``).
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["ASSET_EXCLUDES", "lambda_asset_path"]

#: Never ship interpreter caches: they differ per machine and would change the asset hash.
ASSET_EXCLUDES = ["**/__pycache__", "**/*.pyc"]

_HERE = Path(__file__).resolve().parent
_CANDIDATES = (_HERE / "_lambda", _HERE.parent / "lambda")


def lambda_asset_path(name: str) -> str:
    """The absolute path of the runtime code folder ``name`` (e.g. ``"recording"``)."""
    for root in _CANDIDATES:
        candidate = root / name
        if candidate.is_dir():
            return str(candidate)
    searched = ", ".join(str(c / name) for c in _CANDIDATES)
    raise FileNotFoundError(f"cdk-recording runtime code {name!r} not found; looked in {searched}")
