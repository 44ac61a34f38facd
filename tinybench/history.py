"""Results over commits: a folder with one `.jsonl` file of records per commit (`<sha>.jsonl`).

`add_to_history` files each record under the commit it was measured at and adds only records the
file does not hold yet, so adding the same results twice changes nothing. A run of a modified
checkout (`abc1234+dirty`) or of one outside git (no commit) measured code that no commit holds:
it is skipped, not filed under a commit whose code it did not run. A commit measured again keeps
every run; readers take the newest run of each key (`runs_by_commit`). Commits are ordered by
their first run: the workflow measures pushes to main in the order they land.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from tinybench.errors import ConfigError
from tinybench.results import Key, Record, append_records, latest, load_records

DEFAULT_HISTORY = Path("results/history")
_SHA = re.compile(r"[0-9a-f]{4,40}")


@dataclass(frozen=True)
class Filed:
    """What `add_to_history` did: records added per commit, already there, and skipped."""

    added: dict[str, int]  # commit -> records newly filed under it
    present: int  # records not added: the history held them already
    skipped: dict[str, int]  # "abc1234+dirty" or "no commit" -> records not filed


@dataclass(frozen=True)
class Commit:
    sha: str
    time: str  # its first run, ISO 8601 UTC


def add_to_history(history: Path, records: Iterable[Record]) -> Filed:
    """File every record of a clean commit under `history/<commit>.jsonl`, once."""
    by_commit: dict[str, list[Record]] = defaultdict(list)
    skipped: Counter[str] = Counter()
    for record in records:
        if record.commit and _SHA.fullmatch(record.commit):
            by_commit[record.commit].append(record)
        else:
            skipped[record.commit or "no commit"] += 1
    if not by_commit:
        what = ", ".join(f"{count} of {label}" for label, count in skipped.items())
        raise ConfigError(f"no run of a committed checkout to file ({what}): the history keeps "
                          "runs under their commit; commit your changes and run again")
    added: dict[str, int] = {}
    present = 0
    for commit, records_of_commit in by_commit.items():
        path = history / f"{commit}.jsonl"
        known = {r.to_json() for r in load_records(path)} if path.exists() else set()
        new = {r.to_json(): r for r in records_of_commit if r.to_json() not in known}
        present += len(records_of_commit) - len(new)
        if new:
            append_records(path, new.values())
        added[commit] = len(new)
    return Filed(added, present, dict(skipped))


def commits(records: Iterable[Record]) -> list[Commit]:
    """The commits of `records`, ordered by their first run (ties by sha)."""
    first: dict[str, str] = {}
    for record in records:
        if record.commit and (record.commit not in first or record.time < first[record.commit]):
            first[record.commit] = record.time
    return [Commit(sha, time) for sha, time in sorted(first.items(), key=lambda c: (c[1], c[0]))]


def runs_by_commit(records: Iterable[Record]) -> dict[tuple[str, Key], Record]:
    """The newest record of each (commit, key): a commit measured again shows its last run."""
    by_commit: dict[str, list[Record]] = defaultdict(list)
    for record in records:
        if record.commit:
            by_commit[record.commit].append(record)
    return {(sha, record.key): record
            for sha, runs in by_commit.items() for record in latest(runs)}
