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
Those kernels, as TVM tensor expressions, are in tvm_int8_kernels.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import tvm
from tvm import relax
from tvm.relax import op as R

from tinybench.backends.tvm_int8_kernels import (
    fixed_point_multiply,
    global_average,
    int8_add,
    int8_softmax,
    padded_conv,
    quantize_multiplier,
)

_LAYOUT_OPS = ("relax.reshape", "relax.permute_dims")


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
            padded_conv, x, relax.const(w), zx, [int(p) for p in attrs.padding],
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
                    int8_add, a, b, (sa, za), (sb, zb), (float(out_scale.reshape(())), zero),
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
        q, shift = quantize_multiplier(found.scale / np.float64(out_scale.reshape(())))
        multiplier = q << np.maximum(shift, 0)
        narrow = np.int32 if np.all(multiplier < 2**31) else np.int64
        return self.builder_.call_te(
            fixed_point_multiply, acc, relax.const(multiplier.astype(narrow)),
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
        return self.builder_.call_te(int8_softmax, x, sx, primfunc_name_hint="softmax")

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
            return self.builder_.call_te(global_average, x, primfunc_name_hint="global_average")
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


def _per_channel_ok(weight: tuple[np.ndarray, np.ndarray, int], out_axis: int) -> bool:
    """A scale is usable when it is per tensor or follows the output-channel axis."""
    w, scale, axis = weight
    return scale.size == 1 or (axis == out_axis and scale.size == w.shape[out_axis])
