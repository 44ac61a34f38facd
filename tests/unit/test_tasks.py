import pytest

from tinybench.cli import main
from tinybench.errors import ConfigError
from tinybench.models import convert, export
from tinybench.tasks import TASKS, get_task


def test_the_four_mlperf_tiny_tasks_are_registered():
    assert list(TASKS) == ["kws01", "vww01", "ic01", "ad01"]
    assert all(name == task.name for name, task in TASKS.items())
    assert all(task.input_shape[0] == task.output_shape[0] == 1 for task in TASKS.values())


def test_unknown_task_suggests_a_name():
    with pytest.raises(ConfigError, match="Did you mean 'kws01'"):
        get_task("kws1")


def test_models_list_prints_every_task(capsys):
    assert main(["models", "list"]) == 0
    out = capsys.readouterr().out
    assert all(name in out for name in TASKS)
    assert "2.660 M MACs" in out


def test_export_converts_once_per_task_and_seed(tmp_path, monkeypatch):
    monkeypatch.setenv("TINYBENCH_CACHE", str(tmp_path))
    calls = []

    def fake_convert(task, seed):
        calls.append((task.name, seed))
        return f"{task.name}/{seed}".encode()

    monkeypatch.setattr(convert, "convert", fake_convert)
    first = export("ad01")
    assert export("ad01") == first
    assert export("ad01", seed=1).read_bytes() == b"ad01/1"
    assert first.read_bytes() == b"ad01/0"
    assert calls == [("ad01", 0), ("ad01", 1)]
