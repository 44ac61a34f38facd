/* Exact basic-block edge counts and Flash data-read stalls for the built-in simulator, as
 * Unicorn callbacks.
 *
 * Unicorn calls tb_block_hook() at the start of every translated block it executes. We
 * count (previous block, block) edges in an open-addressing hash table owned by Python, so
 * the cycle model knows both how often each block ran and which way each branch went.
 * Block instruction counts are decoded here once per new edge (Thumb-2 lengths only), which
 * lets the hook keep a running instruction total and stop the run at the budget.
 *
 * Flash data reads are seen without a memory hook: any read hook makes Unicorn send every
 * load and store of the run through its slow path and resynchronise the CPU state on each
 * hooked read. Instead Unicorn runs with a virtual TLB filled by tb_tlb_fill(): every page
 * maps to itself, except that a data read from Flash maps to an I/O alias of the Flash
 * contents (a Unicorn MMIO range above the 4 GiB the core can address). Only those reads
 * take the slow path; tb_flash_data_read() serves each from the Flash bytes and runs it
 * through the board's data cache: `ways`-way sets of `1 << line_shift` bytes, least
 * recently used replaced. A miss stalls `miss_stall` cycles; with the cache off (or absent)
 * every read stalls `uncached_stall` per Flash read unit it spans. Stalls are added to the
 * edge being executed, so the cycle model can attribute them to their block. Unicorn splits
 * an unaligned I/O read into two aligned reads of its size, and a 64-bit one into 32-bit
 * reads: each counts as a read, and the lines and read units, so the stalls, are those of the
 * whole access (a 64-bit read that is only word-aligned also reads the words beside it).
 *
 * No Unicorn header is needed: Python passes the library functions we call.
 * Built on first use by tinybench.simulators.native with the host C compiler.
 */
#include <stdint.h>
#include <string.h>

#define NO_BLOCK 1u /* an odd address: no Thumb block starts there */
#define MAX_WATCH 8
#define MAX_LINES 512 /* sets * ways of the largest data cache modelled */

enum { RUNNING = 0, BUDGET = 1, WATCHED = 2, TABLE_FULL = 3, READ_FAILED = 4 };
enum { MEM_READ = 16, MEM_WRITE = 17, MEM_FETCH = 18 };   /* Unicorn's uc_mem_type */
enum { PROT_READ = 1, PROT_WRITE = 2, PROT_EXEC = 4 };    /* Unicorn's uc_prot */

typedef int (*mem_read_fn)(void *uc, uint64_t address, void *bytes, uint64_t size);
typedef int (*emu_stop_fn)(void *uc);
typedef int (*reg_fn)(void *uc, int regid, void *value);

typedef struct {
    uint32_t prev;  /* address of the block executed before, NO_BLOCK at the start */
    uint32_t addr;  /* address of this block */
    uint32_t size;  /* bytes; 0 marks an empty slot */
    uint32_t insns; /* instructions in the block */
    uint64_t count;
    uint64_t stall; /* Flash data-read stall cycles while executing this edge's block */
} tb_edge;

typedef struct {
    uint64_t reads;          /* data reads from Flash */
    uint64_t hits;           /* of them, served by the data cache */
    uint64_t stall;          /* cycles the reads stalled */
    uint32_t on;             /* the firmware has enabled the data cache (set by the host) */
    uint32_t sets;           /* a power of two; 0: the board has no data cache */
    uint32_t ways;
    uint32_t line_shift;     /* log2 of the line size */
    uint32_t read_shift;     /* log2 of the Flash read width */
    uint32_t miss_stall;     /* cycles a miss stalls */
    uint32_t uncached_stall; /* cycles each Flash read unit stalls without the cache */
    uint32_t lines[MAX_LINES]; /* line number + 1 per way, most recent first; 0 is empty */
} tb_dcache;

typedef struct {
    tb_edge *table;
    uint64_t mask;         /* capacity - 1, capacity a power of two */
    uint64_t used;
    uint64_t limit;        /* stop with TABLE_FULL beyond this many edges */
    uint64_t instructions; /* running total, whole blocks */
    uint64_t budget;       /* stop with BUDGET once instructions reach this */
    uint32_t prev;
    uint32_t prev_size;
    uint32_t status;
    uint32_t n_watch;
    uint32_t watch[MAX_WATCH]; /* fault handler entry points: stop with WATCHED */
    mem_read_fn mem_read;
    emu_stop_fn emu_stop;
    tb_edge *current; /* the edge whose block is executing */
    reg_fn reg_read;
    reg_fn reg_write;
    int32_t xpsr_id; /* Unicorn's register id of xPSR */
    tb_dcache dcache;
    const uint8_t *flash; /* the Flash contents (Unicorn maps this memory) */
    uint64_t flash_origin;
    uint64_t flash_size;
    uint64_t flash_alias; /* added to a Flash address: where its I/O alias is mapped */
} tb_state;

typedef struct {
    uint64_t paddr;
    uint32_t perms;
} tb_tlb_entry; /* Unicorn's uc_tlb_entry */

#define XPSR_IT 0x0600FC00u /* the IT bits of EPSR (ARMv7-M B1.4.2) */

static uint32_t thumb_instructions(const uint16_t *half, uint32_t n_half) {
    uint32_t n = 0;
    for (uint32_t i = 0; i < n_half; n++) i += (half[i] & 0xF800u) >= 0xE800u ? 2 : 1;
    return n;
}

static void stop(void *uc, tb_state *s, uint32_t why) {
    s->status = why;
    s->emu_stop(uc);
}

static int insert(void *uc, tb_state *s, tb_edge *e, uint32_t addr, uint32_t size) {
    uint16_t half[2048];
    if (size > sizeof half || s->mem_read(uc, addr, half, size) != 0) {
        stop(uc, s, READ_FAILED);
        return 0;
    }
    e->prev = s->prev;
    e->addr = addr;
    e->size = size;
    e->insns = thumb_instructions(half, size / 2);
    e->count = 1;
    s->current = e;
    s->instructions += e->insns;
    if (++s->used > s->limit) stop(uc, s, TABLE_FULL);
    for (uint32_t i = 0; i < s->n_watch; i++)
        if (s->watch[i] == addr) stop(uc, s, WATCHED);
    return 1;
}

void tb_block_hook(void *uc, uint64_t address, uint32_t size, void *user_data) {
    tb_state *s = user_data;
    uint32_t addr = (uint32_t)address;
    if (size == 0) return;
    uint64_t key = ((uint64_t)s->prev << 32) | addr;
    uint64_t i = (key * 0x9E3779B97F4A7C15ull) >> 40;
    for (;; i++) {
        tb_edge *e = &s->table[i & s->mask];
        if (e->addr == addr && e->prev == s->prev && e->size == size) {
            e->count++;
            s->current = e;
            s->instructions += e->insns;
            break;
        }
        if (e->size == 0) {
            if (!insert(uc, s, e, addr, size)) return;
            break;
        }
    }
    s->prev = addr;
    s->prev_size = size;
    if (s->instructions >= s->budget && s->status == RUNNING) stop(uc, s, BUDGET);
}

/* Unicorn 2.1.4 restores the CPU state from the instruction being executed, including the IT
 * state of a conditional load or store, before it calls a TLB fill hook, and nothing clears
 * it once the IT block ends: the next translated block would then run as if still inside it.
 * Clear it here; a translated block that ends inside the IT block stores the IT state itself. */
static void clear_stale_it(void *uc, tb_state *s) {
    uint32_t xpsr;
    if (s->reg_read(uc, s->xpsr_id, &xpsr) == 0 && xpsr & XPSR_IT) {
        xpsr &= ~XPSR_IT;
        s->reg_write(uc, s->xpsr_id, &xpsr);
    }
}

/* Whether `line` is in the cache; it becomes the set's most recently used either way. */
static int cache_access(tb_dcache *c, uint32_t line) {
    uint32_t *set = &c->lines[(line & (c->sets - 1)) * c->ways];
    uint32_t tag = line + 1, way = 0;
    while (way < c->ways - 1 && set[way] != tag) way++;
    int hit = set[way] == tag;
    for (; way > 0; way--) set[way] = set[way - 1];
    set[0] = tag;
    return hit;
}

/* Charge one data read of `size` bytes at `address` in Flash. */
static void charge(tb_state *s, uint32_t address, uint32_t size) {
    tb_dcache *c = &s->dcache;
    uint32_t first = address, last = first + size - 1;
    uint64_t stall = 0;
    c->reads++;
    if (c->on && c->sets) {
        int hit = 1;
        for (uint32_t line = first >> c->line_shift; line <= last >> c->line_shift; line++)
            if (!cache_access(c, line)) {
                hit = 0;
                stall += c->miss_stall;
            }
        c->hits += hit;
    } else {
        stall = (uint64_t)c->uncached_stall *
                ((last >> c->read_shift) - (first >> c->read_shift) + 1);
    }
    c->stall += stall;
    if (s->current) s->current->stall += stall;
}

/* Outside the ARMv7-M default memory map's execute-never Peripheral and Device regions
 * (ARMv7-M Architecture Reference Manual B3.1, table B3-1). The System region is left
 * executable: Unicorn fetches from its end (0xFFFFFFFF) when a run stops. */
static int executable(uint64_t address) {
    return address < 0x40000000u || (address >= 0x60000000u && address < 0xA0000000u) ||
           address >= 0xE0000000u;
}

_Bool tb_tlb_fill(void *uc, uint64_t vaddr, int type, tb_tlb_entry *e, void *user_data) {
    tb_state *s = user_data;
    if (type != MEM_FETCH) clear_stale_it(uc, s);
    e->paddr = vaddr;
    if (vaddr - s->flash_origin >= s->flash_size) {
        e->perms = PROT_READ | PROT_WRITE | (executable(vaddr) ? PROT_EXEC : 0);
    } else if (type == MEM_READ) {
        e->paddr = s->flash_alias + vaddr;
        e->perms = PROT_READ;
    } else {  /* a fetch, or a write that Unicorn refuses as Flash is read-only */
        e->perms = type == MEM_FETCH ? PROT_EXEC : PROT_WRITE;
    }
    return 1;
}

uint64_t tb_flash_data_read(void *uc, uint64_t offset, unsigned size, void *user_data) {
    tb_state *s = user_data;
    uint64_t value = 0;
    if (offset + size > s->flash_size) return 0;
    charge(s, (uint32_t)(s->flash_origin + offset), size);
    memcpy(&value, s->flash + offset, size); /* little-endian, as the core */
    return value;
}
