"""TFLite's integer kernels as TVM tensor expressions, for the graph rewrite in tvm_int8.

Each computes what LiteRT's reference kernel computes, bit for bit: the fixed-point rescale of
an int32 accumulator (QuantizeMultiplier, then one rounding or gemmlowp's two), the int8 ADD,
the integer softmax in gemmlowp fixed point (its exp and Newton-Raphson reciprocal), the
global average pool, and a convolution whose padding is the input's zero point.
"""

from __future__ import annotations

import numpy as np
import tvm

# the annotation of a TE stage that the scheduler keeps apart instead of inlining it
MATERIALIZE = "tinybench.materialize"


def padded_conv(x: tvm.te.Tensor, w: tvm.te.Tensor, zero: int, padding: list[int],
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


def global_average(x: tvm.te.Tensor) -> tvm.te.Tensor:
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


def quantize_multiplier(scale: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
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


def fixed_point_multiply(
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


def int8_add(a: tvm.te.Tensor, b: tvm.te.Tensor, qa: tuple[float, int],
              qb: tuple[float, int], out: tuple[float, int], low: int) -> tvm.te.Tensor:
    """TFLite's int8 ADD: both inputs to a common scale at 2^20 resolution, sum, rescale,
    clamp to [low, 127] (low is the output zero point after a fused ReLU)."""
    from tvm import te, tirx

    widest = 2 * max(qa[0], qb[0])
    terms = [(t, z, *quantize_multiplier(np.array([s / widest])))
             for t, (s, z) in ((a, qa), (b, qb))]
    q_out, shift_out = quantize_multiplier(np.array([widest / ((1 << 20) * out[0])]))

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


def int8_softmax(x: tvm.te.Tensor, scale: float) -> tvm.te.Tensor:
    """LiteRT's reference int8 softmax along the last axis, in integers only (beta 1; the
    output scale is 1/256 and the zero point -128, as TFLite requires).

    gemmlowp fixed point throughout: each input's difference to the maximum of its row is
    scaled to Q5.26 by a multiplier fixed at compile time, mapped to exp of it in Q0.31 and
    summed in Q12.19; differences below diff_min, whose exp vanishes, count as zero. One over
    the sum, normalized to Q0.31 and a power of two, scales every exp to the output.
    """
    from tvm import te, tirx

    # PreprocessSoftmaxScaling: scale · 2^26 as a multiplier with a left shift
    q, shift = quantize_multiplier(np.array([min(scale * (1 << 26), (1 << 31) - 1)]))
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
