"""A static cycle model for Cortex-M4 and Cortex-M7, applied to exact basic-block edge counts.

Each block is decoded once with capstone and costed from instruction classes; an edge
(previous block → block) adds what the branch into the block cost. The result is an estimate,
deterministic for a given ELF and input. What differs between cores is one object per core
(CortexM4, CortexM7), chosen by the name of the board's core. Sources and assumptions:

Cortex-M4 (ARM DDI 0439, Cortex-M4 TRM §3.3.1 table 3-1; FPU: table 7-1):
- ALU, moves, shifts, extends, saturation, IT: 1 (IT folding is not modelled).
- MUL, MLA, MLS, the DSP multiplies and multiply-accumulates, long multiplies: 1.
- SDIV/UDIV: 2-12 depending on operands; we charge a fixed 7.
- LDR (all widths): 2, but a load right after another load or store pipelines: 1.
  LDRD/STRD: 3. STR: 1. LDM/STM/PUSH/POP: 1 + N registers.
- An address register written by the previous instruction (other than by a base write-back):
  +1 (AGU interlock), and a load then does not pipeline.
- Branches: 1; taken adds a refill P of 1, +1 when the target is a 32-bit instruction on a
  half-word boundary, +1 for register or load-to-PC branches (so P stays in the TRM's 1-3).
- FPU: VADD/VSUB/VMUL/VNEG/VABS/VCMP/VCVT/VMOV 1, VMLA/VMLS/VFMA family 3, VDIV/VSQRT 14,
  VLDR/VSTR 2, VLDM/VSTM/VPUSH/VPOP 1 + N.
Cortex-M7 (facts from LLVM llvm/lib/Target/ARM/ARMScheduleM7.td):
- In-order dual issue: at most two instructions per cycle, two ALUs, two load pipes, one store,
  one MAC, one branch and one FP unit; LDM/STM/PUSH/POP, LDRD/STRD, divides and system
  instructions issue alone. We charge LDM-type transfers ceil(N/2) cycles (64-bit data path).
- Latencies: ALU 1, MUL/MAC 2 (accumulator read one cycle late), word load 1, byte/half-word
  load 2, base write-back 0, address operands needed one cycle earlier, store data one cycle
  later, SDIV/UDIV 7, FP 3, FP MAC 6 (accumulator read three cycles late), FP divide/sqrt 16.
- Branches: predicted direct branches cost nothing extra; a mispredict costs 5 (the TRM range is
  4-6). A conditional branch site mispredicts min(taken, not taken) times (each loop exit, each
  change of direction); register and load-to-PC branches always pay the penalty (the BTAC only
  predicts direct branches — an assumption).
- Dependencies are tracked inside a block only; a block starts with every register ready. A
  block the simulator cut short (it falls through without a branch) is costed as one with the
  block it runs into.
Memory (both cores):
- Data reads from Flash (weights, literal pools, tables) are charged by address as they happen
  (FlashDataTiming, run by the native hook in blockcount.c): with the board's data cache on, a
  read that misses stalls `wait_states` once, for the Flash access that holds the data asked
  for (RM0432: the pipeline stalls until the requested data is provided; the rest of a line
  wider than one access fills while the core runs on, an assumption); the STM32F7 L1 D-cache
  has 32-byte lines, 4 ways, 32 sets, the STM32L4 ART data cache 8 lines of 32 bytes. With the
  cache off or absent (nRF52: its cache holds instructions only) every read stalls
  `wait_states` for each Flash access of `read_bytes` it spans. A hit,
  and any read of SRAM or TCM, costs nothing beyond the load's issue cycles. Not modelled:
  contention between fetch and data on the bus, write buffers, the M7's AXI latency on SRAM
  misses.
- Instruction fetch: with the instruction cache on (the STM32F7 L1 I-cache, the nRF52 NVMC cache),
  fetches hit. With it off, every branch that refills the pipeline from flash (M4: each taken
  branch; M7: each mispredict) waits the board's flash wait states; sequential fetches are
  covered by the prefetch buffer. Code in RAM or TCM never waits.
"""

from __future__ import annotations

import ctypes
import math
from bisect import insort
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache, lru_cache
from typing import Protocol

import numpy as np

from tinybench.boards import Board, Region
from tinybench.errors import ConfigError

CodeReader = Callable[[int, int], bytes]  # (address, size) → the bytes there

NONE, DIRECT, CONDITIONAL, INDIRECT = "none", "direct", "conditional", "indirect"

_MUL = {
    "mul", "mla", "mls", "smull", "umull", "smlal", "umlal", "umaal", "smmul", "smmulr",
    "smmla", "smmlar", "smmls", "smmlsr", "smuad", "smuadx", "smusd", "smusdx", "smlad",
    "smladx", "smlsd", "smlsdx", "smlald", "smlaldx", "smlsld", "smlsldx", "smulbb", "smulbt",
    "smultb", "smultt", "smulwb", "smulwt", "smlabb", "smlabt", "smlatb", "smlatt", "smlawb",
    "smlawt", "smlalbb", "smlalbt", "smlaltb", "smlaltt",
}
_DIV = {"sdiv", "udiv"}
_LOAD = {"ldr", "ldrb", "ldrh", "ldrsb", "ldrsh", "ldrt", "ldrbt", "ldrht", "ldrsbt", "ldrsht",
         "ldrex", "ldrexb", "ldrexh", "pld", "pli"}
_STORE = {"str", "strb", "strh", "strt", "strbt", "strht", "strex", "strexb", "strexh"}
_PAIR = {"ldrd", "strd"}
_MULTI = {"ldm", "ldmdb", "stm", "stmdb", "push", "pop"}
_BRANCH = {"b", "bl", "bx", "blx", "cbz", "cbnz", "tbb", "tbh"}
_FP = {"vadd", "vsub", "vmul", "vnmul", "vneg", "vabs", "vcmp", "vcmpe", "vcvt", "vcvtr",
       "vcvta", "vcvtn", "vcvtp", "vcvtm", "vmov", "vsel", "vmaxnm", "vminnm", "vrinta",
       "vrintn", "vrintp", "vrintm", "vrintr", "vrintx", "vrintz", "vmrs", "vmsr", "vcvtb",
       "vcvtt"}
_FP_MAC = {"vmla", "vmls", "vnmla", "vnmls", "vfma", "vfms", "vfnma", "vfnms"}
_FP_DIV = {"vdiv", "vsqrt"}
_FP_MEM = {"vldr", "vstr"}
_FP_MULTI = {"vldmia", "vldmdb", "vstmia", "vstmdb", "vpush", "vpop"}
_SYSTEM = {"mrs", "msr", "dmb", "dsb", "isb", "svc", "bkpt", "udf", "wfi", "wfe", "sev",
           "yield", "cps", "clrex", "nop", "hint"}
_BASE_AND_LIST = {"ldm", "ldmdb", "stm", "stmdb", "vldmia", "vldmdb", "vstmia", "vstmdb"}
_STACK = {"push", "pop", "vpush", "vpop"}
_NEEDS_OPERANDS = (_LOAD | _STORE | _PAIR | _MULTI | _FP_MEM | _FP_MULTI
                   | {"b", "bl", "cbz", "cbnz"})
_SUBWORD_LOAD = {"ldrb", "ldrh", "ldrsb", "ldrsh", "ldrexb", "ldrexh", "ldrbt", "ldrht",
                 "ldrsbt", "ldrsht"}


@dataclass(frozen=True)
class Instruction:
    """What the model needs to know about one decoded instruction."""

    address: int
    size: int
    name: str  # capstone's instruction name, without condition or width suffix
    reads: frozenset[int]
    writes: frozenset[int]
    address_regs: frozenset[int]  # base and index of a memory operand
    writeback: frozenset[int]  # a base register the instruction updates
    n_regs: int  # registers transferred by LDM/STM/PUSH/POP/VLDM/VSTM
    target: int | None  # of an immediate branch
    conditional: bool  # a conditional branch (B<cond>, CBZ, CBNZ)


@dataclass(frozen=True)
class BlockTiming:
    """One basic block as the model sees it."""

    address: int
    size: int
    addresses: tuple[int, ...]  # of each instruction
    starts: tuple[int, ...]  # cycles spent in the block before each instruction
    cycles: int  # the whole block, branch effects excluded
    branch: str  # how the block ends: NONE, DIRECT, CONDITIONAL or INDIRECT
    target: int | None  # of a direct or conditional branch
    wide_first: bool  # the first instruction is 32-bit

    @property
    def instructions(self) -> int:
        return len(self.addresses)

    def before(self, pc: int) -> tuple[int, int]:
        """(instructions, cycles) of this block executed before the instruction at `pc`."""
        index = self.addresses.index(pc)
        return index, self.starts[index]


@dataclass(frozen=True)
class EdgeCost:
    block: int  # cycles of the block entered
    penalty: int  # cycles the branch into it cost, charged to the block that branched
    site: int | None  # the M7 conditional branch (its address) this edge is an outcome of
    taken: bool  # that branch was taken


@dataclass(frozen=True)
class Estimate:
    cycles: int
    by_block: dict[int, int]  # block address → cycles charged to it


@cache
def disassembler():
    import capstone

    cs = capstone.Cs(capstone.CS_ARCH_ARM, capstone.CS_MODE_THUMB | capstone.CS_MODE_MCLASS)
    cs.detail = True
    return cs


@cache
def _name(instruction_id: int) -> str:
    return disassembler().insn_name(instruction_id)


@cache
def _access_buffers() -> tuple:
    """cs_regs_access's output arrays, reused: (reads, count, writes, count)."""
    return (ctypes.c_uint16 * 64)(), ctypes.c_uint8(), (ctypes.c_uint16 * 64)(), ctypes.c_uint8()


@lru_cache(maxsize=1 << 16)
def block_timing(timing: CoreTiming, code: bytes, address: int) -> BlockTiming:
    """The timing of the block of `code` at `address` on a core: decoded once per process,
    for every model that meets the same code there."""
    insns = decode(code, address)
    starts = timing.starts(insns)
    return BlockTiming(address, len(code), tuple(i.address for i in insns),
                       tuple(starts[:-1]), starts[-1], _ending(insns[-1]),
                       insns[-1].target, insns[0].size == 4)


def decode(code: bytes, address: int) -> tuple[Instruction, ...]:
    """Decode a Thumb-2 block; bytes capstone cannot decode become 2-byte unknowns.

    Capstone's C structures are read in place (its Python objects copy every instruction's
    detail, which made decoding a third of a run's time).
    """
    import capstone

    cs, lib = disassembler(), capstone._cs
    reads, n_reads, writes, n_writes = _access_buffers()
    out: list[Instruction] = []
    offset = 0
    while offset < len(code):
        rest = code[offset:]
        insns = ctypes.POINTER(capstone._cs_insn)()
        count = lib.cs_disasm(cs.csh, rest, len(rest), address + offset, 0, ctypes.byref(insns))
        try:
            for raw in insns[:count]:
                offset += raw.size
                lib.cs_regs_access(cs.csh, raw, reads, ctypes.byref(n_reads), writes,
                                   ctypes.byref(n_writes))
                name = _name(raw.id)
                written = frozenset(writes[:n_writes.value])
                out.append(Instruction(
                    raw.address, raw.size, name, frozenset(reads[:n_reads.value]), written,
                    *(_operand_facts(name, raw.detail.contents.arch.arm, written)
                      if name in _NEEDS_OPERANDS else _NO_OPERAND_FACTS)))
        finally:
            if count:
                lib.cs_free(insns, count)
        if offset < len(code):  # capstone stopped at something it cannot decode
            out.append(Instruction(address + offset, 2, "udf", frozenset(), frozenset(),
                                   *_NO_OPERAND_FACTS))
            offset += 2
    return tuple(out)


_NO_OPERAND_FACTS = (frozenset(), frozenset(), 0, None, False)


def _operand_facts(name: str, arm, writes: frozenset[int]) -> tuple:
    """(address_regs, writeback, n_regs, target, conditional) of an instruction from its
    capstone ARM detail `arm`."""
    from capstone import arm_const

    operands = arm.operands[:arm.op_count]
    regs = [op.value.reg for op in operands if op.type == arm_const.ARM_OP_REG]
    mem = [op.value.mem for op in operands if op.type == arm_const.ARM_OP_MEM]
    target = operands[-1].value.imm if name in {"b", "bl", "cbz", "cbnz"} else None
    conditional = name in {"cbz", "cbnz"} or (
        name == "b" and arm.cc not in (arm_const.ARM_CC_AL, arm_const.ARM_CC_INVALID))
    bases = frozenset(m.base for m in mem if m.base)
    if name in _BASE_AND_LIST:
        bases = frozenset(regs[:1])
    elif name in _STACK:
        bases = frozenset({arm_const.ARM_REG_SP})
    return (frozenset(r for m in mem for r in (m.base, m.index) if r),
            bases & writes if arm.writeback or name in _STACK else frozenset(),
            len(regs) - (name in _BASE_AND_LIST), target, conditional)


def _ending(last: Instruction) -> str:
    """How a block that ends with `last` leaves: NONE, DIRECT, CONDITIONAL or INDIRECT."""
    from capstone import arm_const

    if last.target is not None:
        return CONDITIONAL if last.conditional else DIRECT
    if last.name in {"bx", "blx", "tbb", "tbh"} or arm_const.ARM_REG_PC in last.writes:
        return INDIRECT
    return NONE


class CoreTiming(Protocol):
    """The rules of one core: how its instructions issue and what its branches cost."""

    name: str  # the core's name in boards.toml
    mispredict: int | None  # cycles of a mispredicted conditional branch; None: no predictor

    def starts(self, insns: tuple[Instruction, ...]) -> list[int]:
        """Cycles spent in a block before each of its instructions, then the block's total."""

    def refill(self, prev: BlockTiming, cur: BlockTiming, taken: bool) -> int:
        """Cycles, before any fetch wait, the branch ending `prev` costs on the way to `cur`.

        With a predictor, conditional branches are charged per branch site instead (misses).
        """


@dataclass(frozen=True)
class FlashDataTiming:
    """How a board's data reads from Flash stall: the native hook's parameters."""

    origin: int  # the Flash range
    end: int
    sets: int  # of the data cache; 0: the board has none
    ways: int
    line: int  # bytes
    read_bytes: int  # bytes one Flash access reads
    miss_stall: int  # cycles a miss stalls
    uncached_stall: int  # cycles each Flash access stalls without the cache

    @classmethod
    def for_board(cls, board: Board) -> FlashDataTiming:
        flash, cache = board.flash, board.dcache
        line = cache.line if cache and cache.size else 0
        sets = cache.size // (line * cache.ways) if line else 0
        return cls(flash.origin, flash.end, sets, cache.ways if sets else 0, line,
                   flash.read_bytes, flash.wait_states, flash.wait_states)


@dataclass
class CodeCosts:
    """What a cycle model works out from a firmware's code alone, for one core and memory
    system: the same in every session of the firmware (its code is the ELF's; the firmware
    is taken not to write code), so they can share it."""

    blocks: dict[tuple[int, int], BlockTiming] = field(default_factory=dict)
    joined: dict[tuple[int, int], int] = field(default_factory=dict)  # two blocks run as one
    # (previous block's (address, size) or None, address, size) → what entering a block costs
    edges: dict[tuple[tuple[int, int] | None, int, int], EdgeCost] = field(
        default_factory=dict)


@lru_cache(maxsize=8)
def _shared_costs(firmware: str, core: str, flash: Region, icache: bool) -> CodeCosts:
    """The code costs shared by the sessions of the firmware whose content hash is `firmware`
    (a run simulates one per input); the latest few firmwares are kept."""
    return CodeCosts()


class CycleModel:
    """Cycle costs of blocks and edges for one core and memory system, in one session.

    The costs themselves (CodeCosts) may be shared with other sessions of the firmware; the
    blocks the session has entered are its own, since they tell which block an edge left.
    """

    def __init__(self, core: str, flash: Region, icache: bool,
                 costs: CodeCosts | None = None) -> None:
        self.timing = core_timing(core)
        self.flash = flash
        self.fetch_wait = 0 if icache else flash.wait_states
        self.costs = CodeCosts() if costs is None else costs
        self._entered: dict[tuple[int, int], BlockTiming] = {}
        self._by_address: dict[int, list[BlockTiming]] = {}  # the blocks entered, longest first

    @classmethod
    def for_board(cls, board: Board, icache: bool, firmware: str | None = None) -> CycleModel:
        """The model of `board`; given `firmware`, the content hash of the ELF simulated, it
        shares its costs with the other sessions of that firmware in this process."""
        core = board.core.name
        costs = None if firmware is None else _shared_costs(firmware, core, board.flash, icache)
        return cls(core, board.flash, icache, costs)

    def block(self, address: int, size: int, read: CodeReader) -> BlockTiming:
        """The timing of the block at `address`, from now on one the session has entered."""
        key = (address, size)
        block = self._entered.get(key)
        if block is None:
            known = self.costs.blocks
            if key not in known:
                known[key] = block_timing(self.timing, read(address, size), address)
            block = self._entered[key] = known[key]
            insort(self._by_address.setdefault(address, []), block, key=lambda b: -b.size)
        return block

    def _fetch(self, target: int) -> int:
        return self.fetch_wait if self.flash.origin <= target < self.flash.end else 0

    def edge_penalty(self, prev: BlockTiming | None, cur: BlockTiming) -> int:
        """Cycles the branch ending `prev` costs when it leads to `cur` (branch sites apart)."""
        if prev is None or prev.branch == NONE:
            return 0
        if prev.branch == CONDITIONAL:
            taken = cur.address == prev.target
        else:  # an IT-conditional BX or POP {pc} that did not branch falls through
            taken = prev.branch == DIRECT or cur.address != prev.address + prev.size
        refill = self.timing.refill(prev, cur, taken)
        return refill + self._fetch(cur.address) if refill else 0

    def site_penalty(self, site: int) -> int:
        """Cycles of one mispredict of the conditional branch at `site`."""
        return self.timing.mispredict + self._fetch(site)

    def edges(self, edges: Iterable[tuple[int, int, int]], read: CodeReader) -> list[EdgeCost]:
        """The cost of each edge (prev address, address, size); prev 1 means none."""
        edges = list(edges)
        blocks = [self.block(a, s, read) for _, a, s in edges]
        return [self._edge(_came_from(self._by_address.get(prev, []), cur.address), cur, read)
                for (prev, _, _), cur in zip(edges, blocks, strict=True)]

    def _edge(self, prev: BlockTiming | None, cur: BlockTiming, read: CodeReader) -> EdgeCost:
        """The cost of entering `cur` from `prev` (None: from no block)."""
        key = (None if prev is None else (prev.address, prev.size), cur.address, cur.size)
        cost = self.costs.edges.get(key)
        if cost is None:
            site = (prev is not None and self.timing.mispredict is not None
                    and prev.branch == CONDITIONAL)
            cost = self.costs.edges[key] = EdgeCost(
                self._cycles_after(prev, cur, read), self.edge_penalty(prev, cur),
                prev.addresses[-1] if site else None, site and cur.address == prev.target)
        return cost

    def _cycles_after(self, prev: BlockTiming | None, cur: BlockTiming, read: CodeReader) -> int:
        """Cycles of `cur` entered from `prev`.

        A block that ran straight into the next without a branch is one block the simulator cut
        in two (a translation limit: Renode cuts long blocks earlier than Unicorn); the cut
        must not break dual issue or load pipelining, so `cur` costs what it adds to `prev`.
        """
        if prev is None or prev.branch != NONE or cur.address != prev.address + prev.size:
            return cur.cycles
        key, joined = (prev.address, prev.size + cur.size), self.costs.joined
        if key not in joined:
            joined[key] = block_timing(self.timing, read(*key), prev.address).cycles
        return joined[key] - prev.cycles

    def estimate(
        self, edges: Iterable[tuple[int, int, int, int]], read: CodeReader
    ) -> Estimate:
        """Cycles for edge counts (prev address, address, size, count), by block."""
        edges = list(edges)
        by_block: dict[int, int] = {}
        # conditional branch site → [taken, not taken, the block charged]: a branch that ends
        # several blocks (entered at different places) is one branch to the predictor
        sites: dict[int, list[int]] = {}
        costs = self.edges(((p, a, s) for p, a, s, _ in edges), read)
        for (prev, addr, _, count), cost in zip(edges, costs, strict=True):
            by_block[addr] = by_block.get(addr, 0) + count * cost.block
            if cost.penalty:
                by_block[prev] = by_block.get(prev, 0) + count * cost.penalty
            if cost.site is not None:
                sites.setdefault(cost.site, [0, 0, prev])[not cost.taken] += count
        for site, (taken, not_taken, block) in sites.items():
            mispredicts = min(taken, not_taken) * self.site_penalty(site)
            by_block[block] = by_block.get(block, 0) + mispredicts
        return Estimate(sum(by_block.values()), by_block)

    def blocks(self, edges: Sequence[tuple[int, int, int, int]], read: CodeReader,
               stalls: Sequence[int] = ()) -> dict[int, tuple[int, int]]:
        """(instructions, cycles) by block address for edge counts (prev address, address,
        size, count), each edge's data stall cycles (`stalls`, if any) included; a branch
        penalty counts with the block it is charged to, which may be one not entered here."""
        instructions: dict[int, int] = {}
        cycles = dict(self.estimate(edges, read).by_block)
        for (_, address, size, count), stall in zip(edges, stalls or [0] * len(edges),
                                                     strict=True):
            done = count * self.block(address, size, read).instructions
            instructions[address] = instructions.get(address, 0) + done
            cycles[address] = cycles.get(address, 0) + stall
        return {a: (instructions.get(a, 0), cycles[a]) for a in cycles}


def _came_from(candidates: list[BlockTiming], address: int) -> BlockTiming | None:
    """Which of the blocks at one address (longest first) can have led to `address`.

    A simulator may cut a block short (and enter the rest as a block of its own), so an
    address can start blocks of several sizes; an edge names only its previous block's start.
    """
    for block in candidates:
        end = block.address + block.size
        if block.branch == INDIRECT or address in (end, block.target):
            return block
    return candidates[0] if candidates else None


class Tally:
    """Edge costs kept as arrays, so the total for fresh counts is cheap to recompute."""

    def __init__(self, model: CycleModel, read: CodeReader) -> None:
        self.model, self.read = model, read
        self.cycles = np.zeros(0, np.int64)
        self.site = np.zeros(0, np.int64)  # index into self.sites, -1 for none
        self.taken = np.zeros(0, bool)
        self.sites: list[int] = []
        self.penalties = np.zeros(0, np.int64)

    def extend(self, edges: Iterable[tuple[int, int, int]]) -> None:
        """Add edges (prev address, address, size) after those already known."""
        costs = self.model.edges(edges, self.read)
        index = {s: i for i, s in enumerate(self.sites)}
        for cost in costs:
            if cost.site is not None and cost.site not in index:
                index[cost.site] = len(self.sites)
                self.sites.append(cost.site)
        self.cycles = np.append(self.cycles, [c.block + c.penalty for c in costs])
        self.site = np.append(self.site, [index.get(c.site, -1) for c in costs])
        self.taken = np.append(self.taken, [c.taken for c in costs])
        self.penalties = np.array([self.model.site_penalty(s) for s in self.sites], np.int64)

    def total(self, counts: np.ndarray) -> int:
        """Cycles for `counts` of the known edges, in the order they were added."""
        cycles = int(counts.astype(np.int64) @ self.cycles)
        if self.sites:
            on = self.site >= 0
            n = len(self.sites)
            weights = counts[on].astype(np.float64)
            taken = np.bincount(self.site[on], weights * self.taken[on], n)
            not_taken = np.bincount(self.site[on], weights * ~self.taken[on], n)
            cycles += int(np.minimum(taken, not_taken).astype(np.int64) @ self.penalties)
        return cycles


class CortexM4:
    """The Cortex-M4's 3-stage pipeline (module docstring: Cortex-M4)."""

    name = "cortex-m4"
    mispredict = None  # no branch predictor: every taken branch refills the pipeline

    def starts(self, insns: tuple[Instruction, ...]) -> list[int]:
        starts, t, prev = [], 0, None
        for insn in insns:
            starts.append(t)
            t += self._cost(insn, prev)
            prev = insn
        return [*starts, t]

    def refill(self, prev: BlockTiming, cur: BlockTiming, taken: bool) -> int:
        if not taken:
            return 0
        return 1 + (cur.wide_first and cur.address % 4 == 2) + (prev.branch == INDIRECT)

    @staticmethod
    def _cost(insn: Instruction, prev: Instruction | None) -> int:
        name = insn.name
        # an address computed by the previous instruction (not its base write-back) waits a cycle
        depends = prev is not None and bool(insn.address_regs & (prev.writes - prev.writeback))
        if name in _LOAD:
            pipelined = prev is not None and prev.name in _LOAD | _STORE and not depends
            cost = 1 if pipelined else 2
        elif name in _PAIR:
            cost = 3
        elif name in _MULTI:
            cost = 1 + insn.n_regs
        elif name in _DIV:
            cost = 7
        elif name in _FP_MAC:
            cost = 3
        elif name in _FP_DIV:
            cost = 14
        elif name in _FP_MEM:
            cost = 2
        elif name in _FP_MULTI:
            cost = 1 + insn.n_regs
        elif name in {"mrs", "msr"}:
            cost = 2
        elif name in {"dmb", "dsb", "isb"}:
            cost = 4
        else:
            cost = 1
        return cost + depends


_M7_UNITS = {"load": 2, "store": 1, "mac": 1, "branch": 1, "fp": 1, "alu": 2}


class CortexM7:
    """The Cortex-M7's in-order dual issue (module docstring: Cortex-M7)."""

    name = "cortex-m7"
    mispredict = 5

    def starts(self, insns: tuple[Instruction, ...]) -> list[int]:
        ready: dict[int, int] = {}  # register → first cycle its value can be used
        starts: list[int] = []
        cycle, used = 0, []  # `used`: units issued in `cycle`
        for insn in insns:
            unit, latency, alone, occupy = self._class(insn)
            advance = {"mac": 1, "fp": 3}.get(unit, 0) if insn.name in _MUL | _FP_MAC else 0
            need = 0
            for reg in insn.reads & ready.keys():
                at = ready[reg]
                if reg in insn.address_regs:
                    at += 1  # address generation happens a stage early
                elif reg in insn.writes:
                    at -= advance  # an accumulator is read late
                elif unit == "store":
                    at -= 1  # store data is read late
                need = max(need, at)
            if need > cycle:
                cycle, used = need, []
            if used and (alone or len(used) == 2 or used.count(unit) >= _M7_UNITS[unit]):
                cycle, used = cycle + 1, []
            starts.append(cycle)
            for reg in insn.writes:
                ready[reg] = cycle if reg in insn.writeback else cycle + latency
            if alone or occupy > 1:
                cycle, used = cycle + occupy, []
            else:
                used.append(unit)
        return [*starts, cycle + (1 if used else 0)]

    def refill(self, prev: BlockTiming, cur: BlockTiming, taken: bool) -> int:
        return self.mispredict if prev.branch == INDIRECT else 0  # the BTAC predicts no others

    @staticmethod
    def _class(insn: Instruction) -> tuple[str, int, bool, int]:
        """(unit, result latency, issues alone, issue cycles)."""
        name = insn.name
        if name in _LOAD:
            return "load", 2 if name in _SUBWORD_LOAD else 1, False, 1
        if name in _STORE:
            return "store", 1, False, 1
        if name in _PAIR:
            return "load" if name == "ldrd" else "store", 2, True, 1
        if name in _MULTI or name in _FP_MULTI:
            return "load", 2, True, max(1, math.ceil(insn.n_regs / 2))
        if name in _MUL:
            return "mac", 2, False, 1
        if name in _DIV:
            return "alu", 7, True, 1
        if name in _BRANCH:
            return "branch", 1, False, 1
        if name in _FP_MAC:
            return "fp", 6, False, 1
        if name in _FP_DIV:
            return "fp", 16, False, 1
        if name in _FP:
            return "fp", 3, False, 1
        if name in _FP_MEM:
            return ("load" if name == "vldr" else "store"), 2, False, 1
        if name in _SYSTEM:
            return "alu", 1, True, 1
        return "alu", 1, False, 1


CORE_TIMINGS: dict[str, CoreTiming] = {t.name: t for t in (CortexM4(), CortexM7())}


def core_timing(core: str) -> CoreTiming:
    """The timing rules of the core named `core`."""
    if core not in CORE_TIMINGS:
        raise ConfigError(f"the cycle model has no timing rules for core '{core}'; "
                          f"it knows {', '.join(CORE_TIMINGS)}")
    return CORE_TIMINGS[core]
