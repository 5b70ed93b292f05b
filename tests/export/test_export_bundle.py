"""export_bundle: contents, metadata, ONNX-vs-torch parity, INT8, TorchScript, refusals."""

from __future__ import annotations

import hashlib
import json
import zipfile

import numpy as np
import onnx
import pytest
import timm
import torch
from PIL import Image

from classmill.export import ExportError, ExportVerificationError, export_bundle
from classmill.image import open_rgb
from classmill.infer import Predictor
from classmill.preprocess import PreprocessSpec, preprocess

LABELS = ["cat", "dog", "fish"]
SPEC = PreprocessSpec(input_size=48, resize_size=56, mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225))


def tiny_model(name: str = "test_efficientnet") -> torch.nn.Module:
    torch.manual_seed(0)
    model = timm.create_model(name, pretrained=False, num_classes=len(LABELS))
    # Random heads give near-uniform logits; spread them so argmax and top-1 prob mean something.
    with torch.no_grad():
        model.get_classifier().weight.mul_(50)
    return model.eval()


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    """Photos of assorted sizes and aspect ratios (so the resize + crop rule is exercised)."""
    root = tmp_path_factory.mktemp("images")
    rng = np.random.default_rng(0)
    paths = []
    for i, (w, h) in enumerate([(64, 64), (80, 50), (50, 90), (120, 120), (33, 47), (200, 140), (48, 48), (71, 64)]):
        base = rng.integers(0, 256, size=(h // 4 + 1, w // 4 + 1, 3), dtype=np.uint8)
        img = Image.fromarray(base).resize((w, h), Image.Resampling.BILINEAR)
        path = root / f"img{i}.{'jpg' if i % 2 else 'png'}"
        img.save(path, quality=95)
        paths.append(path)
    return paths


@pytest.fixture(scope="module")
def fp32_bundle(tmp_path_factory):
    model = tiny_model()
    out = tmp_path_factory.mktemp("fp32") / "tiny.cmb"
    info = export_bundle(model, SPEC, LABELS, out, metadata={"run_id": "r42", "architecture": "test_efficientnet"})
    return model, info


def test_bundle_contents_and_metadata(fp32_bundle):
    _, info = fp32_bundle
    with zipfile.ZipFile(info.path) as zf:
        assert sorted(zf.namelist()) == ["labels.txt", "metadata.json", "model.onnx", "preprocess.json"]
        assert zf.read("labels.txt").decode().splitlines() == LABELS
        assert json.loads(zf.read("preprocess.json")) == SPEC.to_dict()
        assert PreprocessSpec.from_dict(json.loads(zf.read("preprocess.json"))) == SPEC
        meta = json.loads(zf.read("metadata.json"))
        model_bytes = zf.read("model.onnx")
    assert meta == info.metadata
    assert meta["run_id"] == "r42" and meta["architecture"] == "test_efficientnet"
    assert meta["classmill_version"] and meta["created"].endswith("+00:00")
    assert meta["onnx_opset"] >= 17 and meta["input_size"] == 48 and meta["num_classes"] == 3
    assert meta["model_sha256"] == hashlib.sha256(model_bytes).hexdigest()
    graph = onnx.load_from_string(model_bytes)
    onnx.checker.check_model(graph)
    assert max(o.version for o in graph.opset_import if o.domain in ("", "ai.onnx")) >= 17
    assert [i.name for i in graph.graph.input] == ["input"] and [o.name for o in graph.graph.output] == ["logits"]
    assert graph.graph.input[0].type.tensor_type.shape.dim[0].dim_param  # dynamic batch
    assert info.path.stat().st_size == info.size_bytes
    assert not list(info.path.parent.glob(".*.tmp"))  # atomic write left no temp file


@pytest.mark.parametrize("arch", ["test_efficientnet", "resnet10t"])
def test_onnx_matches_torch_on_images(arch, images, tmp_path):
    model = tiny_model(arch)
    out = tmp_path / f"{arch}.cmb"
    export_bundle(model, SPEC, LABELS, out, metadata={})
    # Same spec and decode on both sides (JPEGs drafted to the resize size, as the predictor does).
    batch = np.stack([preprocess(open_rgb(p, needed_side=SPEC.resize_size), SPEC) for p in images])
    with torch.no_grad():
        expected = torch.softmax(model(torch.from_numpy(batch)), dim=1).numpy()
    predictions = Predictor.load(out).predict(images, top_k=3)
    got = np.stack([p.probs for p in predictions])
    assert (got.argmax(1) == expected.argmax(1)).all()
    assert np.abs(got.max(1) - expected.max(1)).max() < 1e-3
    assert len(set(expected.argmax(1))) > 1 or expected.max() > 0.5  # the comparison is not vacuous


def test_int8_bundle_records_accuracy(images, tmp_path):
    model = tiny_model()
    labels = [0, 1, 2, 0, 1, 2, 0, 1]
    info = export_bundle(
        model, SPEC, LABELS, tmp_path / "q.cmb", metadata={}, int8_calibration_images=images, int8_eval=(images, labels)
    )
    assert "model.int8.onnx" in info.files
    int8 = info.metadata["formats"]["onnx-int8"]
    assert int8["format"] == "QDQ" and int8["per_channel"] is True and int8["calibration_images"] == len(images)
    assert 0.0 <= int8["eval"]["fp32_accuracy"] <= 1.0 and 0.0 <= int8["eval"]["int8_accuracy"] <= 1.0
    assert int8["eval"]["images"] == len(images)
    with zipfile.ZipFile(info.path) as zf:
        graph = onnx.load_from_string(zf.read("model.int8.onnx")).graph
    ops = {n.op_type for n in graph.node}
    assert {"QuantizeLinear", "DequantizeLinear"} <= ops
    per_channel = [n for n in graph.node if n.op_type == "DequantizeLinear" and any(a.name == "axis" for a in n.attribute)]
    assert per_channel  # weights carry one scale per output channel
    fp32, q = Predictor.load(info.path), Predictor.load(info.path, int8=True)
    assert q.int8 and q.predict(images[:2])[0].probs.shape == (3,)
    agreement = np.mean([a.label == b.label for a, b in zip(fp32.predict(images), q.predict(images))])
    assert agreement >= 0.5


@pytest.mark.filterwarnings("ignore:`torch.jit.load` is deprecated:FutureWarning")
def test_torchscript_is_optional(tmp_path):
    model = tiny_model()
    info = export_bundle(model, SPEC, LABELS, tmp_path / "ts.cmb", metadata={}, torchscript=True)
    assert "model.torchscript.pt" in info.files
    with zipfile.ZipFile(info.path) as zf:
        (tmp_path / "m.pt").write_bytes(zf.read("model.torchscript.pt"))
    loaded = torch.jit.load(str(tmp_path / "m.pt"))
    x = torch.randn(2, 3, 48, 48)
    with torch.no_grad():
        assert torch.allclose(loaded(x), model(x), atol=1e-5)


def test_training_mode_is_restored(tmp_path):
    model = tiny_model().train()
    export_bundle(model, SPEC, LABELS, tmp_path / "t.cmb", metadata={})
    assert model.training


@pytest.mark.parametrize(
    "labels, kwargs, match",
    [
        (["a", "b"], {}, "class names"),
        ([], {}, "empty"),
        (["a", "a", "b"], {}, "unique"),
        (LABELS, {"int8_eval": ([], [])}, "int8_calibration_images"),
        (LABELS, {"int8_calibration_images": []}, "calibration images"),
        (LABELS, {"metadata": {"bad": object()}}, "JSON"),
    ],
)
def test_refusals_are_user_errors(tmp_path, labels, kwargs, match):
    kwargs = {"metadata": {}, **kwargs}
    with pytest.raises(ExportError, match=match):
        export_bundle(tiny_model(), SPEC, labels, tmp_path / "x.cmb", **kwargs)
    assert not (tmp_path / "x.cmb").exists()


def test_out_path_folder_is_refused(tmp_path):
    with pytest.raises(ExportError, match="folder"):
        export_bundle(tiny_model(), SPEC, LABELS, tmp_path, metadata={})


def test_disagreement_fails_loudly_and_writes_nothing(tmp_path, monkeypatch):
    from classmill.export import onnx_export

    monkeypatch.setattr(onnx_export, "ATOL", -1.0)  # any difference at all now counts as a mismatch
    with pytest.raises(ExportVerificationError, match="disagree"):
        export_bundle(tiny_model(), SPEC, LABELS, tmp_path / "x.cmb", metadata={})
    assert list(tmp_path.iterdir()) == []
