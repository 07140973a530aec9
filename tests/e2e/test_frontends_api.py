"""trigc.load / trigc.compile accept framework objects directly, and float models
compile with post-training quantization (precision 'default')."""

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

import trigc


def _float_mlp():
    rng = np.random.default_rng(0)
    w1 = rng.normal(0, 0.5, (16, 32)).astype(np.float32)
    b1 = rng.normal(0, 0.1, 32).astype(np.float32)
    w2 = rng.normal(0, 0.5, (32, 5)).astype(np.float32)
    nodes = [helper.make_node("MatMul", ["x", "w1"], ["h"], name="fc1/MatMul"),
             helper.make_node("Add", ["h", "b1"], ["h2"], name="fc1/Add"),
             helper.make_node("Relu", ["h2"], ["h3"], name="relu1/Relu"),
             helper.make_node("MatMul", ["h3", "w2"], ["y"], name="fc2/MatMul")]
    g = helper.make_graph(
        nodes, "float_mlp", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 16])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 5])],
        [numpy_helper.from_array(a, n) for a, n in [(w1, "w1"), (b1, "b1"), (w2, "w2")]])
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), (w1, b1, w2)


def test_float_model_with_default_precision_is_post_training_quantized():
    model, (w1, b1, w2) = _float_mlp()
    graph = trigc.load(model, precision={"default": "fixed<18,8>", "weights": "fixed<12,2>"})
    dense = graph.find(trigc.ir.Op.DENSE)
    assert str(dense[0].inputs[1].type) == "fixed<12,2,RND_CONV,SAT>"
    assert str(dense[0].output.type) == "fixed<18,8>"
    x = np.random.default_rng(1).normal(0, 1, (2000, 16))
    ref = np.maximum(x @ w1 + b1, 0) @ w2
    got = trigc.emulate(graph, x)
    # error budget: input and each layer output rounded (TRN) at 2^-10, weights at 2^-10
    assert np.abs(got - ref).max() < 0.1
    assert np.mean(np.argmax(got, 1) == np.argmax(ref, 1)) > 0.97


def test_float_model_without_precision_names_the_fix():
    model, _ = _float_mlp()
    with pytest.raises(trigc.PrecisionError, match=r"precision=\{'x'"):
        trigc.load(model)


@pytest.mark.slow
def test_brevitas_module_is_accepted_directly(tmp_path):
    torch = pytest.importorskip("torch")
    from brevitas.nn import QuantIdentity, QuantLinear, QuantReLU
    from brevitas.quant import Int8ActPerTensorFixedPoint, Int8WeightPerTensorFixedPoint

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.inp = QuantIdentity(act_quant=Int8ActPerTensorFixedPoint,
                                     return_quant_tensor=True)
            self.fc = QuantLinear(8, 4, bias=False, weight_quant=Int8WeightPerTensorFixedPoint)
            self.act = QuantReLU(act_quant=None)

        def forward(self, x):
            return self.act(self.fc(self.inp(x)))

    torch.manual_seed(0)
    net = Net().eval()
    x = torch.randn(500, 8)
    project = trigc.compile(net, tmp_path / "net", example_input=torch.randn(1, 8))
    assert project.graph.find(trigc.ir.Op.DENSE)[0].source == "fc"
    with torch.no_grad():
        ref = net(x).numpy()
    np.testing.assert_array_equal(project.emulate(x.numpy()), ref)  # float32 exact here
    with pytest.raises(trigc.ConfigError, match="example_input"):
        trigc.load(net)
