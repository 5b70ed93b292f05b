"""Inference group: PyTorch eager vs classmill's ONNX Runtime bundle (FP32 and INT8), and serving.

All on the casting model that classmill's default path trained (reused from the training group
when it ran in the same invocation, otherwise trained here first), at the run's own input size.
Each runtime measures in a child process of its own: torch eager in one, ONNX Runtime in one
that never imports torch. Then `classmill serve` answers concurrent requests while its memory
is watched.
"""

from __future__ import annotations

import json
from pathlib import Path

from bench.child import run_child
from bench.plan import BenchPlan
from bench.serve_load import measure_serving
from bench.splits import make_tiny_dataset
from bench.stats import ratio

_INFER_PRESET = "balanced"


def run_inference(plan: BenchPlan, workdir: Path, trained_run: Path | None) -> dict:
    out: dict = {}
    images = plan.datasets_dir / plan.infer_dataset
    if plan.tiny:
        images = make_tiny_dataset(images, workdir / "tiny" / plan.infer_dataset,
                                   per_class=plan.tiny_images_per_class, px=plan.tiny_image_px)
    if trained_run is None or not (trained_run / "checkpoints" / "best.pt").is_file():
        trained_run = workdir / "runs" / f"{plan.infer_dataset}-infer-{_INFER_PRESET}"
        print(f"  training the {plan.infer_dataset} model to measure ({_INFER_PRESET} preset) ...", flush=True)
        outcome = run_child("train_classmill", {"preset": _INFER_PRESET, "data": str(images), "val": plan.val_fraction,
                                                "seed": plan.seed, "run_dir": str(trained_run),
                                                "overrides": plan.classmill_overrides},
                            workdir / "logs", "infer-train", timeout_s=plan.train_timeout_s)
        if not outcome.ok:
            return {"status": "failed", "reason": f"could not train the model to measure: {outcome.error}"}
    out["model"] = {"run_dir": str(trained_run), "preset": _INFER_PRESET, "dataset": plan.infer_dataset}

    print("  exporting the bundle (FP32 + INT8) ...", flush=True)
    bundle = workdir / "bundle" / "model.cmb"
    export = run_child("export_model", {"run_dir": str(trained_run), "bundle": str(bundle),
                                        "calibration_images": plan.int8_calibration_images},
                       workdir / "logs", "export", timeout_s=900)
    if not export.ok:
        return {**out, "status": "failed", "reason": f"export failed: {export.error}"}
    out["export"] = export.result

    val_paths, val_labels = _val_split(trained_run)
    single = str(sorted(p for p in images.rglob("*") if p.is_file())[0])
    common = {"images": str(images), "single_image": single, "latency_runs": plan.latency_runs,
              "repeats": plan.throughput_repeats, "val_paths": val_paths, "val_labels": val_labels}

    print("  PyTorch eager ...", flush=True)
    torch_run = run_child("infer_torch", {**common, "run_dir": str(trained_run), "workers": plan.reference_workers},
                          workdir / "logs", "infer-torch", timeout_s=900, quiet_wait_s=plan.quiet_wait_s)
    print("  ONNX Runtime FP32 and INT8 (process without torch) ...", flush=True)
    ort_run = run_child("infer_ort", {**common, "bundle": str(bundle)}, workdir / "logs", "infer-ort", timeout_s=900,
                        quiet_wait_s=plan.quiet_wait_s)
    for key, run in (("torch_eager", torch_run), ("onnxruntime", ort_run)):
        out[key] = ({**run.result, "peak_rss_mb": run.peak_rss_mb, "others_busy_cores": run.others_busy_cores,
                     "quiet_wait": run.quiet_wait} if run.ok else run.failure())

    print(f"  classmill serve under load ({plan.serve_requests} requests, {plan.serve_concurrency} at a time) ...",
          flush=True)
    try:
        out["serving"] = measure_serving(bundle, [Path(p) for p in val_paths[:32]], requests=plan.serve_requests,
                                         concurrency=plan.serve_concurrency, log=workdir / "logs" / "serve.log",
                                         quiet_wait_s=plan.quiet_wait_s)
    except Exception as exc:  # noqa: BLE001 - a failed service is a measured outcome, not a crash
        out["serving"] = {"status": "failed", "reason": str(exc)}
    out["comparison"] = _compare(out)
    out["status"] = "ok"
    return out


def _val_split(run_dir: Path) -> tuple[list[str], list[str]]:
    from classmill.data import Dataset

    # The manifest stores paths relative to the dataset root; the library resolves them.
    val = Dataset.from_manifest(json.loads((run_dir / "split" / "manifest.json").read_text())).in_split("val")
    return [str(r.path) for r in val], [r.label for r in val]


def _compare(out: dict) -> dict:
    """Throughput ratios (> 1: faster than torch eager), latency speed-ups and the INT8 accuracy cost."""
    torch_eager, ort = out.get("torch_eager", {}), out.get("onnxruntime", {})
    variants = ort.get("variants", {})
    table = {}
    for name, v in variants.items():
        table[name] = {
            "throughput_vs_torch": ratio(v["throughput_img_s_median"], torch_eager.get("throughput_img_s_median")),
            "latency_p50_speedup_vs_torch": ratio(torch_eager.get("latency_ms_p50"), v["latency_ms_p50"]),
        }
    if {"fp32", "int8"} <= variants.keys():
        fp32, int8 = variants["fp32"], variants["int8"]
        table["int8_vs_fp32"] = {
            "throughput": ratio(int8["throughput_img_s_median"], fp32["throughput_img_s_median"]),
            "latency_p50_speedup": ratio(fp32["latency_ms_p50"], int8["latency_ms_p50"]),
            "val_top1_loss_points": round(100 * (fp32["val_top1"] - int8["val_top1"]), 2),
        }
    return table
