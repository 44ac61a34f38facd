"""Turn TVM's dequantize → float conv/matmul into integer kernels with int8 weights.

TVM 0.27 imports a quantized TFLite op as dequantize → float op → quantize. Left as is, the
weights are dequantized to float32 (four times their size, in Flash once folded or in RAM at
run time) and every activation is widened to float32 before each kernel. This pass rewrites
each conv2d (NHWC) and matmul whose weight is a dequantized int8 constant:

    conv(dequant(x, sx, zx), dequant(w, sw))  →  (conv(pad(x, zx), w) as int32 - zx·Σw) · sx·sw

so the kernel reads int8 activations and int8 weights and accumulates exactly in int32, like an
int8 engine; only the requantization of the accumulator stays in float. When the activation is
not a dequantized int8 tensor, the weight still stays int8: conv(x, w as float) · sw.
"""

from __future__ import annotations

import numpy as np
import tvm
from tvm import relax
from tvm.relax import op as R

_LAYOUT_OPS = ("relax.reshape", "relax.permute_dims")


def integer_kernels(mod: tvm.IRModule) -> tvm.IRModule:
    """Rewrite every quantized conv2d/matmul in `mod`'s main function (see module docstring)."""
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


@relax.expr_functor.mutator
class _Rewriter(relax.PyExprMutator):
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
        top, left, bottom, right = (int(p) for p in attrs.padding)
        if top or left or bottom or right:
            x = R.nn.pad(x, [0, 0, top, bottom, left, right, 0, 0], pad_value=float(zx))
        acc = R.nn.conv2d(x, relax.const(w), padding=(0, 0), out_dtype="int32", **conv)
        sums = w.astype(np.int32).sum(axis=tuple(a for a in range(w.ndim) if a != out_axis))
        return _requantize(acc, zx * sums, sx * sw)

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
        return _requantize(acc, zx * w.astype(np.int32).sum(axis=0), sx * sw)


    def _avg_pool2d(self, call: relax.Call) -> relax.Expr | None:
        """Average int8 values in float and round to nearest, as TFLite does.

        The frontend averages in int32, whose division truncates: a bias of up to -1 LSB in
        every pooled value, which the dense layer after the pool multiplies.
        """
        producer = self._producer(call.args[0])
        if op_name(producer) != "relax.astype" or producer.args[0].ty.dtype != "int8":
            return None
        a = call.attrs
        pooled = R.nn.avg_pool2d(
            R.astype(producer.args[0], "float32"), a.pool_size, a.strides, a.padding, a.dilation,
            a.ceil_mode, a.count_include_pad, a.layout, a.out_layout,
        )
        return R.astype(R.round(pooled), call.ty.dtype)


def _per_channel_ok(weight: tuple[np.ndarray, np.ndarray, int], out_axis: int) -> bool:
    """A scale is usable when it is per tensor or follows the output-channel axis."""
    w, scale, axis = weight
    return scale.size == 1 or (axis == out_axis and scale.size == w.shape[out_axis])


def _requantize(acc: relax.Expr, correction: np.ndarray, scale: np.ndarray) -> relax.Expr:
    """float32((acc - correction) · scale): the real value of an int32 accumulator."""
    if np.any(correction != 0):
        acc = R.subtract(acc, relax.const(correction.astype(np.int32)))
    return R.multiply(R.astype(acc, "float32"), relax.const(scale.astype(np.float32)))
