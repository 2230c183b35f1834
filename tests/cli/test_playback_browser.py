"""The playback page in a real headless browser (Debian's ``chromium``).

The screenshot is kept in ``test-artifacts/playback.png`` (ignored by git, kept by CI) for a person
to look at. Without chromium the tests skip, unless ``CDK_RECORDING_REQUIRE_BROWSER=1`` (set by
``.ci/run``): then a missing browser fails.
"""

from __future__ import annotations

import io
import os
import shutil
import struct
import subprocess
from pathlib import Path

import pytest

from cdk_recording._playback import build_playback
from cdk_recording._playback_audio import read_waveform
from cdk_recording._playback_html import render_page
from tests.cli.playback_call import CALL_A, FACTS, document, sine_left_silent_right

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
WIDTH, HEIGHT = 1100, 1800
# A guard against a hung browser, not a performance assertion.
TIMEOUT_SECONDS = 180


@pytest.fixture(scope="module")
def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    if os.environ.get("CDK_RECORDING_REQUIRE_BROWSER") == "1":
        pytest.fail(
            "CDK_RECORDING_REQUIRE_BROWSER=1 but no chromium on PATH: install it "
            "(apt-get install -y --no-install-recommends chromium)"
        )
    pytest.skip("chromium is not installed (set CDK_RECORDING_REQUIRE_BROWSER=1 to require it)")


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = sine_left_silent_right(seconds=3)
    html = render_page(
        build_playback(document()), {CALL_A: read_waveform(io.BytesIO(data), len(data))}
    )
    path = tmp_path_factory.mktemp("playback") / "playback.html"
    path.write_text(html, encoding="utf-8")
    return path


def browse(chromium: str, profile: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
    command = [
        chromium,
        "--headless",
        "--disable-gpu",
        "--hide-scrollbars",
        "--no-first-run",
        f"--user-data-dir={profile}",
        f"--window-size={WIDTH},{HEIGHT}",
        *arguments,
    ]
    if os.geteuid() == 0:
        # Chromium refuses to run as root with its sandbox; the page is our own file and runs
        # no script (its Content-Security-Policy forbids any).
        command.insert(1, "--no-sandbox")
    return subprocess.run(
        command, capture_output=True, text=True, timeout=TIMEOUT_SECONDS, check=False
    )


def test_the_page_renders_to_a_screenshot(chromium: str, page: Path, tmp_path: Path) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    screenshot = ARTIFACTS / "playback.png"
    screenshot.unlink(missing_ok=True)

    result = browse(chromium, tmp_path / "profile", f"--screenshot={screenshot}", page.as_uri())

    assert result.returncode == 0, result.stderr[-2000:]
    png = screenshot.read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert png[12:16] == b"IHDR"
    assert struct.unpack(">II", png[16:24]) == (WIDTH, HEIGHT)
    # A blank page of this size compresses to a few kB; tables, timeline and waveforms do not.
    assert len(png) > 40_000, len(png)


def test_the_browsers_dom_holds_the_svg_drawings(chromium: str, page: Path, tmp_path: Path) -> None:
    result = browse(chromium, tmp_path / "profile", "--dump-dom", page.as_uri())

    assert result.returncode == 0, result.stderr[-2000:]
    dom = result.stdout
    assert dom.count('<svg class="timeline"') == 1
    assert dom.count('<svg class="waveform"') == 2
    assert dom.count('<path class="peaks"') == 2
    assert dom.count('<g class="mark"') == len(FACTS)
    assert dom.count('class="recorded"') == 2
    assert dom.count('class="paused"') == 1
    assert "<script" not in dom
