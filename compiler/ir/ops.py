"""The closed op set of the trigc IR and one frozen attribute dataclass per op.

Two groups share the enum. *Import ops* mirror ONNX/QONNX and carry float
semantics (``QUANT``, ``MATMUL``, ``BATCHNORM`` ...); passes lower them away.
*Final ops* have fixed-point semantics: each computes its exact result from its
inputs' real values, then assigns it to its output tensor's :class:`FixedType`
(rounding, then overflow). Precision inference picks output types for which that
assignment is exact unless the op is inherently inexact (LUT activations,
division) or the user overrode the type.

Activations are per-sample: the batch axis is implicit and never in a shape.
Spatial ops are channels-last after ``to_channels_last``.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

import numpy as np

from trigc.fixed import FixedType, Rounding


class Op(enum.Enum):
    # import ops (float semantics, removed by the pipeline)
    QUANT = "Quant"
    BIPOLAR_QUANT = "BipolarQuant"
    TRUNC = "Trunc"
    MATMUL = "MatMul"
    BATCHNORM = "BatchNormalization"
    # final ops (fixed-point semantics)
    CAST = "Cast"
    DENSE = "Dense"
    CONV = "Conv"
    ADD = "Add"
    SUB = "Sub"
    MUL = "Mul"
    DIV = "Div"
    RELU = "Relu"
    LEAKY_RELU = "LeakyRelu"
    CLIP = "Clip"
    SIGN = "Sign"
    ABS = "Abs"
    SIGMOID = "Sigmoid"
    TANH = "Tanh"
    SELU = "Selu"
    SOFTMAX = "Softmax"
    MAXPOOL = "MaxPool"
    AVGPOOL = "AveragePool"
    GLOBAL_AVGPOOL = "GlobalAveragePool"
    GLOBAL_MAXPOOL = "GlobalMaxPool"
    RESHAPE = "Reshape"
    TRANSPOSE = "Transpose"
    CONCAT = "Concat"
    RESIZE = "Resize"


IMPORT_OPS = frozenset({Op.QUANT, Op.BIPOLAR_QUANT, Op.TRUNC, Op.MATMUL, Op.BATCHNORM})
ELEMENTWISE_OPS = frozenset({Op.ADD, Op.SUB, Op.MUL})


@dataclass(frozen=True)
class NoAttrs:
    pass


@dataclass(frozen=True)
class CastAttrs:
    """Requantize. The output tensor's type is the target; when a pass knows only
    the grid (``frac_bits``) and rounding, precision inference derives the integer
    bits from the value bounds (no overflow possible)."""

    frac_bits: int | None = None
    rounding: Rounding = Rounding.TRN


@dataclass(frozen=True)
class QuantAttrs:
    """QONNX ``Quant``; scale, zero point and bit width are constant inputs."""

    signed: bool
    narrow: bool
    rounding_mode: str


@dataclass(frozen=True)
class TruncAttrs:
    """QONNX ``Trunc``: v1 (5 inputs) divides by 2**(in_bits - out_bits); v2 (6 inputs,
    Brevitas >= 0.11) moves to the output scale's grid and clips to out_bits."""

    rounding_mode: str
    version: int = 1
    signed: bool = True
    narrow: bool = False


@dataclass(frozen=True)
class BatchNormAttrs:
    epsilon: float


@dataclass(frozen=True)
class DenseAttrs:
    """y[..., j] = sum_i x[..., i] * W[i, j] + b[j]; W is (n_in, n_out).

    ``accum_type`` is the exact accumulator type (set by precision inference)."""

    n_in: int
    n_out: int
    accum_type: FixedType | None = None


@dataclass(frozen=True)
class ConvAttrs:
    """Channels-last convolution. Weight shape: (*kernel, C_in // groups, C_out).

    ``pads`` is (begin_0, ..., begin_k, end_0, ..., end_k) as in ONNX."""

    kernel_shape: tuple[int, ...]
    strides: tuple[int, ...]
    pads: tuple[int, ...]
    groups: int = 1
    accum_type: FixedType | None = None
    channels_last: bool = False


@dataclass(frozen=True)
class PoolAttrs:
    """Channels-last pooling window. For average pooling the divisor is the
    number of window elements (``count_include_pad``) or of valid ones."""

    kernel_shape: tuple[int, ...]
    strides: tuple[int, ...]
    pads: tuple[int, ...]
    count_include_pad: bool = False
    accum_type: FixedType | None = None
    channels_last: bool = False


@dataclass(frozen=True)
class GlobalPoolAttrs:
    """Max or average over every position (spatial pixels, or the objects of a
    Deep Sets model). ``divide=False`` makes the average a plain sum (ONNX
    ``ReduceSum``): no division at all, so it is exact for any object count."""

    accum_type: FixedType | None = None
    channels_last: bool = False
    divide: bool = True


@dataclass(frozen=True)
class LeakyReluAttrs:
    alpha: float


@dataclass(frozen=True)
class ClipAttrs:
    low: float | None
    high: float | None


@dataclass(frozen=True, eq=False)
class LutAttrs:
    """A lookup-table activation, identical in emulator and firmware.

    index = (clip(raw, index_low, index_low + (len(table) << shift) - 1) - index_low) >> shift
    result = table[index] (raw integers of ``table_type``).
    Empty ``table`` means not built yet (precision inference builds it).
    ``params`` are the function's constants (Selu: ``(alpha, gamma)``)."""

    function: str
    table_size: int = 1024
    index_low: int = 0
    shift: int = 0
    table: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    table_type: FixedType | None = None
    exact: bool = False
    params: tuple[float, ...] = ()


@dataclass(frozen=True, eq=False)
class SoftmaxAttrs:
    """Softmax along the last axis via an exp table and an inverse table.

    d = x - max(x) (exact) ; e = exp_lut(d) ; s = sum(e) (exact) ;
    y = e * inv_lut(s), assigned to the output type.

    ``mode="exact"`` (trigc.ops.softmax) replaces both tables: e is a product of
    chunk tables of r = max(x) - x (``exp_shifts``, ``exp_sizes``, the tables
    concatenated in ``exp_table``, entries with ``exp_bits`` fraction bits) and y is
    the exact quotient e / sum(e) assigned to the output type."""

    axis: int = -1
    table_size: int = 1024
    exp_lut: LutAttrs | None = None
    inv_lut: LutAttrs | None = None
    diff_type: FixedType | None = None
    sum_type: FixedType | None = None
    mode: str = "lut"
    exp_bits: int = 0
    exp_shifts: tuple[int, ...] = ()
    exp_sizes: tuple[int, ...] = ()
    exp_table: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))


@dataclass(frozen=True)
class ReshapeAttrs:
    shape: tuple[int, ...]


@dataclass(frozen=True)
class TransposeAttrs:
    perm: tuple[int, ...]


@dataclass(frozen=True)
class ConcatAttrs:
    axis: int


@dataclass(frozen=True)
class ResizeAttrs:
    """Nearest-neighbour upsampling by integer ``factors``, one per spatial axis
    (every axis but the channel axis, which is first, or last when
    ``channels_last``): output pixel ``o`` copies input pixel ``o // factor``."""

    factors: tuple[int, ...]
    channels_last: bool = False


ATTRS_FOR: dict[Op, type] = {
    Op.QUANT: QuantAttrs,
    Op.BIPOLAR_QUANT: NoAttrs,
    Op.TRUNC: TruncAttrs,
    Op.MATMUL: NoAttrs,
    Op.BATCHNORM: BatchNormAttrs,
    Op.DIV: NoAttrs,
    Op.CAST: CastAttrs,
    Op.DENSE: DenseAttrs,
    Op.CONV: ConvAttrs,
    Op.ADD: NoAttrs,
    Op.SUB: NoAttrs,
    Op.MUL: NoAttrs,
    Op.RELU: NoAttrs,
    Op.LEAKY_RELU: LeakyReluAttrs,
    Op.CLIP: ClipAttrs,
    Op.SIGN: NoAttrs,
    Op.ABS: NoAttrs,
    Op.SIGMOID: LutAttrs,
    Op.TANH: LutAttrs,
    Op.SELU: LutAttrs,
    Op.SOFTMAX: SoftmaxAttrs,
    Op.MAXPOOL: PoolAttrs,
    Op.AVGPOOL: PoolAttrs,
    Op.GLOBAL_AVGPOOL: GlobalPoolAttrs,
    Op.GLOBAL_MAXPOOL: GlobalPoolAttrs,
    Op.RESHAPE: ReshapeAttrs,
    Op.TRANSPOSE: TransposeAttrs,
    Op.CONCAT: ConcatAttrs,
    Op.RESIZE: ResizeAttrs,
}
