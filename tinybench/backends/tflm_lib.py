"""Build TensorFlow Lite Micro as a static library for one core and one kernel set.

tinybench lists the library sources itself, the way TFLM's Makefile does for its
`cortex_m_generic` target (interpreter core -Os, kernels and CMSIS-NN -O2, with
`kernels/cmsis_nn/*.cc` replacing their reference namesakes), and compiles them with the
toolchain the firmware build uses (tinybench.toolchain) directly: no downloads, no pigweed,
no Makefile. The kernel list is
read from TFLM's own tensorflow/lite/micro/tools/make/sources.inc. TFLM's signal ops
(signal/, kissfft) are left out: no MLPerf Tiny model uses them.

A library holds the interpreter core, the kernel support files and the kernels of the ops
asked for (with their *_common.cc companions); other ops' kernels are not compiled, since
the linker would drop them anyway, nor are the test helpers TFLM ships in its library.
Objects are cached by a hash of their preprocessed source and code-generation flags, so
libraries for other op sets, and the reference and CMSIS-NN variants, share every object
whose code is the same. That hash is itself kept, by the compile command and a stamp of the
source trees (every file's path, size and modification time), so a library for another op set
preprocesses only what it adds; editing any file of a tree preprocesses everything again.
Libraries are cached under cache_dir("tflm").
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from tinybench import _cmd, deps
from tinybench.errors import ConfigError
from tinybench.paths import (
    atomic_write,
    cache_dir,
    content_hash,
    intact,
    locked,
    seal,
    write_sealed,
)
from tinybench.toolchain import Toolchain, build_jobs, find_toolchain

if TYPE_CHECKING:
    from tinybench.boards import Board

Kernels = Literal["reference", "cmsis-nn"]
KERNEL_SETS: tuple[Kernels, ...] = ("reference", "cmsis-nn")
COMPONENTS = ("tflm", "flatbuffers", "gemmlowp", "ruy", "cmsis", "cortex-dfp", "cmsis-nn")
BUILD_VERSION = "3"  # bump when the source lists or flags below change meaning
CORE_OPT, KERNEL_OPT = "-Os", "-O2"  # TFLM's CORE_/KERNEL_OPTIMIZATION_LEVEL
# Test helpers TFLM puts in its library; an application never links them.
TEST_SUPPORT = ("test_helpers.cc", "test_helper_custom_ops.cc", "fake_micro_context.cc",
                "mock_micro_graph.cc", "kernel_runner.cc")
CXX_ONLY = ("-std=c++17", "-fno-rtti", "-fno-exceptions", "-fno-threadsafe-statics")
C_ONLY = ("-std=c17",)


@dataclass(frozen=True)
class TflmLibrary:
    """A built library and what code using its headers must be compiled with."""

    path: Path
    kernels: Kernels
    cxxflags: tuple[str, ...]  # language flags, defines, and the headers as system headers
    commit: str  # the TFLM pin

    @property
    def components(self) -> dict[str, str]:
        """Memory-report components of the archive members (see FirmwareSources)."""
        name = self.path.name
        return {f"{name}(*-kernels-*)": "kernels", f"{name}(*-cmsis-nn-*)": "kernels",
                f"{name}(*-core-*)": "engine"}


@dataclass(frozen=True)
class _Unit:
    source: Path
    part: str  # "core", "kernels" or "cmsis-nn": names the archive member, for reports
    opt: str


@dataclass(frozen=True)
class Op:
    """A builtin op as TFLM's MicroMutableOpResolver registers it."""

    builtin: str  # BuiltinOperator name, e.g. "CONV_2D"
    method: str  # e.g. "AddConv2D"
    registration: str  # e.g. "Register_CONV_2D"


def library(board: Board, kernels: Kernels, ops: Iterable[str]) -> TflmLibrary:
    """The TFLM library for `board`'s core, `kernels` and builtin `ops`, built once, cached.

    Its objects compile toolchain.build_jobs() at a time; of two processes that want
    the same library or object at once, one builds it and the other waits and reuses it.
    """
    if kernels not in KERNEL_SETS:
        raise ConfigError(f"unknown kernel set '{kernels}'; use one of {', '.join(KERNEL_SETS)}")
    roots = {name: deps.locate(name) for name in COMPONENTS}
    table = op_table(roots["tflm"])
    wanted = sorted(set(ops))
    unknown = [op for op in wanted if op not in table]
    if unknown:
        raise ConfigError(f"TFLM {deps.get('tflm').commit[:12]} has no kernel for "
                          f"{', '.join(unknown)}; such models cannot run on the tflm backends")
    cpu = _cpu(board)
    toolchain = find_toolchain()
    defines = _defines(cpu, kernels)
    includes = _include_dirs(roots, cpu)
    flags = (*board.cflags, *_COMMON_FLAGS, *(f"-D{d}" for d in defines),
             *(f"-I{p}" for p in includes))
    pins = [deps.get(name).commit for name in COMPONENTS]
    key = content_hash(BUILD_VERSION, json.dumps(flags), json.dumps(pins), json.dumps(wanted),
                       _compiler_version(toolchain))
    out = cache_dir("tflm", f"{cpu.lower()}-{kernels}-{key}")
    lib = out / "libtflm.a"
    with locked(lib):
        if not intact(lib):
            units = _units(roots, kernels, {table[op].registration for op in wanted})
            _build(units, flags, toolchain, out, lib, _tree_stamp(roots.values()))
    cxxflags = (*CXX_ONLY, *(f"-D{d}" for d in defines),
                *(flag for p in includes for flag in ("-isystem", str(p))))
    return TflmLibrary(lib, kernels, cxxflags, deps.get("tflm").commit)


def op_table(tflm: Path) -> dict[str, Op]:
    """Every builtin op TFLM's op resolver can add, read from micro_mutable_op_resolver.h."""
    header = (tflm / "tensorflow/lite/micro/micro_mutable_op_resolver.h").read_text()
    found = re.findall(r"TfLiteStatus (Add\w+)\(\s*const TFLMRegistration& registration\s*="
                       r"\s*(?:\w+::)*(Register_\w+)\(\)\)\s*\{\s*"
                       r"return AddBuiltin\(\s*BuiltinOperator_(\w+)", header)
    return {builtin: Op(builtin, method, reg) for method, reg, builtin in found}


_COMMON_FLAGS = (
    # tensorflow/lite/micro/tools/make/Makefile COMMON_FLAGS, BUILD_TYPE=release_with_logs
    "-fno-unwind-tables", "-fno-asynchronous-unwind-tables", "-ffunction-sections",
    "-fdata-sections", "-fmessage-length=0",
    # targets/cortex_m_generic_makefile.inc PLATFORM_FLAGS
    "-fomit-frame-pointer", "-funsigned-char",
)


def _cpu(board: Board) -> str:
    """'M4' or 'M7' from the board's core name."""
    core = board.core.name
    match = re.fullmatch(r"cortex-(m\d+)", core)
    if match is None:
        raise ConfigError(f"board {board.name}: TFLM builds only for Cortex-M, not {core}")
    return match.group(1).upper()


def _defines(cpu: str, kernels: Kernels) -> tuple[str, ...]:
    base = (
        "TF_LITE_STATIC_MEMORY", "TF_LITE_DISABLE_X86_NEON", "KERNELS_OPTIMIZED_FOR_SPEED",
        "NDEBUG", "TF_LITE_MCU_DEBUG_LOG", f"CPU_{cpu}=1", f"ARMC{cpu}",
        f'CMSIS_DEVICE_ARM_CORTEX_M_XX_HEADER_FILE="ARMC{cpu}.h"',
        # what TFLM's flatbuffers.patch changes in the headers, as defines instead
        "FLATBUFFERS_LOCALE_INDEPENDENT=0", "FLATBUFFERS_PREFER_PRINTF=1",
    )
    if kernels == "cmsis-nn":
        return (*base, "CMSIS_NN", "ARM_NN_ENABLE_F16=0", "ARM_NN_ENABLE_F32=0")
    return base


def _include_dirs(roots: dict[str, Path], cpu: str) -> tuple[Path, ...]:
    return (
        roots["tflm"],
        roots["flatbuffers"] / "include",
        roots["gemmlowp"],
        roots["ruy"],
        roots["cmsis"],
        roots["cmsis"] / "CMSIS" / "Core" / "Include",
        roots["cortex-dfp"] / "Device" / f"ARMC{cpu}" / "Include",
        roots["cmsis-nn"],
        roots["cmsis-nn"] / "Include",
    )


def _units(roots: dict[str, Path], kernels: Kernels, registrations: set[str]) -> list[_Unit]:
    """The library's sources: the core, kernel support files, and the kernels that define
    one of `registrations`; each with its optimisation level."""
    tflm = roots["tflm"]
    micro = tflm / "tensorflow" / "lite" / "micro"
    core = [p for d in (micro, micro / "arena_allocator", micro / "memory_planner",
                        micro / "tflite_bridge") for p in sorted(d.glob("*.cc"))]
    core += [p for p in sorted((tflm / "tensorflow").rglob("*.c*"))
             if p.suffix in (".c", ".cc") and not p.is_relative_to(micro)
             and not p.is_relative_to(tflm / "tensorflow" / "lite" / "experimental")
             and p != tflm / "tensorflow" / "lite" / "array.cc"]
    core = _specialize([p for p in core if not p.name.endswith("_test.cc")
                        and p.name not in TEST_SUPPORT], micro / "cortex_m_generic")
    kernel_srcs = kernel_sources(tflm)
    units = [_Unit(p, "core", CORE_OPT) for p in core]
    if kernels == "cmsis-nn":
        kernel_srcs = _specialize(kernel_srcs, micro / "kernels" / "cmsis_nn")
    kernel_srcs = _select_kernels([p for p in kernel_srcs if p.name not in TEST_SUPPORT],
                                  registrations, micro / "kernels")
    if kernels == "cmsis-nn":
        nn = sorted((roots["cmsis-nn"] / "Source").rglob("*.c"))
        units += [_Unit(p, "cmsis-nn", KERNEL_OPT) for p in nn
                  if not p.name.endswith(("_f16.c", "_f32.c")) and p.name != "arm_nntables_flt.c"]
    return units + [_Unit(p, "kernels", KERNEL_OPT) for p in kernel_srcs]


def kernel_sources(tflm: Path) -> list[Path]:
    """The reference kernels TFLM's sources.inc lists (MICROLITE_CC_KERNEL_SRCS)."""
    text = (tflm / "tensorflow/lite/micro/tools/make/sources.inc").read_text()
    _, _, rest = text.partition("MICROLITE_CC_KERNEL_SRCS :=")
    block = rest.split("\n\n", 1)[0]
    names = re.findall(r"\$\(TENSORFLOW_ROOT\)(tensorflow/lite/micro/kernels/[\w/]+\.cc)", block)
    if not names:
        raise ConfigError(f"{tflm}: no kernel list in sources.inc; is this a TFLM checkout?")
    return [tflm / n for n in names]


def _select_kernels(files: list[Path], registrations: set[str], headers: Path) -> list[Path]:
    """The kernel files a library with `registrations` needs: those defining one of them,
    the shared support files (they define no registration), and the `<name>_common.cc`
    companions of each chosen file and of every kernel header (in `headers`) it includes,
    directly or through other headers: depthwise_conv.cc uses conv.h's kConvInputTensor,
    which conv_common.cc defines. Other ops' files and companions are left out."""
    pattern = re.compile(r"TFLMRegistration\s*\*?\s*(Register_\w+)\s*\(\s*\)\s*\{")
    defined = {f: set(pattern.findall(f.read_text())) for f in files}
    chosen = {f for f in files
              if defined[f] & registrations or not (defined[f] or f.stem.endswith("_common"))}
    stems = {f.stem for f in chosen}
    for f in chosen:
        stems |= _included_kernel_headers(f, headers)
    return [f for f in files
            if f in chosen or (f.stem.endswith("_common") and f.stem[:-len("_common")] in stems)]


_KERNEL_HEADER = re.compile(r'#include\s+"tensorflow/lite/micro/kernels/(\w+)\.h"')


def _included_kernel_headers(source: Path, headers: Path) -> set[str]:
    """Stems of the headers in `headers` that `source` includes, directly or indirectly."""
    found: set[str] = set()
    todo = [source]
    while todo:
        for stem in _KERNEL_HEADER.findall(todo.pop().read_text()):
            header = headers / f"{stem}.h"
            if stem not in found and header.is_file():
                found.add(stem)
                todo.append(header)
    return found


def _specialize(files: Iterable[Path], folder: Path) -> list[Path]:
    """Replace each file by its namesake in `folder`, as TFLM's specialize_files.py does."""
    return [folder / f.name if (folder / f.name).is_file() else f for f in files]


@cache
def _compiler_version(toolchain: Toolchain) -> str:
    return _cmd.run([toolchain.gxx, "--version"]).splitlines()[0]


def _compile_command(unit: _Unit, flags: tuple[str, ...], toolchain: Toolchain) -> list[str | Path]:
    """The command that compiles `unit` (add -o, or -E to preprocess), at low priority."""
    is_c = unit.source.suffix == ".c"
    return ["nice", "-n", "10", toolchain.gcc if is_c else toolchain.gxx, *flags, unit.opt,
            *(C_ONLY if is_c else CXX_ONLY), "-c", unit.source]


def _archive_command(toolchain: Toolchain, lib: Path, objects: list[Path]) -> list[str | Path]:
    return [toolchain.ar, "rcsD", lib, *objects]


def _tree_stamp(roots: Iterable[Path]) -> str:
    """A hash of the path, size and modification time of every file under `roots`."""
    h = hashlib.sha256()
    for root in roots:
        for folder, _, files in sorted(os.walk(root)):
            for name in sorted(files):
                path = os.path.join(folder, name)
                info = os.stat(path)
                h.update(f"{path}\0{info.st_size}\0{info.st_mtime_ns}\0".encode())
    return h.hexdigest()


def _object_key(argv: list[str | Path], codegen: list[str], unit: _Unit, toolchain: Toolchain,
                stamp: str) -> str:
    """The cache key of the unit's object: a hash of its preprocessed source and code
    generation, kept by the command and the trees' `stamp` so it is preprocessed once."""
    kept = cache_dir("tflm", "keys") / content_hash(stamp, json.dumps([str(a) for a in argv]))
    with locked(kept):
        if not intact(kept):
            write_sealed(kept, content_hash(_cmd.run([*argv, "-E", "-o", "-"]),
                                            json.dumps(codegen), unit.opt,
                                            _compiler_version(toolchain)))
        return kept.read_text()


def _build(units: list[_Unit], flags: tuple[str, ...], toolchain: Toolchain, out: Path,
           lib: Path, stamp: str) -> None:
    """Compile `units` with `toolchain` (reusing cached objects) and archive them into `lib`;
    `stamp` is the source trees' (_tree_stamp)."""
    objects_dir = cache_dir("tflm", "objects")
    codegen = [f for f in flags if not f.startswith(("-D", "-I"))]
    log = out / "build.log"
    started = time.monotonic()

    def compile_one(unit: _Unit) -> tuple[Path, bool]:
        """The unit's object, and whether it had to be compiled."""
        argv = _compile_command(unit, flags, toolchain)
        key = _object_key(argv, codegen, unit, toolchain, stamp)
        obj = objects_dir / f"{key}-{unit.part}-{unit.source.stem}.o"
        with locked(obj):  # appears whole (renamed into place) or not at all
            if obj.is_file():
                return obj, False
            tmp = obj.with_name(f".{obj.name}.{os.getpid()}.tmp")
            _cmd.run([*argv, "-o", tmp], log=log)
            tmp.replace(obj)
            return obj, True

    with ThreadPoolExecutor(max_workers=build_jobs()) as pool:
        results = list(pool.map(compile_one, units))
    objects = [obj for obj, _ in results]
    tmp_lib = lib.with_suffix(".a.tmp")
    tmp_lib.unlink(missing_ok=True)
    _cmd.run(_archive_command(toolchain, tmp_lib, objects), log=log)
    tmp_lib.replace(lib)
    seal(lib)
    facts = {"sources": len(units), "compiled": sum(fresh for _, fresh in results),
             "seconds": round(time.monotonic() - started, 1), "flags": list(flags)}
    atomic_write(out / "build.json", json.dumps(facts, indent=1) + "\n")
