"""The reference Deep Sets jet tagger (``models/deepsets_tagger``), from its committed
artefacts: 16 constituents x 3 features, phi (per constituent, no bias) -> sum over
constituents (ReduceSum) -> rho -> 5 logits.

* trigc's emulator == the QONNX reference executor (qonnx, float32) == the Brevitas
  model rebuilt from the committed weights, exactly. Exact, not approximate: inputs,
  weights and activations lie on power-of-two grids, rho's biases on the accumulator
  grid, and no value is wider than 24 bits (asserted), so every float32 sum of the
  references is exact whatever its order;
* the emulator == the g++ C-sim of the generated Vitis project on 2,000 events;
* permutation invariance: every event's constituents shuffled give identical bits;
* masking: the zero-padded slots change nothing; the 16-slot output equals the
  Brevitas model run on the real constituents alone (no padding slots at all).
"""

from __future__ import annotations

import importlib.util
import shutil
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest

import trigc
from trigc import datasets
from trigc.ir.ops import Op

sys.path.insert(0, str(Path(__file__).resolve().parent))
from e2e_util import batch_agnostic  # noqa: E402
from helpers.qonnx_models import qonnx_execute  # noqa: E402

MODEL_DIR = Path(__file__).resolve().parents[2] / "models" / "deepsets_tagger"
ONNX = MODEL_DIR / "deepsets_tagger.onnx"
N_EVENTS = 2000
SEED = 4242  # not a training seed


@pytest.fixture(scope="module")
def graph():
    return trigc.load(ONNX)


@pytest.fixture(scope="module")
def events():
    x, y = datasets.jet_constituents(N_EVENTS, SEED)
    return x, y


@pytest.fixture(scope="module")
def script():
    pytest.importorskip("brevitas")
    spec = importlib.util.spec_from_file_location("deepsets_tagger_train",
                                                  MODEL_DIR / "train.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_graph_is_a_deep_set(graph):
    ops = [n.op for n in graph.nodes]
    assert ops.count(Op.CONV) == 2  # phi1, phi2: one weight matrix for every object
    pool = next(n for n in graph.nodes if n.op is Op.GLOBAL_AVGPOOL)
    assert pool.attrs.divide is False and pool.inputs[0].shape == (16, 32)
    widths = [n.output.type.width for n in graph.nodes]
    widths += [n.attrs.accum_type.width for n in graph.nodes
               if getattr(n.attrs, "accum_type", None) is not None]
    assert max(widths) <= 24  # why the float32 references are exact


def test_emulator_equals_qonnx_and_brevitas(graph, events, script):
    x, y = events
    got = trigc.emulate(graph, x)
    ref = qonnx_execute(batch_agnostic(onnx.load(ONNX)), x).astype(np.float64)
    np.testing.assert_array_equal(got, ref)
    brevitas = script.forward(script.load_trained(MODEL_DIR / "deepsets_tagger.pt"), x)
    np.testing.assert_array_equal(got, brevitas)
    assert len(np.unique(got)) > 100
    assert np.mean(np.argmax(got, axis=1) == y) > 0.65


def test_emulator_equals_csim(graph, events, tmp_path):
    if shutil.which("g++") is None:
        pytest.skip("no g++")
    project = trigc.compile(graph, tmp_path / "deepsets")
    comparison = project.compare(events[0])
    assert comparison.ok, str(comparison)
    assert comparison.events == N_EVENTS


def test_permuting_constituents_changes_nothing(graph, events):
    x = events[0]
    rng = np.random.default_rng(1)
    order = np.argsort(rng.random(x.shape[:2]), axis=1)  # a different shuffle per event
    shuffled = np.take_along_axis(x, order[..., None], axis=1)
    assert not np.array_equal(shuffled, x)
    np.testing.assert_array_equal(trigc.emulate(graph, shuffled), trigc.emulate(graph, x))


def test_padding_changes_nothing(graph, events, script):
    """Events with k real constituents: the 16-slot (zero-padded) emulation equals the
    Brevitas model on the k real constituents alone, for every k present."""
    x = events[0]
    n_real = (np.abs(x).sum(axis=2) > 0).sum(axis=1)
    assert np.all((np.abs(x).sum(axis=2) > 0) == (np.arange(16) < n_real[:, None]))
    model = script.load_trained(MODEL_DIR / "deepsets_tagger.pt")
    got = trigc.emulate(graph, x)
    tested = 0
    for k in np.unique(n_real):
        if k == 16:
            continue
        rows = n_real == k
        alone = script.forward(model, x[rows, :k])
        np.testing.assert_array_equal(got[rows], alone)
        tested += int(rows.sum())
    assert tested > N_EVENTS // 4


def test_verilog_netlist_equals_emulator(graph, events):
    """The Verilog backend's netlist (phi's CMVM solved once, applied per object; the
    sum an adder tree) evaluates to the emulator's bits."""
    from trigc.netlist import evaluate
    from trigc.netlist.lower import lower

    x = events[0][:500]
    t = graph.inputs[0]
    raw_in = np.clip(np.round(x.astype(np.float64) * 2.0**t.type.frac_bits),
                     t.type.min_raw, t.type.max_raw).astype(np.int64)
    want = trigc.emulate(graph, x, raw=True)
    got = evaluate(lower(graph), raw_in.reshape(len(x), -1))
    np.testing.assert_array_equal(got.reshape(want.shape), want)


@pytest.mark.parametrize("pool", ["amax", "mean"])
def test_brevitas_max_and_mean_pooling_exports(pool, tmp_path):
    """A Brevitas Deep Sets block with ``h.amax(dim=1)`` (ONNX ReduceMax) or
    ``h.mean(dim=1)`` (ReduceMean over 16 objects: a shift, exact), exported with
    export_qonnx: the emulator equals torch's and qonnx's forward passes exactly."""
    torch = pytest.importorskip("torch")
    qnn = pytest.importorskip("brevitas.nn")
    from brevitas.export import export_qonnx
    from brevitas.quant import (Int8ActPerTensorFixedPoint, Int8WeightPerTensorFixedPoint,
                                Uint8ActPerTensorFixedPoint)

    class Block(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.inp = qnn.QuantIdentity(act_quant=Int8ActPerTensorFixedPoint, bit_width=8,
                                         return_quant_tensor=True)
            self.phi = qnn.QuantLinear(3, 8, bias=True, weight_bit_width=6,
                                       weight_quant=Int8WeightPerTensorFixedPoint,
                                       return_quant_tensor=True)
            self.relu = qnn.QuantReLU(act_quant=Uint8ActPerTensorFixedPoint, bit_width=6,
                                      return_quant_tensor=True)
            self.out = qnn.QuantIdentity(act_quant=Uint8ActPerTensorFixedPoint, bit_width=8)

        def forward(self, x):
            h = self.relu(self.phi(self.inp(x)))
            h = getattr(h, "value", h)
            return self.out(h.amax(dim=1) if pool == "amax" else h.mean(dim=1))

    torch.manual_seed(0)
    block = Block().train()
    for _ in range(3):
        block(torch.randn(64, 16, 3))
    block.eval()
    export_qonnx(block, torch.randn(1, 16, 3), str(tmp_path / "block.onnx"))
    model = onnx.load(str(tmp_path / "block.onnx"))
    assert {"amax": "ReduceMax", "mean": "ReduceMean"}[pool] in {n.op_type for n in
                                                                  model.graph.node}
    x = (np.random.default_rng(3).normal(0, 2, (500, 16, 3))).astype(np.float32)
    got = trigc.emulate(trigc.load(model), x)
    with torch.no_grad():
        want = block(torch.from_numpy(x)).numpy()
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(got, qonnx_execute(batch_agnostic(model), x))
    assert len(np.unique(got)) > 30
