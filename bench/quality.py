"""Quality group: held-out accuracy of classmill's presets against the reference loop, over repeated splits.

Per dataset and repeat r: classmill's own stratified split with seed r into train / val / test
(`classmill.data.split(dataset, val, test, seed=r)`). classmill trains with the same settings, so
its run makes the same split (checked afterwards, all three parts); it selects its checkpoint on
val only. The reference loop trains on the same train part and keeps its last epoch. Every peer
is then scored on the test part, which nothing ever selected on.

A full run takes hours on a small machine, so each finished cell (dataset, peer, repeat) is saved
at once as cells/<set>/<peer>-r<repeat>.json and a later run skips it; a failed cell leaves
<peer>-r<repeat>.failed.json, which the next run retries.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from bench.child import run_child
from bench.held_out import score
from bench.plan import BenchPlan
from bench.splits import SplitTree, make_split_tree, make_tiny_dataset, run_split_keys
from bench.train_peers import REFERENCE, classmill_peer

REFERENCE_EQUAL = "reference-equal"  # the reference loop at the default preset's input size
PARTS = ("train", "val", "test")


def quality_peers(plan: BenchPlan) -> tuple[str, ...]:
    """In running order: the default preset's cell comes before the reference that copies its input size."""
    return tuple(classmill_peer(p) for p in plan.quality_presets) + (REFERENCE, REFERENCE_EQUAL)


def classmill_overrides(plan: BenchPlan, preset: str) -> dict:
    """The options a classmill peer's run sets on top of its preset."""
    # The peers' trees hold the usable images only (classmill.data.split loads no broken file, e.g.
    # sign-digits' three truncated phone photos): classmill must train on the same ones.
    return {"skip_invalid": True, **plan.quality_classmill_overrides.get(preset, {})}


def cell_path(out: Path, dataset: str, peer: str, repeat: int, *, failed: bool = False) -> Path:
    return out / "cells" / dataset / f"{peer}-r{repeat}{'.failed' if failed else ''}.json"


def read_cell(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def other_kind_cells(out: Path, tiny: bool) -> list[Path]:
    """Cells in `out` from the other kind of plan: a tiny run must never mix with full figures."""
    return [p for p in sorted((out / "cells").glob("*/*.json"))
            if (read_cell(p) or {}).get("tiny", tiny) != tiny]


def run_quality(plan: BenchPlan, out: Path, workdir: Path, machine: dict, *, sets: tuple[str, ...],
                peers: tuple[str, ...], repeats: tuple[int, ...], redo: bool = False) -> dict:
    """Run every missing cell of sets x peers x repeats; returns which ran, were skipped or failed."""
    done: dict[str, list[str]] = {"ran": [], "skipped": [], "failed": []}
    order = [p for p in quality_peers(plan) if p in peers]
    for name in sets:
        source = plan.datasets_dir / name
        dataset = make_tiny_dataset(source, workdir / "tiny" / name, per_class=plan.tiny_images_per_class,
                                    px=plan.tiny_image_px) if plan.tiny else source
        for repeat in repeats:
            todo = [p for p in order if redo or not cell_path(out, name, p, repeat).is_file()]
            done["skipped"] += [f"{name}/{p}-r{repeat}" for p in order if p not in todo]
            if not todo:
                continue
            split = make_split_tree(dataset, workdir / "trees" / name / f"r{repeat}", val=plan.quality_val,
                                    test=plan.quality_test, seed=repeat)
            _announce(f"{name}, repeat {repeat}: {len(split.train)} train / {len(split.val)} val / "
                      f"{len(split.test)} test images")
            for peer in todo:
                cell = _run_cell(plan, out, workdir, machine, name, dataset, peer, repeat, split)
                key = f"{name}/{peer}-r{repeat}"
                if cell.get("status") == "ok":
                    _write_json(cell_path(out, name, peer, repeat), cell)
                    cell_path(out, name, peer, repeat, failed=True).unlink(missing_ok=True)
                    done["ran"].append(key)
                else:
                    _write_json(cell_path(out, name, peer, repeat, failed=True), cell)
                    done["failed"].append(key)
    return done


def _announce(text: str) -> None:
    print(f"  {text}", flush=True)


def _timeout(plan: BenchPlan, peer: str) -> float:
    return plan.quality_peer_timeout_s.get(peer, plan.quality_timeout_s)


def _run_cell(plan: BenchPlan, out: Path, workdir: Path, machine: dict, name: str, dataset: Path, peer: str,
              repeat: int, split: SplitTree) -> dict:
    cell = {"set": name, "peer": peer, "repeat": repeat, "seed": repeat, "tiny": plan.tiny,
            "git_revision": machine.get("git_revision"), "classmill_version": machine.get("versions", {}).get("classmill"),
            "machine": {"cpu": machine.get("cpu"), "cores": machine.get("cores"), "boot": machine.get("boot")},
            "split": {"val": plan.quality_val, "test": plan.quality_test, "seed": repeat,
                      **{f"{part}_images": len(getattr(split, part)) for part in PARTS}}}
    logs = workdir / "logs"
    if peer.startswith("classmill-"):
        preset = peer.removeprefix("classmill-")
        run_dir = workdir / "runs" / name / f"r{repeat}" / preset
        spec = {"preset": preset, "data": str(dataset), "val": plan.quality_val, "test": plan.quality_test,
                "seed": repeat, "run_dir": str(run_dir), "overrides": classmill_overrides(plan, preset),
                "score_part": "test"}
        _announce(f"{name} r{repeat}: classmill {preset} preset ...")
        outcome = run_child("train_classmill", spec, logs, f"quality-{name}-r{repeat}-{peer}",
                            timeout_s=_timeout(plan, peer), quiet_wait_s=plan.quiet_wait_s)
        if outcome.ok:
            # Comparable only if classmill trained, selected and was scored on exactly the peers' parts.
            cell["split"]["same_as_peers"] = {part: run_split_keys(run_dir, part) == split.keys(part)
                                              for part in PARTS}
    else:
        size, resize, cell["input_size_from"] = _reference_size(plan, out, name, peer, repeat, dataset)
        spec = {"tree": str(split.tree), "epochs": plan.reference_epochs, "image_size": size, "resize": resize,
                "batch_size": plan.reference_batch, "workers": plan.reference_workers, "seed": repeat,
                "score_part": "test"}
        _announce(f"{name} r{repeat}: reference loop at {size} px ...")
        outcome = run_child("train_reference", spec, logs, f"quality-{name}-r{repeat}-{peer}",
                            timeout_s=_timeout(plan, peer), quiet_wait_s=plan.quiet_wait_s)
    cell.update(finished=time.strftime("%Y-%m-%d %H:%M:%S"), peak_rss_mb=outcome.peak_rss_mb,
                process_wall_s=round(outcome.wall_s, 1), others_busy_cores=outcome.others_busy_cores,
                quiet_wait=outcome.quiet_wait)
    result = outcome.result or {}
    if not outcome.ok or result.get("status") != "ok" or "held_out" not in result:
        reason = outcome.error or f"status {result.get('status')!r}, no held-out predictions"
        _announce(f"{name} r{repeat} {peer}: FAILED ({reason.splitlines()[0][:200]})")
        return {**cell, "status": "failed", "reason": reason}
    held_out = result["held_out"]
    figures, predictions = score(held_out, dataset)
    cell["split"]["scored_on_test_part"] = set(held_out["paths"]) == split.keys("test")
    cell.update(status="ok", input_px=result["image_size"], train_wall_s=result["wall_s"], test=figures,
                config=result.get("config") or {k: spec[k] for k in ("epochs", "image_size", "resize", "batch_size")},
                epochs=result.get("epochs", []), predictions=predictions)
    if "best_epoch" in result:  # classmill's: the checkpoint selected on val (0 = the probed head)
        cell["best_epoch"] = result["best_epoch"]
    _announce(f"{name} r{repeat} {peer}: test top-1 {figures['top1']:.3f}, macro F1 {figures['macro_f1']:.3f}, "
              f"ECE {figures['ece']:.3f}; trained in {result['wall_s']:.0f} s, peak RSS {outcome.peak_rss_mb:.0f} MB")
    return cell


def _reference_size(plan: BenchPlan, out: Path, name: str, peer: str, repeat: int,
                    dataset: Path) -> tuple[int, int, str]:
    """(input px, resize px, where the size came from) for a reference peer."""
    if peer == REFERENCE:
        return plan.reference_image_size, plan.reference_resize, "the plan's reference size"
    default = classmill_peer(plan.quality_default_preset)
    cell = read_cell(cell_path(out, name, default, repeat)) or {}
    if cell.get("status") == "ok" and cell.get("config", {}).get("image_size"):
        size, source = int(cell["config"]["image_size"]), f"the {default} cell's resolved config"
    else:  # that cell was not run (--peers): the same decision its run would make, from the same split
        import classmill.data
        from classmill.train.config import resolve_config
        from classmill.train.data_choices import decide_from_data

        config = resolve_config(plan.quality_default_preset, data=str(dataset),
                                **classmill_overrides(plan, plan.quality_default_preset))
        split = classmill.data.split(dataset, val=plan.quality_val, test=plan.quality_test, seed=repeat)
        size = decide_from_data(config, split.dataset).image_size
        source = f"resolve_config({plan.quality_default_preset!r}) (no {default} cell for this repeat)"
    # The reference's resize : crop ratio (256 : 224 in the docs), kept at the other size.
    return size, round(size * plan.reference_resize / plan.reference_image_size), source


def _write_json(path: Path, cell: dict) -> None:
    """Readable figures; the per-image predictions on one line each, so a cell stays a few pages long."""
    head = json.dumps({k: v for k, v in cell.items() if k != "predictions"}, indent=1, default=str)
    if "predictions" in cell:
        head = head[:-2] + ',\n "predictions": {\n' + ",\n".join(
            f"  {json.dumps(k)}: {json.dumps(v, separators=(',', ':'))}" for k, v in cell["predictions"].items()) + "\n }\n}"
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(head + "\n", encoding="utf-8")
    os.replace(tmp, path)
