"""Post-training quantization (PTQ) profiling, like hls4ml's ``numerical`` profiling.

``profile(model, data)`` runs the model's *float* forward pass on calibration data,
records the value range of every tensor (model input, every node output, and every
weight/bias feeding MatMul/Gemm/Conv) and suggests a fixed-point type per tensor:

* integer bits: the fewest that hold the largest observed magnitude (or, with
  ``percentile=P``, the P-th percentile of ``|x|``, to ignore outliers), plus the
  sign bit when the tensor has negative values, plus ``margin`` extra bits;
* total width: the user's ``width`` (default 16); the remaining bits are fractional.

Without ``percentile`` every suggested type holds every observed value (checked with
the type's own rounding). With it, outliers beyond the type are expected, so the
suggested types saturate (``SAT``) instead of wrapping, unless ``overflow`` says
otherwise.

The forward pass uses onnxruntime with every intermediate tensor exposed as a graph
output; a model with QONNX custom ops (Quant, BipolarQuant, Trunc) runs in qonnx's
node-by-node executor instead (``executor='auto'`` picks).

Tensors are named by the user's layer exactly as trigc names them (the ``source`` of
the imported IR: ``"/fc1/Gemm"`` -> ``"fc1"``, torch.onnx module scopes).
:meth:`Profile.precision_config` gives the overrides for ``trigc.load(model,
precision=...)``: ``'input'`` (when the model input has no type of its own) and the
output tensor of every float-derived layer that exists in the firmware. Tensors whose
type the model already fixes (QONNX Quant outputs, and layers computed only from
quantized values, which trigc types exactly) are profiled but left out, as are
tensors that exist only inside a fused layer (the MatMul before its bias Add) and
layout ops. ``precision_config(weights=True)`` adds the ``'weights'`` key (one type
for every float weight and bias, which trigc rounds into it).

Modules, one concern each: ``types`` (type suggestion), ``model`` (what an ONNX model
and its calibration data say), ``forward`` (the float forward pass), ``stats`` (value
ranges and profile rows), ``lowering`` (trigc's passes up to precision inference:
layer names and firmware nodes), ``result`` (the ``Profile``, its config and table),
``plot`` and ``write`` (the files), ``profile`` (the entry point), and ``calibrate``
(calibrated PTQ: ``trigc.load/compile(..., calibration=x)`` types every tensor of a
float model from these ranges and reports the argmax agreement with the float model).
"""

from trigc.ptq.calibrate import Calibration, calibrate
from trigc.ptq.profile import profile
from trigc.ptq.result import Profile, TensorProfile
from trigc.ptq.types import holds, suggest_type

__all__ = ["Calibration", "Profile", "TensorProfile", "calibrate", "holds", "profile",
           "suggest_type"]
