/* The workload of the simulator speed benchmark (python -m tinybench.simulators.bench).
 *
 * A backend for the harness (firmware/include/tb_backend.h) whose inference is a 3x3 int8
 * convolution, 16 → 16 channels over a 24 x 24 map, with a per-tensor requantisation: about
 * 1.3 M multiply-accumulates, the inner loops of a typical int8 kernel. Its weights are
 * generated at init from a fixed seed, its feature map from the 64-byte input.
 */
#include "tb_backend.h"

#define SIDE 24
#define CH 16
#define INPUTS 64

static int8_t input[INPUTS];
static int8_t fmap[SIDE][SIDE][CH];
static int8_t weights[CH][3][3][CH];
static int8_t result[CH];

int tb_backend_init(void)
{
    uint32_t state = 12345u;
    for (int o = 0; o < CH; ++o) {
        for (int k = 0; k < 3 * 3 * CH; ++k) {
            state = state * 1664525u + 1013904223u;
            (&weights[o][0][0][0])[k] = (int8_t)(state >> 24);
        }
    }
    return 0;
}

int8_t *tb_backend_input(size_t i)
{
    (void)i; /* one input and one output */
    return input;
}

size_t tb_backend_input_size(size_t i)
{
    (void)i; /* one input and one output */
    return sizeof input;
}

int tb_backend_invoke(void)
{
    for (int i = 0; i < SIDE * SIDE * CH; ++i) {
        (&fmap[0][0][0])[i] = (int8_t)(input[i % INPUTS] + i / INPUTS);
    }
    int32_t sums[CH] = {0};
    for (int y = 1; y < SIDE - 1; ++y) {
        for (int x = 1; x < SIDE - 1; ++x) {
            for (int o = 0; o < CH; ++o) {
                int32_t acc = 0;
                for (int dy = -1; dy <= 1; ++dy) {
                    for (int dx = -1; dx <= 1; ++dx) {
                        const int8_t *in = fmap[y + dy][x + dx];
                        const int8_t *w = weights[o][dy + 1][dx + 1];
                        for (int c = 0; c < CH; ++c) {
                            acc += in[c] * w[c];
                        }
                    }
                }
                int32_t q = (acc + 64) >> 7;
                sums[o] += q < -128 ? -128 : q > 127 ? 127 : q;
            }
        }
    }
    for (int o = 0; o < CH; ++o) {
        result[o] = (int8_t)(sums[o] / ((SIDE - 2) * (SIDE - 2)));
    }
    return 0;
}

const int8_t *tb_backend_output(size_t i)
{
    (void)i; /* one input and one output */
    return result;
}

size_t tb_backend_output_size(size_t i)
{
    (void)i; /* one input and one output */
    return sizeof result;
}

size_t tb_backend_arena_used(void)
{
    return sizeof fmap + sizeof result;
}

const char *tb_backend_name(void)
{
    return "iss-bench";
}
