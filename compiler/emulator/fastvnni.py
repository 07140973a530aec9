"""The fast path's Dense and Conv on AVX-512 VNNI (see :mod:`trigc.emulator.fastops`):
8-bit inputs, offset to unsigned bytes, times 8-bit weights, accumulated exactly in
int32 by ``vpdpbusd`` (64 multiply-accumulates per instruction), where the host CPU
has it; the generated code needs ``-march=native`` on that CPU (the build cache's key
covers the CPU's flags)."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from trigc.emulator.fastgen import EVENTS_MIN, Buf

if TYPE_CHECKING:
    from trigc.emulator.fastops import Program


@functools.cache
def host_has_vnni() -> bool:
    """Whether this CPU has AVX-512 VNNI (the cache key covers the CPU's flags)."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    flags = next((line.split(":", 1)[1].split() for line in text.splitlines()
                  if line.startswith("flags")), [])
    return {"avx512_vnni", "avx512bw", "avx512f"} <= set(flags)


def vnni_fits(x: Buf, w2, b_raw) -> bool:
    """8-bit inputs (offset to unsigned), 8-bit weights and int32 partial sums."""
    if x.hi - x.lo > 255 or w2.size == 0:
        return False
    wmin, wmax = int(w2.min()), int(w2.max())
    if wmin < -128 or wmax > 127:
        return False
    for j in range(w2.shape[1]):
        col = w2[:, j]
        bias = int(b_raw[j]) + x.lo * int(col.sum())
        if abs(bias) + int(np.abs(col).sum()) * (x.hi - x.lo) >= 1 << 31:
            return False
    return True


def vnni_loops(p: Program, x: Buf, out: Buf, layout, w2, b_raw, stmts: list[str],
                vt_int: str) -> None:
    """Dense or Conv on AVX-512 VNNI: ``x - min`` as unsigned bytes, four inputs per
    32-bit lane, times int8 weights, accumulated exactly in int32 (``vpdpbusd``: 64 MACs
    per instruction); the bias absorbs ``min * sum(w)`` (a padding zero becomes
    ``-min`` and meets its weight like any input). ``layout``: the source buffer, per
    output position the offset of its first element and per weight row its offset."""
    src_name, base, offs = layout
    n_pos = len(base)
    n_in, c_out = w2.shape
    groups, cols = -(-n_in // 4), 4
    blocks = -(-c_out // cols)
    wpad = np.zeros((groups * 4, blocks * cols), dtype=object)
    wpad[:n_in, :c_out] = w2
    words = []
    for jb in range(blocks):
        for g in range(groups):
            for c in range(cols):
                b = [int(wpad[g * 4 + r, jb * cols + c]) & 0xFF for r in range(4)]
                word = b[0] | b[1] << 8 | b[2] << 16 | b[3] << 24
                words.append(word - (1 << 32) if word >= 1 << 31 else word)
    bias = [0] * (blocks * cols)
    for j in range(c_out):
        bias[j] = int(b_raw[j]) + x.lo * int(w2[:, j].sum())
    wn, bn = p.table("wv", "int32_t", words), p.table("bv", "int32_t", bias)
    xq = p.scratch_buf("uint8_t", n_pos * groups * 4)
    nv = EVENTS_MIN // 16
    # four inputs per 32-bit word, one word per event: contiguous loads and stores
    basen = p.table("bb", "int32_t", base)
    for g in range(groups):
        rows = range(4 * g, min(4 * g + 4, n_in))
        word = " | ".join(f"((uint32_t)(uint8_t)({src_name}[src + {offs[r]}L * B + e] - "
                          f"({x.lo})) << {8 * (r - 4 * g)})" for r in rows)
        p.emit(f"for (int o = 0; o < {n_pos}; o++) {{",
               f"  const long src = (long){basen}[o] * B;",
               f"  uint32_t *dst = (uint32_t *){xq.name} + ((long)o * {groups} + {g}) * B;",
               f"  for (int e = 0; e < B; e++) dst[e] = {word};",
               "}")
    accs = [[f"a{c}_{v}" for v in range(nv)] for c in range(cols)]
    p.emit(f"for (int o = 0; o < {n_pos}; o++) {{",
           f"  const uint8_t *xo = {xq.name} + (long)o * {groups * 4} * B;",
           f"  for (int jb = 0; jb < {blocks}; jb++) {{",
           f"    int32_t acc[{cols}][B] __attribute__((aligned(64)));",
           f"    const int32_t *wk = {wn} + (long)jb * {groups * cols};",
           f"    for (int eb = 0; eb < B; eb += {16 * nv}) {{",
           *(f"      __m512i {accs[c][v]} = _mm512_set1_epi32({bn}[jb * {cols} + {c}]);"
             for c in range(cols) for v in range(nv)),
           f"      for (int g = 0; g < {groups}; g++) {{",
           "        const __m512i *xs = (const __m512i *)(xo + ((long)g * B + eb) * 4);",
           *(f"        const __m512i x{v} = _mm512_load_si512(xs + {v});" for v in range(nv)),
           *(f"        const __m512i w{c} = _mm512_set1_epi32(wk[g * {cols} + {c}]);"
             for c in range(cols)),
           *(f"        {accs[c][v]} = _mm512_dpbusd_epi32({accs[c][v]}, x{v}, w{c});"
             for c in range(cols) for v in range(nv)),
           "      }",
           *(f"      _mm512_store_si512((__m512i *)(acc[{c}] + eb + {16 * v}), {accs[c][v]});"
             for c in range(cols) for v in range(nv)),
           "    }",
           f"    for (int c = 0; c < {cols} && jb * {cols} + c < {c_out}; c++) {{",
           f"      const int j = jb * {cols} + c;",
           "      for (int e = 0; e < B; e++) {",
           f"        {vt_int} v = acc[c][e];",
           *("        " + s for s in stmts),
           f"        {out.name}[((long)o * {c_out} + j) * B + e] = ({out.ctype})q;",
           "      }", "    }", "  }", "}")
