"""report.html in a real headless browser (Debian's chromium-headless-shell): names are text, never markup, no
script runs, and every embedded figure decodes. Skipped, saying so, where the browser is absent."""

from __future__ import annotations

import base64
import io
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest
from conftest import cli_exit_code, make_scored_run, make_tiny_dataset, ranked_scores

pytestmark = pytest.mark.slow  # starts a browser

BROWSER = shutil.which("chromium-headless-shell")
HOSTILE = {
    "script": "<script>document.title='x'</script>",
    "img": "<img src=x onerror=\"document.title='y'\">",
    "link": "[click me](javascript:document.title='z')",
    "emphasis": "*bold* _it_ `code` &lt;b&gt;",
}
TITLE = "dnactx report: matrix m1"


def _chromium(tmp_path: Path, *args: str) -> str:
    if BROWSER is None:
        pytest.skip("chromium-headless-shell is not installed (`apt-get install -y chromium-headless-shell`)")
    profile = tmp_path / "profile"
    proc = subprocess.run([BROWSER, "--no-sandbox", "--disable-gpu", "--hide-scrollbars", f"--user-data-dir={profile}",
                           *args], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


class _Page(HTMLParser):
    """The title, the text and the element names of a dumped DOM."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.text: list[str] = []
        self.title = ""
        self._in_title = False

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self._in_title = tag == "title"

    def handle_endtag(self, tag):
        self._in_title = False

    def handle_data(self, data):
        self.text.append(data)
        if self._in_title:
            self.title += data


@pytest.fixture(scope="module")
def report_html(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("browser")
    data = make_tiny_dataset(tmp / "d", n=1500)
    home = tmp / "runs"
    make_scored_run(home, data, ranked_scores(0.6, 0.6, seed=1), name="lr", model="lr", matrix="m1",
                    cell={"baseline": True})
    for i, name in enumerate(HOSTILE.values()):
        make_scored_run(home, data, ranked_scores(1.0 + i, 1.0 + i, seed=2 + i), name=name, size=50 + 10 * i,
                        mode=("up", "both")[i % 2], matrix="m1")
    assert cli_exit_code("--home", str(home), "report", "--matrix", "m1", "--out", str(tmp / "rep")) == 0
    return tmp / "rep" / "report.html"


def test_run_names_are_text_and_no_script_runs(report_html, tmp_path):
    source = report_html.read_text()
    assert "<script" not in source and "onerror=" not in source.replace("onerror=&quot;", "")
    page = _Page()
    page.feed(_chromium(tmp_path, "--dump-dom", "--virtual-time-budget=3000", report_html.as_uri()))
    assert page.title == TITLE  # the injected script would have set it to 'x'
    assert "script" not in page.tags and page.tags.count("img") == 2  # the PR curves and the heatmap only
    assert "a" not in page.tags  # no name became a link
    text = "".join(page.text)
    for name in HOSTILE.values():
        assert name in text, name  # shown exactly as the user wrote it


def _data_uris(html_text: str) -> list[str]:
    return re.findall(r'src="(data:image/png;base64,[A-Za-z0-9+/=]+)"', html_text)


def test_every_embedded_figure_decodes_in_the_browser_and_as_a_png(report_html, tmp_path):
    from PIL import Image

    uris = _data_uris(report_html.read_text())
    assert len(uris) == 2
    for uri in uris:
        image = Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1])))
        image.verify()
        assert image.format == "PNG" and min(image.size) > 100
    # A page of our own shows the same images and counts those the browser decoded (its script is ours).
    images = "".join(f'<img src="{u}" onload="done(this)" onerror="done(null)">' for u in uris)
    probe = tmp_path / "probe.html"
    probe.write_text("<!doctype html><title>pending</title><script>let ok = 0, seen = 0;"
                     "function done(img) { seen++; if (img && img.naturalWidth > 0) ok++; "
                     f"if (seen === {len(uris)}) document.title = 'decoded ' + ok + '/' + seen; }}</script>{images}")
    page = _Page()
    page.feed(_chromium(tmp_path, "--dump-dom", "--virtual-time-budget=5000", probe.as_uri()))
    assert page.title == f"decoded {len(uris)}/{len(uris)}"


def test_the_rendered_page_is_not_blank(report_html, tmp_path):
    from PIL import Image

    shot = tmp_path / "report.png"
    _chromium(tmp_path, "--window-size=1280,2400", f"--screenshot={shot}", report_html.as_uri())
    image = Image.open(shot).convert("L")
    histogram = image.histogram()
    dark = sum(histogram[:128]) / (image.size[0] * image.size[1])
    assert image.size == (1280, 2400) and 0.005 < dark < 0.5  # text and figures on a light page
