"""The compiler's pass pipeline: plain functions, in this order, each run once.

Each pass is ``def name(graph) -> bool`` (did it change anything)."""

from __future__ import annotations

import logging
import os

from trigc.ir.graph import Graph
from trigc.ir.printer import format_graph
from trigc.ir.verify import verify
from trigc.passes.absorb_quant import absorb_quant
from trigc.passes.channels_last import cancel_transposes, to_channels_last
from trigc.passes.constant_batch_axis import drop_constant_batch_axis
from trigc.passes.fold_batchnorm import fold_batchnorm
from trigc.passes.fold_constants import fold_constants
from trigc.passes.infer_precision import infer_precision
from trigc.passes.lower_matmul import lower_matmul
from trigc.passes.simplify import eliminate_dead, fuse_cast, lower_div, relu_into_cast

log = logging.getLogger(__name__)

PIPELINE = [
    fold_constants,     # Quant on weights, transposes/reshapes of constants
    drop_constant_batch_axis,  # (1, 8) constants of element-wise ops -> (8,)
    eliminate_dead,
    fold_batchnorm,     # into the preceding Dense/Conv, else per-channel Mul+Add
    lower_matmul,       # MatMul (+ bias Add) -> Dense
    absorb_quant,       # activation Quant/Trunc/BipolarQuant -> Cast / exact rescale
    lower_div,          # Div by 2**k -> Mul
    to_channels_last,   # Conv/Pool channels-last, Transposes sunk and cancelled
    cancel_transposes,
    fuse_cast,          # op -> Cast becomes op with the Cast's type
    relu_into_cast,     # Relu into an unsigned saturating type is that cast alone
    eliminate_dead,
    infer_precision,    # exact types from value bounds, LUTs, accumulators
]


def run_pipeline(graph: Graph, check: bool | None = None) -> Graph:
    """Run every pass in order. ``check`` runs ``verify`` after each pass (default:
    when TRIGC_VERIFY=1); TRIGC_DUMP_IR=1 logs the IR after each pass."""
    if check is None:
        check = os.environ.get("TRIGC_VERIFY") == "1"
    dump = os.environ.get("TRIGC_DUMP_IR") == "1"
    for p in PIPELINE:
        changed = p(graph)
        if check:
            verify(graph)
        if dump:
            log.warning("after %s (changed=%s):\n%s", p.__name__, changed, format_graph(graph))
    verify(graph, final=True)
    return graph


__all__ = ["PIPELINE", "run_pipeline"]
