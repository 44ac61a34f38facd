import shutil
from dataclasses import replace

import pytest

from tinybench.cli import main
from tinybench.errors import ConfigError
from tinybench.models import convert, twins
from tinybench.models.export import export
from tinybench.models.inspect import inspect_model
from tinybench.tasks import TASKS, get_task


def test_the_five_mlperf_tiny_tasks_are_registered():
    assert list(TASKS) == ["kws01", "vww01", "ic01", "ad01", "sww01"]
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


def test_the_default_seed_is_the_shipped_model_and_other_seeds_convert_once(tmp_path,
                                                                            monkeypatch):
    monkeypatch.setenv("TINYBENCH_CACHE", str(tmp_path))
    calls = []

    def fake_convert(task, seed, log):
        calls.append((task.name, seed))
        return f"{task.name}/{seed}".encode()

    monkeypatch.setattr(convert, "convert_quietly", fake_convert)
    assert export("ad01") == twins.twin_path("ad01")
    assert export("ad01", seed=1).read_bytes() == b"ad01/1"
    assert export("ad01", seed=1).read_bytes() == b"ad01/1"
    assert calls == [("ad01", 1)]


@pytest.mark.parametrize("name", TASKS)
def test_each_task_ships_its_model_as_its_definition_converts_it(name):
    task = TASKS[name]
    assert twins.stale(task) is None, "run `tinybench models freeze`, then regenerate the baseline"
    info = inspect_model(twins.twin_path(name))
    assert set(info.ops) == task.reference_ops
    assert [t.shape for t in info.inputs] == [task.input_shape]
    assert [t.shape for t in info.outputs] == [task.output_shape]


def test_a_changed_definition_makes_the_shipped_model_stale():
    task = replace(TASKS["ad01"], build=TASKS["kws01"].build)
    assert "run `tinybench models freeze ad01`" in twins.stale(task)


def test_a_damaged_shipped_model_is_refused(tmp_path, monkeypatch):
    folder = tmp_path / "twins"
    shutil.copytree(twins.FOLDER, folder)
    monkeypatch.setattr(twins, "FOLDER", folder)
    monkeypatch.setattr(twins, "MANIFEST", folder / "manifest.json")
    assert twins.twin_path("ad01").parent == folder
    (folder / "ad01.tflite").write_bytes(b"not the model")
    with pytest.raises(ConfigError, match="does not match its manifest"):
        twins.twin_path("ad01")
