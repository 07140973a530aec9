"""Concrete advice for an exceeded budget, computed from the layer estimates."""

from __future__ import annotations

import math

from trigc.estimate.summary import Estimate, LayerEstimate

LINEAR_OPS = ("Dense", "Conv")
MAX_REUSE_SEARCH = 1 << 16


def _types(layer: LayerEstimate) -> str:
    d = layer.detail
    parts = [f"{what} {d[key]}" for what, key in (("input", "input_type"),
                                                  ("weights", "weight_type"),
                                                  ("accumulator", "accum_type")) if key in d]
    return ", ".join(parts)


def _dsp_at_reuse(layer: LayerEstimate, reuse: int) -> int:
    d = layer.detail
    if reuse <= 1:
        return layer.resources.dsp
    nnz = d.get("nnz_per_position", d.get("nnz", 0))
    per = d.get("dsp_per_mult", 0) if d.get("var_mult_kind") == "dsp" else 0
    return d.get("positions", 1) * math.ceil(nnz / reuse) * per


def _max_reuse(layer: LayerEstimate) -> int:
    d = layer.detail
    return max(1, int(d.get("nnz_per_position", d.get("nnz", 1))))


def _ii_at_reuse(estimate: Estimate, layer: LayerEstimate, reuse: int) -> int:
    """The design's II with ``layer`` at ``reuse``: a stream process (its ``steps`` in
    the detail) takes ``steps * reuse`` cycles per image; an io_parallel kernel
    ``reuse``."""
    steps = layer.detail.get("steps")
    return max(estimate.ii, reuse * steps if steps else reuse)


def _uniform_reuse(estimate: Estimate, limit: float) -> str:
    """The smallest reuse factor for every Dense/Conv that meets the DSP limit."""
    linear = [la for la in estimate.layers if la.op in LINEAR_OPS]
    fixed = estimate.total.dsp - sum(la.resources.dsp for la in linear)
    top = min(max((_max_reuse(la) for la in linear), default=1), MAX_REUSE_SEARCH)
    for reuse in range(2, top + 1):
        total = fixed + sum(_dsp_at_reuse(la, max(reuse, la.reuse) if reuse <= _max_reuse(la)
                                          else _max_reuse(la)) for la in linear)
        if total <= limit:
            return (f"; or give every Dense/Conv layer reuse factor {reuse} (about {total:,} "
                    f"DSPs in total, II {reuse})")
    return ""


def _dsp(estimate: Estimate, layer: LayerEstimate, over: float) -> str:
    name = layer.label
    if layer.op not in LINEAR_OPS:
        return (f"narrow the operand types of layer '{name}' so its multiplications fit in "
                "LUTs (operand widths adding up to at most 13 bits)")
    target = layer.resources.dsp - over
    everywhere = _uniform_reuse(estimate, estimate.total.dsp - over)
    for reuse in range(layer.reuse + 1, min(_max_reuse(layer), MAX_REUSE_SEARCH) + 1):
        dsp = _dsp_at_reuse(layer, reuse)
        if dsp <= target:
            lut = " (its products then fit in LUTs)" if dsp == 0 else ""
            return (f"raise the reuse factor of layer '{name}' from {layer.reuse} to {reuse}: "
                    f"about {dsp:,} DSPs instead of {layer.resources.dsp:,}{lut}; the top "
                    f"function's II becomes {_ii_at_reuse(estimate, layer, reuse)}"
                    f"{everywhere}")
    return (f"quantize layer '{name}' more coarsely ({_types(layer)}): products whose input "
            "bits plus weight bits are at most 13 are built in LUTs, not DSPs"
            + (everywhere or "; raising its reuse factor alone cannot remove enough DSPs"))


def _lut(layer: LayerEstimate) -> str:
    name = layer.label
    d = layer.detail
    if layer.op in LINEAR_OPS:
        return (f"narrow the types of layer '{name}' ({_types(layer)}): its "
                f"{d.get('lut_products', 0):,} LUT multiplications and its adder trees grow "
                "with these widths (the exact accumulator shrinks with its inputs)")
    if "table_entries" in d:
        return f"use a smaller table for layer '{name}' (now {d['table_entries']} entries)"
    return f"narrow the input and output types of layer '{name}' ({layer.op})"


def _bram(layer: LayerEstimate) -> str:
    name = layer.label
    d = layer.detail
    if d.get("rom") == "BRAM":
        return (f"lower the reuse factor of layer '{name}' from {layer.reuse} to at most 128: "
                "its weight ROMs (one per multiplier, depth = reuse) then fit in LUTs")
    entries = d.get("table_entries")
    if entries:
        return (f"shrink the lookup table of layer '{name}' from {entries} to at most 128 "
                "entries (LUT ROM) or narrow its input range")
    return f"reduce the tables of layer '{name}' ({layer.op})"


def _ff(estimate: Estimate, layer: LayerEstimate) -> str:
    return (f"flip-flops are pipeline registers; layer '{layer.label}' holds "
            f"{layer.resources.ff:,} register bits. Narrow its types or use a longer clock "
            f"period than {estimate.clock_ns:g} ns (fewer register boundaries)")


def resource(estimate: Estimate, resource: str, top: list[LayerEstimate], over: float) -> str:
    if not top:
        return f"no single layer dominates the {resource.upper()} use"
    layer = top[0]
    if resource == "dsp":
        return _dsp(estimate, layer, over)
    if resource == "lut":
        return _lut(layer)
    if resource == "bram":
        return _bram(layer)
    return _ff(estimate, layer)


def latency(estimate: Estimate, top: list[LayerEstimate], over: float, scale: float) -> str:
    if not top:
        return "the design has no layers on its critical path"
    layer = top[0]
    if layer.reuse > 1:
        return (f"lower the reuse factor of layer '{layer.label}' (now {layer.reuse}; its reuse "
                f"loop adds {layer.reuse - 1} cycles)")
    depth = layer.detail.get("tree_depth")
    tree = f" (adder tree of {depth} levels)" if depth else ""
    advice = (f"narrow the types of layer '{layer.label}'{tree}: {_types(layer) or layer.op}")
    if scale == 1.0:
        advice += (f"; or use a longer clock period than {estimate.clock_ns:g} ns, which packs "
                   "more logic into each cycle")
    return advice


def ii(top: list[LayerEstimate], limit: int) -> str:
    if any("steps" in la.detail for la in top):  # io stream: cycles per image
        names = ", ".join(f"'{la.label}' ({la.detail.get('steps')} steps x reuse {la.reuse})"
                          for la in top)
        return (f"the stream design's II is its slowest process's cycles per image (steps x "
                f"reuse): lower the reuse factors of {names}, or, where the steps alone "
                f"exceed {limit} (one per pixel), use --io parallel")
    names = ", ".join(f"'{la.label}' (reuse {la.reuse})" for la in top)
    return (f"lower the reuse factor of {names} to at most {limit}: the top function's II "
            "is the largest reuse factor")
