/* The minimal backend's layer: y = requantize(W x + b) with int8 x, W, y and int32 b. */
#ifndef MINIMAL_MODEL_H
#define MINIMAL_MODEL_H

#include <stdint.h>

#define TB_MINIMAL_INPUTS 64
#define TB_MINIMAL_OUTPUTS 10
#define TB_MINIMAL_SHIFT 9 /* output = round(accumulator / 2^9), saturated to int8 */

extern const int8_t tb_minimal_weights[TB_MINIMAL_OUTPUTS][TB_MINIMAL_INPUTS];
extern const int32_t tb_minimal_bias[TB_MINIMAL_OUTPUTS];

#endif /* MINIMAL_MODEL_H */
