"""The board runner against a scripted device on a pseudo-terminal, and the choice of flasher."""

import os
import pty
import select
import threading
import time
import tty
from pathlib import Path

import numpy as np
import pytest

from tinybench.analysis.elf import MemoryReport
from tinybench.artifacts import Firmware, FirmwareSources
from tinybench.board import flash
from tinybench.board.runner import Dut, run_on_board, run_session
from tinybench.boards import get_board
from tinybench.errors import ConfigError, DeviceError, ToolNotFoundError
from tinybench.models.reference import Golden
from tinybench.pipeline import Prepared
from tinybench.spec import RunSpec

pytest.importorskip("serial", reason="pyserial is not installed (pip install 'tinybench[board]')")

OUTPUTS = [3, -7, 120]


def replies(command: str) -> list[str] | None:
    """A well-behaved device running 'ad01' (None: say nothing at all)."""
    if command == "name":
        return ["m-name-dut-[tinybench-fake]"]
    if command == "profile":
        return ["m-profile-[tinybench]", "m-model-ad01", "m-tb-clock-hz-48000000"]
    if command.startswith("db load"):
        return [f"m-[Expecting {command.split()[-1]} bytes]"]
    if command.startswith("db "):
        return ["m-load-done"]
    if command == "infer 3 1":
        return ["m-warmup-start-1", "m-warmup-done", "m-infer-start-3", "m-lap-us-10",
                "m-lap-us-40", "m-tb-cycles-[500,400,450]", "m-tb-arena-bytes-64",
                "m-tb-stack-bytes-300", "m-infer-done"]
    if command == "results":
        return [f"m-results-[{','.join(map(str, OUTPUTS))}]"]
    return [f"e-[Unknown command: {command}]"]


class FakeDevice:
    """A device on a pty that answers every '%'-terminated command through `answer`."""

    def __init__(self, answer) -> None:
        self.master, self.slave = pty.openpty()
        tty.setraw(self.slave)
        self.port, self.answer, self.stop = os.ttyname(self.slave), answer, threading.Event()
        self.thread = threading.Thread(target=self.serve, daemon=True)

    def serve(self) -> None:
        self.send(["m-init-done", "m-ready"])  # what a board prints after reset
        pending = b""
        while not self.stop.is_set():
            if select.select([self.master], [], [], 0.05)[0]:
                pending += os.read(self.master, 1024)
            while b"%" in pending:
                command, _, pending = pending.partition(b"%")
                lines = self.answer(command.decode())
                if lines is not None:
                    self.send([*lines, "m-ready"])

    def send(self, lines: list[str]) -> None:
        os.write(self.master, "".join(f"{line}\r\n" for line in lines).encode())

    def __enter__(self) -> "FakeDevice":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        self.thread.join()
        os.close(self.master)
        os.close(self.slave)


def target(model: str = "ad01", inputs: int = 2) -> Prepared:
    board = get_board("nrf52840")
    sources = FirmwareSources(backend="tvm", sources=(), defines=(f'TB_MODEL="{model}"',))
    firmware = Firmware(elf=Path("fw.elf"), map=Path("fw.map"), board=board, sources=sources,
                        key="k")
    memory = MemoryReport(board="nrf52840", flash_bytes=1000, ram_bytes=200, text_bytes=900,
                          data_bytes=100, bss_bytes=100, flash_sections={}, ram_sections={},
                          flash_components={}, ram_components={})
    data = [(np.full(4, i, np.int8),) for i in range(inputs)]
    golden = Golden(inputs=data, outputs=[(np.array(OUTPUTS, np.int8),)] * inputs,
                    output_steps=(None,))
    spec = RunSpec("ad01", "tvm", "nrf52840", inputs=inputs)
    return Prepared(spec, firmware, memory, golden, model_hash="h", tools={"gcc": "12"})


def test_a_session_skips_boot_messages_and_reads_the_replies():
    with FakeDevice(replies) as device, Dut(device.port, timeout=5) as dut:
        dut.sync()
        session = run_session(dut, bytes(4), runs=3, warmups=1)
    assert session.outputs == (tuple(OUTPUTS),)
    assert session.cycles == (500, 400, 450)
    assert session.lap_us == 30


def test_a_board_run_is_a_record_beside_the_simulated_ones():
    with FakeDevice(replies) as device:
        record = run_on_board(target(), device.port, runs=3, warmups=1, timeout=5)
    assert record.key == ("ad01", "tvm", "nrf52840", "board", "twin")
    assert record.cycles == 450  # the median of every timed inference
    assert record.clock_hz == 48_000_000  # what the board says it set up
    assert (record.check.inputs, record.check.max_abs_diff) == (2, 0)
    assert (record.arena_bytes, record.stack_bytes) == (64, 300)
    assert record.memory.flash_bytes == 1000
    assert record.options == {"opt": "-O2", "inputs": "2", "runs": "3", "warmups": "1"}


def test_a_silent_board_is_a_timeout_not_a_hang():
    def mute_on_infer(command: str):
        return None if command.startswith("infer") else replies(command)

    start = time.monotonic()
    with FakeDevice(mute_on_infer) as device, Dut(device.port, timeout=0.5) as dut:
        dut.sync()
        with pytest.raises(DeviceError, match=r"no complete reply to 'infer 3 1' within 0.5 s"):
            run_session(dut, bytes(4), runs=3, warmups=1)
    assert time.monotonic() - start < 5


def test_an_error_line_from_the_board_names_the_problem():
    def failing(command: str):
        if command.startswith("infer"):
            return ["m-infer-start-3", "e-[tb_backend_invoke failed: -2]"]
        return replies(command)

    with FakeDevice(failing) as device, Dut(device.port, timeout=5) as dut:
        dut.sync()
        with pytest.raises(DeviceError, match=r"invoke failed: -2"):
            run_session(dut, bytes(4), runs=3, warmups=1)


def test_a_board_running_another_model_is_refused_before_any_inference():
    with FakeDevice(replies) as device, pytest.raises(DeviceError, match="runs model 'ad01', "
                                                      "not 'kws01'; flash it"):
        run_on_board(target(model="kws01"), device.port, timeout=5)


def test_a_port_that_cannot_be_opened_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="cannot open serial port"):
        Dut(str(tmp_path / "ttyNONE"))


# --- flashing -------------------------------------------------------------------------------
@pytest.fixture
def installed(monkeypatch):
    """Pretend exactly the tools in the returned set are on PATH."""
    tools: set[str] = set()
    monkeypatch.setattr(flash.shutil, "which", lambda name: f"/bin/{name}" if name in tools
                        else None)
    return tools


def test_the_first_installed_tool_in_preference_order_is_used(installed):
    board = get_board("stm32f746")
    installed.update({"openocd", "st-flash"})
    assert flash.choose(board).tool == "st-flash"
    installed.add("pyocd")
    assert flash.choose(board).tool == "pyocd"
    assert flash.choose(board, "openocd").tool == "openocd"


def test_no_tool_says_how_to_get_one(installed):
    with pytest.raises(ToolNotFoundError, match=r"no tool to flash nrf52840.*pip install"):
        flash.choose(get_board("nrf52840"))
    with pytest.raises(ToolNotFoundError, match=r"\(st-flash\)"):
        flash.choose(get_board("stm32f746"), "st-flash")
    with pytest.raises(ConfigError, match="nrfjprog cannot flash stm32f746"):
        flash.choose(get_board("stm32f746"), "nrfjprog")


def test_commands_get_the_image_format_and_address_they_need(monkeypatch):
    made = []

    def image(elf, fmt, suffix):
        made.append(fmt)
        return elf.with_suffix(suffix)

    monkeypatch.setattr(flash, "_image", image)
    elf = Path("/fw/kws.elf")
    st = next(f for f in get_board("stm32f746").flashers if f.tool == "st-flash")
    assert flash.command(st, elf, get_board("stm32f746")) == [
        "st-flash", "--reset", "write", "/fw/kws.bin", "0x08000000"]
    nrf = next(f for f in get_board("nrf52840").flashers if f.tool == "nrfjprog")
    assert "/fw/kws.hex" in flash.command(nrf, elf, get_board("nrf52840"))
    ocd = next(f for f in get_board("nrf52840").flashers if f.tool == "openocd")
    assert flash.command(ocd, elf, get_board("nrf52840"))[-1] == \
        "program /fw/kws.elf verify reset exit"
    assert made == ["binary", "ihex"]


def test_a_failed_flash_is_a_device_error_with_the_tool_hint(installed, monkeypatch):
    installed.add("pyocd")

    def run(argv, **kwargs):
        assert kwargs["timeout"] == flash.TIMEOUT
        raise kwargs["error"]("pyocd failed (exit 1):\nTarget type stm32f746nghx not recognized")

    monkeypatch.setattr(flash._cmd, "run", run)
    with pytest.raises(DeviceError, match=r"(?s)flashing stm32f746 failed.*pyocd pack install"):
        flash.flash(Path("/fw/kws.elf"), get_board("stm32f746"))
