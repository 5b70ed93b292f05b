"""Scale group: a generated 50,000-image dataset trained with the default preset, in bounded memory.

`python -m bench scale` builds the dataset from the shared ones (bench/scale_data.py: 38 namespaced
classes, copies of 80 % of each class's files, the other 20 % held out), trains classmill's
`balanced` preset on it with default options in a child process (bench/scale_train.py), and
reports how soon the user sees progress and the first step, the whole time, peak memory (the
image cache is bounded by cache_max_mb however large the dataset) and the best checkpoint's top-1
and macro F1 on the held-out originals. `python -m bench all` leaves it out (hours on a CPU);
its section in results.json is kept from the last scale run.
"""

from __future__ import annotations

import os
from pathlib import Path

from bench.child import run_child
from bench.plan import BenchPlan
from bench.scale_data import generate, split_originals


def run_scale_benchmark(plan: BenchPlan, workdir: Path) -> dict:
    train_originals, heldout = split_originals(plan.datasets_dir, plan.scale_sources, plan.scale_heldout,
                                               plan.seed)
    data = workdir / "scale" / "images"
    processes = os.cpu_count() or 1
    print(f"  generating {plan.scale_images:,} images from {len(train_originals):,} originals "
          f"({processes} processes) ...", flush=True)
    generated = generate(train_originals, data, plan.scale_images, seed=plan.seed, processes=processes)
    print(f"  {generated['images']:,} images in {generated['seconds']:.0f} s; training ...", flush=True)
    out = {"sources": list(plan.scale_sources), "classes": len({o.label for o in train_originals}),
           "train_originals": len(train_originals), "heldout_originals": len(heldout), "generate": generated,
           "preset": plan.scale_preset, "overrides": plan.scale_overrides}
    spec = {"preset": plan.scale_preset, "data": str(data), "val": plan.val_fraction, "seed": plan.seed,
            "run_dir": str(workdir / "scale" / "run"), "overrides": plan.scale_overrides,
            "heldout": [[str(o.path), o.label] for o in heldout]}
    outcome = run_child("scale_train", spec, workdir / "logs", "scale-train", timeout_s=plan.scale_timeout_s,
                        quiet_wait_s=plan.quiet_wait_s)
    if not outcome.ok:
        print(f"  FAILED: {outcome.error.splitlines()[0][:200]}", flush=True)
        return {**out, **outcome.failure(), "peak_rss_mb": outcome.peak_rss_mb}
    result = outcome.result
    print(f"  trained in {result['train_wall_s']:.0f} s, peak {outcome.peak_rss_mb:,.0f} MB; held-out top-1 "
          f"{result['heldout']['top1']:.3f}", flush=True)
    return {**out, **result, "process_wall_s": round(outcome.wall_s, 1), "peak_rss_mb": outcome.peak_rss_mb,
            "others_busy_cores": outcome.others_busy_cores, "quiet_wait": outcome.quiet_wait}


def scale_problems(s: dict):
    if s.get("status") != "ok":
        yield f"scale: {s.get('status')}: {s.get('reason')}"


def scale_markdown(s: dict) -> list[str]:
    """The section of results.md."""
    g = s["generate"]
    lines = ["## Scale: a generated dataset, default preset", "",
             f"{g['images']:,} images in {s['classes']} classes, generated from {s['train_originals']:,} originals "
             f"of {', '.join(s['sources'])} (each class's files split 80/20; only the 80 % copied: random crop, "
             f"flip, colour jitter, JPEG quality 60-95) in {g['seconds']:,.0f} s with {g['processes']} processes "
             f"({g['images_per_s']:,.0f} images/s, {g['megabytes']:,.0f} MB). classmill's `{s['preset']}` preset"
             f"{' with ' + str(s['overrides']) if s['overrides'] else ' (default options)'} trained on it in a child "
             "process; its best checkpoint scored on the "
             f"{s['heldout_originals']:,} held-out originals, which no copy came from.", ""]
    if s.get("status") != "ok":
        return lines + [f"Training failed: {s.get('reason')}", ""]
    start, held = s["start"], s["heldout"]
    lines += ["| | |", "| --- | --- |",
              f"| first progress event (the data check starts) | {s['first_progress_s']:,.1f} s |",
              f"| training loop starts | {s['loop_start_s']:,.1f} s |",
              f"| first step report (step {s.get('first_step_event_step', '–')}) | "
              f"{_seconds(s.get('first_step_event_s'))} |",
              f"| training, start to end | {s['train_wall_s']:,.0f} s ({s['train_wall_s'] / 60:,.1f} min) |",
              f"| training images/s (median of the step reports) | {_seconds(s['train_images_per_s_median'], '')} |",
              f"| peak memory (RSS) | {s['peak_rss_mb']:,.0f} MB |",
              f"| image cache | {start['cached_images']:,} of {start['train_images'] + start['val_images']:,} images, "
              f"{start['cache_mb']:,.0f} MB of a {start['cache_budget_mb']:,} MB budget; loader: {start['loader']} |",
              f"| held-out originals: top-1 / macro F1 | {held['top1']:.4f} / {held['macro_f1']:.4f} "
              f"(best epoch {s['best_epoch']}) |",
              f"| others' load while training | {_seconds(s.get('others_busy_cores'), ' cores')} |", ""]
    lines += ["Validation top-1 after each epoch (0 = the probed head): " + ", ".join(
        f"{e['epoch']}: {e['val_top1']:.4f} at {e['elapsed_s']:,.0f} s" for e in s["epochs"]), ""]
    return lines


def _seconds(value, unit: str = " s") -> str:
    return "–" if value is None else f"{value:,.1f}{unit}"
