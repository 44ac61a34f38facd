"""A PNG chart of a per-layer profile: cycles as bars, activation memory as a line."""

from __future__ import annotations

import io
from pathlib import Path

from matplotlib.figure import Figure

from tinybench.analysis.layers import LayerProfile
from tinybench.paths import atomic_write


def layer_chart(profile: LayerProfile, title: str, path: Path) -> None:
    """Draw each layer's cycles and the arena its activations span; write the PNG atomically."""
    index = [layer.index for layer in profile.layers]
    figure = Figure(figsize=(max(6.0, 0.35 * len(index) + 2), 5), layout="constrained")
    cycles = figure.subplots()
    cycles.bar(index, [layer.cycles / 1e3 for layer in profile.layers], color="C0",
               label="cycles")
    cycles.set_xticks(index, [f"{layer.index} {layer.op}" for layer in profile.layers],
                      rotation=60, ha="right", fontsize=7)
    cycles.set_ylabel("cycles per layer (thousands)")
    memory = cycles.twinx()
    memory.plot(index, [layer.activation_bytes / 1024 for layer in profile.layers], color="C1",
                marker="o", label="activations (arena span)")
    memory.set_ylabel("activation memory in the arena (KiB)")
    memory.set_ylim(bottom=0)
    cycles.set_title(title)
    figure.legend(loc="outside upper center", ncols=2, fontsize=8)
    png = io.BytesIO()
    figure.savefig(png, format="png", dpi=120)
    atomic_write(path, png.getvalue())
