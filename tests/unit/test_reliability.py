"""Reliability: damaged caches are rebuilt, unsupported models and missing pieces are refused
or skipped with a reason, and an interrupted matrix loses nothing (issue 9)."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import tarfile
import time
from functools import partial
from pathlib import Path

import numpy as np
import pytest
import tflite

from tests.unit.test_model_files import model_bytes  # small flatbuffers from tflite's builder
from tinybench import deps
from tinybench.backends import BACKENDS, tflm
from tinybench.backends.tflm import TFLM
from tinybench.backends.tflm_lib import TflmLibrary
from tinybench.backends.tvm import TvmBackend
from tinybench.boards import get_board
from tinybench.errors import ConfigError
from tinybench.matrix import matrix, run_matrix
from tinybench.models import convert, reference
from tinybench.models.export import export
from tinybench.paths import intact, seal, write_sealed
from tinybench.pipeline import Stages, run
from tinybench.results import Record, load_records
from tinybench.simulators.iss import IssSimulator
from tinybench.spec import RunSpec

TFLM_CHECKOUT = deps.status(deps.get("tflm")).path  # the user's, found before the cache moves


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("TINYBENCH_CACHE", str(tmp_path / "cache"))


def _damage(path: Path) -> None:
    """Flip one byte in the middle of a file, as a bad disk or a stray edit would."""
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


# -- cache entries carry a content hash; a damaged one is detected and rebuilt


def test_a_sealed_entry_is_intact_until_its_contents_change(tmp_path, caplog):
    entry = tmp_path / "entry.bin"
    assert not intact(entry)  # absent: nothing to report
    write_sealed(entry, b"0123456789")
    assert intact(entry)
    _damage(entry)
    assert not intact(entry)
    assert f"cache entry {entry} does not match its recorded hash" in caplog.text
    seal(entry)  # what a rebuild does after writing the entry again
    assert intact(entry)


def test_an_entry_without_its_seal_is_not_trusted(tmp_path):
    entry = tmp_path / "entry.bin"
    entry.write_bytes(b"written by something that did not seal it")
    assert not intact(entry)


def test_a_damaged_model_export_is_converted_again(monkeypatch, caplog):
    flatbuffer = model_bytes()
    calls = []
    monkeypatch.setattr(convert, "convert_quietly",
                        lambda task, seed, log: calls.append(task) or flatbuffer)
    path = export("ad01", seed=1)
    assert export("ad01", seed=1) == path and len(calls) == 1
    _damage(path)
    assert export("ad01", seed=1) == path and len(calls) == 2
    assert path.read_bytes() == flatbuffer
    assert "does not match its recorded hash" in caplog.text


def test_damaged_golden_data_is_recomputed(tmp_path, monkeypatch, caplog):
    model = tmp_path / "m.tflite"
    model.write_bytes(model_bytes())
    runs = []
    package, real_run = reference.ENGINES["litert"]
    monkeypatch.setitem(reference.ENGINES, "litert",
                        (package, lambda m, xs: runs.append(m) or real_run(m, xs)))
    first = reference.golden(model, count=2)
    (cached,) = (tmp_path / "cache" / "golden").glob("*.npz")
    _damage(cached)
    again = reference.golden(model, count=2)
    assert len(runs) == 2
    assert all(np.array_equal(a, b) for a, b in zip(first.outputs, again.outputs, strict=True))
    assert intact(cached)
    assert "does not match its recorded hash" in caplog.text


def test_a_damaged_arena_measurement_is_measured_again(tmp_path, monkeypatch):
    if TFLM_CHECKOUT is None:
        pytest.skip("needs the TFLM sources: tinybench deps fetch tflm")
    monkeypatch.setenv("TINYBENCH_TFLM_DIR", str(TFLM_CHECKOUT))
    model = tmp_path / "m.tflite"
    model.write_bytes(model_bytes())
    lib = TflmLibrary(tmp_path / "libtflm.a", "reference", (), "pin")
    lib.path.write_bytes(b"!<arch>\n")
    probes = []

    def probe(sources, board, input_sizes: tuple[int, ...]) -> int:
        probes.append(input_sizes)
        return 1000

    args = (TFLM, model, get_board("nrf52840"), lib, ("FULLY_CONNECTED",), tmp_path / "w", probe)
    assert tflm._arena_required(*args) == 1000
    (cached,) = (tmp_path / "cache" / "tflm" / "arena").glob("*.json")
    cached.write_text('{"arena_required_bytes": 10}\n')  # plausible, and wrong
    assert tflm._arena_required(*args) == 1000
    assert probes == [(4,), (4,)]


# -- models a backend cannot run are refused at the generate stage, naming op and backend


class Present:
    """A backend said to be installed, so that a run reaches its checks without its pieces."""

    def __init__(self, backend: object) -> None:
        self.backend = backend

    def __getattr__(self, name: str) -> object:
        return getattr(self.backend, name)

    def missing(self) -> None:
        return None


@pytest.fixture
def no_tools() -> Stages:
    """Stages that reach a backend's checks without a toolchain, tool versions or its pieces."""
    return Stages(backends={name: Present(b) for name, b in BACKENDS.items()},
                  toolchain=lambda: None, tools=dict)


@pytest.mark.parametrize("backend", list(BACKENDS))
def test_a_custom_op_fails_at_generate_naming_the_op_and_the_backend(backend, tmp_path, no_tools):
    model = tmp_path / "custom.tflite"
    model.write_bytes(model_bytes(custom=True))
    record = run(RunSpec(str(model), backend, "nrf52840"), no_tools)
    assert (record.status, record.stage) == ("failed", "generate")
    assert record.reason.startswith(f"custom.tflite uses CUSTOM:MyOp, which the {backend} backend "
                                    "cannot run")


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"\x00" * 64, "is not a TFLite flatbuffer"),
        (model_bytes()[:-40], "is truncated or damaged"),
        (model_bytes(input_type=tflite.TensorType.COMPLEX64), "is complex64, which no backend"),
        (model_bytes(signature=[1, -1]), "has a dynamic (-1) dimension"),
    ],
    ids=["not-a-flatbuffer", "truncated", "complex", "dynamic"],
)
def test_an_unusable_model_file_fails_at_convert_with_the_reason(data, reason, tmp_path, no_tools):
    model = tmp_path / "bad.tflite"
    model.write_bytes(data)
    record = run(RunSpec(str(model), "tvm", "stm32f746"), no_tools)
    assert (record.status, record.stage) == ("failed", "convert")
    assert reason in record.reason


# -- downloads: an archive may not write outside its folder


@pytest.mark.parametrize(
    ("name", "kind", "target"),
    [("top/../../escaped.h", tarfile.REGTYPE, ""), ("{tmp}/escaped.h", tarfile.REGTYPE, ""),
     ("top/link", tarfile.SYMTYPE, "../../escaped.h"),
     ("top/hard", tarfile.LNKTYPE, "/etc/passwd")],
    ids=["dotdot", "absolute", "symlink", "hardlink"],
)
def test_tar_entries_that_leave_the_folder_are_refused(name, kind, target, tmp_path):
    archive = tmp_path / "evil.tar"
    with tarfile.open(archive, "w") as tar:
        tar.addfile(tarfile.TarInfo("top/kiss_fft.h"), io.BytesIO(b""))
        entry = tarfile.TarInfo(name.format(tmp=tmp_path))
        entry.type, entry.linkname = kind, target
        tar.addfile(entry, io.BytesIO(b""))
    with pytest.raises(ConfigError, match=r"^evil\.tar"):
        deps.fetch("kissfft", archive, verify=False)
    # an absolute name is extracted below the folder (the tree then is not kissfft's), the
    # others are refused as unsafe: either way nothing lands outside it, nothing is installed
    assert not list(tmp_path.rglob("escaped.h"))
    assert deps.status(deps.get("kissfft")).state == "missing"


# -- a missing piece skips the runs that need it, with what to do


def test_missing_tvm_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "tvm", None)  # makes `import tvm` fail
    assert "install tinybench[tvm]" in TvmBackend().missing()


def test_missing_tflm_sources_name_the_variable_to_set(tmp_path, monkeypatch):
    monkeypatch.setenv("TINYBENCH_TFLM_DIR", str(tmp_path))
    assert "TINYBENCH_TFLM_DIR" in TFLM.missing()


def test_missing_renode_says_how_to_get_it(tmp_path, monkeypatch):
    renode = pytest.importorskip("tinybench.simulators.renode")
    monkeypatch.setenv("TINYBENCH_RENODE_DIR", str(tmp_path))  # a folder without renode-test
    assert renode.HOW_TO_GET in renode.RenodeSimulator().missing()


def test_a_matrix_skips_the_runs_whose_pieces_are_missing_and_runs_the_rest(tmp_path,
                                                                            monkeypatch):
    renode = pytest.importorskip("tinybench.simulators.renode")
    monkeypatch.setenv("TINYBENCH_RENODE_DIR", str(tmp_path))  # a folder without renode-test
    monkeypatch.setenv("TINYBENCH_TFLM_DIR", str(tmp_path))  # a folder without TFLM
    stages = Stages(backends={"tvm": Present(TvmBackend()), "tflm": TFLM},
                    simulators={"iss": IssSimulator(), "renode": renode.RenodeSimulator()},
                    toolchain=lambda: None,  # not what this test is about
                    tools=dict, model=_no_model)  # the run that can start ends quickly
    results = tmp_path / "results.jsonl"
    specs = matrix("ad01", "tvm,tflm", "nrf52840", "iss,renode", stages=stages)
    records, skipped = run_matrix(specs, results, runner=partial(run, stages=stages))
    assert [(r.label, r.stage) for r in records] == [("ad01/tvm/nrf52840/iss", "convert")]
    reasons = {spec.label: why for spec, why in skipped}
    assert sorted(reasons) == ["ad01/tflm/nrf52840/iss", "ad01/tflm/nrf52840/renode",
                               "ad01/tvm/nrf52840/renode"]
    assert renode.HOW_TO_GET in reasons["ad01/tvm/nrf52840/renode"]
    assert "TINYBENCH_TFLM_DIR" in reasons["ad01/tflm/nrf52840/iss"]
    assert load_records(results) == records


def _no_model(task: str) -> Path:
    raise ConfigError(f"no model for {task} in this test")


# -- Ctrl-C in the middle of a matrix: finished records stay, a re-run does only the rest

_INTERRUPTIBLE = """
import sys, time
from tinybench import cli, matrix
from tinybench.results import Record

def run(spec):  # the first run is quick, the second one hangs until interrupted
    time.sleep(0.2 if spec.task == "ad01" and spec.board == "stm32f746" else 600)
    return Record(task=spec.task_name, model_hash="h", backend=spec.backend, board=spec.board,
                  simulator=spec.simulator, clock_hz=1, cycles=1)

matrix.run = run
sys.exit(cli.main(["run", "--task", "ad01,kws01", "--backend", "tvm",
                   "--board", "stm32f746,nrf52840",
                   "--results", sys.argv[1], "-j", "1"]))
"""

_HANGING_RUNNER = """
import os, time
from tinybench.results import Record

def run(spec):  # the first run is quick, the others hang until interrupted
    with open(os.environ["PIDS"], "a") as pids:
        print(os.getpid(), file=pids)
    time.sleep(0.2 if spec.task == "ad01" and spec.board == "stm32f746" else 600)
    return Record(task=spec.task_name, model_hash="h", backend=spec.backend, board=spec.board,
                  simulator=spec.simulator, clock_hz=1, cycles=1)
"""
_IN_WORKERS = """
import sys
from tinybench import cli, matrix
from hanging import run

matrix.run = run
sys.exit(cli.main(["run", "--task", "ad01,kws01", "--backend", "tvm",
                   "--board", "stm32f746,nrf52840",
                   "--results", sys.argv[1], "-j", "2"]))
"""


def _hanging_matrix(folder: Path, stderr: int) -> tuple[subprocess.Popen, Path, Path]:
    """`tinybench run -j 2` of four hanging runs (all but the first) in a new process; it,
    its results file and the file its workers write their pids to."""
    (folder / "hanging.py").write_text(_HANGING_RUNNER)
    results, pids = folder / "results.jsonl", folder / "pids"
    env = {**os.environ, "PIDS": str(pids),
           "PYTHONPATH": os.pathsep.join([str(folder), *sys.path])}
    child = subprocess.Popen([sys.executable, "-c", _IN_WORKERS, results], env=env,
                             stderr=stderr, text=True)
    return child, results, pids


def test_ctrl_c_stops_the_worker_processes_and_keeps_what_finished(tmp_path):
    child, results, pids = _hanging_matrix(tmp_path, subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while not results.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.3)  # the freed worker takes the next run
        sent = time.monotonic()
        child.send_signal(signal.SIGINT)
        _, stderr = child.communicate(timeout=30)
        took = time.monotonic() - sent
    finally:
        child.kill()
    assert child.returncode == 130 and took < 5, stderr
    assert "tinybench: interrupted; 1 finished and kept, 3 left" in stderr
    assert "Traceback" not in stderr
    assert [r.label for r in load_records(results)] == ["ad01/tvm/stm32f746/iss"]
    workers = {int(pid) for pid in pids.read_text().split()}
    assert len(workers) == 2 and os.getpid() not in workers
    for pid in workers:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


def _running(pid: int) -> bool:
    """Whether process `pid` exists and is not a zombie waiting to be reaped."""
    try:
        return " (Z) " not in Path(f"/proc/{pid}/stat").read_text().split(")", 1)[1][:5]
    except (FileNotFoundError, ProcessLookupError):
        return False


def test_workers_of_a_main_process_killed_outright_stop_too(tmp_path):
    child, _, pids = _hanging_matrix(tmp_path, subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while len(pids.read_text().split() if pids.exists() else []) < 3:
        assert time.monotonic() < deadline, "the workers did not start their runs"
        time.sleep(0.05)
    child.kill()  # SIGKILL: no chance to stop its workers
    child.wait()
    workers = {int(pid) for pid in pids.read_text().split()}
    deadline = time.monotonic() + 10
    while any(_running(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [pid for pid in workers if _running(pid)]


def test_ctrl_c_keeps_finished_records_and_a_resumed_run_does_only_the_rest(tmp_path,
                                                                            monkeypatch):
    results = tmp_path / "results.jsonl"
    child = subprocess.Popen([sys.executable, "-c", _INTERRUPTIBLE, results],
                             stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not results.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        child.send_signal(signal.SIGINT)
        _, stderr = child.communicate(timeout=30)
    finally:
        child.kill()
    assert child.returncode == 130
    assert ("tinybench: interrupted; 1 finished and kept, 3 left: ad01/tvm/nrf52840/iss, "
            "kws01/tvm/stm32f746/iss, kws01/tvm/nrf52840/iss") in stderr
    finished = results.read_text()
    assert [r.label for r in load_records(results)] == ["ad01/tvm/stm32f746/iss"]

    ran = []
    specs = matrix("ad01,kws01", "tvm", "stm32f746,nrf52840")
    records, _ = run_matrix(specs, results, resume=True,
                            runner=lambda spec: ran.append(spec.label) or _ok(spec))
    assert ran == ["ad01/tvm/nrf52840/iss", "kws01/tvm/stm32f746/iss", "kws01/tvm/nrf52840/iss"]
    assert [r.key for r in records] == [s.key for s in specs]
    assert results.read_text().startswith(finished)
    assert len(load_records(results)) == 4


def _ok(spec: RunSpec) -> Record:
    return Record(task=spec.task_name, model_hash="h", backend=spec.backend, board=spec.board,
                  simulator=spec.simulator, clock_hz=64_000_000, cycles=1000)
