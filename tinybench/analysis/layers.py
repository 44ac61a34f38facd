"""Per-layer profile: the cycles of each layer of an inference and the arena it needs.

The firmware of a profile build (TB_PROFILE_LAYERS) reads DWT CYCCNT around every layer and
reports the layers' cycles and its engine's activation plan (firmware/README.md). A layer is a
TFLM operator, or one TVM kernel call (TVM fuses ops; each kernel is matched with the model's
op it computes). The cycles of the layers plus the overhead between them (the engine's own
work and the marks) equal the instrumented inference's cycles exactly; in a simulator the
marks also give each layer's instructions, and its function profile between the marks the
functions that took most of each layer's cycles.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path

from tinybench.analysis.profile import profile as function_profile
from tinybench.analysis.profile import short_name
from tinybench.artifacts import FirmwareSources, Layer, LayerProfile, Mark
from tinybench.errors import SimulationError
from tinybench.models.inspect import LayerInfo, inspect_model
from tinybench.protocol import Session

# The model ops a TVM kernel can compute, by the first op of its fused name
_KERNEL_OPS = {
    "conv2d": ("CONV_2D", "DEPTHWISE_CONV_2D"),
    "matmul": ("FULLY_CONNECTED",),
    "global": ("AVERAGE_POOL_2D", "MEAN"),
    "avg": ("AVERAGE_POOL_2D",),
    "max": ("MAX_POOL_2D",),
    "reshape": ("RESHAPE",),
    "softmax": ("SOFTMAX",),
    "add": ("ADD",),
}
TOP_FUNCTIONS = 3  # the functions a layer names


def match_kernels(kernels: Sequence[str], model: Sequence[LayerInfo]) -> list[LayerInfo | None]:
    """For each TVM kernel in call order, the model op it computes (None: no op matches).

    Each kernel takes the first op not yet taken whose type its fused name starts with.
    """
    taken: set[int] = set()
    matched: list[LayerInfo | None] = []
    for kernel in kernels:
        first = re.sub(r"\d+$", "", kernel.removeprefix("fused_").split("_")[0])
        ops = _KERNEL_OPS.get(first, ())
        layer = next((m for m in model if m.index not in taken and m.op in ops), None)
        if layer is not None:
            taken.add(layer.index)
        matched.append(layer)
    return matched


def layers_of(model: Path, sources: FirmwareSources) -> tuple[list[LayerInfo | None], list[str]]:
    """The model op of each layer the engine marks, and the engine's name for that layer: a
    backend whose layers are not the model's operators lists them in `extra["layers"]`."""
    ops = inspect_model(model).layers
    kernels = sources.extra.get("layers")
    if kernels is None:
        return list(ops), [layer.op for layer in ops]
    names = kernels.split(",")
    return match_kernels(names, ops), names


def activation_bytes(plan: Sequence[tuple[int, int, int, int]], layers: int) -> list[int]:
    """Per layer, the arena the planned buffers (offset, size, first, last) live in it span:
    up to the end of the highest. Its peak is the plan's size: that layer sizes the arena."""
    return [max((offset + size for offset, size, first, last in plan if first <= i <= last),
                default=0) for i in range(layers)]


def build_profile(described: Sequence[LayerInfo | None], kernels: Sequence[str],
                  session: Session, marks: Sequence[Mark] = (),
                  plain_cycles: int | None = None,
                  between_marks: Sequence[Mapping[str, tuple[int, int]]] = ()) -> LayerProfile:
    """The profile of a profile build's session (one timed inference).

    In a simulator, `marks` are its CYCCNT reads (around the inference, then before and after
    each layer) and give the cycles and instructions: the simulator's cycle model, which
    Renode's own DWT does not follow; `between_marks`, its function profile between each two
    marks (SimResult.functions_between_marks), gives each layer's top functions. On a board
    the firmware's DWT readings give the cycles.
    """
    if not session.layer_cycles or len(session.layer_cycles) != len(described):
        raise SimulationError(f"the profile firmware reported {len(session.layer_cycles)} "
                              f"layers, the model has {len(described)}; is it a profile build "
                              "of this model?")
    if marks:
        total, cycles, instructions = _from_marks(marks, len(described))
    elif session.cycles:
        total, cycles, instructions = session.cycles[-1], session.layer_cycles, None
    else:
        raise SimulationError("the profile firmware reported no inference cycles")
    overhead = total - sum(cycles)
    if overhead < 0:
        raise SimulationError(f"the layers' cycles ({sum(cycles)}) exceed the inference's "
                              f"({total})")
    spans = activation_bytes(session.plan, len(cycles))
    functions = layer_functions(between_marks, len(marks), len(cycles))
    layers = tuple(
        Layer(index=i, op=info.op if info else "-", kernel=kernel,
              output_shape=info.output_shape if info else (),
              macs=info.macs if info else 0, weight_bytes=info.weight_bytes if info else 0,
              cycles=cycles[i], instructions=instructions[i] if instructions else None,
              activation_bytes=spans[i], functions=functions[i])
        for i, (info, kernel) in enumerate(zip(described, kernels, strict=True))
    )
    return LayerProfile(layers, total, overhead, session.persistent_bytes or 0,
                        session.arena_bytes or 0, plain_cycles)


def _from_marks(marks: Sequence[Mark], layers: int) -> tuple[int, list[int], list[int]]:
    """The inference's cycles, and each layer's cycles and instructions, from the marks."""
    if len(marks) != 2 + 2 * layers:
        raise SimulationError(f"expected {2 + 2 * layers} cycle-counter reads in a profile "
                              f"of {layers} layers, the firmware made {len(marks)}")
    pairs = [(marks[1 + 2 * i], marks[2 + 2 * i]) for i in range(layers)]
    return (marks[-1].cycles - marks[0].cycles,
            [end.cycles - begin.cycles for begin, end in pairs],
            [end.instructions - begin.instructions for begin, end in pairs])


def layer_functions(between_marks: Sequence[Mapping[str, tuple[int, int]]], marks: int,
                    layers: int) -> list[tuple[tuple[str, int], ...]]:
    """Each layer's TOP_FUNCTIONS most expensive functions, (name, cycles), from the function
    profiles between the marks: layer i runs between marks 1 + 2i and 2 + 2i. Without those
    profiles (a board, or a run without marks), every layer's are empty."""
    if not between_marks:
        return [()] * layers
    if len(between_marks) != marks + 1:
        raise SimulationError(f"expected {marks + 1} function profiles around {marks} "
                              f"cycle-counter reads, the simulator gave {len(between_marks)}")
    return [tuple((row.name, row.cycles) for row in
                  function_profile(between_marks[2 + 2 * i])[:TOP_FUNCTIONS] if row.cycles)
            for i in range(layers)]


def format_profile(profile: LayerProfile) -> str:
    """The per-layer table in Markdown, with the overhead and total rows that add up."""
    from tabulate import tabulate

    def share(cycles: int) -> str:
        return f"{100 * cycles / profile.cycles:.1f} %"

    peak = profile.peak.index
    rows = [
        (layer.index, layer.op, layer.kernel if layer.kernel != layer.op else "",
         "x".join(map(str, layer.output_shape)), layer.macs, layer.weight_bytes, layer.cycles,
         share(layer.cycles), f"{layer.cycles / layer.macs:.2f}" if layer.macs else "",
         "" if layer.instructions is None else layer.instructions,
         f"{layer.activation_bytes}{' (peak)' if layer.index == peak else ''}",
         _top_functions(layer))
        for layer in profile.layers
    ]
    rows.append(("", "overhead", "", "", "", "", profile.overhead_cycles,
                 share(profile.overhead_cycles), "", "", "", ""))
    rows.append(("", "total", "", "", sum(r.macs for r in profile.layers),
                 sum(r.weight_bytes for r in profile.layers), profile.cycles, "100.0 %", "", "",
                 "", ""))
    table = tabulate(rows, tablefmt="github", disable_numparse=True, headers=(
        "layer", "op", "kernel", "output", "MACs", "weight bytes", "cycles", "share",
        "cycles/MAC", "instructions", "activation bytes", "top functions"))
    notes = [
        f"Arena: {profile.arena_bytes} bytes = {profile.peak.activation_bytes} of activations "
        f"at the peak (layer {peak}, {profile.peak.op}) + {profile.persistent_bytes} persistent"
        f"{_padding(profile)}.",
    ]
    if profile.plain_cycles is not None:
        notes.append(f"Instrumented: {profile.cycles} cycles; uninstrumented build: "
                     f"{profile.plain_cycles} cycles (the marks cost "
                     f"{profile.instrumentation_cycles}).")
    if not any(layer.functions for layer in profile.layers):
        notes.append("Top functions: only a simulator attributes a layer's cycles to functions.")
    return "\n".join([table, "", *notes])


def _top_functions(layer: Layer) -> str:
    """"name 71 %, …": the layer's top functions with their share of its cycles, leaving out
    those under half a percent."""
    shares = ((short_name(name), 100 * cycles / max(layer.cycles, 1))
              for name, cycles in layer.functions)
    return ", ".join(f"{name} {share:.0f} %" for name, share in shares if share >= 0.5)


def _padding(profile: LayerProfile) -> str:
    rest = profile.arena_bytes - profile.peak.activation_bytes - profile.persistent_bytes
    return f" + {rest} of alignment" if rest else ""
