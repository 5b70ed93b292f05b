"""INT8 on a small real dataset (casting): at most 1 point of accuracy lost, speed-up recorded."""

import statistics
import time

import numpy as np
import pytest

from classmill.export import export_run
from classmill.infer import Predictor, read_bundle
from classmill.infer.int8_cpu import int8_saturation_warning
from classmill.train import resolve_config, train
from classmill.train.prepare import load_prepared
from classmill.train.run_dir import RunDirectory
from support.images import csv_of_copies

pytestmark = pytest.mark.slow


# A known defect, kept visible rather than skipped: without VNNI, ONNX Runtime's U8S8 kernel sums pairs
# of products in 16 bits and saturates. Measured on an AVX2-only boot of the EPYC machine: FP32 97.5 %,
# INT8 70.8 %; 7-bit weights (reduce_range) 93.3 %; U8U8 98.3 % but 0.22x FP32's speed (other jobs on
# the cores). Fixing the export for such CPUs is open work; on VNNI CPUs the one-point bound holds and
# is asserted. The same check makes Predictor.load warn on such CPUs (infer/int8_cpu.py).
@pytest.mark.xfail(int8_saturation_warning() is not None, reason="U8S8 saturates on CPUs without VNNI (see above)",
                   strict=False)
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
    # Recorded, not asserted: timing belongs in bench/ (INT8 vs FP32 there). Measured x1.9-2.1 on
    # this 2-core VNNI CPU when quiet, and x0.97 while other jobs shared the cores.


def test_int8_at_32_px_exports_and_predicts(shared_datasets, tmp_path):
    # At 32 px the last stages' maps are 2x2 and 1x1: the smallest size where TF-"same" padding
    # (folded into constants at export) still has to come out right for the quantised convs.
    data = csv_of_copies(shared_datasets / "cifar10-mini", ("cat", "dog"), 20, tmp_path, "d.csv")
    train(resolve_config("fast", data=str(data), image_size=32), tmp_path / "run")
    info = export_run(tmp_path / "run", tmp_path / "m.cmb", int8=True)
    evaluation = read_bundle(info.path).metadata["formats"]["onnx-int8"]["eval"]
    assert evaluation["top1_agreement"] >= 0.75, evaluation
    val = [r.path for r in load_prepared(RunDirectory(tmp_path / "run")).in_split("val")]
    fp32, int8 = Predictor.load(info.path), Predictor.load(info.path, int8=True)
    batch = np.stack([fp32.prepare(p) for p in val])
    assert int8.predict_proba(batch).shape == fp32.predict_proba(batch).shape == (len(val), 2)
