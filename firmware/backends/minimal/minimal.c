/* The minimal backend: one int8 fully connected layer in plain C, deterministic, no
 * dependencies. It exercises the harness, the toolchain and the simulators end to end.
 */
#include "minimal_model.h"
#include "tb_backend.h"

static int8_t input[TB_MINIMAL_INPUTS];
static int8_t output[TB_MINIMAL_OUTPUTS];

int tb_backend_init(void)
{
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
    for (int o = 0; o < TB_MINIMAL_OUTPUTS; ++o) {
        int32_t acc = tb_minimal_bias[o];
        for (int i = 0; i < TB_MINIMAL_INPUTS; ++i) {
            acc += (int32_t)input[i] * tb_minimal_weights[o][i];
        }
        int32_t y = (acc + (1 << (TB_MINIMAL_SHIFT - 1))) >> TB_MINIMAL_SHIFT;
        output[o] = (int8_t)(y < -128 ? -128 : y > 127 ? 127 : y);
    }
    return 0;
}

const int8_t *tb_backend_output(size_t i)
{
    (void)i; /* one input and one output */
    return output;
}

size_t tb_backend_output_size(size_t i)
{
    (void)i; /* one input and one output */
    return sizeof output;
}

size_t tb_backend_arena_used(void)
{
    return sizeof input + sizeof output;
}

const char *tb_backend_name(void)
{
    return "minimal";
}
