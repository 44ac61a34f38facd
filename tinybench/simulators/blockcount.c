/* Exact basic-block edge counts for the built-in simulator, as a Unicorn block hook.
 *
 * Unicorn calls tb_block_hook() at the start of every translated block it executes. We
 * count (previous block, block) edges in an open-addressing hash table owned by Python, so
 * the cycle model knows both how often each block ran and which way each branch went.
 * Block instruction counts are decoded here once per new edge (Thumb-2 lengths only), which
 * lets the hook keep a running instruction total and stop the run at the budget.
 *
 * No Unicorn header is needed: Python passes the two library functions we call.
 * Built on first use by tinybench.simulators.iss with the host C compiler.
 */
#include <stdint.h>

#define NO_BLOCK 1u /* an odd address: no Thumb block starts there */
#define MAX_WATCH 8

enum { RUNNING = 0, BUDGET = 1, WATCHED = 2, TABLE_FULL = 3, READ_FAILED = 4 };

typedef int (*mem_read_fn)(void *uc, uint64_t address, void *bytes, uint64_t size);
typedef int (*emu_stop_fn)(void *uc);

typedef struct {
    uint32_t prev;  /* address of the block executed before, NO_BLOCK at the start */
    uint32_t addr;  /* address of this block */
    uint32_t size;  /* bytes; 0 marks an empty slot */
    uint32_t insns; /* instructions in the block */
    uint64_t count;
} tb_edge;

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
} tb_state;

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
