"""INT8 on a small real dataset (casting): at most 1 point of accuracy lost, speed-up recorded."""

import statistics
import time

import numpy as np
import pytest

from classmill.export import export_run
from classmill.infer import Predictor, read_bundle
from classmill.train import resolve_config, train
from classmill.train.prepare import load_prepared
from classmill.train.run_dir import RunDirectory

pytestmark = pytest.mark.slow


@pytest.mark.xfail(strict=True, reason=(
    "Known defect (issue 5 stays open): post-training static INT8 of EfficientNet-Lite loses far more than "
    "1 point here (measured 98.3 % -> 57.5 % at 128 px; bench: 100 % -> 81.7 % at 160 px). MinMax, entropy and "
    "percentile calibration, S8S8, reduce_range and keeping the head or the depthwise convs in FP32 were tried; "
    "the best (percentile) reached 92.5 %. Remove this mark when INT8 keeps accuracy."))
def test_int8_keeps_accuracy_within_one_point_on_casting(shared_datasets, tmp_path, record_property):
    run = tmp_path / "run"
    train(resolve_config("fast", data=str(shared_datasets / "casting"), image_size=128), run)
    info = export_run(run, tmp_path / "model.cmb", int8=True)
    evaluation = read_bundle(info.path).metadata["formats"]["onnx-int8"]["eval"]
    fp32, int8 = evaluation["fp32_accuracy"], evaluation["int8_accuracy"]
    assert fp32 >= 0.9  # a real model, so the comparison means something
    assert int8 >= fp32 - 0.01, (fp32, int8)

    val = [r.path for r in load_prepared(RunDirectory(run)).in_split("val")]
    timings = {}
    for variant in ("fp32", "int8"):
        predictor = Predictor.load(info.path, int8=variant == "int8")
        batch = np.stack([predictor.prepare(p) for p in val[:64]])
        predictor.predict_proba(batch)  # warm-up
        runs = []
        for _ in range(5):
            started = time.perf_counter()
            predictor.predict_proba(batch)
            runs.append(len(batch) / (time.perf_counter() - started))
        timings[variant] = statistics.median(runs)
    speedup = timings["int8"] / timings["fp32"]
    record_property("fp32_accuracy", fp32)
    record_property("int8_accuracy", int8)
    record_property("int8_speedup", round(speedup, 2))
    print(f"casting val: FP32 {fp32:.4f}, INT8 {int8:.4f}; batch-64 ORT img/s FP32 {timings['fp32']:.0f}, "
          f"INT8 {timings['int8']:.0f} (x{speedup:.2f}, in a process with torch loaded)")


def test_int8_at_32_px_is_a_clear_user_error(shared_datasets, tmp_path):
    from classmill.errors import UserError

    data = tmp_path / "d.csv"
    data.write_text("".join(f"{p},{label}\n" for label in ("cat", "dog")
                            for p in sorted((shared_datasets / "cifar10-mini" / label).iterdir())[:20]))
    train(resolve_config("fast", data=str(data), image_size=32), tmp_path / "run")
    with pytest.raises(UserError, match="64 px or more"):
        export_run(tmp_path / "run", tmp_path / "m.cmb", int8=True)
    assert not (tmp_path / "m.cmb").exists()
