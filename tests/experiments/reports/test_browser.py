"""The HTML report as a person sees it: rendered by headless Chromium, screenshot checked.

Needs Debian's ``chromium`` package (``apt-get install -y chromium``; ``.ci/run`` installs it).
Outside CI the test skips when Chromium is absent; with ``CI`` set it fails instead. Set
``PATHLIFT_SCREENSHOT_DIR`` to keep the screenshot.
"""

from __future__ import annotations

import subprocess
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest

from attribution.result import AttributionResult
from experiments.reports import write_report
from tests.browser import keep_screenshot, run_chromium
from tests.experiments.reports.conftest import credit, weekly_report

pytestmark = pytest.mark.browser

CHANNELS = ("display", "email", "paid_search", "social & <friends>")


def _result(model: str, conv: list[float]) -> AttributionResult:
    """Credit worth 80 a conversion, its interval +-10%."""
    return credit(model, conv, CHANNELS, value_per_conversion=80, spread=np.array(conv) * 0.1)


@pytest.fixture(scope="module")
def report_html(tmp_path_factory) -> Path:
    current = [
        _result("first_touch", [300, 150, 80, 170]),
        _result("last_touch", [90, 200, 260, 150]),
        _result("markov", [210, 180, 150, 160]),
    ]
    previous = [
        _result("first_touch", [280, 150, 60, 160]),
        _result("last_touch", [80, 190, 200, 150]),
        _result("markov", [190, 170, 110, 150]),
    ]
    report = weekly_report(
        current,
        previous,
        costs=dict(zip(CHANNELS, [900, 40, 7000, 500], strict=True)),
        week="2024-03-04",
        lift_tests={"paid_search": (60.0, 30.0, 90.0)},
        coverage=(52_000, 9_800, 10_400, "2024-02-05", "2024-03-10 23:59"),
        mlflow_run={"run_id": "5f2c0a", "experiment_id": "3"},
        title="Weekly attribution report",
    )
    out = tmp_path_factory.mktemp("browser-report")
    return write_report(report, out)["html"]


def _run(args: list[str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    return run_chromium(args, tmp_path)


class _DomParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.body: dict[str, str | None] = {}
        self.markers: list[str] = []
        self.channel_rows = 0
        self.channel_cells: list[str] = []
        self._in_channel_table = False
        self._in_td = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "body":
            self.body = a
        if a.get("data-test") == "rendered":
            self.markers.append(tag)
        if tag == "table" and a.get("data-test") == "channel-table":
            self._in_channel_table = True
        if self._in_channel_table and tag == "tr":
            self.channel_rows += 1
        if self._in_channel_table and tag == "td":
            self._in_td = True

    def handle_endtag(self, tag):
        if tag == "table":
            self._in_channel_table = False
        if tag == "td":
            self._in_td = False

    def handle_data(self, data):
        if self._in_td:
            self.channel_cells.append(data)


def test_rendered_dom_shows_channel_table_without_errors(report_html: Path, tmp_path) -> None:
    proc = _run(["--enable-logging=stderr", "--v=0", "--dump-dom", report_html.as_uri()], tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    dom = _DomParser()
    dom.feed(proc.stdout)
    assert dom.body.get("data-rendered") == "true", "the page's load handler did not run"
    assert "data-errors" not in dom.body, dom.body.get("data-errors")
    assert dom.markers == ["div"]
    # header row + 4 channels x (3 models + calibrated)
    assert dom.channel_rows == 1 + 4 * 4
    for channel in CHANNELS:
        assert channel in dom.channel_cells  # names rendered as text, not markup
    stderr = proc.stderr
    for problem in ("Uncaught", "Refused to", "ERR_", "SyntaxError"):
        assert problem not in stderr, stderr[-2000:]


def test_screenshot_is_a_real_page(report_html: Path, tmp_path) -> None:
    import matplotlib.image as mpimg

    shot = tmp_path / "shot.png"
    proc = _run([f"--screenshot={shot}", "--window-size=1280,2000", report_html.as_uri()], tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert shot.exists() and shot.stat().st_size > 20_000
    pixels = mpimg.imread(str(shot))
    assert pixels.shape[:2] == (2000, 1280)
    rgb = pixels[..., :3]
    assert float(rgb.std()) > 0.05  # not one colour
    non_white = float((rgb.min(axis=2) < 0.9).mean())
    assert 0.02 < non_white < 0.8  # text, tables and chart on a light page
    # the chart's colours (Okabe-Ito blue #0072B2) appear on screen
    blue = np.abs(rgb - np.array([0x00, 0x72, 0xB2]) / 255).max(axis=2) < 0.05
    assert int(blue.sum()) > 500
    keep_screenshot(shot, "report.png")
