"""``recordings get`` on disk: the ``.partial`` files are its own, and the hand-over is all or none.

Same moto world as :mod:`tests.cli.test_retrieval` (its ``catalog`` fixture).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

import pytest

from cdk_recording import _retrieval
from cdk_recording._command import CommandError
from tests.cli.catalog_seed import CALL_A1, TX_A
from tests.cli.test_cli import assert_one_line_error
from tests.cli.test_retrieval import (
    AUDIO_A,
    CALL_E1,
    CALL_E2,
    TX_E,
    WHERE,
    Catalog,
    audit_items,
    catalog,
    recording_of,
    run,
)

__all__ = ["catalog"]  # the fixture, imported so that pytest finds it here


def name_of(catalog: Catalog, tx: str, call_id: str) -> str:
    return Path(recording_of(catalog.table, tx, call_id)["key"]).name


# -- the .partial file -------------------------------------------------------------------------------


def test_an_existing_partial_file_is_refused_and_left_alone(
    capsys: pytest.CaptureFixture[str], catalog: Catalog, tmp_path: Path
) -> None:
    partial = tmp_path / (name_of(catalog, TX_A, CALL_A1) + ".partial")
    partial.write_bytes(b"the user's own file")

    code, out, err = run(capsys, TX_A, *WHERE, "--out", str(tmp_path))

    assert (code, out) == (1, "")
    assert_one_line_error(err, f"{partial} already exists", "--force")
    assert partial.read_bytes() == b"the user's own file"
    assert sorted(tmp_path.iterdir()) == [partial]
    assert audit_items(catalog.table, TX_A) == []  # refused before anything was read


def test_a_planted_partial_link_is_refused_and_never_written_through(
    capsys: pytest.CaptureFixture[str], catalog: Catalog, tmp_path: Path
) -> None:
    victim = tmp_path / "victim"
    victim.write_bytes(b"precious")
    partial = tmp_path / (name_of(catalog, TX_A, CALL_A1) + ".partial")
    partial.symlink_to(victim)

    code, _, err = run(capsys, TX_A, *WHERE, "--out", str(tmp_path))

    assert code == 1
    assert_one_line_error(err, f"{partial} already exists")
    assert victim.read_bytes() == b"precious"
    assert partial.is_symlink()


def test_force_removes_a_planted_partial_link_without_following_it(
    capsys: pytest.CaptureFixture[str], catalog: Catalog, tmp_path: Path
) -> None:
    victim = tmp_path / "victim"
    victim.write_bytes(b"precious")
    name = name_of(catalog, TX_A, CALL_A1)
    (tmp_path / (name + ".partial")).symlink_to(victim)

    code, _, err = run(capsys, TX_A, *WHERE, "--out", str(tmp_path), "--force")

    assert (code, err) == (0, "")
    assert victim.read_bytes() == b"precious"
    assert (tmp_path / name).read_bytes() == AUDIO_A
    assert not (tmp_path / name).is_symlink()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([name, "victim"])


def test_a_partial_that_appears_after_the_check_is_not_opened(
    catalog: Catalog, tmp_path: Path
) -> None:
    # Between the check and the write another process creates the name (a race): O_EXCL refuses
    # it, and the file that appeared is not the command's to remove.
    recording = _retrieval.retrievable(_call(catalog, TX_A))[0]
    target = tmp_path / recording.file_name
    partial = tmp_path / (recording.file_name + ".partial")
    partial.write_bytes(b"someone else's")

    with pytest.raises(CommandError, match="appeared while downloading"):
        _retrieval.download_all(catalog.s3, [recording], [target], force=False)

    assert partial.read_bytes() == b"someone else's"
    assert not target.exists()


def test_the_partial_file_is_created_owner_only(
    catalog: Catalog, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    modes: list[int] = []
    original = os.replace

    def look(source: Any, target: Any) -> None:
        modes.append(stat.S_IMODE(os.lstat(source).st_mode))
        original(source, target)

    monkeypatch.setattr(_retrieval.os, "replace", look)
    recording = _retrieval.retrievable(_call(catalog, TX_A))[0]
    _retrieval.download_all(catalog.s3, [recording], [tmp_path / "a.wav"], force=False)
    assert modes == [0o600]


# -- all or none -------------------------------------------------------------------------------------


@pytest.fixture
def second_move_fails(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """``os.replace`` fails for the second file moved into place (a full disk, a vanished dir)."""
    moved: list[str] = []
    original = os.replace

    def replace(source: Any, target: Any) -> None:
        if moved:
            raise OSError(28, "No space left on device", str(target))
        original(source, target)
        moved.append(str(target))

    monkeypatch.setattr(_retrieval.os, "replace", replace)
    return moved


def test_a_failed_move_removes_the_files_already_moved(
    capsys: pytest.CaptureFixture[str],
    catalog: Catalog,
    tmp_path: Path,
    second_move_fails: list[str],
) -> None:
    first = tmp_path / name_of(catalog, TX_E, CALL_E1)

    code, out, err = run(capsys, TX_E, *WHERE, "--out", str(tmp_path))

    assert (code, out) == (1, "")
    assert second_move_fails == [str(first)]  # the first file was in place...
    assert_one_line_error(
        err, "No space left on device", f"removed {first} again", "nothing was handed over"
    )
    assert list(tmp_path.iterdir()) == []  # ...and is gone again, with every .partial file


def test_a_failed_move_after_force_names_the_file_it_replaced(
    capsys: pytest.CaptureFixture[str],
    catalog: Catalog,
    tmp_path: Path,
    second_move_fails: list[str],
) -> None:
    first = tmp_path / name_of(catalog, TX_E, CALL_E1)
    second = tmp_path / name_of(catalog, TX_E, CALL_E2)
    first.write_bytes(b"an older copy")
    second.write_bytes(b"an older copy too")

    code, _, err = run(capsys, TX_E, *WHERE, "--out", str(tmp_path), "--force")

    assert code == 1
    assert_one_line_error(err, f"{first} was replaced (--force)", "nothing else was handed over")
    assert first.read_bytes() == AUDIO_A  # what replaced it is the checked recording
    assert second.read_bytes() == b"an older copy too"
    assert sorted(tmp_path.iterdir()) == sorted([first, second])


def _call(catalog: Catalog, tx: str) -> Any:
    from recording_processor import catalog as catalog_reads

    return catalog_reads.get_call(catalog.table, tx)
