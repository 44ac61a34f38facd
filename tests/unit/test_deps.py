"""The dependency manager: lookup through env vars and the cache, safe unpacking, pins."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
import zipfile
from dataclasses import replace
from pathlib import Path

import pytest

from tinybench import deps
from tinybench.backends.tflm_lib import COMPONENTS
from tinybench.cli import main
from tinybench.errors import ConfigError, ToolNotFoundError


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TINYBENCH_CACHE", str(tmp_path / "cache"))
    for c in deps.components().values():
        monkeypatch.delenv(c.env, raising=False)


def _zip(path: Path, files: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as z:
        for name, data in files.items():
            z.writestr(name, data)
    return path


def test_every_component_is_pinned_to_a_full_commit_with_an_official_url() -> None:
    for c in deps.components().values():
        assert len(c.commit) == 40 and int(c.commit, 16) >= 0
        official = (f"https://github.com/{c.repo}/archive/",
                    f"https://github.com/{c.repo}/releases/download/")
        assert c.url.startswith(official)
        assert c.md5 is None or len(c.md5) == 32
    assert deps.get("cmsis-nn").env == "TINYBENCH_CMSIS_NN_DIR"


def test_missing_component_says_how_to_get_it() -> None:
    with pytest.raises(ToolNotFoundError, match=r"tinybench deps fetch tflm.*TINYBENCH_TFLM_DIR"):
        deps.locate("tflm")
    assert "tinybench deps fetch ruy" in deps.missing("ruy")


def test_env_var_points_at_a_checkout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ruy = deps.get("ruy")
    (tmp_path / "ruy" / ruy.marker).parent.mkdir(parents=True)
    (tmp_path / "ruy" / ruy.marker).touch()
    monkeypatch.setenv(ruy.env, str(tmp_path / "ruy"))
    assert deps.locate("ruy") == tmp_path / "ruy"
    assert deps.status(ruy).state == "env"
    monkeypatch.setenv(ruy.env, str(tmp_path))
    with pytest.raises(ToolNotFoundError, match="TINYBENCH_RUY_DIR"):
        deps.locate("ruy")


def test_fetch_from_archive_checks_the_md5_and_records_the_pin(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    archive = _zip(tmp_path / "k.zip", {"kissfft-130/kiss_fft.h": b"/* kiss */"})
    with pytest.raises(ConfigError, match="md5"):
        deps.fetch("kissfft", archive)
    assert deps.status(deps.get("kissfft")).state == "missing"

    real = deps.get("kissfft")
    pinned = replace(real, md5=hashlib.md5(archive.read_bytes()).hexdigest())
    with monkeypatch.context() as m:
        m.setattr(deps, "get", lambda name: pinned)
        path = deps.fetch("kissfft", archive)
    assert (path / "kiss_fft.h").read_bytes() == b"/* kiss */"  # the top folder is stripped
    pin = json.loads((path / deps.PIN_FILE).read_text())
    assert pin["commit"] == real.commit and pin["md5_checked"]
    assert deps.locate("kissfft") == path

    with monkeypatch.context() as m:  # a pin without a checksum records that nothing was checked
        m.setattr(deps, "get", lambda name: replace(real, md5=None))
        path = deps.fetch("kissfft", archive)
    assert not json.loads((path / deps.PIN_FILE).read_text())["md5_checked"]


def test_a_cached_copy_at_another_pin_is_stale(tmp_path: Path) -> None:
    archive = _zip(tmp_path / "r.zip", {"ruy-x/ruy/profiler/instrumentation.h": b""})
    path = deps.fetch("ruy", archive, verify=False)
    (path / deps.PIN_FILE).write_text(json.dumps({"commit": "0" * 40}))
    assert deps.status(deps.get("ruy")).state == "stale"
    with pytest.raises(ToolNotFoundError, match="another pin"):
        deps.locate("ruy")


def test_zip_entries_that_escape_are_refused(tmp_path: Path) -> None:
    archive = _zip(tmp_path / "evil.zip", {"top/kiss_fft.h": b"", "../../escaped.txt": b"x"})
    with pytest.raises(ConfigError, match="escapes"):
        deps.fetch("kissfft", archive, verify=False)
    assert not list(tmp_path.rglob("escaped.txt"))


def test_tar_links_that_escape_are_refused(tmp_path: Path) -> None:
    archive = tmp_path / "evil.tar.gz"
    with tarfile.open(archive, "w:gz") as t:
        link = tarfile.TarInfo("top/kiss_fft.h")
        link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
        t.addfile(link)
        data = tarfile.TarInfo("top/ok.h")
        t.addfile(data, io.BytesIO(b""))
    with pytest.raises(ConfigError, match="unsafe"):
        deps.fetch("kissfft", archive, verify=False)


def test_an_archive_of_something_else_is_refused(tmp_path: Path) -> None:
    archive = _zip(tmp_path / "other.zip", {"top/README": b""})
    with pytest.raises(ConfigError, match=r"kiss_fft\.h"):
        deps.fetch("kissfft", archive, verify=False)
    (tmp_path / "junk").write_bytes(b"not an archive")
    with pytest.raises(ConfigError, match="neither"):
        deps.fetch("kissfft", tmp_path / "junk", verify=False)


def test_download_failure_says_what_to_do(monkeypatch: pytest.MonkeyPatch) -> None:
    def offline(*args: object, **kwargs: object) -> None:
        raise OSError("network unreachable")

    monkeypatch.setattr(deps.urllib.request, "urlopen", offline)
    with pytest.raises(ToolNotFoundError, match=r"--archive FILE.*TINYBENCH_GEMMLOWP_DIR"):
        deps.fetch("gemmlowp")


def test_fetch_without_names_takes_only_what_the_tflm_backends_build(
    monkeypatch: pytest.MonkeyPatch
) -> None:
    fetched = []
    monkeypatch.setattr(deps, "fetch", lambda name, archive, verify: fetched.append(name))
    assert main(["deps", "fetch"]) == 0
    assert fetched == list(COMPONENTS)  # not Renode, a large download few runs need
