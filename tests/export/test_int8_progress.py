"""INT8 export reports its calibration and its accuracy check as classmill.progress events."""

from __future__ import annotations

import timm
import torch

from classmill.export import export_bundle
from classmill.preprocess import PreprocessSpec
from support.images import noise, save

SPEC = PreprocessSpec(input_size=48, resize_size=56, mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225))


def test_int8_export_emits_calibration_and_check_progress(tmp_path):
    torch.manual_seed(0)
    model = timm.create_model("test_efficientnet", pretrained=False, num_classes=2).eval()
    images = [save(noise((56, 56), seed=i), tmp_path / f"{i}.png") for i in range(20)]
    events: list[dict] = []
    export_bundle(model, SPEC, ["a", "b"], tmp_path / "q.cmb", metadata={}, int8_calibration_images=images,
                  int8_eval=(images[:6], [0, 1] * 3), progress=events.append)
    by_phase = {phase: [e for e in events if e["phase"] == phase] for phase in ("calibration", "int8_check")}
    calibration, check = by_phase["calibration"], by_phase["int8_check"]
    assert calibration[0]["done"] == 0 and calibration[-1]["done"] == calibration[-1]["total"] == 20
    # Both models over the 20 calibration images (agreement) and the 6 evaluation images (accuracy).
    assert check[0]["done"] == 0 and check[-1]["done"] == check[-1]["total"] == 2 * (20 + 6)
    assert events.index(calibration[-1]) < events.index(check[0])
    assert all(e["type"] == "progress" and e["unit"] == "images" for e in events)
