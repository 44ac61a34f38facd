"""The host side of the MLPerf Tiny device-under-test protocol, with tinybench's extensions.

Pure functions shared by the simulators and the real-board runner: `session_commands` /
`session_script` say what a host sends for one benchmark session, `parse_session` turns
what the device printed into a `Session`. The dialect is documented in firmware/README.md.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from tinybench.errors import ConfigError, SimulationError, TinybenchError

CHUNK_BYTES = 60  # input bytes per `db` command: "db " + 120 hex digits fits the 128-char line
_LINE = re.compile(r"^([me])-(.*)$")


@dataclass(frozen=True)
class Session:
    """What the device reported in one session (None: the device never said)."""

    name: str | None = None  # m-name-dut-[...]
    model: str | None = None  # m-model-...
    clock_hz: int | None = None  # m-tb-clock-hz-...: the core clock the firmware set up
    lap_us: int | None = None  # time of the timed inferences: last m-lap-us minus first
    cycles: tuple[int, ...] = ()  # m-tb-cycles-[...]: DWT cycles of each timed inference
    arena_bytes: int | None = None  # m-tb-arena-bytes-...
    stack_bytes: int | None = None  # m-tb-stack-bytes-...: stack high-water mark since reset
    # m-results-[...], then m-tb-results-<i>-[...] for each further output: each output
    # tensor's bytes, as int8 values
    outputs: tuple[tuple[int, ...], ...] = ()
    # A profile build's: DWT cycles of each layer of the last timed inference, the engine's
    # planned buffers as (offset, size, first layer, last layer), the arena outside them
    layer_cycles: tuple[int, ...] = ()  # m-tb-layer-cycles-[...]
    plan: tuple[tuple[int, int, int, int], ...] = ()  # m-tb-plan-[offset:size:first:last,...]
    persistent_bytes: int | None = None  # m-tb-persistent-bytes-...
    errors: tuple[str, ...] = ()  # the text of every e-[...] line, and unreadable replies
    infer_done: bool = False  # whether an `infer` command completed
    log: tuple[str, ...] = ()  # lines that are no reply: what the engine itself printed


# A model's input: one tensor's raw bytes, or each input tensor's in the model's order
Inputs = bytes | Sequence[bytes]


def session_commands(inputs: Inputs, runs: int = 1, warmups: int = 0) -> list[str]:
    """The commands of one session: identify, load the inputs, infer, read the outputs."""
    return ["name", "profile", *input_commands(inputs, runs, warmups)]


def input_commands(inputs: Inputs, runs: int = 1, warmups: int = 0) -> list[str]:
    """Load the inputs, infer, read the outputs: what a session repeats per sample.

    One input is loaded with MLPerf Tiny's `db load N`; each of several with tinybench's
    `db load N I` (input I).
    """
    tensors = [inputs] if isinstance(inputs, bytes) else list(inputs)
    if not tensors or not all(tensors):
        raise ConfigError("an input tensor is empty; pass the model's raw input bytes")
    if runs < 1 or warmups < 0:
        raise ConfigError(f"infer needs runs >= 1 and warmups >= 0, got {runs} and {warmups}")
    commands = []
    for index, tensor in enumerate(tensors):
        chunks = (tensor[i : i + CHUNK_BYTES] for i in range(0, len(tensor), CHUNK_BYTES))
        which = f" {index}" if len(tensors) > 1 else ""
        commands += [f"db load {len(tensor)}{which}", *(f"db {chunk.hex()}" for chunk in chunks)]
    return [*commands, f"infer {runs} {warmups}", "results"]


def session_script(inputs: Inputs, runs: int = 1, warmups: int = 0) -> bytes:
    """The bytes a host sends for one session, every command terminated by '%'."""
    return _script(session_commands(inputs, runs, warmups))


def many_inputs_script(inputs: list[Inputs]) -> bytes:
    """One session that infers once on each sample in turn (accuracy mode)."""
    return _script(["name", "profile", *(c for x in inputs for c in input_commands(x))])


def _script(commands: list[str]) -> bytes:
    return "".join(f"{c}%" for c in commands).encode()


def all_outputs(output: bytes | str) -> list[tuple[int, ...]]:
    """Every `m-results-[…]` (the first output) a session printed, in order: one per inference
    of `many_inputs_script`."""
    text = output.decode("ascii", errors="replace") if isinstance(output, bytes) else output
    return [_numbers(line.strip().removeprefix("m-results-")) for line in text.splitlines()
            if line.strip().startswith("m-results-")]


def parse_session(output: bytes | str) -> Session:
    """Read a device's replies; the last `infer` block gives the timing figures."""
    text = output.decode("ascii", errors="replace") if isinstance(output, bytes) else output
    fields: dict[str, object] = {}
    errors: list[str] = []
    laps: list[int] = []
    log: list[str] = []
    for line in text.splitlines():
        match = _LINE.match(line.strip())
        if match is None:
            if line.strip():
                log.append(line.strip())
            continue
        kind, body = match.groups()
        if kind == "e":
            errors.append(_bracketed(body))
        elif body.startswith("infer-start-"):
            laps = []
            fields["infer_done"] = False
        elif body == "infer-done":
            fields["infer_done"] = True
            fields["lap_us"] = laps[-1] - laps[0] if len(laps) >= 2 else None
        else:
            try:
                _parse_reply(body, fields, laps)
            except ValueError:
                errors.append(f"unreadable reply: {line.strip()}")
    return Session(**fields, errors=tuple(errors), log=tuple(log))


_NUMBERS = {
    "tb-clock-hz-": "clock_hz",
    "tb-arena-bytes-": "arena_bytes",
    "tb-stack-bytes-": "stack_bytes",
    "tb-persistent-bytes-": "persistent_bytes",
}
_LISTS = {"tb-cycles-": "cycles", "tb-layer-cycles-": "layer_cycles"}


def completed_session(output: bytes | str, who: str,
                      error: type[TinybenchError] = SimulationError) -> Session:
    """Parse a session's replies; `error` naming `who` unless an inference completed cleanly."""
    session = parse_session(output)
    if session.errors or not session.infer_done:
        problem = "; ".join(session.errors) or "no m-infer-done"
        said = f" (it printed: {session.log[-1]})" if session.log else ""
        raise error(f"{who} did not complete an inference: {problem}{said}")
    return session


def output_tensors(session: Session, dtypes: Sequence[np.dtype]) -> tuple[np.ndarray, ...]:
    """The outputs the device sent, each one's bytes read as its dtype in `dtypes` (the harness
    prints each output tensor's raw bytes as signed 8-bit values, whatever its type)."""
    if len(session.outputs) != len(dtypes):
        raise SimulationError(f"the firmware returned {len(session.outputs)} outputs, the model "
                              f"has {len(dtypes)}")
    tensors = []
    for values, dtype in zip(session.outputs, dtypes, strict=True):
        raw = np.array(values, dtype=np.int8)
        if raw.size % np.dtype(dtype).itemsize:
            raise SimulationError(f"the firmware returned {raw.size} output bytes, not a whole "
                                  f"number of {np.dtype(dtype)} values")
        tensors.append(raw.view(dtype))
    return tuple(tensors)


def _parse_reply(body: str, fields: dict[str, object], laps: list[int]) -> None:
    if body.startswith("lap-us-"):
        laps.append(int(body.removeprefix("lap-us-")))
    elif body.startswith("name-dut-"):
        fields["name"] = _bracketed(body.removeprefix("name-dut-"))
    elif body.startswith("model-"):
        fields["model"] = body.removeprefix("model-")
    elif body.startswith("tb-plan-"):
        inner = _bracketed(body.removeprefix("tb-plan-"))
        fields["plan"] = tuple(_buffer(item) for item in inner.split(",") if item.strip())
    elif body.startswith("results-"):  # output 0: the outputs of a new `results`
        fields["outputs"] = (_numbers(body.removeprefix("results-")),)
    elif body.startswith("tb-results-"):  # output i >= 1, after output i - 1
        index, values = body.removeprefix("tb-results-").split("-", 1)
        earlier = fields.get("outputs", ())
        if int(index) != len(earlier) or not earlier:
            raise ValueError(f"output {index} out of order")
        fields["outputs"] = (*earlier, _numbers(values))
    for prefix, key in _NUMBERS.items():
        if body.startswith(prefix):
            fields[key] = int(body.removeprefix(prefix))
    for prefix, key in _LISTS.items():
        if body.startswith(prefix):
            fields[key] = _numbers(body.removeprefix(prefix))


def _numbers(bracketed: str) -> tuple[int, ...]:
    return tuple(int(v) for v in _bracketed(bracketed).split(",") if v.strip())


def _buffer(item: str) -> tuple[int, int, int, int]:
    offset, size, first, last = (int(v) for v in item.split(":"))
    return offset, size, first, last


def _bracketed(text: str) -> str:
    return text[1:-1] if text.startswith("[") and text.endswith("]") else text
