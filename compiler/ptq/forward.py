"""The float forward pass over the calibration data, with every intermediate tensor
exposed: onnxruntime for standard ONNX, qonnx's node-by-node executor for models with
QONNX custom ops (Quant, BipolarQuant, Trunc)."""

from __future__ import annotations

import copy
import logging

import onnx

from trigc.errors import ModelError, TrigcError
from trigc.ptq.model import model_inputs

log = logging.getLogger(__name__)


class OrtRunner:
    def __init__(self, proto: onnx.ModelProto, names: list[str]) -> None:
        import onnxruntime as ort

        m = copy.deepcopy(proto)
        try:
            inferred = onnx.shape_inference.infer_shapes(m)
            elem = {vi.name: vi.type.tensor_type.elem_type
                    for vi in (*inferred.graph.value_info, *inferred.graph.output,
                               *inferred.graph.input)}
        except Exception:  # shape inference is only used for element types
            elem = {}
        del m.graph.value_info[:]
        for vi in model_inputs(m):
            dims = vi.type.tensor_type.shape.dim
            if len(dims):
                dims[0].Clear()
                dims[0].dim_param = "batch"
        outputs = [vi.name for vi in m.graph.output]
        out_elem = {vi.name: vi.type.tensor_type.elem_type for vi in m.graph.output}
        del m.graph.output[:]
        self.names = list(dict.fromkeys(outputs + names))
        for n in self.names:
            et = out_elem.get(n) or elem.get(n) or onnx.TensorProto.FLOAT
            m.graph.output.append(onnx.helper.make_tensor_value_info(n, et, None))
        opts = ort.SessionOptions()
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
        opts.log_severity_level = 4  # failures are raised (or retried)
        try:
            self.session = ort.InferenceSession(m.SerializeToString(), opts,
                                                providers=["CPUExecutionProvider"])
        except Exception as exc:
            raise ModelError(f"onnxruntime cannot load the model for profiling: {exc}") from None

    def __call__(self, feeds: dict) -> dict:
        values = self.session.run(self.names, feeds)
        return dict(zip(self.names, values))


class QonnxRunner:
    def __init__(self, proto: onnx.ModelProto, names: list[str]) -> None:
        self.proto = proto
        self.cache: dict[int, object] = {}

    def _model(self, batch: int):
        if batch not in self.cache:
            from qonnx.core.modelwrapper import ModelWrapper
            from qonnx.transformation.infer_shapes import InferShapes

            m = copy.deepcopy(self.proto)
            del m.graph.value_info[:]
            inits = {i.name for i in m.graph.initializer}
            for vi in (*m.graph.input, *m.graph.output):
                dims = vi.type.tensor_type.shape.dim
                if vi.name not in inits and len(dims):
                    dims[0].Clear()
                    dims[0].dim_value = batch
            try:
                self.cache[batch] = ModelWrapper(m).transform(InferShapes())
            except Exception as exc:
                raise ModelError(f"qonnx shape inference failed for profiling: {exc}") from None
        return self.cache[batch]

    def __call__(self, feeds: dict) -> dict:
        from qonnx.core.onnx_exec import execute_onnx

        batch = next(iter(feeds.values())).shape[0]
        ctx = execute_onnx(self._model(batch), feeds, return_full_exec_context=True)
        return {k: v for k, v in ctx.items() if v is not None}


def forward(runner, arrays: dict, batch_size: int):
    """Yield the runner's outputs chunk by chunk; a model that hard-codes batch 1
    (e.g. Reshape to [1, -1]) falls back to one sample at a time."""
    n = next(iter(arrays.values())).shape[0]
    size = max(int(batch_size), 1)
    start = 0
    while start < n:
        stop = min(start + size, n)
        feeds = {k: v[start:stop] for k, v in arrays.items()}
        try:
            out = runner(feeds)
        except Exception as exc:
            if isinstance(exc, TrigcError):
                raise
            if size > 1:
                log.warning("profile: the model does not run on a batch of %d (%s); "
                            "running one sample at a time", stop - start, exc)
                size = 1
                continue
            raise ModelError(f"The float forward pass failed: {exc}") from None
        yield stop - start, out
        start = stop


__all__ = ["OrtRunner", "QonnxRunner", "forward"]
