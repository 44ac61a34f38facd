"""Turn TVM's dequantize → float op → quantize into int8 kernels with integer requantization.

TVM 0.27 imports a quantized TFLite op as dequantize → float op → quantize. Left as is, the
weights are dequantized to float32 (four times their size, in Flash once folded or in RAM at
run time) and every activation is widened to float32 before each kernel. This pass rewrites
each conv2d (NHWC) and matmul whose weight is a dequantized int8 constant:

    conv(dequant(x, sx, zx), dequant(w, sw))  →  conv(pad(x, zx), w) in int32 - zx·Σw

and, when a quantize follows (after an optional bias add), replaces the float rescale with
TFLite's fixed-point multiply of the int32 accumulator, so conv and dense layers read int8,
accumulate in int32 and give the reference kernels' int8 results bit for bit. Average pools
of int8 values are rounded to nearest like TFLite's; int8 adds and softmaxes become TFLite's
integer kernels (the softmax is LiteRT's gemmlowp reference, without any float at run time).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import tvm
from tvm import relax
from tvm.relax import op as R

_LAYOUT_OPS = ("relax.reshape", "relax.permute_dims")
# the annotation of a TE stage that the scheduler keeps apart instead of inlining it
MATERIALIZE = "tinybench.materialize"


def integer_kernels(mod: tvm.IRModule) -> tvm.IRModule:
    """Rewrite the quantized conv2d/matmul, their requantization and the int8 average pools
    of `mod`'s main function into integer arithmetic (see the module docstring)."""
    rewriter = _Rewriter(mod)
    rewriter.builder_.update_func(mod.get_global_var("main"), rewriter.visit_expr(mod["main"]))
    return relax.transform.DeadCodeElimination()(rewriter.builder_.get())


def op_name(expr: relax.Expr) -> str | None:
    """The name of the operator `expr` calls, or None when it is not an operator call."""
    return expr.op.name if isinstance(expr, relax.Call) and isinstance(expr.op, tvm.ir.Op) else None


def _const(expr: relax.Expr) -> np.ndarray | None:
    return expr.value.numpy() if isinstance(expr, tvm.ir.expr.GenericConst) else None


def _apply_layout(call: relax.Call, array: np.ndarray) -> np.ndarray:
    if op_name(call) == "relax.reshape":
        return array.reshape([int(d) for d in call.args[1].values])
    axes = call.attrs.axes
    return array.transpose(None if axes is None else [int(a) for a in axes])


def _moved_axis(call: relax.Call, before: tuple[int, ...], axis: int) -> int | None:
    """Where axis `axis` of a tensor shaped `before` ends up after the layout op `call`."""
    if op_name(call) == "relax.permute_dims":
        axes = call.attrs.axes
        axes = list(reversed(range(len(before)))) if axes is None else [int(a) for a in axes]
        return axes.index(axis)
    after = [int(d) for d in call.args[1].values]
    prefix = int(np.prod(before[:axis]))
    for j, size in enumerate(after):
        if int(np.prod(after[:j])) == prefix and size == before[axis]:
            return j
    return None


@dataclass(frozen=True)
class _Accumulator:
    """An int32 accumulator of a rewritten conv or matmul, and how TFLite requantizes it."""

    acc: relax.Expr  # the raw sum of products, before the zero-point correction
    offset: np.ndarray  # int32 per output channel to add: bias - input zero point · Σw
    scale: np.ndarray  # float64 real value of one accumulator step, per output channel
    single_rounding: bool  # LiteRT's reference conv rounds twice, its dense layer once
    real: relax.Var | None = None  # the float value emitted for ops that are not quantize


@relax.expr_functor.mutator
class _Rewriter(relax.PyExprMutator):
    def __init__(self, mod: tvm.IRModule) -> None:
        super().__init__(mod)
        # every rewritten conv and matmul, for the quantize after it to find
        self._accumulators: list[_Accumulator] = []

    def _producer(self, expr: relax.Expr) -> relax.Expr | None:
        return self.lookup_binding(expr) if isinstance(expr, relax.Var) else None

    def _constant_int8(self, expr: relax.Expr) -> np.ndarray | None:
        """The value of an int8 constant, possibly behind reshapes and transposes."""
        value = _const(expr)
        if value is not None:
            return value if value.dtype == np.int8 else None
        producer = self._producer(expr)
        if op_name(producer) not in _LAYOUT_OPS:
            return None
        inner = self._constant_int8(producer.args[0])
        return None if inner is None else _apply_layout(producer, inner)

    def _weight(self, expr: relax.Expr) -> tuple[np.ndarray, np.ndarray, int] | None:
        """(int8 weight, per-channel or scalar scale, scale axis) of a dequantized constant."""
        above = []
        producer = self._producer(expr)
        while op_name(producer) in _LAYOUT_OPS:
            above.append(producer)
            producer = self._producer(producer.args[0])
        if op_name(producer) != "relax.dequantize":
            return None
        weight = self._constant_int8(producer.args[0])
        scale, zero = _const(producer.args[1]), _const(producer.args[2])
        if weight is None or scale is None or zero is None or np.any(zero != 0):
            return None
        axis = int(producer.attrs.axis) % weight.ndim
        for call in reversed(above):
            moved = _moved_axis(call, weight.shape, axis)
            weight = _apply_layout(call, weight)
            if moved is None and scale.size > 1:
                return None
            axis = moved if moved is not None else 0
        return weight, scale.astype(np.float32).reshape(-1), axis

    def _activation(self, expr: relax.Expr) -> tuple[relax.Expr, float, int] | None:
        """(int8 tensor, scale, zero point) when `expr` dequantizes an int8 tensor per-tensor."""
        producer = self._producer(expr)
        if op_name(producer) != "relax.dequantize":
            return None
        data = producer.args[0]
        scale, zero = _const(producer.args[1]), _const(producer.args[2])
        if data.ty.dtype != "int8" or scale is None or zero is None or scale.size != 1:
            return None
        return data, float(scale.reshape(())), int(zero.reshape(()))

    def visit_call_(self, call: relax.Call) -> relax.Expr:
        call = self.visit_expr_post_order(call)
        rewrites = {
            "relax.nn.conv2d": self._conv2d,
            "relax.matmul": self._matmul,
            "relax.nn.avg_pool2d": self._avg_pool2d,
            "relax.quantize": self._quantize,
        }
        rewrite = rewrites.get(op_name(call))
        new = rewrite(call) if rewrite else None
        return call if new is None else new

    def _conv2d(self, call: relax.Call) -> relax.Expr | None:
        attrs = call.attrs
        if attrs.data_layout != "NHWC" or attrs.out_layout != "NHWC":
            return None
        out_axis = attrs.kernel_layout.index("O")
        weight = self._weight(call.args[1])
        if weight is None or not _per_channel_ok(weight, out_axis):
            return None
        w, sw, _ = weight
        conv = dict(strides=attrs.strides, dilation=attrs.dilation, groups=int(attrs.groups),
                    data_layout="NHWC", kernel_layout=attrs.kernel_layout, out_layout="NHWC")
        activation = self._activation(call.args[0])
        if activation is None:
            out = R.nn.conv2d(call.args[0], relax.const(w), padding=attrs.padding,
                              out_dtype="float32", **conv)
            return R.multiply(out, relax.const(sw))
        x, sx, zx = activation
        acc = self.builder_.call_te(
            _padded_conv, x, relax.const(w), zx, [int(p) for p in attrs.padding],
            [int(s) for s in attrs.strides], [int(d) for d in attrs.dilation],
            int(attrs.groups), attrs.kernel_layout, primfunc_name_hint="conv2d",
        )
        sums = w.astype(np.int32).sum(axis=tuple(a for a in range(w.ndim) if a != out_axis))
        scale = np.float64(sx) * sw.astype(np.float64)
        return self._accumulated(_Accumulator(acc, -zx * sums, scale, single_rounding=False))

    def _matmul(self, call: relax.Call) -> relax.Expr | None:
        weight = self._weight(call.args[1])
        if weight is None or weight[0].ndim != 2 or not _per_channel_ok(weight, 1):
            return None
        w, sw, _ = weight
        activation = self._activation(call.args[0])
        if activation is None:
            out = R.matmul(call.args[0], relax.const(w), out_dtype="float32")
            return R.multiply(out, relax.const(sw))
        x, sx, zx = activation
        acc = R.matmul(x, relax.const(w), out_dtype="int32")
        sums = w.astype(np.int32).sum(axis=0)
        scale = np.float64(sx) * sw.astype(np.float64)
        return self._accumulated(_Accumulator(acc, -zx * sums, scale, single_rounding=True))

    def _accumulated(self, found: _Accumulator) -> relax.Var:
        """The real value of an int32 accumulator, remembered for an exact requantization."""
        acc = self.builder_.emit(found.acc)
        real = R.astype(_offset(acc, found.offset), "float32")
        real = self.builder_.emit(R.multiply(real, relax.const(found.scale.astype(np.float32))))
        self._accumulators.append(replace(found, acc=acc, real=real))
        return real

    def _quantize(self, call: relax.Call) -> relax.Expr | None:
        """quantize(acc·scale [+ bias]) → TFLite's fixed-point requantization of acc [+ bias],
        and quantize(dequant(a) + dequant(b)) → TFLite's int8 ADD.

        TFLite rescales with integer multipliers and shifts; doing the same here makes int8
        conv, dense and add layers bit-exact instead of within a step, and keeps the inputs
        of an add int8 (fused with a conv, TVM's add otherwise widens one input to float32).
        """
        out_scale, out_zero = _const(call.args[1]), _const(call.args[2])
        if out_scale is None or out_zero is None or out_scale.size != 1:
            return None
        if str(call.attrs.out_dtype) != "int8":
            return None
        real, bias = call.args[0], None
        producer = self._producer(real)
        if op_name(producer) == "relax.nn.softmax":
            return self._softmax(producer, float(out_scale.reshape(())),
                                 int(out_zero.reshape(())))
        relu = op_name(producer) == "relax.nn.relu"
        summed = self._producer(producer.args[0]) if relu else producer
        if op_name(summed) == "relax.add":
            inputs = [self._activation(arg) for arg in summed.args]
            if all(inputs) and _same_shape(*summed.args):
                (a, sa, za), (b, sb, zb) = inputs
                zero = int(out_zero.reshape(()))
                low = max(zero, -128) if relu else -128
                return self.builder_.call_te(
                    _int8_add, a, b, (sa, za), (sb, zb), (float(out_scale.reshape(())), zero),
                    low, primfunc_name_hint="add",
                )
            for value, other in (producer.args, tuple(reversed(producer.args))):
                bias = self._bias(other)
                if bias is not None:
                    real = value
                    break
        found = self._accumulator(real)
        if found is None:
            return None
        offset = found.offset if bias is None else found.offset + bias
        acc = self.builder_.emit(_offset(found.acc, offset))
        q, shift = _multiplier(found.scale / np.float64(out_scale.reshape(())))
        multiplier = q << np.maximum(shift, 0)
        narrow = np.int32 if np.all(multiplier < 2**31) else np.int64
        return self.builder_.call_te(
            _fixed_point_multiply, acc, relax.const(multiplier.astype(narrow)),
            relax.const(np.maximum(-shift, 0).astype(np.int32)), int(out_zero.reshape(())),
            found.single_rounding, primfunc_name_hint="requantize",
        )

    def _softmax(self, call: relax.Call, out_scale: float, out_zero: int) -> relax.Expr | None:
        """quantize(softmax(dequant(x))) along the last axis → LiteRT's integer softmax."""
        activation = self._activation(call.args[0])
        last = int(call.attrs.axis) in (-1, len(call.ty.shape) - 1)
        if activation is None or not last or (out_scale, out_zero) != (1 / 256, -128):
            return None
        x, sx, _ = activation
        return self.builder_.call_te(_int8_softmax, x, sx, primfunc_name_hint="softmax")

    def _bias(self, expr: relax.Expr) -> np.ndarray | None:
        """The int32 values of a dequantized int32 constant with zero point 0 (a bias)."""
        producer = self._producer(expr)
        if op_name(producer) != "relax.dequantize":
            return None
        bias, zero = _const(producer.args[0]), _const(producer.args[2])
        if bias is None or bias.dtype != np.int32 or zero is None or np.any(zero != 0):
            return None
        return bias.reshape(-1)

    def _accumulator(self, expr: relax.Expr) -> _Accumulator | None:
        """The accumulator behind a value made by _accumulated, if `expr` is one."""
        while isinstance(expr, relax.Var):
            for found in self._accumulators:
                if found.real is not None and found.real.same_as(expr):
                    return found
            expr = self.lookup_binding(expr)
        return None

    def _avg_pool2d(self, call: relax.Call) -> relax.Expr | None:
        """Average int8 values and round to nearest, as TFLite does.

        The frontend averages in int32, whose division truncates: a bias of up to -1 LSB in
        every pooled value, which the dense layer after the pool multiplies. A global pool
        (the models' last pool) becomes an int32 sum over int8 inputs with TFLite's integer
        rounding, bit-exact and without a wide copy of its input; other pools average in
        float and round to nearest even.
        """
        producer = self._producer(call.args[0])
        if op_name(producer) != "relax.astype" or producer.args[0].ty.dtype != "int8":
            return None
        x, a = producer.args[0], call.attrs
        _, height, width, _ = (int(d) for d in x.ty.shape)
        whole = [int(p) for p in a.pool_size] == [height, width] and a.layout == "NHWC"
        if whole and not any(int(p) for p in a.padding):
            return self.builder_.call_te(_global_average, x, primfunc_name_hint="global_average")
        pooled = R.nn.avg_pool2d(
            R.astype(x, "float32"), a.pool_size, a.strides, a.padding, a.dilation,
            a.ceil_mode, a.count_include_pad, a.layout, a.out_layout,
        )
        return R.astype(R.round(pooled), call.ty.dtype)


def _same_shape(a: relax.Expr, b: relax.Expr) -> bool:
    return [int(d) for d in a.ty.shape] == [int(d) for d in b.ty.shape]


def _offset(acc: relax.Expr, offset: np.ndarray) -> relax.Expr:
    """acc + offset per output channel, or acc itself when the offset is zero."""
    return R.add(acc, relax.const(offset.astype(np.int32))) if np.any(offset != 0) else acc


def _padded_conv(x: tvm.te.Tensor, w: tvm.te.Tensor, zero: int, padding: list[int],
                 strides: list[int], dilation: list[int], groups: int,
                 kernel_layout: str) -> tvm.te.Tensor:
    """An int32 NHWC convolution of int8 `x` padded with its zero point, in one kernel.

    As one PrimFunc the pad is inlined into the convolution's reads (no padded copy of the
    input in RAM) and the requantization still fuses behind it.
    """
    from tvm import topi

    top, left, bottom, right = padding
    if any(padding):
        x = topi.nn.pad(x, [0, top, left, 0], [0, bottom, right, 0], pad_value=zero)
    return topi.nn.conv(x, w, strides, 0, dilation, groups, "NHWC", kernel_layout, "int32")


def _global_average(x: tvm.te.Tensor) -> tvm.te.Tensor:
    """TFLite's int8 average over all of H and W: an int32 sum, rounded half away from zero."""
    from tvm import te, tirx

    batch, height, width, channels = x.shape
    rows, cols = te.reduce_axis((0, height)), te.reduce_axis((0, width))
    total = te.compute(
        (batch, 1, 1, channels),
        lambda b, i, j, c: te.sum(x[b, rows, cols, c].astype("int32"), axis=[rows, cols]),
        name="total",
    )
    count = (height * width).astype("int32")
    half = count // 2
    return te.compute(
        total.shape,
        lambda *i: tirx.Select(total(*i) > 0, (total(*i) + half) // count,
                               -((half - total(*i)) // count)),
        name="average",
    )


def _per_channel_ok(weight: tuple[np.ndarray, np.ndarray, int], out_axis: int) -> bool:
    """A scale is usable when it is per tensor or follows the output-channel axis."""
    w, scale, axis = weight
    return scale.size == 1 or (axis == out_axis and scale.size == w.shape[out_axis])


def _multiplier(scale: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """TFLite's QuantizeMultiplier: scale = q · 2^(shift - 31) with q a Q31 integer."""
    mantissa, shift = np.frexp(scale.astype(np.float64))
    q = np.floor(mantissa * (1 << 31) + 0.5).astype(np.int64)
    overflow = q == (1 << 31)
    q[overflow] //= 2
    shift[overflow] += 1
    tiny = shift < -31
    q[tiny], shift[tiny] = 0, 0
    huge = shift > 30
    q[huge], shift[huge] = (1 << 31) - 1, 30
    return q, shift.astype(np.int64)


def _rescale(x: tvm.tirx.PrimExpr, q: tvm.tirx.PrimExpr, right: tvm.tirx.PrimExpr,
             single: bool) -> tvm.tirx.PrimExpr:
    """x · q · 2^-(31 + right) in int64, rounded as TFLite's MultiplyByQuantizedMultiplier.

    Single rounding: (x·q + 2^(30 + right)) >> (31 + right). Double rounding (gemmlowp's): a
    rounding doubling high multiply, then a rounding right shift with ties away from zero.
    """
    from tvm import tirx

    if single:
        one = tirx.const(1, "int64")
        return (x * q + (one << (right + 30))) >> (right + 31)
    return _rounding_shift(_high_mul(x, q), right)


def _high_mul(a: tvm.tirx.PrimExpr, b: tvm.tirx.PrimExpr) -> tvm.tirx.PrimExpr:
    """gemmlowp's SaturatingRoundingDoublingHighMul of int32 values held in int64:
    (a·b + 2^30) >> 31, which is what its nudge for negative products comes to. Its one
    saturating case, -2^31 · -2^31, needs both operands at -1.0, which no caller passes."""
    return (a * b + (1 << 30)) >> 31


def _rounding_shift(x: tvm.tirx.PrimExpr, right: tvm.tirx.PrimExpr | int) -> tvm.tirx.PrimExpr:
    """gemmlowp's RoundingDivideByPOT: x / 2^right, rounded to nearest with ties away from 0."""
    from tvm import tirx

    mask = (tirx.const(1, "int64") << right) - 1
    threshold = (mask >> 1) + (x < 0).astype("int64")
    return (x >> right) + ((x & mask) > threshold).astype("int64")


def _int8(x: tvm.tirx.PrimExpr) -> tvm.tirx.PrimExpr:
    from tvm import tirx

    return tirx.max(tirx.min(x, 127), -128).astype("int8")


def _fixed_point_multiply(
    acc: tvm.te.Tensor, multiplier: tvm.te.Tensor, right: tvm.te.Tensor, zero: int, single: bool
) -> tvm.te.Tensor:
    """int8(acc · multiplier · 2^-(31 + right) + zero), per output channel (the last axis)
    unless `multiplier` and `right` hold one value. Written in TE so the per-channel tables
    stay int32 arrays instead of being folded into int64 ones."""
    from tvm import te

    def channel(table: te.Tensor, c: tvm.tirx.PrimExpr) -> tvm.tirx.PrimExpr:
        return table[c if int(table.shape[0]) > 1 else 0].astype("int64")

    def value(*index: tvm.tirx.PrimExpr) -> tvm.tirx.PrimExpr:
        x = acc(*index).astype("int64")
        c = index[-1]
        return _int8(_rescale(x, channel(multiplier, c), channel(right, c), single) + zero)

    return te.compute(acc.shape, value, name="requantize")


def _int8_add(a: tvm.te.Tensor, b: tvm.te.Tensor, qa: tuple[float, int],
              qb: tuple[float, int], out: tuple[float, int], low: int) -> tvm.te.Tensor:
    """TFLite's int8 ADD: both inputs to a common scale at 2^20 resolution, sum, rescale,
    clamp to [low, 127] (low is the output zero point after a fused ReLU)."""
    from tvm import te, tirx

    widest = 2 * max(qa[0], qb[0])
    terms = [(t, z, *_multiplier(np.array([s / widest]))) for t, (s, z) in ((a, qa), (b, qb))]
    q_out, shift_out = _multiplier(np.array([widest / ((1 << 20) * out[0])]))

    def scaled(q: np.ndarray, shift: np.ndarray, x: tirx.PrimExpr) -> tirx.PrimExpr:
        q = tirx.const(int(q[0]) << max(int(shift[0]), 0), "int64")
        return _rescale(x, q, tirx.const(max(-int(shift[0]), 0), "int64"), single=False)

    def value(*index: tirx.PrimExpr) -> tirx.PrimExpr:
        total = sum(
            scaled(q, shift, (t(*index).astype("int64") - zero) << 20)
            for t, zero, q, shift in terms
        )
        return _int8(tirx.max(scaled(q_out, shift_out, total) + out[1], low))

    return te.compute(a.shape, value, name="add")


def _int8_softmax(x: tvm.te.Tensor, scale: float) -> tvm.te.Tensor:
    """LiteRT's reference int8 softmax along the last axis, in integers only (beta 1; the
    output scale is 1/256 and the zero point -128, as TFLite requires).

    gemmlowp fixed point throughout: each input's difference to the maximum of its row is
    scaled to Q5.26 by a multiplier fixed at compile time, mapped to exp of it in Q0.31 and
    summed in Q12.19; differences below diff_min, whose exp vanishes, count as zero. One over
    the sum, normalized to Q0.31 and a power of two, scales every exp to the output.
    """
    from tvm import te, tirx

    # PreprocessSoftmaxScaling: scale · 2^26 as a multiplier with a left shift
    q, shift = _multiplier(np.array([min(scale * (1 << 26), (1 << 31) - 1)]))
    multiplier = tirx.const(int(q[0]) << int(shift[0]), "int64")
    diff_min = -((31 << 26) >> int(shift[0]))  # CalculateInputRadius: no overflow in Q5.26
    *rows, depth = x.shape

    def along_row(reduce, value, name: str) -> te.Tensor:
        k = te.reduce_axis((0, depth))
        return te.compute(rows, lambda *r: reduce(value(*r, k), axis=k), name=name)

    top = along_row(te.max, _wide(x), "row_max")

    def diff(*index: tirx.PrimExpr) -> tirx.PrimExpr:
        return x(*index).astype("int64") - top(*index[:-1])

    scaled = _stage(x.shape, lambda *i: _rescale(diff(*i), multiplier, 0, single=False),
                    "scaled_diff")
    exps = _stage(x.shape, lambda *i: tirx.Select(
        diff(*i) >= diff_min, _exp_on_negative(_wide(scaled)(*i)), tirx.const(0, "int64")
    ), "exp")
    total = along_row(te.sum, lambda *i: _rounding_shift(_wide(exps)(*i), 12), "sum_of_exps")
    # the sum is at least exp(0) = 1.0 and below 2^12: how many bits it has above 1.0
    bits = _stage(rows, lambda *r: sum(
        (total(*r) >= (1 << (20 + j))).astype("int64") for j in range(11)
    ), "bits_over_unit")
    # GetReciprocal: 1 / sum = 2^-bits / (1 + f), with f in [0, 1) in Q0.31
    reciprocal = _one_over_one_plus(_stage(
        rows, lambda *r: (total(*r) << (12 - _wide(bits)(*r))) - (1 << 31), "fraction"
    ))
    return te.compute(x.shape, lambda *i: _int8(_rounding_shift(
        _high_mul(_wide(reciprocal)(*i[:-1]), _wide(exps)(*i)), _wide(bits)(*i[:-1]) + 23
    ) - 128), name="softmax")


def _stage(shape, value, name: str) -> tvm.te.Tensor:
    """An int32 stage computed once per element, which the scheduler keeps apart instead of
    inlining it into each of its readers: every expression stays small."""
    from tvm import te

    return te.compute(shape, lambda *i: value(*i).astype("int32"), name=name,
                      attrs={MATERIALIZE: 1})


def _wide(tensor: tvm.te.Tensor):
    """The elements of `tensor` as int64 values."""
    return lambda *i: tensor(*i).astype("int64")


def _q(value: float, integer_bits: int) -> int:
    """The raw int32 of `value` in gemmlowp fixed point with `integer_bits` integer bits."""
    return round(value * (1 << (31 - integer_bits)))


def _saturating_shift_left(x: tvm.tirx.PrimExpr, left: int) -> tvm.tirx.PrimExpr:
    """gemmlowp's SaturatingRoundingMultiplyByPOT<left> for left > 0, on int32 values."""
    from tvm import tirx

    limit = (1 << (31 - left)) - 1
    return tirx.Select(x > limit, tirx.const(2**31 - 1, "int64"),
                       tirx.Select(x < -limit, tirx.const(-(2**31), "int64"), x << left))


def _exp_on_negative(a: tvm.tirx.PrimExpr) -> tvm.tirx.PrimExpr:
    """gemmlowp's exp_on_negative_values: exp(a) in Q0.31 for a ≤ 0 in Q5.26.

    a = r - m with r in [-1/4, 0) and m ≥ 0 a multiple of 1/4: exp(r) from a polynomial,
    times exp(-2^k) for each power of two 2^k (k ≥ -2) that m holds.
    """
    from tvm import tirx

    quarter = 1 << 24
    r = (a & (quarter - 1)) - quarter
    result = _exp_near_zero(r << 5)
    for k in range(-2, 5):
        # a multiply by 2^31 leaves a Q0.31 value as it is
        factor = tirx.Select(((r - a) >> (26 + k)) & 1 == 1,
                             tirx.const(_q(np.exp(-(2.0**k)), 0), "int64"),
                             tirx.const(1 << 31, "int64"))
        result = _high_mul(result, factor)
    return tirx.Select(a == 0, tirx.const(2**31 - 1, "int64"), result)


def _exp_near_zero(a: tvm.tirx.PrimExpr) -> tvm.tirx.PrimExpr:
    """exp(a) in Q0.31 for a in [-1/4, 0) in Q0.31: gemmlowp's Taylor series about -1/8."""
    constant = _q(np.exp(-1 / 8), 0)
    x = a + (1 << 28)
    x2 = _high_mul(x, x)
    x3 = _high_mul(x2, x)
    x4_over_4 = _rounding_shift(_high_mul(x2, x2), 2)
    rest = _rounding_shift(_high_mul(x4_over_4 + x3, _q(1 / 3, 0)) + x2, 1)
    return constant + _high_mul(constant, x + rest)


def _one_over_one_plus(a: tvm.te.Tensor) -> tvm.te.Tensor:
    """1 / (1 + a) in Q0.31 for a in [0, 1) in Q0.31: gemmlowp's Newton-Raphson division,
    one stage per step."""
    one = 1 << 29  # in Q2.29
    half = _stage(a.shape, lambda *i: (_wide(a)(*i) + (1 << 31)) >> 1, "half_denominator")
    x = _stage(a.shape, lambda *i: _q(48 / 17, 2) + _high_mul(_wide(half)(*i), _q(-32 / 17, 2)),
               "newton")

    def step(x: tvm.te.Tensor) -> tvm.te.Tensor:
        def value(*i: tvm.tirx.PrimExpr) -> tvm.tirx.PrimExpr:
            xi, hi = _wide(x)(*i), _wide(half)(*i)
            return xi + _saturating_shift_left(_high_mul(xi, one - _high_mul(hi, xi)), 2)

        return _stage(a.shape, value, "newton")

    for _ in range(3):
        x = step(x)
    return _stage(a.shape, lambda *i: _saturating_shift_left(_wide(x)(*i), 1), "reciprocal")
