"""quality.json and quality.md from every cell in the quality folder, whichever run measured it.

Per dataset: one row per peer with the held-out figures over the repeats done (mean ± sample
standard deviation, min–max), the training time (median) and its ratio to each reference loop
over the repeats both have, and a verdict: is the default preset at least as accurate as the
reference, in at most a third of its time? Cells measured at other classmill revisions, or with
a preset that has changed since, are kept and flagged.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

from bench.held_out import calibrated_ece, pooled_calibration
from bench.plan import BenchPlan
from bench.quality import PARTS, REFERENCE_EQUAL, classmill_overrides, quality_peers, read_cell
from bench.report import _num, _pct, _times, _write_atomic, machine_section
from bench.stats import mean, median, stdev
from bench.train_peers import REFERENCE, classmill_peer

# How far apart two cells measured before boots were recorded may have finished and still be timed
# against each other (the earlier full runs took about two hours per pass of the datasets).
SITTING_HOURS = 3

TIME_SHARE = 1 / 3  # the verdict's time bound: the default preset in at most this share of the reference's time
ECE_GOAL = 0.03  # the calibration goal: the default preset's ECE after calibration at most this


def load_cells(out: Path) -> tuple[list[dict], list[dict]]:
    """(finished cells, failed cells) under out/cells."""
    ok, failed = [], []
    for path in sorted((out / "cells").glob("*/*.json")):
        cell = read_cell(path)
        if cell is None:
            failed.append({"set": path.parent.name, "peer": path.stem, "repeat": None, "status": "failed",
                           "reason": f"{path} is not readable JSON"})
        else:
            (failed if path.name.endswith(".failed.json") else ok).append(cell)
    return ok, failed


def summarize(cells: list[dict], plan: BenchPlan) -> dict:
    """Per set: its rows (one per peer) and the verdicts, from the cells present."""
    known = list(plan.quality_sets)
    names = known + sorted({c["set"] for c in cells} - set(known))
    sets = {}
    for name in names:
        mine = [c for c in cells if c["set"] == name]
        if not mine:
            continue
        by_peer: dict[str, dict[int, dict]] = {}
        for c in mine:
            by_peer.setdefault(c["peer"], {})[c["repeat"]] = c
        order = [p for p in quality_peers(plan) if p in by_peer] + sorted(set(by_peer) - set(quality_peers(plan)))
        refs = {REFERENCE: by_peer.get(REFERENCE, {}), REFERENCE_EQUAL: by_peer.get(REFERENCE_EQUAL, {})}
        any_cell = mine[0]
        sets[name] = {
            "classes": len(any_cell["predictions"]["classes"]),
            "split": {k: any_cell["split"].get(f"{k}_images") for k in PARTS},
            "speed_only": name in plan.quality_speed_only_sets,
            "peers": {peer: _row(peer, by_peer[peer], refs, plan) for peer in order},
        }
        sets[name]["verdict"] = {ref: _verdict(by_peer.get(classmill_peer(plan.quality_default_preset), {}),
                                               refs[ref]) for ref in refs}
    return sets


def _spread(values: list[float]) -> dict:
    return {"mean": mean(values), "std": stdev(values), "min": min(values), "max": max(values), "values": values}


def _same_sitting(a: dict, b: dict) -> bool:
    """Times are compared only between cells measured on one machine in one sitting. One kind of
    machine: the reference loop and classmill do not speed up alike from one CPU to another
    (sign-digits: 1.6x and 2.4x, Xeon -> EPYC). One sitting: the shared machine's speed changes
    with the boot under the same CPU name (the fast preset on sign-digits took 13.5-13.9 s one
    boot, 19.7 s the next). Cells that record their boot must share it; older ones, measured
    before boots were recorded, must have finished within SITTING_HOURS of each other."""
    if _machine_kind(a.get("machine")) != _machine_kind(b.get("machine")):
        return False
    boots = {(c.get("machine") or {}).get("boot") for c in (a, b)}
    if None not in boots:
        return len(boots) == 1
    try:
        apart = abs(datetime.fromisoformat(a["finished"]) - datetime.fromisoformat(b["finished"]))
    except (KeyError, TypeError, ValueError):
        return False
    return apart <= timedelta(hours=SITTING_HOURS)


def _machine_kind(machine: dict | None) -> tuple:
    return ((machine or {}).get("cpu"), (machine or {}).get("cores"))


def _paired_time_ratio(mine: dict[int, dict], ref: dict[int, dict]) -> dict | None:
    common = [r for r in sorted(set(mine) & set(ref)) if _same_sitting(mine[r], ref[r])]
    if not common:
        return None
    return {"median": median([mine[r]["train_wall_s"] / ref[r]["train_wall_s"] for r in common]), "repeats": common}


def _row(peer: str, cells: dict[int, dict], refs: dict[str, dict], plan: BenchPlan) -> dict:
    repeats = sorted(cells)
    got = [cells[r] for r in repeats]
    return {
        "repeats": repeats,
        "input_px": sorted({c["input_px"] for c in got}),
        "top1": _spread([c["test"]["top1"] for c in got]),
        "macro_f1": _spread([c["test"]["macro_f1"] for c in got]),
        "ece_mean": mean([c["test"]["ece"] for c in got]),
        "ece_if_calibrated_mean": mean([calibrated_ece(c["predictions"]["confidence"]) for c in got]),
        "ece_pooled": pooled_calibration([c["predictions"] for c in got]),
        "test_images": sorted({c["test"]["images"] for c in got}),
        "train_wall_s_median": median([c["train_wall_s"] for c in got]),
        "train_wall_s": [c["train_wall_s"] for c in got],
        "time_vs_reference": None if peer == REFERENCE else _paired_time_ratio(cells, refs[REFERENCE]),
        "time_vs_reference_equal": None if peer == REFERENCE_EQUAL else _paired_time_ratio(cells, refs[REFERENCE_EQUAL]),
        "peak_rss_mb_median": median([c["peak_rss_mb"] for c in got if c.get("peak_rss_mb") is not None]),
        "others_busy_cores_mean": mean([c["others_busy_cores"] for c in got if c.get("others_busy_cores") is not None]),
        "revisions": sorted({str(c.get("git_revision")) for c in got}),
        "changed_since": _changed_since(peer, got, plan),
        "split_problems": [f"repeat {c['repeat']}: {problem}" for c in got for problem in _split_problems(c)],
        "finished": [min(c["finished"] for c in got), max(c["finished"] for c in got)],
    }


def _split_problems(cell: dict) -> list[str]:
    split = cell.get("split", {})
    wrong = [part for part, same in split.get("same_as_peers", {}).items() if not same]
    problems = [f"classmill's {', '.join(wrong)} part differs from the other peers'"] if wrong else []
    if split.get("scored_on_test_part") is False:
        problems.append("scored on other images than the test part")
    return problems


def _changed_since(peer: str, cells: list[dict], plan: BenchPlan) -> list[str]:
    """Settings in which a cell's resolved configuration differs from what the same peer resolves to now."""
    if peer.startswith("classmill-"):
        from classmill.errors import ConfigError
        from classmill.train.config import option_specs, resolve_config

        # An option newer than a cell is absent from its config; the cell ran as its default then.
        defaults = {spec["name"]: spec["default"] for spec in option_specs()}
        preset = peer.removeprefix("classmill-")
        overrides = classmill_overrides(plan, preset)
        changed = set()
        for c in cells:
            was = c.get("config", {})
            try:
                now = resolve_config(preset, data="-", val=was.get("val"), test=was.get("test"), seed=was.get("seed"),
                                     **overrides).to_dict()
            except ConfigError as exc:  # a preset renamed or removed since
                return [str(exc)]
            # Options left "auto" were decided from the cell's data (its config holds the decision, a
            # fresh resolve the "auto"): the same preset decides them alike on the same data.
            decided = {choice.get("option") for choice in was.get("data_choices") or []}
            changed |= {k for k in set(was) | set(now) if k not in ("data", "schedule", "data_choices", *decided)
                        and was.get(k, defaults.get(k)) != now.get(k)}
        return sorted(changed)
    expected = {"epochs": plan.reference_epochs, "batch_size": plan.reference_batch}
    if peer == REFERENCE:
        expected.update(image_size=plan.reference_image_size, resize=plan.reference_resize)
    return sorted({k for c in cells for k, v in expected.items() if c.get("config", {}).get(k) != v})


def _verdict(mine: dict[int, dict], ref: dict[int, dict]) -> dict | None:
    common = sorted(set(mine) & set(ref))
    if not common:
        return None
    deltas = [100 * (mine[r]["test"]["top1"] - ref[r]["test"]["top1"]) for r in common]
    timed = _paired_time_ratio(mine, ref)
    ratio = None if timed is None else timed["median"]
    top1, ref_top1 = mean([mine[r]["test"]["top1"] for r in common]), mean([ref[r]["test"]["top1"] for r in common])
    return {"repeats": common, "top1": top1, "reference_top1": ref_top1,
            "delta_points_mean": mean(deltas), "delta_points_std": stdev(deltas),
            "at_least_as_accurate": top1 >= ref_top1, "time_ratio": ratio,
            "within_time_share": None if ratio is None else ratio <= TIME_SHARE,
            "reference_px": sorted({ref[r]["input_px"] for r in common})}


def missing_cells(cells: list[dict], plan: BenchPlan) -> dict[str, list[str]]:
    have = {(c["set"], c["peer"], c["repeat"]) for c in cells}
    missing = {}
    for name in plan.quality_sets:
        gone = [f"{peer}-r{r}" for r in range(plan.quality_repeats) for peer in quality_peers(plan)
                if (name, peer, r) not in have]
        if gone:
            missing[name] = gone
    return missing


def write_quality(out: Path, plan: BenchPlan, machine: dict, command: str) -> tuple[Path, Path]:
    cells, failed = load_cells(out)
    sets = summarize(cells, plan)
    problems = [f"{c['set']} / {c['peer']} / repeat {c.get('repeat')}: {str(c.get('reason', '')).strip().splitlines()[0][:300]}"
                for c in failed] if failed else []
    problems += [f"{name} / {peer}: {p}" for name, s in sets.items() for peer, row in s["peers"].items()
                 for p in row["split_problems"]]
    other_machines = sorted({f"{c['machine'].get('cpu')}, {c['machine'].get('cores')} cores" for c in cells
                             if c.get("machine") and _machine_kind(c["machine"]) != _machine_kind(machine)})
    report = {"command": command, "rendered": machine.get("date"), "tiny": plan.tiny, "cells": len(cells),
              "plan": {k: v for k, v in plan.to_dict().items() if k.startswith(("quality_", "reference_"))},
              "machine": machine, "cells_from_other_machines": other_machines,
              "cell_revisions": dict(Counter(str(c.get("git_revision")) for c in cells).most_common()), "sets": sets,
              "missing": missing_cells(cells, plan), "problems": problems}
    out.mkdir(parents=True, exist_ok=True)
    json_path, md_path = out / "quality.json", out / "quality.md"
    _write_atomic(json_path, json.dumps(report, indent=1, default=str) + "\n")
    _write_atomic(md_path, render_quality(report, plan))
    return json_path, md_path


def _title(peer: str, px: list[int]) -> str:
    size = "/".join(map(str, px))
    if peer == REFERENCE:
        return f"reference loop, {size} px"
    if peer == REFERENCE_EQUAL:
        return f"reference loop at the default preset's size, {size} px"
    return peer.replace("classmill-", "classmill ")


def _mean_std(s: dict, pct: bool = True) -> str:
    """Percent with one decimal, or a plain 0..1 figure (macro F1) with three."""
    k, digits = (100, 1) if pct else (1, 3)
    std = "" if s["std"] is None else f" ± {k * s['std']:.{digits}f}"
    return f"{k * s['mean']:.{digits}f}{std}" + (" %" if pct else "")


def _seconds(value) -> str:
    return _num(value, 0 if value is not None and value >= 100 else 1)


def _share(within: bool | None, yes: str, no: str) -> str:
    return "not timed on one machine in one sitting" if within is None else (yes if within else no)


def _ratio(r: dict | None) -> str:
    return "–" if r is None else _times(r["median"])


def render_quality(report: dict, plan: BenchPlan) -> str:
    default = classmill_peer(plan.quality_default_preset)
    lines = ["# classmill held-out quality benchmark", "",
             f"`{report['command']}` — {'TINY smoke configuration: figures are meaningless' if report['tiny'] else 'full plan'}; "
             f"{report['cells']} cell(s) from the folder's cells/, rendered {report['rendered']}. Each cell (dataset, peer, "
             "repeat) is measured once and kept; a later run adds the missing ones (`--redo` measures again).", ""]
    lines += machine_section(report["machine"])
    revisions = "; ".join(f"{rev}: {n}" for rev, n in report["cell_revisions"].items())
    lines += [f"The machine above is the one this report was rendered on. Cells per classmill revision they were "
              f"measured at: {revisions or '–'}.", ""]
    if report["cells_from_other_machines"]:
        lines += [f"Some cells were measured on another machine: {'; '.join(report['cells_from_other_machines'])}. "
                  "Training times are compared only between cells measured on one machine in one sitting "
                  "(the same CPU kind and boot).", ""]
    p = report["plan"]
    lines += ["## Protocol", "",
              f"Repeat r (seed r) splits each dataset with classmill's own stratified split (`classmill.data.split`, "
              f"val {p['quality_val']}, test {p['quality_test']}). The classmill presets train with `resolve_config(preset, "
              f"val={p['quality_val']}, test={p['quality_test']}, seed=r)`, which makes the same split (checked: train, val "
              "and test parts), and select their checkpoint on val only. The reference loop (the plain PyTorch/timm-docs "
              f"fine-tune: {p['reference_epochs']} epoch(s), AdamW 1e-3 cosine, RandomResizedCrop + flip, batch "
              f"{p['reference_batch']}) trains on the same train part and keeps its last epoch; it runs at "
              f"{p['reference_image_size']} px (resize {p['reference_resize']}) and again at the {plan.quality_default_preset} "
              "preset's resolved input size (resize scaled alike). Every peer is scored on the test part, which no peer "
              "selected on: top-1, macro F1 and ECE (15 equal-width bins, top-1 confidence). ECE if calibrated: the ECE a "
              "perfectly calibrated model with the same confidences shows on as many images (each prediction right with "
              "probability = its confidence; median of 1,000 draws, mean over repeats): binning noise on a few hundred "
              "images, the floor a measured ECE is read against. ECE pooled: over the repeats' held-out predictions "
              "taken together (models trained alike: more images, less binning noise), with its floor in "
              "brackets. ± is the sample standard "
              "deviation over repeats. Training time: classmill from the `train()` call to its return, the reference loop "
              "from after its imports to the end of its last epoch (both include setup and per-epoch validation, neither "
              "the test scoring). "
              "× ref: the median over the repeats both peers have of this peer's time / the reference's (< 1: faster), "
              "from pairs measured on one machine in one sitting (the same CPU kind and boot; before boots were "
              f"recorded, finished within {SITTING_HOURS} hours of each other). "
              "Peak RSS: the largest single process (the reference's 2 DataLoader workers not added in). Others' load: "
              "cores other processes kept busy meanwhile (the machine is shared).", ""]
    lines += _summary(report, default)
    lines += _calibration_summary(report, default)
    for name, s in report["sets"].items():
        lines += _set_section(name, s, default, p)
    lines += ["## Not measured / failed", ""]
    missing = report["missing"]
    if missing:
        lines += [f"- {name}: {len(gone)} cell(s) of the plan not measured yet ({', '.join(gone[:6])}"
                  f"{', ...' if len(gone) > 6 else ''})" for name, gone in missing.items()]
    lines += [f"- {problem}" for problem in report["problems"]]
    if not missing and not report["problems"]:
        lines.append("Nothing: every cell of the plan is measured.")
    return "\n".join(lines) + "\n"


def _summary(report: dict, default: str) -> list[str]:
    rows = []
    for name, s in report["sets"].items():
        for ref, v in s["verdict"].items():
            if v is None:
                continue
            acc = "not judged (ImageNet classes)" if s["speed_only"] else ("yes" if v["at_least_as_accurate"] else "**no**")
            rows.append(f"| {name} | {_title(ref, v['reference_px'])} | {len(v['repeats'])} | {_pct(v['top1'])} | "
                        f"{_pct(v['reference_top1'])} | {_delta(v)} | {acc} | {_times(v['time_ratio'])} | "
                        f"{_share(v['within_time_share'], 'yes', '**no**')} |")
    if not rows:
        return []
    return ["## Verdict", "",
            f"classmill's default preset ({default.replace('classmill-', '')}) against the reference loop, over the repeats "
            "both have: at least as accurate on the held-out part (mean top-1)? In at most 1/3 of its training time?", "",
            "| dataset | against | repeats | default top-1 | reference top-1 | Δ points (paired) | ≥ reference? | "
            "time × ref | ≤ 1/3 time? |", "|" + " --- |" * 9] + rows + [""]


def _pooled_ece(pooled: dict) -> str:
    return f"{_num(pooled['ece'], 3)} ({_num(pooled['ece_if_calibrated'], 3)})"


def _calibration_summary(report: dict, default: str) -> list[str]:
    """The default preset's ECE after calibration against the goal, from its repeats pooled."""
    rows = []
    for name, s in report["sets"].items():
        row = s["peers"].get(default)
        if row is None or s["speed_only"]:
            continue
        pooled = row["ece_pooled"]
        rows.append(f"| {name} | {len(row['repeats'])} | {pooled['images']:,} | {_num(row['ece_mean'], 3)} | "
                    f"{_num(pooled['ece'], 3)} | {_num(pooled['ece_if_calibrated'], 3)} | "
                    f"{'yes' if pooled['ece'] <= ECE_GOAL else '**no**'} |")
    if not rows:
        return []
    return ["### Calibration", "",
            f"The default preset's ECE on the held-out part after its temperature (fitted on val): at most {ECE_GOAL}? "
            "Pooled: the repeats' predictions taken together; if calibrated: the floor a perfectly calibrated model "
            "with those confidences shows on as many images.", "",
            "| dataset | repeats | images pooled | ECE, mean of repeats | ECE pooled | if calibrated | "
            f"pooled ≤ {ECE_GOAL}? |", "|" + " --- |" * 7] + rows + [
            "", "How well any temperature fitted on val can do on these splits, and how far the val images alone move "
            "the figure: `calibration_split.md` (`python -m bench.calibration_split`).", ""]


def _delta(v: dict) -> str:
    std = "" if v["delta_points_std"] is None else f" ± {v['delta_points_std']:.1f}"
    return f"{v['delta_points_mean']:+.1f}{std}"


def _set_section(name: str, s: dict, default: str, plan: dict) -> list[str]:
    split = s["split"]
    lines = [f"## {name}", "",
             f"{s['classes']} classes; per repeat {split['train']} train / {split['val']} val / {split['test']} test images."
             + (" ImageNet-pretrained backbones have seen these classes: the accuracy here says nothing about transfer; "
                "the dataset is in for time and memory." if s["speed_only"] else ""), ""]
    head = ["peer", "input px", "repeats", "test top-1 (min–max)", "macro F1", "ECE", "ECE if calibrated",
            "ECE pooled (if calibrated)", "training s (median)",
            "× ref", "× ref equal size", "peak RSS MB", "others' load (cores)"]
    lines += ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    notes = []
    for peer, row in s["peers"].items():
        flags = []
        if len(row["revisions"]) > 1:
            flags.append(f"measured at {len(row['revisions'])} classmill revisions ({', '.join(row['revisions'])})")
        if row["changed_since"]:
            flags.append("settings changed since (now different: " + ", ".join(row["changed_since"]) + ")")
        mark = " ⚑" if flags else ""
        if flags:
            notes.append(f"⚑ {_title(peer, row['input_px'])}: " + "; ".join(flags) + ".")
        t = row["top1"]
        lines.append(f"| {_title(peer, row['input_px'])}{mark} | {'/'.join(map(str, row['input_px']))} | "
                     f"{', '.join(map(str, row['repeats']))} | {_mean_std(t)} ({100 * t['min']:.1f}–{100 * t['max']:.1f}) | "
                     f"{_mean_std(row['macro_f1'], pct=False)} | {_num(row['ece_mean'], 3)} | {_num(row['ece_if_calibrated_mean'], 3)} | "
                     f"{_pooled_ece(row['ece_pooled'])} | "
                     f"{_seconds(row['train_wall_s_median'])} | {_ratio(row['time_vs_reference'])} | "
                     f"{_ratio(row['time_vs_reference_equal'])} | {_num(row['peak_rss_mb_median'], 0)} | "
                     f"{_num(row['others_busy_cores_mean'], 2)} |")
    lines.append("")
    for ref, v in s["verdict"].items():
        if v is None:
            against = "reference loop at the default preset's size" if ref == REFERENCE_EQUAL else "reference loop"
            lines.append(f"- Verdict against the {against}: not measured yet (no repeat with both).")
            continue
        accuracy = ("accuracy not judged on this dataset" if s["speed_only"] else
                    f"held-out top-1 {_pct(v['top1'])} vs {_pct(v['reference_top1'])} (paired Δ {_delta(v)} points): "
                    f"≥ reference **{'yes' if v['at_least_as_accurate'] else 'no'}**")
        lines.append(f"- Verdict, {default.replace('classmill-', 'classmill ')} vs {_title(ref, v['reference_px'])} "
                     f"(repeats {', '.join(map(str, v['repeats']))}): {accuracy}; training time "
                     f"{_times(v['time_ratio'])} the reference's: ≤ 1/3 {_share(v['within_time_share'], '**yes**', '**no**')}.")
    lines += [""] + [f"- {n}" for n in notes] + ([""] if notes else [])
    return lines
