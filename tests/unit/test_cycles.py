"""The cycle model on hand-encoded Thumb code (no toolchain needed)."""

import struct

import pytest

from tinybench.boards import Region, all_boards
from tinybench.errors import ConfigError
from tinybench.simulators.cycles import CONDITIONAL, CORE_TIMINGS, CortexM7, CycleModel

FLASH = Region("FLASH", 0x08000000, 0x100000, wait_states=7)
M7_MISPREDICT = CortexM7.mispredict
BASE = 0x20000000  # code in RAM: no fetch wait states

LDR_R0_R1 = 0x6808  # ldr r0, [r1]
LDR_R2_R3 = 0x681A  # ldr r2, [r3]
ADDS_R0_1 = 0x3001  # adds r0, #1
ADDS_R1_1 = 0x3101  # adds r1, #1
LDR_R1_R0 = 0x6801  # ldr r1, [r0]
LDR_R0_R0 = 0x6800  # ldr r0, [r0]
LDR_R3_R0_POST = (0xF850, 0x3B04)  # ldr r3, [r0], #4
LDR_R2_R0_POST = (0xF850, 0x2B04)  # ldr r2, [r0], #4
CMP_R0_0 = 0x2800  # cmp r0, #0
BNE_BACK = 0xD1FD  # bne .-2: back to the cmp, the start of its block
NOP = 0xBF00


def code(*halfwords: int) -> bytes:
    return struct.pack(f"<{len(halfwords)}H", *halfwords)


def cycles_of(core: str, *halfwords: int) -> int:
    model = CycleModel(core, FLASH, icache=False)
    return model.block(BASE, 2 * len(halfwords), lambda a, n: code(*halfwords)).cycles


@pytest.mark.parametrize(
    ("halfwords", "m4", "m7"),
    [
        ((LDR_R0_R1, LDR_R2_R3), 3, 1),  # M4: back-to-back loads pipeline; M7: two load pipes
        ((ADDS_R0_1, LDR_R1_R0), 4, 3),  # M4: AGU interlock +1; M7: address needed a cycle early
        ((ADDS_R0_1, ADDS_R1_1), 2, 1),  # M7 dual-issues independent ALU operations
        ((ADDS_R0_1, ADDS_R0_1), 2, 2),  # ... but not dependent ones
        ((LDR_R0_R0, LDR_R1_R0), 5, 3),  # pointer chasing: no pipelining, AGU waits
        ((*LDR_R3_R0_POST, *LDR_R2_R0_POST), 3, 2),  # streaming loads with write-back pipeline
    ],
)
def test_instruction_timing_rules(halfwords, m4, m7):
    assert cycles_of("cortex-m4", *halfwords) == m4
    assert cycles_of("cortex-m7", *halfwords) == m7


@pytest.mark.parametrize("core", ["cortex-m4", "cortex-m7"])
@pytest.mark.parametrize("halfwords", [(LDR_R0_R1, LDR_R2_R3), (ADDS_R0_1, ADDS_R1_1),
                                       (ADDS_R0_1, LDR_R1_R0)])
def test_a_block_cut_in_two_costs_what_the_whole_block_costs(core, halfwords):
    """Simulators cut long blocks at different places; the cut must not change the cycles."""
    model = CycleModel(core, FLASH, icache=False)
    read = lambda address, size: code(*halfwords)[address - BASE:][:size]  # noqa: E731
    whole = model.estimate([(1, BASE, 4, 1)], read).cycles
    assert model.estimate([(1, BASE, 2, 1), (BASE, BASE + 2, 2, 1)], read).cycles == whole


def loop_model(core: str, icache: bool = True) -> tuple[CycleModel, callable]:
    """A two-instruction loop block at either BASE or the flash origin, then two NOPs."""
    image = code(CMP_R0_0, BNE_BACK, NOP, NOP)
    model = CycleModel(core, FLASH, icache=icache)
    return model, lambda address, size: image[address % 0x100 :][:size]


def test_a_taken_m4_branch_refills_the_pipeline_and_waits_for_uncached_flash():
    loop = FLASH.origin
    model, read = loop_model("cortex-m4", icache=False)
    block = model.block(loop, 4, read)
    assert block.branch == CONDITIONAL and block.target == loop
    exit_block = model.block(loop + 4, 4, read)
    assert model.edge_penalty(block, block) == 1 + 7  # refill + flash wait states
    assert model.edge_penalty(block, exit_block) == 0  # not taken
    cached, _ = loop_model("cortex-m4", icache=True)
    assert cached.edge_penalty(cached.block(loop, 4, read), cached.block(loop, 4, read)) == 1


def test_a_branch_ending_two_blocks_is_one_m7_branch_site():
    """The predictor sees a branch, not the blocks a simulator happened to end with it."""
    loop = BASE
    model, read = loop_model("cortex-m7")
    # the cmp+bne block loops 49 times then leaves; the bne alone is also entered 50 times
    # from elsewhere, and each time falls through: one branch, 49 taken and 51 not
    edges = [(1, loop, 4, 1), (loop, loop, 4, 49), (loop, loop + 4, 4, 1),
             (1, loop + 2, 2, 50), (loop + 2, loop + 4, 4, 50)]
    body = model.block(loop, 4, read).cycles
    bne = model.block(loop + 2, 2, read).cycles
    after = model.block(loop + 4, 4, read).cycles
    expected = 50 * body + 50 * bne + 51 * after + 49 * M7_MISPREDICT
    assert model.estimate(edges, read).cycles == expected


def test_a_block_cut_short_once_does_not_change_the_loop_cost():
    """Renode sometimes ends a block early; edges name only the previous block's start."""
    loop = BASE
    model, read = loop_model("cortex-m4", icache=False)
    whole = [(1, loop, 4, 1), (loop, loop, 4, 99), (loop, loop + 4, 4, 1)]
    # the 99th iteration is cut after the cmp: a 2-byte block at the same address, then the bne
    cut = [(1, loop, 4, 1), (loop, loop, 4, 97), (loop, loop, 2, 1), (loop, loop + 2, 2, 1),
           (loop + 2, loop, 4, 1), (loop, loop + 4, 4, 1)]
    assert model.estimate(cut, read).cycles == model.estimate(whole, read).cycles


def test_m7_loop_branch_mispredicts_once_per_exit():
    loop = BASE
    model, read = loop_model("cortex-m7")
    # entered once from elsewhere, looped 99 times, left once
    edges = [(1, loop, 4, 1), (loop, loop, 4, 99), (loop, loop + 4, 4, 1)]
    estimate = model.estimate(edges, read)
    body = model.block(loop, 4, read).cycles
    assert estimate.cycles == 100 * body + 1 * model.block(loop + 4, 4, read).cycles + M7_MISPREDICT
    assert sum(estimate.by_block.values()) == estimate.cycles


def test_estimates_are_deterministic_and_split_by_block():
    model, read = loop_model("cortex-m4")
    edges = [(1, BASE, 4, 1), (BASE, BASE, 4, 9), (BASE, BASE + 4, 4, 1)]
    first = model.estimate(edges, read)
    again = CycleModel("cortex-m4", FLASH, icache=True).estimate(edges, read)
    assert first == again
    assert set(first.by_block) == {BASE, BASE + 4}


def test_blocks_count_instructions_cycles_and_stalls_by_block():
    model, read = loop_model("cortex-m7")
    edges = [(1, BASE, 4, 1), (BASE, BASE, 4, 9), (BASE, BASE + 4, 4, 1)]
    blocks = model.blocks(edges, read, stalls=[0, 7, 0])
    estimate = model.estimate(edges, read)
    assert blocks == {BASE: (20, estimate.by_block[BASE] + 7),
                      BASE + 4: (2, estimate.by_block[BASE + 4])}


def test_sessions_of_one_firmware_share_costs_but_not_the_blocks_they_entered():
    """A run simulates its firmware once per input: a later session reads no code the first
    one read, and tells which block an edge left among the blocks it entered itself."""
    board = all_boards()["stm32f746"]
    image, reads = code(CMP_R0_0, BNE_BACK, NOP, NOP), []

    def read(address: int, size: int) -> bytes:
        reads.append(address)
        return image[address % 0x100 :][:size]

    # the cmp+bne block loops, then the bne alone runs and falls through
    loop = [(1, BASE, 4, 1), (BASE, BASE, 4, 9), (BASE, BASE + 2, 2, 1), (BASE + 2, BASE + 4, 4, 1)]
    alone = CycleModel.for_board(board, icache=True).estimate(loop, read)
    # a first session also had the loop block cut after the cmp: its edge to the bne came
    # from that cut block, which the second session never entered
    first = CycleModel.for_board(board, icache=True, firmware="shared-test")
    assert first.estimate([(1, BASE, 2, 1), *loop], read) != alone
    reads.clear()
    second = CycleModel.for_board(board, icache=True, firmware="shared-test")
    assert second.estimate(loop, read) == alone
    assert reads == []


@pytest.mark.parametrize("board", all_boards().values(), ids=lambda b: b.name)
def test_every_board_has_timing_rules_for_its_core(board):
    model = CycleModel.for_board(board, icache=False)
    assert model.timing is CORE_TIMINGS[board.core.name]
    assert model.fetch_wait == board.flash.wait_states


def test_unknown_core_is_refused_in_one_line():
    with pytest.raises(ConfigError, match=r"no timing rules for core 'cortex-m0'; it knows "):
        CycleModel("cortex-m0", FLASH, icache=True)
