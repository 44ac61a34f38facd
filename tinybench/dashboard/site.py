"""Write the dashboard: index.html, app.js and style.css from the package, data.js from records.

Every asset is local and the data is a script rather than JSON fetched at run time (browsers
refuse that on file://), so the site opens from disk as well as from GitHub Pages.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterable
from pathlib import Path

from tinybench.dashboard.data import dashboard_data
from tinybench.errors import ConfigError
from tinybench.paths import atomic_write
from tinybench.results import Record

ASSETS = Path(__file__).parent / "assets"
STATIC = ("index.html", "app.js", "style.css")
_GITHUB = re.compile(r"(?:https://(?:[^@/]+@)?|ssh://git@|git@)github\.com[:/]"
                     r"([\w.-]+)/([\w.-]+?)(?:\.git)?/?")


def write_site(records: Iterable[Record], output: Path, repo_url: str | None) -> Path:
    """Write the site into `output`; return its index.html. Commits link to `repo_url`/commit/."""
    data = dashboard_data(records, repo_url)
    if not data["series"]:
        raise ConfigError("no run in these results names its commit; add results with "
                          "'tinybench history add' and build the dashboard from that history")
    for name in STATIC:
        atomic_write(output / name, (ASSETS / name).read_bytes())
    atomic_write(output / "data.js",
                 f"window.TINYBENCH_DATA = {json.dumps(data, separators=(',', ':'))};\n")
    return output / "index.html"


def github_url(remote: str) -> str | None:
    """The https address of a GitHub repository from its remote URL (https or ssh), else None."""
    match = _GITHUB.fullmatch(remote.strip())
    return f"https://github.com/{match[1]}/{match[2]}" if match else None


def origin_url() -> str | None:
    """The GitHub address of the `origin` remote of the checkout worked in, if on GitHub."""
    try:
        remote = subprocess.run(["git", "remote", "get-url", "origin"],
                                capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    return github_url(remote)
