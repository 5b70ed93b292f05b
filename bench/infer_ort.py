"""Child: classmill's bundle on ONNX Runtime, FP32 and INT8, in a process that never imports torch.

ONNX Runtime runs several times slower next to a loaded torch (both start thread pools on the
same cores), and a deployed bundle runs without torch, so this process checks at the end that
torch was never imported. Decoding is included, as `classmill predict` and the service do it:
- latency: Predictor.predict on one image per call, p50/p99, FP32 and INT8 interleaved in blocks
  so load from other processes on the shared machine hits both alike;
- throughput: predict_many over the image folder, median of repeats per variant;
- accuracy of each variant on the run's validation images (the INT8 loss is the difference).
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from bench.child import child_main
from bench.stats import median, percentile

_WARMUP = 5
_BLOCK = 10


def measure(spec: dict) -> dict:
    from classmill.infer import Predictor, predict_many

    predictors = {"fp32": Predictor.load(spec["bundle"]), "int8": Predictor.load(spec["bundle"], int8=True)}
    single = spec["single_image"]
    for predictor in predictors.values():
        for _ in range(_WARMUP):
            predictor.predict([single])

    latencies: dict[str, list[float]] = {name: [] for name in predictors}
    runs = spec["latency_runs"]
    while min(len(v) for v in latencies.values()) < runs:
        for name, predictor in predictors.items():
            for _ in range(min(_BLOCK, runs - len(latencies[name]))):
                start = time.perf_counter()
                predictor.predict([single])
                latencies[name].append((time.perf_counter() - start) * 1000)

    throughputs: dict[str, list[float]] = {name: [] for name in predictors}
    images = 0
    with tempfile.TemporaryDirectory(prefix="classmill-bench-ort-") as tmp:
        for repeat in range(spec["repeats"]):
            for name, predictor in predictors.items():
                start = time.perf_counter()
                result = predict_many(predictor, spec["images"], Path(tmp) / f"{name}-{repeat}")
                seconds = time.perf_counter() - start
                if result.failed:
                    raise RuntimeError(f"{name}: {result.failed} images failed: {result.errors[:3]}")
                images = result.predicted
                throughputs[name].append(result.predicted / seconds)

    accuracy = {}
    for name, predictor in predictors.items():
        predictions = predictor.predict(spec["val_paths"])
        accuracy[name] = sum(p.label == y for p, y in zip(predictions, spec["val_labels"])) / len(predictions)

    loaded = [m for m in ("torch", "torchvision", "timm") if m in sys.modules]
    if loaded:
        raise RuntimeError(f"the ONNX Runtime process imported {loaded}; its figures would not be torch-free")
    import onnxruntime

    return {
        "onnxruntime": onnxruntime.__version__,
        "providers": predictors["fp32"].providers,
        "torch_imported": False,
        "images": images,
        "variants": {
            name: {
                "latency_ms_p50": round(percentile(latencies[name], 50), 2),
                "latency_ms_p99": round(percentile(latencies[name], 99), 2),
                "latency_runs": len(latencies[name]),
                "throughput_img_s_median": round(median(throughputs[name]), 1),
                "throughput_img_s_repeats": [round(t, 1) for t in throughputs[name]],
                "val_top1": accuracy[name],
            }
            for name in predictors
        },
        "val_images": len(spec["val_paths"]),
    }


if __name__ == "__main__":
    child_main(measure)
