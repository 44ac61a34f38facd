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
 *
 * Built with TB_PROFILE_LAYERS, TFLM's profiler interface marks each operator's invoke as a
 * layer, and the interpreter plans its arena with a greedy planner of our own that records
 * every buffer TFLM gives it and the offset it chooses: the plan tb_backend_plan() reports.
 * That planner lives outside the arena, so the arena used is smaller by the planner object
 * (TFLM otherwise places it in the arena's persistent tail).
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
#ifdef TB_PROFILE_LAYERS
#include "tb_profile.h"
#include "tensorflow/lite/micro/memory_planner/greedy_memory_planner.h"
#include "tensorflow/lite/micro/micro_allocator.h"
#include "tensorflow/lite/micro/micro_profiler_interface.h"
#endif
#ifdef TB_TFLM_RESOURCE_VARIABLES
#include "tensorflow/lite/micro/micro_resource_variable.h"
#endif

namespace {

alignas(16) uint8_t tensor_arena[kTbArenaSize];
alignas(TbOpResolver) uint8_t resolver_storage[sizeof(TbOpResolver)];
alignas(tflite::MicroInterpreter) uint8_t interpreter_storage[sizeof(tflite::MicroInterpreter)];
const tflite::Model *model;
TbOpResolver *resolver;
tflite::MicroInterpreter *interpreter;
size_t arena_used;

#ifdef TB_PROFILE_LAYERS
/* TFLM calls BeginEvent/EndEvent around each operator's invoke, and nowhere else. */
class LayerProfiler : public tflite::MicroProfilerInterface {
public:
    uint32_t BeginEvent(const char *) override
    {
        tb_layer_begin();
        return 0;
    }
    void EndEvent(uint32_t) override { tb_layer_end(); }

private:
    TF_LITE_REMOVE_VIRTUAL_DELETE
};

/* TFLM's greedy planner, keeping each buffer's size, lifetime and chosen offset.
 * TFLM counts lifetimes in allocation scopes: the model's inputs are created in scope 0 and
 * operator i runs in scope i + 1 (one subgraph), so a buffer's layers are its scopes - 1. */
class RecordingPlanner : public tflite::GreedyMemoryPlanner {
public:
    enum { kMaxBuffers = 512 };
    struct tb_buffer buffers[kMaxBuffers];
    size_t count;
    bool overflow;
    size_t planned; /* the plan's size, as TFLM asked for it to size the arena's head */

    TfLiteStatus Init(unsigned char *scratch, int size) override
    {
        count = 0;
        overflow = false;
        planned = 0;
        return GreedyMemoryPlanner::Init(scratch, size);
    }
    TfLiteStatus AddBuffer(int size, int first, int last) override
    {
        record(size, first, last);
        return GreedyMemoryPlanner::AddBuffer(size, first, last);
    }
    TfLiteStatus AddBuffer(int size, int first, int last, int offline_offset) override
    {
        /* the base calls the three-argument AddBuffer (recording it), then sets the offset */
        return GreedyMemoryPlanner::AddBuffer(size, first, last, offline_offset);
    }
    size_t GetMaximumMemorySize() override
    {
        planned = GreedyMemoryPlanner::GetMaximumMemorySize();
        return planned;
    }
    TfLiteStatus GetOffsetForBuffer(int index, int *offset) override
    {
        TfLiteStatus status = GreedyMemoryPlanner::GetOffsetForBuffer(index, offset);
        if (status == kTfLiteOk && index >= 0 && (size_t)index < count) {
            buffers[index].offset = (uint32_t)*offset;
        }
        return status;
    }

private:
    void record(int size, int first, int last)
    {
        if (count == kMaxBuffers) {
            overflow = true;
            return;
        }
        buffers[count++] = {0, (uint32_t)size, first > 0 ? first - 1 : 0, last > 0 ? last - 1 : 0};
    }
    TF_LITE_REMOVE_VIRTUAL_DELETE
};

/* Built with placement new in tb_backend_init(), like the interpreter: no destructors. */
alignas(LayerProfiler) uint8_t profiler_storage[sizeof(LayerProfiler)];
alignas(RecordingPlanner) uint8_t planner_storage[sizeof(RecordingPlanner)];
LayerProfiler *profiler;
RecordingPlanner *planner;
#endif

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
#if defined(TB_PROFILE_LAYERS) || defined(TB_TFLM_RESOURCE_VARIABLES)
#ifdef TB_PROFILE_LAYERS
    tflite::MicroAllocator *allocator = tflite::MicroAllocator::Create(tensor_arena, size, planner);
#else
    tflite::MicroAllocator *allocator = tflite::MicroAllocator::Create(tensor_arena, size);
    tflite::MicroProfilerInterface *profiler = nullptr;
#endif
    tflite::MicroResourceVariables *variables = nullptr;
#ifdef TB_TFLM_RESOURCE_VARIABLES /* VAR_HANDLE's variables live in the arena too */
    variables = tflite::MicroResourceVariables::Create(allocator, TB_TFLM_RESOURCE_VARIABLES);
#endif
    interpreter = new (interpreter_storage)
        tflite::MicroInterpreter(model, *resolver, allocator, variables, profiler);
#else
    interpreter = new (interpreter_storage)
        tflite::MicroInterpreter(model, *resolver, tensor_arena, size);
#endif
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
#ifdef TB_PROFILE_LAYERS
    profiler = new (profiler_storage) LayerProfiler();
    planner = new (planner_storage) RecordingPlanner();
#endif
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
#ifdef TB_PROFILE_LAYERS
    if (planner->overflow) {
        return 5;
    }
#endif
    return 0;
}

extern "C" int8_t *tb_backend_input(size_t i)
{
    return static_cast<int8_t *>(interpreter->input(i)->data.data);
}

extern "C" size_t tb_backend_input_size(size_t i)
{
    return interpreter->input(i)->bytes;
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

extern "C" const int8_t *tb_backend_output(size_t i)
{
    return static_cast<const int8_t *>(interpreter->output(i)->data.data);
}

extern "C" size_t tb_backend_output_size(size_t i)
{
    return interpreter->output(i)->bytes;
}

extern "C" size_t tb_backend_arena_used(void)
{
    return arena_used;
}

#ifdef TB_PROFILE_LAYERS
extern "C" size_t tb_backend_plan(const struct tb_buffer **buffers)
{
    *buffers = planner->buffers;
    return planner->count;
}

/* The arena outside the plan, whose size is the planner's own answer when TFLM sized the
 * arena's head with it (its scratch memory is arena that has been reused since). */
extern "C" size_t tb_backend_persistent_bytes(void)
{
    return arena_used - planner->planned;
}
#endif

extern "C" const char *tb_backend_name(void)
{
    return TB_TFLM_ENGINE_NAME;
}
