"""The host side of a board run: the MLPerf Tiny device-under-test protocol over a serial port.

`Dut` sends one command at a time (115200 8N1, terminated by '%') and returns the reply lines
up to `m-ready`; every wait has a deadline, so a silent or unplugged board raises DeviceError
instead of hanging. `run_on_board` runs one session per host reference input — the commands
come from tinybench.protocol and the replies are read by its `parse_session` — and makes a
Record with simulator "board": the median of the DWT cycles of every timed inference, the
outputs compared with the host reference, and the memory of the ELF that was flashed.

Of the MLPerf Tiny runner's command set, sessions use `name`, `profile`, `db load N`,
`db <hex>`, `infer N W` and `results`: performance mode, with the outputs checked (the firmware
also answers `timestamp` and `db print`), and accuracy mode (`accuracy_on_board`: every sample
of a data set, scored as tinybench.accuracy scores a simulated run). Energy mode (an IO manager
between host and board, GPIO timestamps, an energy monitor) is not supported; a measured energy
per inference can be given to `tinybench board run --energy-uj`.
"""

from __future__ import annotations

import dataclasses
import statistics
import time
from pathlib import Path

from tinybench.accuracy import CHUNK, ChunkResult, Progress, evaluate, no_progress
from tinybench.artifacts import LayerProfile
from tinybench.boards import get_board
from tinybench.dataset import read_dataset
from tinybench.errors import ConfigError, DeviceError, ToolNotFoundError
from tinybench.pipeline import Prepared, Stages, model_file, output_check, session_profile
from tinybench.protocol import (
    Inputs,
    Session,
    completed_session,
    output_tensors,
    parse_session,
    session_commands,
)
from tinybench.provenance import make_record
from tinybench.results import Memory, Record

BAUD = 115200
TIMEOUT = 60.0  # seconds a command may take, `infer` included
SIMULATOR = "board"  # the Record.simulator of runs on real hardware


class Dut:
    """A device under test on a serial port: `with Dut(port) as dut: dut.command("name")`."""

    def __init__(self, port: str, timeout: float = TIMEOUT) -> None:
        try:
            import serial
        except ImportError:
            raise ToolNotFoundError(
                "board runs need pyserial: pip install 'tinybench[board]'") from None
        self._errors = (serial.SerialException, OSError)
        self.port, self.timeout, self._pending = port, timeout, b""
        try:
            self.serial = serial.Serial(port, BAUD, timeout=timeout, write_timeout=timeout)
        except self._errors as error:
            raise ConfigError(f"cannot open serial port {port} ({error}); give the board's port "
                              "with --port, e.g. /dev/ttyACM0") from None

    def __enter__(self) -> Dut:
        return self

    def __exit__(self, *exc: object) -> None:
        self.serial.close()

    def sync(self) -> None:
        """Reach a known state: end any half-received command, then await `name`'s reply."""
        self._io(self.serial.reset_input_buffer)
        self._write("%name%")
        deadline = time.monotonic() + self.timeout
        while not self._line(deadline, "name").startswith("m-name-dut-"):
            pass  # boot messages, and the reply to the empty command
        while self._line(deadline, "name") != "m-ready":
            pass

    def command(self, text: str) -> list[str]:
        """Send one command; return its reply lines, without the final `m-ready`."""
        self._write(f"{text}%")
        deadline = time.monotonic() + self.timeout
        lines = []
        while (line := self._line(deadline, text)) != "m-ready":
            lines.append(line)
        return lines

    def _write(self, text: str) -> None:
        self._io(self.serial.write, text.encode())
        self._io(self.serial.flush)

    def _line(self, deadline: float, command: str) -> str:
        while b"\n" not in self._pending:
            left = deadline - time.monotonic()
            if left <= 0:
                raise DeviceError(
                    f"{self.port}: no complete reply to '{command[:24]}' within "
                    f"{self.timeout:g} s; is the board connected and flashed with tinybench "
                    "firmware (tinybench board flash)? Raise --timeout for slow models")
            self._pending += self._io(self._receive, left)
        line, _, self._pending = self._pending.partition(b"\n")
        return line.decode("ascii", "replace").strip()

    def _receive(self, timeout: float) -> bytes:
        """What has arrived, or the next byte within `timeout` seconds (b"" if none)."""
        self.serial.timeout = timeout
        return self.serial.read(max(1, self.serial.in_waiting))

    def _io(self, call, *args):
        try:
            return call(*args)
        except self._errors as error:
            raise DeviceError(f"{self.port}: the serial port failed ({error}); "
                              "was the board unplugged or reset?") from None


def run_session(dut: Dut, inputs: Inputs, runs: int, warmups: int) -> Session:
    """One session: identify, load `inputs`, infer `runs` times after `warmups`, read outputs."""
    lines = [line for command in session_commands(inputs, runs, warmups)
             for line in dut.command(command)]
    session = completed_session("\n".join(lines), f"{dut.port}: the board", DeviceError)
    if len(session.cycles) != runs:
        raise DeviceError(f"{dut.port}: the board reported {len(session.cycles)} cycle counts "
                          f"for {runs} inferences (it records at most 32; use fewer --runs)")
    return session


def run_on_board(target: Prepared, port: str, runs: int = 5, warmups: int = 1,
                 timeout: float = TIMEOUT) -> Record:
    """Run every reference input on the board at `port`; the Record has simulator "board"."""
    spec = target.spec
    with Dut(port, timeout) as dut:
        dut.sync()
        _check_model(parse_session("\n".join(dut.command("profile"))), target, port)
        sessions = [run_session(dut, [x.tobytes() for x in sample], runs, warmups)
                    for sample in target.golden.inputs]
    dtypes = [x.dtype for x in target.golden.outputs[0]]
    check = output_check(target, [output_tensors(s, dtypes) for s in sessions])
    cycles = [c for session in sessions for c in session.cycles]
    last = sessions[-1]
    board = get_board(spec.board)
    record = make_record(dataclasses.replace(spec, simulator=SIMULATOR), board, target.model_hash,
                         target.tools, cycles=int(statistics.median(cycles)),
                         memory=Memory.from_report(target.memory), arena_bytes=last.arena_bytes,
                         stack_bytes=last.stack_bytes, check=check)
    return dataclasses.replace(
        record, clock_hz=last.clock_hz or board.clock_hz,
        options={**record.options, "runs": str(runs), "warmups": str(warmups)})


def accuracy_on_board(target: Prepared, port: str, data: Path, timeout: float = TIMEOUT,
                      progress: Progress = no_progress, chunk: int = CHUNK,
                      kept: Path | None = None) -> Record:
    """The task's metric over the data set in `data` on the board at `port` and on the host;
    the Record has simulator "board". Finished chunks are kept, as in a simulated run."""
    dataset = read_dataset(data)
    board_target = dataclasses.replace(
        target, spec=dataclasses.replace(target.spec, simulator=SIMULATOR))
    with Dut(port, timeout) as dut:
        dut.sync()
        _check_model(parse_session("\n".join(dut.command("profile"))), target, port)

        def run_chunk(inputs: list[bytes]) -> ChunkResult:
            sessions = [run_session(dut, tensor, runs=1, warmups=0) for tensor in inputs]
            return ChunkResult([s.outputs[0] for s in sessions], [s.cycles[0] for s in sessions],
                               [], sessions[-1].arena_bytes, sessions[-1].stack_bytes)

        return evaluate(board_target, model_file(target.spec.task, target.spec.weights), dataset,
                        {**target.tools, "simulator": SIMULATOR}, run_chunk, Stages(),
                        progress, chunk=chunk, kept=kept)


def profile_on_board(target: Prepared, port: str, timeout: float = TIMEOUT) -> LayerProfile:
    """The per-layer profile of the first reference input on a board flashed with the profile
    build (`tinybench board flash --profile`)."""
    with Dut(port, timeout) as dut:
        dut.sync()
        _check_model(parse_session("\n".join(dut.command("profile"))), target, port)
        session = run_session(dut, [x.tobytes() for x in target.golden.inputs[0]], 1, 0)
    if not session.layer_cycles:
        raise DeviceError(f"{port}: the board reported no layers; flash the profile build with "
                          f"tinybench board flash --profile --board {target.spec.board} "
                          f"--task {target.spec.task} --backend {target.spec.backend}")
    return session_profile(target, session)


def _check_model(session: Session, target: Prepared, port: str) -> None:
    """Refuse a board that runs another model than the firmware built for this spec."""
    prefix = "TB_MODEL="
    built = next(d for d in target.firmware.sources.defines if d.startswith(prefix))
    expected = built.removeprefix(prefix).strip('"')
    if session.model != expected:
        raise DeviceError(
            f"{port}: the board runs model '{session.model}', not '{expected}'; flash it with "
            f"tinybench board flash --board {target.spec.board} --task {target.spec.task} "
            f"--backend {target.spec.backend}")
