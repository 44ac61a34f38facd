import json
import re
import time
from dataclasses import replace

import pytest

from tests.history_data import SLOWED, history, sha, with_layers
from tinybench.cli import main
from tinybench.dashboard.data import dashboard_data
from tinybench.dashboard.site import ASSETS, STATIC, github_url, write_site
from tinybench.errors import ConfigError
from tinybench.results import append_records


def series_of(data: dict, key) -> dict:
    return next(s for s in data["series"] if tuple(s["key"]) == key)


def site_data(folder) -> dict:
    text = (folder / "data.js").read_text()
    prefix = "window.TINYBENCH_DATA = "
    assert text.startswith(prefix) and text.endswith(";\n")
    return json.loads(text[len(prefix):-2])


def test_every_series_has_a_point_per_commit_and_the_slower_commit_is_marked():
    data = dashboard_data(history(30, slower_from=20), repo_url=None)
    assert [c[0] for c in data["commits"]] == [sha(i) for i in range(30)]
    assert len(data["series"]) == 24
    slowed = series_of(data, SLOWED)
    assert slowed["at"] == list(range(30))
    assert len(slowed["values"]["cycles"]) == 30
    assert slowed["marks"] == {"cycles": [20], "flash_bytes": [], "ram_bytes": []}
    assert all(not any(s["marks"].values()) for s in data["series"] if s is not slowed)
    assert data["metrics"]["cycles"] == {"unit": "cycles", "threshold": "cycles:+2%"}


def test_a_broken_run_is_a_gap_and_the_next_run_is_compared_with_the_one_before_it():
    runs = history(4)
    runs = [replace(r, status="failed", stage="simulate", reason="HardFault at 0x800",
                    cycles=None) if r.key == SLOWED and r.commit == sha(2) else
            replace(r, cycles=r.cycles * 2) if r.key == SLOWED and r.commit == sha(3) else r
            for r in runs]
    slowed = series_of(dashboard_data(runs, None), SLOWED)
    assert slowed["values"]["cycles"][2] is None
    assert slowed["broken"] == [[2, "failed at simulate: HardFault at 0x800"]]
    assert slowed["marks"]["cycles"] == [3]


def test_a_configuration_change_is_shown_and_not_marked():
    runs = [replace(r, tools={**r.tools, "gcc": "13.1"}, cycles=r.cycles * 2)
            if r.key == SLOWED and r.commit in (sha(2), sha(3)) else r for r in history(4)]
    slowed = series_of(dashboard_data(runs, None), SLOWED)
    assert slowed["config_changes"] == [2]
    assert slowed["marks"]["cycles"] == []


def test_the_latest_run_of_each_series_comes_with_its_figures():
    slowed = series_of(dashboard_data(history(3), None), SLOWED)
    last = history(3)[-24:]
    record = next(r for r in last if r.key == SLOWED)
    assert slowed["latest"]["commit"] == 2
    assert slowed["latest"]["cycles"] == record.cycles
    assert slowed["latest"]["latency_ms"] == round(record.latency_ms, 3)
    assert slowed["latest"]["broken"] is None
    assert slowed["layers"] is None


def test_per_layer_cycles_of_the_latest_run_are_kept_when_records_have_them():
    layers = [{"name": "conv_0", "op": "CONV_2D", "cycles": 900_000, "macs": 12},
              {"name": "fc", "op": "FULLY_CONNECTED", "cycles": 20_000}]
    runs = history(2)
    runs[-1] = with_layers(runs[-1], layers)
    data = dashboard_data(runs, None)
    layered = [s for s in data["series"] if s["layers"]]
    assert [tuple(s["key"]) for s in layered] == [runs[-1].key]
    assert layered[0]["layers"] == [{"name": "conv_0", "op": "CONV_2D", "cycles": 900_000},
                                        {"name": "fc", "op": "FULLY_CONNECTED", "cycles": 20_000}]


def test_the_site_is_four_local_files_with_the_data_as_a_script(tmp_path):
    index = write_site(history(2), tmp_path, "https://github.com/o/r")
    assert index == tmp_path / "index.html"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([*STATIC, "data.js"])
    assert site_data(tmp_path)["repo_url"] == "https://github.com/o/r"
    page = index.read_text()
    assert re.findall(r'(?:src|href)="([^"]+)"', page) == ["data:,", "style.css", "data.js",
                                                           "app.js"]
    for name in STATIC:  # nothing fetched from elsewhere: no CDN, no web fonts
        addresses = set(re.findall(r"\w+://\w[\w./-]*", (ASSETS / name).read_text()))
        assert addresses <= {"http://www.w3.org/2000/svg"}, name


def test_three_hundred_commits_build_in_seconds_into_a_small_page(tmp_path):
    append_records(tmp_path / "history.jsonl", history(300))  # one file: quicker to write
    started = time.perf_counter()
    assert main(["dashboard", str(tmp_path / "history.jsonl"), "-o", str(tmp_path / "site"),
                 "--repo-url", ""]) == 0
    took = time.perf_counter() - started
    assert took < 15, f"{took:.1f} s for 300 commits"  # about 1 s here
    size = (tmp_path / "site" / "data.js").stat().st_size
    assert size < 300 * 24 * 60, f"{size} bytes: more than the figures"  # about 30 per run
    data = site_data(tmp_path / "site")
    assert data["repo_url"] is None
    assert len(data["commits"]) == 300 and len(data["series"]) == 24


def test_building_from_runs_of_no_commit_says_what_to_do(tmp_path):
    append_records(tmp_path / "runs.jsonl", [replace(r, commit=None) for r in history(1)])
    with pytest.raises(ConfigError, match="tinybench history add"):
        write_site([replace(r, commit=None) for r in history(1)], tmp_path / "site", None)
    assert main(["dashboard", str(tmp_path / "runs.jsonl"), "-o", str(tmp_path / "site")]) == 2


@pytest.mark.parametrize(("remote", "url"), [
    ("https://github.com/acme/tinybench.git", "https://github.com/acme/tinybench"),
    ("https://token@github.com/acme/tinybench", "https://github.com/acme/tinybench"),
    ("git@github.com:acme/tiny.bench.git\n", "https://github.com/acme/tiny.bench"),
    ("ssh://git@github.com/acme/tinybench.git", "https://github.com/acme/tinybench"),
    ("https://gitlab.com/acme/tinybench.git", None),
    ("/srv/git/tinybench.git", None),
])
def test_commit_links_default_to_a_github_origin(remote, url):
    assert github_url(remote) == url
