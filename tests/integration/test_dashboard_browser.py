"""The dashboard in a real browser: Debian's headless Chromium opens the site from disk.

A history of 30 commits in which kws01 on TVM and the nRF52840 gets 5 % slower at commit 20 is
filed with `tinybench history add` and drawn with `tinybench dashboard`; the tests read what
Chromium rendered. The front page's screenshot goes to $TINYBENCH_SCREENSHOT when set (README's
docs/dashboard.png), else into the test's temporary folder.
"""

import os
import shutil
from pathlib import Path

import pytest

from tests.history_data import SLOWED, history, sha, with_layers
from tinybench.cli import main
from tinybench.dashboard.site import write_site
from tinybench.results import append_records
from tinybench.spec import key_label

pytestmark = pytest.mark.browser

COMMITS = 30
SLOWER_FROM = 20
REPO = "https://github.com/example/tinybench"
SLOWED_CYCLES = f'svg.trend[data-series="{"/".join(SLOWED)}"][data-metric="cycles"]'
# Headless and offline, as root: no sandbox, no GPU, nothing fetched in the background.
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--hide-scrollbars", "--window-size=1280,1040")


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("dashboard")
    append_records(folder / "runs.jsonl", history(COMMITS, slower_from=SLOWER_FROM))
    assert main(["history", "add", str(folder / "runs.jsonl"),
                 "--history", str(folder / "history")]) == 0
    assert main(["dashboard", str(folder / "history"), "-o", str(folder / "site"),
                 "--repo-url", REPO]) == 0
    return folder / "site" / "index.html"


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium")
    for flag in (*FLAGS, f"--user-data-dir={tmp_path_factory.mktemp('chromium')}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(shutil.which("chromedriver")))
    yield driver
    driver.quit()


def open_page(browser, index: Path, filters: str = ""):
    """Load the page afresh (a new hash alone would not reload it) and drop earlier logs."""
    browser.get("about:blank")
    browser.get_log("browser")
    browser.get(index.as_uri() + (f"#{filters}" if filters else ""))
    return browser


def count(browser, css: str) -> int:
    return browser.execute_script("return document.querySelectorAll(arguments[0]).length", css)


def console_errors(browser) -> list[str]:
    return [entry["message"] for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]


def test_the_trend_chart_has_a_point_per_commit_and_marks_the_slower_commit(browser, site):
    page = open_page(browser, site)
    assert count(page, f"{SLOWED_CYCLES} circle.point") == COMMITS
    marks = page.find_elements("css selector", "svg.trend .regression")
    assert [mark.get_attribute("data-commit") for mark in marks] == [sha(SLOWER_FROM)]
    chart = marks[0].find_element("xpath", "..")
    assert [chart.get_attribute(a) for a in ("data-series", "data-metric")] == [
        "/".join(SLOWED), "cycles"]
    point = page.find_element("css selector", f"{SLOWED_CYCLES} circle.point.regressed")
    assert point.find_element("xpath", "..").get_dom_attribute("href") == (
        f"{REPO}/commit/{sha(SLOWER_FROM)}")
    listed = page.find_elements("css selector", "#regressions li")
    assert [item.get_attribute("data-commit") for item in listed] == [sha(SLOWER_FROM)]
    assert "kws01 · tvm · nrf52840 · iss cycles" in listed[0].text
    assert console_errors(page) == []


def test_every_chart_is_drawn(browser, site):
    page = open_page(browser, site)
    assert count(page, "svg.trend") == 24 * 3
    drawn = page.execute_script("""
        return [...document.querySelectorAll('svg.trend')].map(chart => [
            chart.querySelectorAll('circle.point').length,
            chart.querySelector('path.line').getAttribute('d').split('L').length,
            chart.getBoundingClientRect().width]);""")
    assert all(points == segments == COMMITS and width > 300 for points, segments, width in drawn)
    assert count(page, "svg.scatter .scatter-point") == 24
    assert page.find_element("css selector", "svg.scatter").size["height"] > 200
    assert count(page, "#latest tbody tr") == 24
    assert page.find_element("id", "summary").text == (
        f"{COMMITS} commit(s) from 2026-01-05 to 2026-01-06, showing 24 of 24 series.")
    assert console_errors(page) == []


def test_filters_change_what_is_shown(browser, site):
    from selenium.webdriver.support.ui import Select

    page = open_page(browser, site)
    shown = ("#trends .card", "#latest tbody tr", "svg.scatter .scatter-point")
    assert [count(page, css) for css in shown] == [24, 24, 24]
    Select(page.find_element("name", "board")).select_by_value("nrf52840")
    assert [count(page, css) for css in shown] == [12, 12, 12]
    Select(page.find_element("name", "backend")).select_by_value("tvm")
    assert [count(page, css) for css in shown] == [4, 4, 4]
    assert page.execute_script("return location.hash") == "#backend=tvm&board=nrf52840"
    Select(page.find_element("name", "task")).select_by_value("ad01")
    assert count(page, "#regressions li") == 0  # the slower series is filtered out
    Select(page.find_element("name", "board")).select_by_value("")
    assert [count(page, css) for css in shown] == [2, 2, 2]
    page = open_page(browser, site, "task=kws01")  # a filtered page can be linked to
    assert Select(page.find_element("name", "task")).first_selected_option.text == "kws01"
    assert count(page, "#trends .card") == 6
    assert console_errors(page) == []


def test_console_errors_are_seen(browser, site):
    page = open_page(browser, site)
    page.execute_script("console.error('a probe of the console log')")
    assert any("a probe of the console log" in error for error in console_errors(page))


def test_per_layer_bars_of_the_latest_run(browser, tmp_path):
    layers = [{"name": f"layer_{i}", "op": op, "cycles": cycles}
              for i, (op, cycles) in enumerate([("CONV_2D", 600_000), ("DEPTHWISE_CONV_2D",
                                                 300_000), ("FULLY_CONNECTED", 150_000)])]
    runs = history(2)
    runs[-1] = with_layers(runs[-1], layers)
    page = open_page(browser, write_site(runs, tmp_path, None))
    bars = page.find_elements("css selector", "svg.layers .layer-bar")
    assert [float(bar.get_attribute("width")) for bar in bars] == pytest.approx(
        [320, 160, 80], abs=0.1)
    assert page.find_element("css selector", "#layers figcaption").text == key_label(
        runs[-1].key).replace("/", " · ")  # a twin's run is labelled without its weights
    assert console_errors(page) == []


def test_a_screenshot_of_the_front_page(browser, site, tmp_path):
    path = Path(os.environ.get("TINYBENCH_SCREENSHOT") or tmp_path / "dashboard.png")
    page = open_page(browser, site, "task=kws01")  # the slower series in the first screen
    assert page.save_screenshot(str(path))
    image = path.read_bytes()
    assert image.startswith(b"\x89PNG") and 20_000 < len(image) < 300_000
    assert console_errors(page) == []
