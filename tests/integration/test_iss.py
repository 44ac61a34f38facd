"""The built-in simulator on a small bare-metal program (tests/data/iss/prog.c) per board."""

import subprocess
from pathlib import Path

import pytest

from tinybench.analysis.profile import FunctionMap
from tinybench.boards import all_boards, get_board
from tinybench.errors import SimulationError
from tinybench.simulators import SIMULATORS
from tinybench.simulators.devices import DWT_PAGE, Uart
from tinybench.simulators.iss import IssSimulator
from tinybench.simulators.machine import Machine

pytestmark = [pytest.mark.toolchain, pytest.mark.usefixtures("private_cache")]
DATA = Path(__file__).parent.parent / "data" / "iss"
BUDGET = 5_000_000
UART_DEFINE = {"stm32-usart": "-DUART_STM32", "nrf-uart": "-DUART_NRF"}


@pytest.fixture(scope="module")
def programs(toolchain, tmp_path_factory) -> dict[str, Path]:
    """prog.c built for every board with the board's own flags and memory map."""
    gcc = toolchain.gcc
    out = tmp_path_factory.mktemp("iss")
    elves = {}
    for board in all_boards().values():
        ram = board.ram[0]
        symbols = {"FLASH_ORIGIN": board.flash.origin, "FLASH_SIZE": board.flash.size,
                   "RAM_ORIGIN": ram.origin, "RAM_SIZE": ram.size}
        elf = out / f"{board.name}.elf"
        subprocess.run(
            [gcc, *board.cflags, "-O2", "-g", "-ffreestanding", "-nostdlib",
             UART_DEFINE[board.uart.kind], f"-DUART_BASE={board.uart.base:#x}u",
             "-T", DATA / "prog.ld",
             *(f"-Wl,--defsym={k}={v:#x}" for k, v in symbols.items()),
             DATA / "prog.c", "-lgcc", "-o", elf],
            check=True,
        )
        elves[board.name] = elf
    return elves


BOARDS = pytest.mark.parametrize("board", list(all_boards()), ids=str)


def run(programs, board: str, uart_input: bytes, budget: int = BUDGET):
    return IssSimulator().run(programs[board], get_board(board), uart_input, budget)


def machine(elf: Path, board: str, uart_input: bytes) -> Machine:
    target = get_board(board)
    return Machine(elf, target, Uart(target.uart, uart_input), BUDGET)


def test_the_registry_offers_the_built_in_simulator():
    assert isinstance(SIMULATORS["iss"], IssSimulator)
    assert SIMULATORS["iss"].missing() is None


@BOARDS
def test_a_run_is_deterministic_and_the_firmware_timing_agrees_with_the_marks(programs, board):
    first = run(programs, board, b"ww")
    second = run(programs, board, b"ww")
    assert first == second
    lines = first.uart_output.decode().splitlines()
    assert lines[0] == "ready"
    assert lines[1].split()[1] == lines[2].split()[1]  # same workload result twice
    assert first.exit_reason == "idle"
    assert len(first.marks) == 4
    # the cycles the firmware measured with DWT CYCCNT are the model's
    spans = [b.cycles - a.cycles for a, b in zip(first.marks[::2], first.marks[1::2], strict=True)]
    assert [int(line.split()[3], 16) for line in lines[1:]] == spans
    assert sum(i for i, _ in first.functions.values()) == first.instructions
    assert sum(c for _, c in first.functions.values()) == first.cycles
    assert max(first.functions, key=lambda f: first.functions[f][1]) == "main"


@BOARDS
def test_systick_counts_model_cycles(programs, board):
    result = run(programs, board, b"t")
    period = int(result.uart_output.decode().splitlines()[1], 16)
    assert abs(period - 1000) < 20  # one reload period, seen through a polling loop


@BOARDS
def test_instruction_counts_equal_a_per_instruction_hook(programs, board):
    from unicorn import UC_HOOK_CODE
    from unicorn.arm_const import UC_ARM_REG_PC

    elf = programs[board]
    sim = machine(elf, board, b"www")
    functions = FunctionMap.from_elf(elf)
    seen: dict[str, int] = {}

    def each_instruction(uc, address, size, _):
        name = functions.name_at(address)
        seen[name] = seen.get(name, 0) + 1

    sim.uc.hook_add(UC_HOOK_CODE, each_instruction)
    result = sim.run()
    # the hook also saw the UART poll the run stopped at, which never completed
    seen[functions.name_at(sim.uc.reg_read(UC_ARM_REG_PC))] -= 1
    assert {name: i for name, (i, _) in result.functions.items()} == seen
    assert result.instructions == sum(seen.values())


@BOARDS
def test_a_cycle_counter_read_is_placed_at_its_load(programs, board):
    """A mark counts the instructions before the load that reads CYCCNT, not before its block."""
    from unicorn import UC_HOOK_CODE, UC_HOOK_MEM_READ

    plain = run(programs, board, b"ww")
    sim = machine(programs[board], board, b"ww")  # slowed by exact hooks
    started, before_reads = [0], []

    def count(uc, address, size, _):
        started[0] += 1

    def read(uc, access, address, size, value, _):
        before_reads.append(started[0] - 1)  # the load itself has started

    sim.uc.hook_add(UC_HOOK_CODE, count)
    sim.uc.hook_add(UC_HOOK_MEM_READ, read, begin=DWT_PAGE + 4, end=DWT_PAGE + 7)
    sim.run()
    assert [mark.instructions for mark in plain.marks] == before_reads


@BOARDS
@pytest.mark.parametrize(
    ("command", "message"),
    [
        (b"u", r"undefined instruction at pc 0x[0-9a-f]{8} in main"),
        (b"m", r"unmapped or protected address 0x70000000 at pc 0x[0-9a-f]{8} in main"),
        (b"h", r"HardFault: the firmware entered its fault handler from main .* "
               r"in HardFault_Handler"),
        (b"s", r"timeout: the instruction budget of 5,000,000 ran out"),
    ],
)
def test_faults_and_hangs_raise_with_the_pc_and_function(programs, board, command, message):
    with pytest.raises(SimulationError, match=message) as error:
        run(programs, board, b"w" + command)
    assert "UART output ended with" in str(error.value)


def test_an_elf_for_another_board_is_refused(programs):
    with pytest.raises(SimulationError, match="outside the memory of nrf52840"):
        IssSimulator().run(programs["stm32f746"], get_board("nrf52840"), b"", BUDGET)


@BOARDS
def test_the_harness_sets_up_its_clock_and_caches_and_profiles_by_function(board):
    from tinybench.firmware import build_firmware
    from tinybench.firmware.minimal import INPUT_BYTES, minimal_sources
    from tinybench.protocol import parse_session, session_script

    target = get_board(board)
    firmware = build_firmware(minimal_sources(), target)
    sim = machine(firmware.elf, board, session_script(bytes(INPUT_BYTES), runs=2))
    result = sim.run()
    session = parse_session(result.uart_output)
    assert session.clock_hz == target.clock_hz  # the STM32 RCC ready flags follow their enables
    assert sim.model().fetch_wait == 0  # the firmware turned its instruction cache on
    assert "tb_backend_invoke" in result.functions
    assert sim.counter.state.dcache.on == (target.dcache is not None)  # and its data cache


@BOARDS
def test_the_data_side_adds_exactly_its_stalls_and_changes_nothing_else(board):
    from tinybench.firmware import build_firmware
    from tinybench.firmware.minimal import INPUT_BYTES, minimal_sources
    from tinybench.protocol import session_script

    target = get_board(board)
    elf = build_firmware(minimal_sources(), target).elf
    script = session_script(bytes(range(INPUT_BYTES)), runs=2)
    with_data = IssSimulator().run(elf, target, script, 10**8)
    without = IssSimulator(data_side=False).run(elf, target, script, 10**8)
    assert with_data.data.flash_reads > 0 and without.data is None
    assert with_data.instructions == without.instructions
    assert with_data.cycles - without.cycles == with_data.data.stall_cycles
    assert sum(c for _, c in with_data.functions.values()) == with_data.cycles
    start, end = with_data.marks[-2:]
    assert end.cycles - start.cycles - (end.data.stall_cycles - start.data.stall_cycles) == (
        without.marks[-1].cycles - without.marks[-2].cycles)


@pytest.mark.slow
def test_the_speed_benchmark_runs(capsys):
    from tinybench.simulators.bench import main

    main(["--board", "nrf52840", "--runs", "1", "--repeat", "1"])
    out = capsys.readouterr().out
    assert "unicorn, no hooks" in out and "tinybench iss" in out and "ratio" in out
