"""fold_static_shapes: TF-"same" pads become constants; batch-dependent shapes stay computed."""

from __future__ import annotations

import zipfile

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import timm
import torch
from PIL import Image
from timm.layers import Conv2dSame

from classmill.export import export_bundle
from classmill.export.static_shapes import fold_static_shapes
from classmill.preprocess import PreprocessSpec

# The legacy exporter announces its own deprecation on every call; src silences it the same way.
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


class SamePaddedNet(torch.nn.Module):
    """A stride-2 TF-"same" conv (pads computed from the input's shape) and a reshape to
    [batch, -1] (a shape that does depend on the batch)."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.conv = Conv2dSame(3, 4, kernel_size=3, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv(x)
        return y.reshape(y.shape[0], -1)


def export(model: torch.nn.Module, path, size: int) -> None:
    with torch.no_grad():
        torch.onnx.export(model, (torch.zeros(2, 3, size, size),), str(path), dynamo=False, input_names=["input"],
                          output_names=["out"], dynamic_axes={"input": {0: "b"}, "out": {0: "b"}})


def run(path, batch: np.ndarray) -> np.ndarray:
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, {"input": batch})[0]


def test_pads_fold_and_batch_dependent_shapes_stay(tmp_path):
    path = tmp_path / "m.onnx"
    export(SamePaddedNet().eval(), path, size=16)  # even size at stride 2: pad 0 before, 1 after
    before = onnx.load(str(path)).graph
    assert {"Ceil", "Div"} <= {n.op_type for n in before.node}  # the run-time pad arithmetic
    batches = [np.random.default_rng(n).normal(size=(n, 3, 16, 16)).astype(np.float32) for n in (1, 2, 5)]
    expected = [run(path, b) for b in batches]

    removed = fold_static_shapes(path, "input", (3, 16, 16))

    graph = onnx.load(str(path)).graph
    onnx.checker.check_model(onnx.load(str(path)), full_check=True)
    ops = [n.op_type for n in graph.node]
    assert removed > 0 and not {"Ceil", "Div", "Cast"} & set(ops)
    pad = next(n for n in graph.node if n.op_type == "Pad")
    initializers = {i.name: onnx.numpy_helper.to_array(i) for i in graph.initializer}
    assert pad.input[1] in initializers and initializers[pad.input[1]].tolist() == [0, 0, 0, 0, 0, 0, 1, 1]
    assert "Shape" in ops  # the reshape to [batch, -1] still reads the batch size at run time
    for batch, want in zip(batches, expected):
        np.testing.assert_array_equal(run(path, batch), want)


def test_graph_without_shape_arithmetic_is_left_alone(tmp_path):
    path = tmp_path / "plain.onnx"
    export(torch.nn.Conv2d(3, 2, 3, padding=1).eval(), path, size=8)
    original = path.read_bytes()
    assert fold_static_shapes(path, "input", (3, 8, 8)) == 0
    assert path.read_bytes() == original


@pytest.fixture(scope="module")
def same_padded_bundle(tmp_path_factory):
    """A tiny EfficientNet with TF-"same" padding (as tf_efficientnet_lite*), exported with INT8."""
    root = tmp_path_factory.mktemp("same")
    rng = np.random.default_rng(0)
    images = []
    for i in range(8):
        path = root / f"{i}.png"
        Image.fromarray(rng.integers(0, 256, size=(40, 40, 3), dtype=np.uint8)).save(path)
        images.append(path)
    torch.manual_seed(0)
    model = timm.create_model("test_efficientnet", pretrained=False, num_classes=3, pad_type="same").eval()
    spec = PreprocessSpec(input_size=40, resize_size=40, mean=(0.5,) * 3, std=(0.5,) * 3)
    info = export_bundle(model, spec, ["a", "b", "c"], root / "m.cmb", metadata={}, int8_calibration_images=images)
    return info


def test_exported_bundle_has_constant_pads_in_both_models(same_padded_bundle):
    with zipfile.ZipFile(same_padded_bundle.path) as zf:
        graphs = {name: onnx.load_from_string(zf.read(name)).graph for name in ("model.onnx", "model.int8.onnx")}
    assert any(n.op_type == "Pad" for n in graphs["model.onnx"].node)  # the model really has TF-"same" pads
    for name, graph in graphs.items():
        initializers = {i.name for i in graph.initializer}
        # The INT8 bug this prevents: quantised pad arithmetic shifting every feature map. (In the
        # INT8 model ONNX Runtime's pre-processing has already merged the constant pads into the convs.)
        assert all(n.input[1] in initializers for n in graph.node if n.op_type == "Pad"), name
        assert not {"Shape", "Ceil"} & {n.op_type for n in graph.node}, name
