"""The bit-exact emulator: an interpreter over the final IR, dispatching every node
to its op's kernel in :data:`trigc.ops.OPS`, and a fast path proved equal to it
(:mod:`trigc.emulator.fast`: a C kernel generated per graph, compiled and cached).

:func:`emulate` picks the engine: ``"interpreter"`` (the readable reference),
``"fast"`` (the C kernel; an error when the graph has none) or ``"auto"`` (the
default, or ``$TRIGC_EMULATOR``): the C kernel when the graph has one and it is
already built, or the batch has at least :data:`AUTO_BUILD_EVENTS` events (worth a
build); otherwise the interpreter, which says once in the log why."""

from __future__ import annotations

import logging
import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from threadpoolctl import threadpool_limits

from trigc.emulator import fast
from trigc.errors import ConfigError, IRError, ModelError
from trigc.fixed import quantize, to_float
from trigc.ir.graph import Graph, Tensor, register_evaluator
from trigc.ops import OPS, Value, assign


def constant_values(graph: Graph) -> dict[int, Value]:
    """Every typed constant of ``graph`` as a kernel operand, by tensor id."""
    return {id(t): Value(t.raw, t.type.frac_bits)
            for t in graph.tensors.values() if t.is_constant}


def _quantize_input(t: Tensor, x) -> Value:
    arr = np.asarray(x, dtype=np.float64)
    if arr.shape[1:] != t.shape:
        if arr.shape == t.shape:
            arr = arr[None]
        else:
            raise ModelError(
                f"Input {t.name!r} expects shape (N, {', '.join(map(str, t.shape))}), "
                f"got {arr.shape}")
    return Value(quantize(arr, t.type), t.type.frac_bits)


def run(graph: Graph, inputs, trace: bool = False):
    """Run the graph on float inputs; returns the environment of raw values."""
    if len(inputs) != len(graph.inputs):
        raise ModelError(f"Model has {len(graph.inputs)} inputs, got {len(inputs)}")
    env: dict[int, Value] = constant_values(graph)
    for t, x in zip(graph.inputs, inputs):
        if t.type is None:
            raise IRError(f"Input {t.name!r} has no type; run the compiler pipeline first")
        env[id(t)] = _quantize_input(t, x)
    for node in graph.nodes:
        args = [env[id(t)] for t in node.inputs]
        out = node.output
        exact = OPS[node.op].kernel(node, args)
        env[id(out)] = Value(assign(exact, out.type), out.type.frac_bits)
    return env


CHUNK_EVENTS = 8192


def _emulate_chunk(graph: Graph, inputs, raw: bool) -> list[np.ndarray]:
    env = run(graph, inputs)
    outs = []
    for t in graph.outputs:
        v = env[id(t)]
        outs.append(v.raw if raw else to_float(v.raw, t.type))
    return outs


ENGINES = ("auto", "fast", "interpreter")
AUTO_BUILD_EVENTS = 20000
"""With ``engine="auto"``, a batch at least this large builds the C kernel when it is
not cached yet (a build takes about a second; the interpreter runs ~1M events/s)."""

log = logging.getLogger(__name__)


def _engine(engine: str | None) -> str:
    engine = engine or os.environ.get("TRIGC_EMULATOR") or "auto"
    if engine not in ENGINES:
        raise ConfigError(f"Unknown emulator engine {engine!r}; choose one of {list(ENGINES)}")
    return engine


def _fast_kernel(graph: Graph, engine: str, n: int):
    if engine == "fast":
        return fast.require(graph)
    if engine == "interpreter" or fast.compiler() is None:
        return None
    return fast.kernel(graph, build_if_missing=n >= AUTO_BUILD_EVENTS)


def _shaped(graph: Graph, arrays: list[np.ndarray]) -> list[np.ndarray]:
    """Inputs with their batch axis (one event may come without it)."""
    if len(arrays) != len(graph.inputs):
        raise ModelError(f"Model has {len(graph.inputs)} inputs, got {len(arrays)}")
    out = []
    for t, arr in zip(graph.inputs, arrays):
        if arr.shape[1:] != t.shape:
            if arr.shape != t.shape:
                raise ModelError(
                    f"Input {t.name!r} expects shape (N, {', '.join(map(str, t.shape))}), "
                    f"got {arr.shape}")
            arr = arr[None]
        out.append(arr)
    return out


def emulate(graph: Graph, *inputs, raw: bool = False, workers: int | None = None,
            engine: str | None = None):
    """Bit-exact inference. ``inputs`` are float arrays shaped (N, *input_shape).

    Returns float64 outputs (one array, or a list for several outputs); with
    ``raw=True``, the raw integers of each output's FixedType instead. Large
    batches run on ``workers`` threads (default: every core); the result does not
    depend on it. ``engine`` is ``"auto"`` (default), ``"fast"`` or ``"interpreter"``
    (see the module docstring); every engine gives the same bits."""
    engine = _engine(engine)
    arrays = [np.asarray(x, dtype=np.float64) for x in inputs]
    n = arrays[0].shape[0] if arrays and arrays[0].ndim > len(graph.inputs[0].shape) else 0
    kernel = None
    if engine != "interpreter" and arrays and all(t.type is not None for t in graph.inputs):
        kernel = _fast_kernel(graph, engine, n)
    if kernel is not None:
        arrays = _shaped(graph, arrays)
        outs = kernel.run(arrays, workers or os.cpu_count() or 1, raw=raw)
    elif n <= CHUNK_EVENTS:
        outs = _emulate_chunk(graph, arrays, raw)
    else:
        starts = range(0, n, CHUNK_EVENTS)
        chunks = [[x[s:s + CHUNK_EVENTS] for x in arrays] for s in starts]
        workers = workers or os.cpu_count() or 1
        # Parallelism is over chunks; a multi-threaded BLAS inside each chunk only
        # contends with it (measured: 2x slower with OpenBLAS on 2 threads).
        with threadpool_limits(limits=1, user_api="blas"):
            if workers > 1:
                with ThreadPoolExecutor(workers) as pool:
                    parts = list(pool.map(lambda c: _emulate_chunk(graph, c, raw), chunks))
            else:
                parts = [_emulate_chunk(graph, c, raw) for c in chunks]
        outs = [np.concatenate([p[i] for p in parts]) for i in range(len(graph.outputs))]
    return outs[0] if len(outs) == 1 else outs


register_evaluator(emulate)

__all__ = ["AUTO_BUILD_EVENTS", "ENGINES", "assign", "constant_values", "emulate", "run"]
