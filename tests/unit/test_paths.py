import os

import pytest

from tinybench.paths import atomic_write, content_hash


def test_atomic_write_replaces_whole_files_with_the_usual_mode(tmp_path):
    target = tmp_path / "sub" / "file.txt"
    atomic_write(target, "old")
    atomic_write(target, b"new")
    assert target.read_text() == "new"
    umask = os.umask(0)
    os.umask(umask)
    assert target.stat().st_mode & 0o777 == 0o666 & ~umask
    assert [p.name for p in target.parent.iterdir()] == ["file.txt"]


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch):
    target = tmp_path / "file.txt"
    atomic_write(target, "old")

    def disk_full(fd):
        raise OSError("disk full")

    monkeypatch.setattr(os, "fsync", disk_full)
    with pytest.raises(OSError, match="disk full"):
        atomic_write(target, "new")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["file.txt"]


def test_content_hash_separates_items_and_reads_files(tmp_path):
    f = tmp_path / "f"
    f.write_bytes(b"ab")
    assert content_hash("a", "b") != content_hash("ab")
    assert content_hash(f) == content_hash(b"ab") == content_hash("ab")
