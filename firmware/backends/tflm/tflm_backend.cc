/* tb_backend.h on the TensorFlow Lite Micro interpreter (reference or CMSIS-NN kernels).
 *
 * The model, the op resolver with only the ops the model uses, and the arena size come
 * from tb_tflm_model.h, which tinybench generates per model (tinybench/backends/tflm.py).
 * The interpreter and resolver live in static storage built with placement new, so no
 * destructor is registered and no heap is used. TFLM's error messages go to the UART.
 *
 * Built with TB_TFLM_ARENA_PROBE (and a generous arena), tb_backend_arena_used() reports
 * the smallest arena AllocateTensors() succeeds with, found by bisection. TFLM's own
 * arena_used_bytes() is smaller than that: it misses the temporary allocations made while
 * the ops are prepared.
 */
#include <new>

#include "tb_backend.h"
#include "tb_tflm_model.h"
extern "C" {
#include "tb_board.h" /* a C header without C++ guards */
}
#include "tensorflow/lite/micro/cortex_m_generic/debug_log_callback.h"
#include "tensorflow/lite/micro/micro_interpreter.h"
#include "tensorflow/lite/schema/schema_generated.h"

namespace {

alignas(16) uint8_t tensor_arena[kTbArenaSize];
alignas(TbOpResolver) uint8_t resolver_storage[sizeof(TbOpResolver)];
alignas(tflite::MicroInterpreter) uint8_t interpreter_storage[sizeof(tflite::MicroInterpreter)];
const tflite::Model *model;
TbOpResolver *resolver;
tflite::MicroInterpreter *interpreter;
size_t arena_used;

void log_to_uart(const char *text)
{
    for (; *text != '\0'; ++text) {
        tb_uart_putc(*text);
    }
}

/* A fresh interpreter on the first `size` bytes of the arena, with its tensors allocated. */
bool start(size_t size)
{
    if (interpreter != nullptr) {
        interpreter->~MicroInterpreter();
    }
    interpreter = new (interpreter_storage)
        tflite::MicroInterpreter(model, *resolver, tensor_arena, size);
    return interpreter->AllocateTensors() == kTfLiteOk;
}

#ifdef TB_TFLM_ARENA_PROBE
/* The smallest multiple of 16 bytes that start() succeeds with; restarts on the full arena. */
size_t smallest_arena(void)
{
    size_t good = sizeof tensor_arena / 16 * 16;
    size_t bad = interpreter->arena_used_bytes() / 16 * 16 - 16;
    RegisterDebugLogCallback(nullptr); /* the failing attempts are expected */
    while (good - bad > 16) {
        size_t mid = (bad + good) / 32 * 16;
        if (start(mid)) {
            good = mid;
        } else {
            bad = mid;
        }
    }
    RegisterDebugLogCallback(log_to_uart);
    start(sizeof tensor_arena);
    return good;
}
#endif

}  // namespace

extern "C" int tb_backend_init(void)
{
    RegisterDebugLogCallback(log_to_uart);
    model = tflite::GetModel(kTbModel);
    if (model->version() != TFLITE_SCHEMA_VERSION) {
        return 1;
    }
    resolver = new (resolver_storage) TbOpResolver();
    if (TbAddOps(*resolver) != kTfLiteOk) {
        return 2;
    }
    if (!start(sizeof tensor_arena)) {
        return 3;
    }
#ifdef TB_TFLM_ARENA_PROBE
    arena_used = smallest_arena();
#else
    arena_used = interpreter->arena_used_bytes();
#endif
    return 0;
}

extern "C" int8_t *tb_backend_input(void)
{
    return static_cast<int8_t *>(interpreter->input(0)->data.data);
}

extern "C" size_t tb_backend_input_size(void)
{
    return interpreter->input(0)->bytes;
}

/* A stateful model (TB_TFLM_RESET_STATE) starts each inference from its initial state, as
 * the host reference does for each input; the reset is part of the timed inference. */
extern "C" int tb_backend_invoke(void)
{
#ifdef TB_TFLM_RESET_STATE
    if (interpreter->Reset() != kTfLiteOk) {
        return 2;
    }
#endif
    return interpreter->Invoke() == kTfLiteOk ? 0 : 1;
}

extern "C" const int8_t *tb_backend_output(void)
{
    return static_cast<const int8_t *>(interpreter->output(0)->data.data);
}

extern "C" size_t tb_backend_output_size(void)
{
    return interpreter->output(0)->bytes;
}

extern "C" size_t tb_backend_arena_used(void)
{
    return arena_used;
}

extern "C" const char *tb_backend_name(void)
{
    return TB_TFLM_ENGINE_NAME;
}
