/* tb_backend.h on the TensorFlow Lite Micro interpreter (reference or CMSIS-NN kernels).
 *
 * The model, the op resolver with only the ops the model uses, and the arena size come
 * from tb_tflm_model.h, which tinybench generates per model (tinybench/backends/tflm.py).
 * The interpreter and resolver live in static storage built with placement new, so no
 * destructor is registered and no heap is used. TFLM's error messages go to the UART.
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
tflite::MicroInterpreter *interpreter;

void log_to_uart(const char *text)
{
    for (; *text != '\0'; ++text) {
        tb_uart_putc(*text);
    }
}

bool is_int8(const TfLiteTensor *tensor)
{
    return tensor != nullptr && tensor->type == kTfLiteInt8;
}

}  // namespace

extern "C" int tb_backend_init(void)
{
    RegisterDebugLogCallback(log_to_uart);
    const tflite::Model *model = tflite::GetModel(kTbModel);
    if (model->version() != TFLITE_SCHEMA_VERSION) {
        return 1;
    }
    auto *resolver = new (resolver_storage) TbOpResolver();
    if (TbAddOps(*resolver) != kTfLiteOk) {
        return 2;
    }
    interpreter = new (interpreter_storage)
        tflite::MicroInterpreter(model, *resolver, tensor_arena, sizeof tensor_arena);
    if (interpreter->AllocateTensors() != kTfLiteOk) {
        return 3;
    }
    if (!is_int8(interpreter->input(0)) || !is_int8(interpreter->output(0))) {
        return 4;
    }
    return 0;
}

extern "C" int8_t *tb_backend_input(void)
{
    return interpreter->input(0)->data.int8;
}

extern "C" size_t tb_backend_input_size(void)
{
    return interpreter->input(0)->bytes;
}

extern "C" int tb_backend_invoke(void)
{
    return interpreter->Invoke() == kTfLiteOk ? 0 : 1;
}

extern "C" const int8_t *tb_backend_output(void)
{
    return interpreter->output(0)->data.int8;
}

extern "C" size_t tb_backend_output_size(void)
{
    return interpreter->output(0)->bytes;
}

extern "C" size_t tb_backend_arena_used(void)
{
    return interpreter->arena_used_bytes();
}

extern "C" const char *tb_backend_name(void)
{
    return TB_TFLM_ENGINE_NAME;
}
