"""The minimal backend (firmware/backends/minimal): one int8 dense layer in plain C.

It needs no model file and no third-party code, so tests and toolchain checks use it.
"""

from __future__ import annotations

from tinybench.artifacts import FirmwareSources
from tinybench.paths import shipped

SOURCE_DIR = shipped("firmware") / "backends" / "minimal"
INPUT_BYTES = 64
OUTPUT_BYTES = 10


def minimal_sources() -> FirmwareSources:
    """The minimal backend's sources; its weights count as the model in memory reports."""
    return FirmwareSources(
        backend="minimal",
        sources=(SOURCE_DIR / "minimal.c", SOURCE_DIR / "minimal_model.c"),
        include_dirs=(SOURCE_DIR,),
        defines=('TB_MODEL="minimal"', f"TB_DB_CAPACITY={INPUT_BYTES}"),
        components={"*/minimal_model.c": "model"},
    )
