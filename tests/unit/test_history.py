from dataclasses import replace

import pytest

from tests.history_data import history, sha
from tinybench.cli import main
from tinybench.errors import ConfigError
from tinybench.history import add_to_history, commits, runs_by_commit
from tinybench.results import append_records, load_records


def test_records_are_filed_under_their_commit(tmp_path):
    runs = history(3)
    filed = add_to_history(tmp_path, runs)
    assert filed.added == {sha(0): 24, sha(1): 24, sha(2): 24}
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(f"{sha(i)}.jsonl" for i in range(3))
    assert load_records(tmp_path / f"{sha(1)}.jsonl") == [r for r in runs if r.commit == sha(1)]


def test_adding_the_same_results_again_changes_nothing(tmp_path):
    runs = history(2)
    add_to_history(tmp_path, runs)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    filed = add_to_history(tmp_path, runs + runs[:5])
    assert filed.added == {sha(0): 0, sha(1): 0}
    assert filed.present == len(runs) + 5
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


def test_a_commit_measured_again_shows_its_newest_run(tmp_path):
    first = history(1)
    again = [replace(r, time="2026-02-01T00:00:00Z", cycles=r.cycles + 1) for r in first]
    add_to_history(tmp_path, first)
    assert add_to_history(tmp_path, again).added == {sha(0): 24}
    runs = runs_by_commit(load_records(tmp_path))
    assert len(runs) == 24
    assert all(run.cycles == old.cycles + 1 for run, old in zip(runs.values(),
               sorted(first, key=lambda r: r.key), strict=True))


def test_runs_of_a_modified_checkout_or_outside_git_are_not_filed(tmp_path):
    clean = history(1)
    dirty = [replace(r, commit=f"{sha(0)}+dirty") for r in clean[:3]]
    nowhere = [replace(r, commit=None) for r in clean[:2]]
    strange = [replace(r, commit="../../etc") for r in clean[:1]]
    filed = add_to_history(tmp_path, clean + dirty + nowhere + strange)
    assert filed.added == {sha(0): 24}
    assert filed.skipped == {f"{sha(0)}+dirty": 3, "no commit": 2, "../../etc": 1}
    assert [p.name for p in tmp_path.iterdir()] == [f"{sha(0)}.jsonl"]


def test_only_uncommitted_runs_is_an_error_that_says_what_to_do(tmp_path):
    dirty = [replace(r, commit="1c466ef+dirty") for r in history(1)]
    with pytest.raises(ConfigError, match=r"24 of 1c466ef\+dirty.*commit your changes"):
        add_to_history(tmp_path, dirty)
    assert not any(tmp_path.iterdir())


def test_commits_are_ordered_by_their_first_run():
    runs = history(3)
    late_rerun = [replace(r, time="2027-01-01T00:00:00Z") for r in runs if r.commit == sha(0)]
    assert [c.sha for c in commits(late_rerun + runs[::-1])] == [sha(0), sha(1), sha(2)]
    assert commits(runs)[1].time == "2026-01-05T10:00:00Z"


def test_history_add_and_list_from_the_command_line(tmp_path, capsys):
    results = tmp_path / "runs.jsonl"
    append_records(results, [*history(2), replace(history(1)[0], commit="abc1234+dirty")])
    folder = tmp_path / "history"
    assert main(["history", "add", str(results), "--history", str(folder)]) == 0
    out, err = capsys.readouterr()
    assert f"{sha(0)}: 24 new record(s) in {folder / sha(0)}.jsonl" in out
    assert "skipped 1 record(s) of abc1234+dirty" in err
    assert main(["history", "add", str(results), "--history", str(folder)]) == 0
    assert capsys.readouterr().out == "48 record(s) were in the history already\n"
    assert main(["history", "list", "--history", str(folder)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == [sha(0), sha(1)]
    assert lines[0].endswith("24 runs, 0 broken")
