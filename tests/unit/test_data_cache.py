"""The data-side memory model: Flash data reads through a board's data cache (blockcount.c)."""

from __future__ import annotations

import pytest

from tinybench.boards import get_board
from tinybench.simulators.cycles import FlashDataTiming
from tinybench.simulators.native import BlockCounter, map_flash, unavailable

pytestmark = pytest.mark.skipif(unavailable() is not None, reason=str(unavailable()))

FLASH, DATA, RAM = 0x08000000, 0x08001000, 0x20000000
WORDS = 32  # 128 bytes of data, read one word at a time: 4 lines of 32 bytes


def _program(passes: int) -> bytes:
    """Thumb code: `passes` times, LDR r1, [r0, #4*i] for each word i; then a branch to itself."""
    loads = [0x6801 | i << 6 for i in range(WORDS)]  # LDR r1, [r0, #imm5 * 4]
    halves = loads * passes + [0xE7FE]  # B .
    return b"".join(h.to_bytes(2, "little") for h in halves)


def _run(timing: FlashDataTiming, cache_on: bool, passes: int = 2, code: bytes = b"",
         data: int = DATA) -> BlockCounter:
    """Run `code` (default: `passes` over the words at `data`) from Flash with r0 = `data`."""
    from unicorn import UC_ARCH_ARM, UC_MODE_MCLASS, UC_MODE_THUMB, Uc, arm_const

    uc = Uc(UC_ARCH_ARM, UC_MODE_THUMB | UC_MODE_MCLASS)
    uc.ctl_set_cpu_model(arm_const.UC_CPU_ARM_CORTEX_M4)
    flash = map_flash(uc, FLASH, 0x10000)
    uc.mem_map(RAM, 0x1000)
    code = code or _program(passes)
    uc.mem_write(FLASH, code)
    uc.reg_write(arm_const.UC_ARM_REG_R0, data)
    counter = BlockCounter.attach(uc, 10**6, (), timing, flash)
    counter.set_data_cache(cache_on)
    uc.emu_start(FLASH | 1, FLASH + len(code) - 2)
    return counter


def _timing(board: str) -> FlashDataTiming:
    timing = FlashDataTiming.for_board(get_board(board))
    return FlashDataTiming(**{**vars(timing), "origin": FLASH, "end": FLASH + 0x10000})


def test_a_cache_misses_once_per_line_and_keeps_what_fits():
    data = _run(_timing("stm32f746"), cache_on=True).data()  # 4 KiB, 32-byte lines
    assert (data.flash_reads, data.hits, data.stall_cycles) == (2 * WORDS, 2 * WORDS - 4, 4 * 7)


def test_without_the_cache_every_read_waits():
    data = _run(_timing("stm32f746"), cache_on=False).data()
    assert (data.flash_reads, data.hits, data.stall_cycles) == (2 * WORDS, 0, 2 * WORDS * 7)


def test_a_board_without_a_data_cache_charges_every_read():
    timing = _timing("nrf52840")
    assert timing.sets == 0
    data = _run(timing, cache_on=True).data()
    assert data.stall_cycles == 2 * WORDS * get_board("nrf52840").flash.wait_states


def test_lines_beyond_the_capacity_are_evicted_least_recently_used_first():
    small = FlashDataTiming(FLASH, FLASH + 0x10000, sets=1, ways=2, line=32, read_bytes=8,
                            miss_stall=5, uncached_stall=5)
    data = _run(small, cache_on=True).data()  # 4 lines cycled through 2: every line misses
    assert (data.hits, data.stall_cycles) == (2 * (WORDS - 4), 2 * 4 * 5)


def test_an_unaligned_read_counts_as_two_and_stalls_as_one_access():
    ldr_then_loop = bytes.fromhex("0168fee7")  # LDR r1, [r0]; B .
    cached = _run(_timing("stm32f746"), True, code=ldr_then_loop, data=DATA + 2).data()
    assert (cached.flash_reads, cached.hits, cached.stall_cycles) == (2, 1, 7)  # one line
    timing = _timing("nrf52840")  # no cache: each 32-bit Flash access the read spans waits
    uncached = _run(timing, True, code=ldr_then_loop, data=DATA + 2).data()
    assert (uncached.flash_reads, uncached.stall_cycles) == (2, 2 * timing.uncached_stall)


def test_the_stalls_are_charged_to_the_block_that_read():
    counter = _run(_timing("stm32f746"), cache_on=True)
    assert int(counter.edges()["stall"].sum()) == counter.data().stall_cycles


def test_the_l4r5_art_data_cache_is_eight_lines_of_32_bytes():
    timing = FlashDataTiming.for_board(get_board("nucleo-l4r5zi"))
    assert (timing.sets, timing.ways, timing.line, timing.miss_stall) == (1, 8, 32, 5)


# bl f; cbz r0, done; adds r3, r4, #1; ... f: cmp r1, #1; ite hi; ldrhhi r0, [r0, r1]; movls r0,
# #0; bx lr — a conditional load from Flash in an IT block that ends before the function returns
IT_THEN_RETURN = bytes.fromhex(
    "07480221072400f004f808b1631ca51cfee701298cbf405a0020704704000500" "1c000008")


def test_a_conditional_load_leaves_no_it_state_behind():
    """Unicorn 2.1.4 would run `adds r3, r4, #1` after the return as if in the IT block."""
    from unicorn import UC_ARCH_ARM, UC_MODE_MCLASS, UC_MODE_THUMB, Uc, arm_const

    uc = Uc(UC_ARCH_ARM, UC_MODE_THUMB | UC_MODE_MCLASS)
    uc.ctl_set_cpu_model(arm_const.UC_CPU_ARM_CORTEX_M4)
    flash = map_flash(uc, FLASH, 0x10000)
    uc.mem_map(RAM, 0x1000)
    uc.mem_write(FLASH, IT_THEN_RETURN)
    uc.reg_write(arm_const.UC_ARM_REG_SP, RAM + 0x1000)
    counter = BlockCounter.attach(uc, 10**6, (), _timing("nrf52840"), flash)
    uc.emu_start(FLASH | 1, FLASH + 0x10)
    assert counter.data().flash_reads == 2  # the literal and the conditional load
    assert uc.reg_read(arm_const.UC_ARM_REG_R3) == 8
