"""Softmax: the two modes, their error bounds, and the layer-by-layer mode choice.

``lut`` (the default): an exp table of ``d = x - max(x)``, an exact sum, an inverse
table of the sum and one product per class (``trigc.ops.lut.softmax``).

``exact``: the output is the correctly rounded float softmax to within
:func:`exact_error_bound` (half an output LSB plus a few 2^-31, so never more than
one LSB off, and almost always the correctly rounded value):

    r = max(x) - x                       (raw integer on the input grid, >= 0)
    e = prod_j T_j[chunk_j(r)]           (each table entry round(exp(.) * 2^G), G = 30;
                                          after each product: round half up to G bits)
    s = sum e                            (exact)
    y = e / s                            (exact rational, assigned to the output type
                                          with its rounding, as Div does)

``r``'s bits are split into chunks of up to :data:`EXACT_CHUNK_BITS` bits from the
least significant up; the top chunk's index is clamped to its table's last entry,
which is 0 (every larger ``r`` has exp(-r) below 2^-(G+1)). Every table entry and
every product is within 2^-(G+1) of its real value and at most 1, so
|e - exp(d)| <= (2m - 1) 2^-(G+1) =: u for m chunks; the row's maximum has e = 2^G
exactly. Then |e_i/s - p_i| <= u (1 + (n-1) p_i) / s <= n u for n classes, and
the output assignment adds half an LSB (round-to-nearest modes) or one LSB.
"""

from __future__ import annotations

import dataclasses
import math
from decimal import Decimal, localcontext

import numpy as np

from trigc.errors import ConfigError, UnsupportedOpError
from trigc.fixed import FixedType, Rounding
from trigc.ir.graph import Graph, Node
from trigc.ir.ops import LutAttrs, Op, SoftmaxAttrs
from trigc.ops.exact import Exact, Value

EXACT_EXP_BITS = 30
"""G: fraction bits of the exact mode's exp tables and products (2G <= 62)."""
EXACT_CHUNK_BITS = 10
"""Largest index width of one exact-mode exp table (1024 entries)."""
NEAREST = (Rounding.RND, Rounding.RND_ZERO, Rounding.RND_MIN_INF, Rounding.RND_INF,
           Rounding.RND_CONV)


# ---- mode selection -------------------------------------------------------------------------

def set_softmax_modes(graph: Graph, modes: str | dict[str, str] | None) -> None:
    """Give every Softmax node its mode: ``modes`` (checked by
    :func:`trigc.target.check_softmax_mode`) is one mode for all, or a map from layer
    (source or node) name to mode; unnamed Softmax layers keep ``lut``."""
    if modes is None:
        return
    softmaxes = [n for n in graph.nodes if n.op is Op.SOFTMAX]
    if isinstance(modes, dict):
        known = {n.name for n in softmaxes} | {n.source for n in softmaxes}
        unknown = sorted(set(modes) - known)
        if unknown:
            raise ConfigError(f"softmax modes name {unknown}, which are not Softmax layers of "
                              f"the model; its Softmax layers: "
                              f"{sorted({n.source for n in softmaxes}) or 'none'}")
    for node in softmaxes:
        mode = modes if isinstance(modes, str) else modes.get(
            node.source, modes.get(node.name, node.attrs.mode))
        node.attrs = dataclasses.replace(node.attrs, mode=mode)


# ---- the exact mode -------------------------------------------------------------------------

def _exp_entry(arg: Decimal, bits: int) -> int:
    """round(exp(-arg) * 2^bits) (half up), correctly rounded (Decimal exp is)."""
    with localcontext() as ctx:
        ctx.prec = 60
        v = (-arg).exp() * (Decimal(2) ** bits)
        return int((v + Decimal("0.5")).to_integral_value(rounding="ROUND_FLOOR"))


def build_exp_chunks(spread: int, frac: int, bits: int = EXACT_EXP_BITS,
                     chunk_bits: int = EXACT_CHUNK_BITS
                     ) -> tuple[tuple[int, ...], tuple[int, ...], np.ndarray]:
    """The exact mode's exp tables for ``r`` in [0, spread] (raw, ``frac`` fraction
    bits): (shifts, sizes, tables concatenated). Chunk j reads ``(r >> shift_j) &
    (size_j - 1)``; the last (top) chunk reads ``min(r >> shift, size - 1)``."""
    r_bits = max(int(spread).bit_length(), 1)
    # r beyond this gives exp(-r) < 2^-(bits+1): its e is 0
    zero_from = math.ceil((bits + 1) * math.log(2) * 2.0**frac) + 1
    shifts, sizes, tables = [], [], []
    shift = 0
    while True:
        rest = r_bits - shift
        step = Decimal(2) ** (shift - frac)
        if rest <= chunk_bits or (zero_from >> shift) < (1 << chunk_bits):
            needed = (int(spread) >> shift) + 1
            top = min(needed, (zero_from >> shift) + 2)
            entries = [_exp_entry(step * c, bits) for c in range(top)]
            if top < needed and entries[-1] != 0:
                entries.append(0)
            shifts.append(shift)
            sizes.append(len(entries))
            tables.append(entries)
            break
        shifts.append(shift)
        sizes.append(1 << chunk_bits)
        tables.append([_exp_entry(step * c, bits) for c in range(1 << chunk_bits)])
        shift += chunk_bits
    return tuple(shifts), tuple(sizes), np.array(sum(tables, []), dtype=np.int64)


def exp_chunked(r: np.ndarray, a: SoftmaxAttrs) -> np.ndarray:
    """e = round(exp(-r 2^-frac) 2^G) by the chunk tables (int64 arithmetic)."""
    bits, half = a.exp_bits, np.int64(1) << (a.exp_bits - 1)
    offsets = np.cumsum((0,) + a.exp_sizes)
    e = None
    last = len(a.exp_shifts) - 1
    for j, (shift, size) in enumerate(zip(a.exp_shifts, a.exp_sizes)):
        c = r >> shift
        c = np.minimum(c, size - 1) if j == last else c & (size - 1)
        t = a.exp_table[offsets[j] + c]
        e = t if e is None else (e * t + half) >> bits
    return e


def softmax_exact(node: Node, args: list[Value]) -> Exact:
    """e_i / sum(e) as an exact rational (assigned to the output type as Div is)."""
    a = node.attrs
    if not len(a.exp_table):
        raise UnsupportedOpError(f"{node.where()}: exact softmax tables not built (run "
                                 "precision inference)")
    x = np.asarray(args[0].raw).astype(np.int64)
    r = x.max(axis=-1, keepdims=True) - x
    e = exp_chunked(r, a)
    s = e.sum(axis=-1, keepdims=True)
    return Exact(e, 0, np.broadcast_to(s, e.shape))


# ---- error bounds ---------------------------------------------------------------------------

def output_rounding_error(out: FixedType) -> float:
    """Largest error of assigning an in-range real to ``out``."""
    return out.lsb / 2 if out.rounding in NEAREST else out.lsb


def exact_error_bound(a: SoftmaxAttrs, n_cls: int, out: FixedType) -> float:
    """Largest |y - softmax(x)| of the exact mode: lsb/2 + n (2m - 1) 2^-(G+1)."""
    m = len(a.exp_shifts)
    return output_rounding_error(out) + n_cls * (2 * m - 1) * 2.0**-(a.exp_bits + 1)


def _centres(lut: LutAttrs, high: int) -> np.ndarray:
    """The raw input each entry of ``lut`` sampled (as precision inference built it:
    the bucket's centre, at most ``high``)."""
    k = np.arange(len(lut.table), dtype=np.float64)
    return np.minimum(lut.index_low + k * (1 << lut.shift) + ((1 << lut.shift) - 1) / 2.0,
                      high)


def lut_error_bound(a: SoftmaxAttrs, n_cls: int, fx: int, out: FixedType) -> float:
    """Largest |y - softmax(x)| of the lut mode (the sum of :func:`lut_error_terms`)."""
    return sum(lut_error_terms(a, n_cls, fx, out).values())


def lut_error_terms(a: SoftmaxAttrs, n_cls: int, fx: int, out: FixedType) -> dict:
    """The lut mode's error bound, term by term (values are absolute errors of a
    probability in [0, 1]). With q_e, q_i the exp and inverse tables' half LSBs:

    - ``exp_sampling``: an exp entry samples the centre c of its bucket of 2^s_e
      inputs, so it is exp(d) times a factor in [b, a] = [exp(min(c - d)),
      exp(max(c - d))] over all buckets; a ratio e_i / sum(e) moves by at most
      (sqrt(a) - sqrt(b)) / (sqrt(a) + sqrt(b)), the largest of
      p a / (p a + (1-p) b) - p over p, about (a - b) / 4 ~ (2^s_e - 1) 2^-(fx+2).
    - ``exp_rounding``: entries are rounded, |dq| <= q_e each: (n + 1) q_e / s_min
      (s_min, the smallest sum, is the table's largest entry, about 1).
    - ``tail``: d below the table reads entry 0 (sampled at c_0): n exp(c_0) / s_min.
    - ``inv_sampling``: the inverse entry samples 1/c at its bucket's centre c, for
      sums s within w = (2^s_i - 1)/2 (more in a last, clipped bucket) of c: the
      output moves by |s - c| / c * min(1, e_max / s), about (2^s_i - 1) 2^-(fe+1).
    - ``inv_rounding``: q_i e_max.
    - ``out``: the output assignment (half an output LSB when rounding to nearest).
    """
    e_lut, i_lut = a.exp_lut, a.inv_lut
    fe, fi = e_lut.table_type.frac_bits, i_lut.table_type.frac_bits
    q_e, q_i = 2.0**-(fe + 1), 2.0**-(fi + 1)
    c = _centres(e_lut, 0)
    lo = e_lut.index_low + np.arange(len(c)) * (1 << e_lut.shift)
    hi = np.minimum(lo + (1 << e_lut.shift) - 1, 0)
    ra, rb = math.exp(float(np.max(c - lo)) * 2.0**-fx), math.exp(
        float(np.min(c - hi)) * 2.0**-fx)
    e_max = float(e_lut.table.max()) * 2.0**-fe
    s_min = e_max
    sum_hi = int(e_lut.table.max()) * n_cls
    ci = _centres(i_lut, sum_hi)
    inv = 0.0
    for k, centre in enumerate(ci):
        s_lo = max(i_lut.index_low + (k << i_lut.shift), int(e_lut.table.max()))
        s_hi = min(i_lut.index_low + ((k + 1) << i_lut.shift) - 1, sum_hi)
        if s_lo > s_hi:
            continue
        dist = max(abs(s_lo - centre), abs(s_hi - centre)) / centre
        inv = max(inv, dist * min(1.0, e_max / (s_lo * 2.0**-fe)))
    sa, sb = math.sqrt(ra), math.sqrt(rb)
    return {"exp_sampling": (sa - sb) / (sa + sb),
            "exp_rounding": (n_cls + 1) * q_e / (s_min - q_e),
            "tail": n_cls * math.exp(float(c[0]) * 2.0**-fx) / (s_min - q_e),
            "inv_sampling": inv, "inv_rounding": q_i * e_max,
            "out": output_rounding_error(out)}


__all__ = ["EXACT_CHUNK_BITS", "EXACT_EXP_BITS", "build_exp_chunks", "exact_error_bound",
           "exp_chunked", "lut_error_bound", "lut_error_terms", "set_softmax_modes",
           "softmax_exact"]
