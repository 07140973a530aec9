"""Operator-level timing and cost model of the estimator.

Every number here is a first-order model of AMD UltraScale / UltraScale+ fabric
at the -2 speed grade, as Vitis HLS schedules and binds the generated kernels.
It is an *estimate*: it predicts what synthesis will roughly do; it is not a
synthesis result and can be wrong by tens of percent (see the calibration
notes in :mod:`trigc.estimate`).

Timing model (delays include local routing)
-------------------------------------------
- Clock budget per cycle: ``clock_ns * (1 - 0.27)``. 27 % is the Vitis HLS
  default clock uncertainty (``set_clock_uncertainty``), which the generated
  ``build_prj.tcl`` does not override.
- Adder, subtractor, comparator of ``w`` bits (LUT6 + CARRY8 chain):
  ``0.60 + 0.01 * w`` ns (16 bits: 0.76 ns, 32 bits: 0.92 ns).
- One LUT level (2:1..4:1 mux, ReLU select, saturation logic): 0.45 ns.
- DSP48E2 multiplication, A/B in to P out, no internal registers: 2.6 ns. When
  that does not fit in a cycle, the DSP's own A/B, M and P registers pipeline it
  (up to 3 stages) at no fabric cost. Its post-adder (multiply-add) adds 0.4 ns.
- Multiplication by a constant in LUTs (shift-and-add over the canonical
  signed digits, CSD): ``ceil(log2(digits))`` adder levels of the product width.
  A power-of-two constant is a shift: wires, no delay.
- Variable multiplication in LUTs: one LUT level for the partial products, then
  ``ceil(log2(ceil(min(a, b) / 2)))`` adder levels of width ``a + b``.
- ROM read: LUT ROM (depth <= 128) is combinational, one LUT level plus one more
  per 4x depth beyond 64; block-RAM ROM is registered: one cycle, data valid
  1.0 ns into the next cycle (BRAM clock-to-out).
- Register boundaries are placed by chaining (see :mod:`trigc.estimate.latency`).
- The same delays serve every device in the database; Kintex UltraScale
  (KU115) fabric is somewhat slower than UltraScale+, which is not modelled.

Cost model
----------
- Zero weights cost nothing (the kernels list only non-zero weights).
- A constant weight (reuse 1) that is a power of two is a shift: free. One
  with two set bits (after dropping trailing zeros), or whose significant bits
  plus the input width are at most 13, or that multiplies an input of <= 3
  bits, is a LUT shift-and-add: ``(CSD digits - 1)`` adders of the product
  width. Any other constant product uses DSP48E2 slices. This reproduces the
  published trend that 6-bit QAT weights need (almost) no DSPs while
  ap_fixed<16,6> weights need about one DSP per non-zero weight (~80-90 %).
- A variable product (reuse > 1 weights read from ROM, tensor x tensor) is
  built in LUTs when ``a + b <= 13`` or ``min(a, b) <= 3`` bits (about
  ``1.2 * a * b`` LUTs: hls4ml issue #99 measured ~410 LUTs for an 18x18 LUT
  multiplier, the Vivado multiplier IP 365-401), else in DSP48E2 slices.
- DSP48E2 count of one product: 27x18 signed tiles,
  ``min(ceil(a/27)*ceil(b/18), ceil(a/18)*ceil(b/27))``; unsigned operands
  take one more bit.
- Adder/subtractor/accumulator: one LUT per result bit. Adder *trees* cost
  half that: Vivado synthesis maps them onto ternary adders (LUT6 + CARRY8 add
  three operands per bit), so an n-input tree is about (n - 1) / 2 adders. (The
  latency schedule keeps Vitis HLS's binary tree.) A first-level adder of a
  Dense tree fed by a DSP product is free: Vitis HLS maps the multiply-add to
  the DSP48E2 post-adder (``mac_muladd`` cores).
- Comparator and 2:1 mux: one LUT per two bits each (LUT6_2); N:1 mux:
  ``ceil((N-1)/3)`` LUTs per bit.
- Rounding on assignment (any mode but TRN) is an adder of the output width;
  saturation is a range check plus a mux; wrapping drops bits for free.
- ROM: depth <= 128 as LUT ROM, ``width * ceil(depth/64)`` LUTs per read port;
  deeper as BRAM_18K (512x36, 1Kx18, 2Kx9, ... aspect ratios), two read ports
  per block.
- Flip-flops: the bits of every value that crosses a register boundary of the
  schedule (DSP-internal and BRAM output registers are free), accumulators of
  reuse loops, and delay lines that keep a value alive across cycles for a
  later user.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from trigc.fixed import FixedType, Overflow, Rounding

CLOCK_UNCERTAINTY = 0.27
T_ADD_BASE_NS = 0.60
T_ADD_PER_BIT_NS = 0.01
T_LUT_NS = 0.45
T_DSP_NS = 2.6
T_DSP_POST_ADD_NS = 0.4
DSP_MAX_STAGES = 3
T_BRAM_CO_NS = 1.0
DSP_A_BITS, DSP_B_BITS = 27, 18

CONST_LUT_MAX_SET_BITS = 2  # one adder
PRODUCT_LUT_MAX_BITS = 13  # a + b at most this: the product is built in LUTs
LUT_MULT_MAX_NARROW_BITS = 3
LUT_PER_MULT_BIT = 1.2
TREE_LUT_PER_ADDER_BIT = 0.5  # ternary adders
ROM_LUT_MAX_DEPTH = 128


def budget_ns(clock_ns: float) -> float:
    """Logic delay that fits in one clock cycle."""
    return clock_ns * (1.0 - CLOCK_UNCERTAINTY)


def add_delay(width: int) -> float:
    return T_ADD_BASE_NS + T_ADD_PER_BIT_NS * max(int(width), 1)


def log2ceil(n: int) -> int:
    return max(int(n) - 1, 0).bit_length()


def csd_digits(value: int) -> int:
    """Non-zero digits of the canonical signed-digit form of an integer."""
    n, digits = abs(int(value)), 0
    while n:
        if n & 1:
            digits += 1
            n -= 2 - (n & 3)  # +1 digit if n = ..01, -1 digit if n = ..11
        n >>= 1
    return digits


def significant_bits(value: int) -> int:
    """Bits of |value| once trailing zeros (a free shift) are dropped."""
    n = abs(int(value))
    if n == 0:
        return 0
    n >>= (n & -n).bit_length() - 1
    return n.bit_length()


def signed_width(t: FixedType) -> int:
    """Operand width as a two's-complement DSP input sees it."""
    return t.width + (0 if t.signed else 1)


def dsp_tiles(a_bits: int, b_bits: int) -> int:
    """DSP48E2 slices for one a x b signed product (27x18 tiles)."""
    return min(math.ceil(a_bits / DSP_A_BITS) * math.ceil(b_bits / DSP_B_BITS),
               math.ceil(a_bits / DSP_B_BITS) * math.ceil(b_bits / DSP_A_BITS))


@dataclass(frozen=True)
class MulCost:
    """How one multiplication is built: ``kind`` is "shift", "lut" or "dsp"."""

    kind: str
    dsp: int
    lut: int
    delay_ns: float


SHIFT = MulCost("shift", 0, 0, 0.0)


def const_mult(x: FixedType, weight_raw: int) -> MulCost:
    """``x * w`` for a compile-time constant raw weight (not zero)."""
    sig = significant_bits(weight_raw)
    if sig <= 1:
        return SHIFT
    digits = csd_digits(weight_raw)
    set_bits = bin(abs(int(weight_raw))).count("1")
    product_bits = x.width + sig + 1
    if (set_bits <= CONST_LUT_MAX_SET_BITS or x.width + sig <= PRODUCT_LUT_MAX_BITS
            or x.width <= LUT_MULT_MAX_NARROW_BITS):
        return MulCost("lut", 0, (digits - 1) * product_bits,
                       log2ceil(digits) * add_delay(product_bits))
    return MulCost("dsp", dsp_tiles(signed_width(x), sig + 1), 0, T_DSP_NS)


def var_mult(a: FixedType, b: FixedType) -> MulCost:
    """``a * b`` of two run-time operands (or a weight read from a ROM)."""
    wa, wb = a.width, b.width
    if wa + wb <= PRODUCT_LUT_MAX_BITS or min(wa, wb) <= LUT_MULT_MAX_NARROW_BITS:
        rows = math.ceil(min(wa, wb) / 2)
        return MulCost("lut", 0, math.ceil(LUT_PER_MULT_BIT * wa * wb),
                       T_LUT_NS + log2ceil(rows) * add_delay(wa + wb))
    return MulCost("dsp", dsp_tiles(signed_width(a), signed_width(b)), 0, T_DSP_NS)


def compare_lut(width: int) -> int:
    return math.ceil(width / 2)


def mux_lut(n_inputs: int, width: int) -> int:
    if n_inputs <= 1:
        return 0
    if n_inputs == 2:
        return math.ceil(width / 2)
    return width * math.ceil((n_inputs - 1) / 3)


def mux_delay(n_inputs: int) -> float:
    if n_inputs <= 1:
        return 0.0
    return T_LUT_NS * max(1, math.ceil(math.log(n_inputs, 4)))


@dataclass(frozen=True)
class Cost:
    """LUTs and delay of a small piece of logic."""

    lut: int = 0
    delay_ns: float = 0.0


def cast_cost(src: FixedType, dst: FixedType) -> Cost:
    """Assigning a value of (exact) type ``src`` to ``dst``: rounding, then overflow."""
    lut, delay = 0, 0.0
    dropped = src.frac_bits - dst.frac_bits
    if dropped > 0 and dst.rounding is not Rounding.TRN:
        lut += dst.width + 1
        delay += add_delay(dst.width + 1)
    can_overflow = src.max_value > dst.max_value or src.min_value < dst.min_value
    if can_overflow and dst.overflow is not Overflow.WRAP:
        # MSBs to check, counted as two's-complement magnitude bits
        extra = max((src.integer_bits + (not src.signed)) - (dst.integer_bits + (not dst.signed)),
                    1)
        lut += math.ceil((extra + 1) / 3) + mux_lut(2, dst.width)
        delay += 2 * T_LUT_NS
        if dst.overflow is Overflow.WRAP_SM:
            lut += dst.width
    return Cost(lut, delay)


@dataclass(frozen=True)
class RomCost:
    lut: int
    bram: int
    delay_ns: float  # combinational delay, or the clock-to-out after ``cycles``
    cycles: int


BRAM18_ASPECTS = ((512, 36), (1024, 18), (2048, 9), (4096, 4), (8192, 2), (16384, 1))


def rom_cost(depth: int, width: int, reads: int) -> RomCost:
    """A constant table of ``depth`` words read ``reads`` times per cycle."""
    depth, width, reads = max(int(depth), 1), max(int(width), 1), max(int(reads), 1)
    if depth <= ROM_LUT_MAX_DEPTH:
        luts = math.ceil(depth / 64)
        levels = 1 + (log2ceil(luts) + 1) // 2
        return RomCost(reads * width * luts, 0, levels * T_LUT_NS, 0)
    return RomCost(0, bram18_blocks(depth, width) * math.ceil(reads / 2), T_BRAM_CO_NS, 1)


def bram18_blocks(depth: int, width: int) -> int:
    """BRAM_18K blocks of one ``depth`` x ``width`` memory: the narrowest aspect ratio
    (512x36, 1Kx18, ... 16Kx1) that holds the depth, side by side for the width."""
    depth, width = max(int(depth), 1), max(int(width), 1)
    port_width = next((w for d, w in BRAM18_ASPECTS if depth <= d), 1)
    deep = math.ceil(depth / BRAM18_ASPECTS[-1][0])
    return math.ceil(width / port_width) * deep
