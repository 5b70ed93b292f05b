"""Training group: classmill's presets vs the hand-written reference loop vs Ultralytics.

For each dataset: one split (classmill's, seed 0, 20 % validation), then each peer in its own
child process, one after another so none competes with another for the two cores. Figures per
peer: validation top-1 after every epoch with the wall time it was reached at, time to each
target accuracy, final accuracy, training images/s (median over epochs) and peak memory.
"""

from __future__ import annotations

from pathlib import Path

from bench.child import run_child
from bench.plan import BenchPlan
from bench.splits import make_split_tree, make_tiny_dataset, run_split_keys
from bench.stats import median, ratio
from bench.ultralytics_venv import ultralytics_python

REFERENCE = "reference"
ULTRALYTICS = "ultralytics"


def classmill_peer(preset: str) -> str:
    return f"classmill-{preset}"


def run_training(plan: BenchPlan, workdir: Path) -> dict:
    out: dict = {"datasets": {}, "targets": list(plan.accuracy_targets)}
    yolo_python, yolo_missing = ultralytics_python(install=plan.install_ultralytics)
    for name in plan.train_datasets:
        source = plan.datasets_dir / name
        dataset = make_tiny_dataset(source, workdir / "tiny" / name, per_class=plan.tiny_images_per_class,
                                    px=plan.tiny_image_px) if plan.tiny else source
        split = make_split_tree(dataset, workdir / "trees" / name, val=plan.val_fraction, seed=plan.seed)
        peers: dict[str, dict] = {}
        for preset in plan.presets:
            peers[classmill_peer(preset)] = _train_classmill(plan, workdir, name, preset, split)
        peers[REFERENCE] = _train_reference(plan, workdir, name, split)
        if yolo_python is None:
            peers[ULTRALYTICS] = {"status": "skipped", "reason": yolo_missing}
        else:
            peers[ULTRALYTICS] = _train_ultralytics(plan, workdir, name, split, yolo_python)
        for peer in peers.values():
            _add_figures(peer, plan.accuracy_targets)
        _add_ratios(peers, plan.accuracy_targets)
        out["datasets"][name] = {"split": split.to_dict(), "peers": peers}
    return out


def _announce(text: str) -> None:
    print(f"  {text}", flush=True)


def _finish(name: str, outcome, extra: dict | None = None) -> dict:
    if not outcome.ok:
        _announce(f"{name}: FAILED ({outcome.error.splitlines()[0][:200]})")
        return outcome.failure()
    peer = {**outcome.result, "peak_rss_mb": outcome.peak_rss_mb, "process_wall_s": round(outcome.wall_s, 1),
            "others_busy_cores": outcome.others_busy_cores, "quiet_wait": outcome.quiet_wait, **(extra or {})}
    last = peer["epochs"][-1]["val_top1"] if peer.get("epochs") else None
    _announce(f"{name}: {len(peer.get('epochs', []))} epoch(s) in {peer['wall_s']:.0f} s, "
              f"final val top-1 {last:.3f}" if last is not None else f"{name}: no epoch finished")
    return peer


def _train_classmill(plan: BenchPlan, workdir: Path, dataset: str, preset: str, split) -> dict:
    run_dir = workdir / "runs" / f"{dataset}-{preset}"
    spec = {"preset": preset, "data": str(split.dataset), "val": plan.val_fraction, "seed": plan.seed,
            "run_dir": str(run_dir), "overrides": plan.classmill_overrides}
    _announce(f"{dataset}: classmill {preset} preset ...")
    outcome = run_child("train_classmill", spec, workdir / "logs", f"train-{dataset}-classmill-{preset}",
                        timeout_s=plan.train_timeout_s, quiet_wait_s=plan.quiet_wait_s)
    extra = {}
    if outcome.ok:
        # The peers are only comparable if classmill validated on exactly the images they do.
        extra["same_split_as_peers"] = run_split_keys(run_dir, "val") == split.keys("val")
    return _finish(f"{dataset}: classmill {preset}", outcome, extra)


def _train_reference(plan: BenchPlan, workdir: Path, dataset: str, split) -> dict:
    spec = {"tree": str(split.tree), "epochs": plan.reference_epochs, "image_size": plan.reference_image_size,
            "resize": plan.reference_resize, "batch_size": plan.reference_batch, "workers": plan.reference_workers,
            "seed": plan.seed}
    _announce(f"{dataset}: reference PyTorch/timm loop ...")
    outcome = run_child("train_reference", spec, workdir / "logs", f"train-{dataset}-reference",
                        timeout_s=plan.train_timeout_s, quiet_wait_s=plan.quiet_wait_s)
    return _finish(f"{dataset}: reference", outcome)


def _train_ultralytics(plan: BenchPlan, workdir: Path, dataset: str, split, python: Path) -> dict:
    spec = {"tree": str(split.tree), "model": plan.ultralytics_model, "epochs": plan.ultralytics_epochs,
            "image_size": plan.ultralytics_image_size, "batch_size": plan.reference_batch,
            "workers": plan.reference_workers, "seed": plan.seed, "time_box_s": plan.ultralytics_time_box_s,
            "project": str(workdir / "ultralytics-runs" / dataset)}
    # Offline by configuration as well as by the guard in the child; settings go to the temp folder.
    env = {"YOLO_OFFLINE": "1", "YOLO_CONFIG_DIR": str(workdir / "ultralytics-config")}
    _announce(f"{dataset}: Ultralytics {plan.ultralytics_model} from scratch ...")
    outcome = run_child("train_ultralytics", spec, workdir / "logs", f"train-{dataset}-ultralytics",
                        python=str(python), timeout_s=plan.ultralytics_time_box_s + 600, env=env,
                        quiet_wait_s=plan.quiet_wait_s)
    return _finish(f"{dataset}: Ultralytics", outcome)


def _add_figures(peer: dict, targets: tuple[float, ...]) -> None:
    """Time to each target, final/best accuracy and a median-epoch training speed."""
    epochs = peer.get("epochs") or []
    if peer.get("status") != "ok" or not epochs:
        return
    peer["final_top1"] = epochs[-1]["val_top1"]
    peer["best_top1"] = max(e["val_top1"] for e in epochs)
    peer["time_to_target_s"], peer["epoch_to_target"] = {}, {}
    for target in targets:
        hit = next((e for e in epochs if e["val_top1"] >= target - 1e-9), None)
        peer["time_to_target_s"][f"{target:.2f}"] = hit["elapsed_s"] if hit else None
        peer["epoch_to_target"][f"{target:.2f}"] = hit["epoch"] if hit else None
    # An epoch's duration includes its validation pass, for every peer alike; the first epoch
    # is counted from the start of the training loop, so setup time is not in the speed figure.
    full = [e for e in epochs if e["epoch"] >= 1]
    if full:
        ends = [peer.get("loop_start_s") or 0.0] + [e["elapsed_s"] for e in full]
        durations = [b - a for a, b in zip(ends, ends[1:])]
        peer["epoch_seconds"] = [round(d, 2) for d in durations]
        peer["epoch_seconds_median"] = round(median(durations), 2)
        peer["train_images_per_s"] = round(peer["train_images"] / median(durations), 2)
        peer["speed_basis"] = "median epoch"
    else:
        # Only a head fitted on frozen features (no epoch): its one pass over the training images.
        probe = next((e for e in epochs if e.get("phase") == "head_warmup" and e.get("phase_seconds")), None)
        if probe:
            peer["train_images_per_s"] = round(peer["train_images"] / probe["phase_seconds"], 2)
            peer["speed_basis"] = "head warmup pass (frozen-backbone features, no backward pass)"


def _add_ratios(peers: dict[str, dict], targets: tuple[float, ...]) -> None:
    """Each peer against the reference loop: speed ratios > 1 mean faster than the reference."""
    ref = peers.get(REFERENCE, {})
    for name, peer in peers.items():
        if name == REFERENCE or peer.get("status") != "ok" or ref.get("status") != "ok":
            continue
        comparable = peer.get("speed_basis") == ref.get("speed_basis") == "median epoch"
        peer["vs_reference"] = {
            "train_images_per_s": ratio(peer.get("train_images_per_s"), ref.get("train_images_per_s"))
            if comparable else None,  # a forward-only probe pass is no training epoch
            "time_to_target_speedup": {
                key: ratio(ref["time_to_target_s"].get(key), value)
                for key, value in peer.get("time_to_target_s", {}).items()
            },
            "final_top1_points": round(100 * (peer["final_top1"] - ref["final_top1"]), 2),
            "peak_rss": ratio(peer.get("peak_rss_mb"), ref.get("peak_rss_mb")),
        }
