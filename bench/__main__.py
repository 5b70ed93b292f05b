"""python -m bench {train,infer,validate,server,sse,task,endpoint,scale,all} [--tiny] [--out DIR]: run, print and save the results.

server: the platform server (`classmill server`) on SQLite and PostgreSQL — import, gallery, thumbnails.
sse: the same server's live job events — latency from a line appended to a run's events.jsonl to a client.
task: a training task through the platform against `classmill train` + evaluate + export on the same data.
endpoint: a model published on the platform (/serve/{name}/predict) next to `classmill serve` on the same
bundle, 64 concurrent clients.
scale: a generated 50,000-image dataset trained with the default preset: time to progress and to the first
step, total time, peak memory, held-out accuracy. Hours on a CPU, so `all` leaves it out (and keeps its figures).

python -m bench render [--out DIR] writes results.md again from results.json (after a change to
the report's wording; nothing is measured).

python -m bench quality [--tiny] [--out DIR] [--sets A,B] [--peers P,Q] [--repeats 0,1 | 0-4] [--redo]:
held-out accuracy, macro F1 and ECE of the classmill presets (fast, balanced, accurate) against the
reference loop at 224 px and at the default preset's input size, over repeated stratified splits
(seed = repeat) with a test part never used for selection; datasets casting, neu-steel, sign-digits,
cifar10-mini and imagenette-mini (that one for time only). Its own folder (default
bench/results/quality), not results.json: every finished (dataset, peer, repeat) is saved at once as
cells/<dataset>/<peer>-r<repeat>.json and skipped by later runs (unless --redo), so the hours-long
full run can be stopped and resumed, or run in parts; quality.md and quality.json are then written
from all the cells in the folder. Peers: classmill-fast, classmill-balanced, classmill-accurate,
reference, reference-equal.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from bench.machine import describe_machine, load_average
from bench.plan import REPO_ROOT, SHARED_DATASETS, full_plan, tiny_plan
from bench.report import SERVER_MEASUREMENTS, write_results

GROUPS = ("train", "infer", "validate", "server", "sse", "task", "endpoint", "scale")
IN_ALL = tuple(g for g in GROUPS if g != "scale")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("group", choices=GROUPS + ("all", "render", "quality"),
                        help="which benchmark group to run; render: rewrite results.md from results.json; "
                             "quality: held-out accuracy over repeated splits, into its own folder")
    parser.add_argument("--out", type=Path, default=None,
                        help="folder for results.md and results.json (default bench/results); for quality, the "
                             "folder of its cells, quality.md and quality.json (default bench/results/quality)")
    parser.add_argument("--tiny", action="store_true", help="seconds-long smoke configuration (figures meaningless)")
    parser.add_argument("--datasets", type=Path, default=SHARED_DATASETS, help="the shared datasets folder")
    parser.add_argument("--keep-work", action="store_true", help="keep the temp folder with runs, bundle and logs")
    quality = parser.add_argument_group("quality only")
    quality.add_argument("--sets", type=_names, help="comma-separated datasets (default: the plan's)")
    quality.add_argument("--peers", type=_names, help="comma-separated peers (default: all five)")
    quality.add_argument("--repeats", type=_repeats,
                         help="repeat numbers (= split seeds): '0,2', '0-4' (default: 0 .. the plan's count - 1)")
    quality.add_argument("--redo", action="store_true", help="measure the selected cells again even if present")
    args = parser.parse_args(argv)
    if args.group != "quality" and any(v for v in (args.sets, args.peers, args.repeats, args.redo)):
        parser.error("--sets, --peers, --repeats and --redo belong to `python -m bench quality`")
    if args.out is None:
        args.out = REPO_ROOT / "bench" / "results" / ("quality" if args.group == "quality" else "")
    return args


def _names(text: str) -> tuple[str, ...]:
    names = tuple(n.strip() for n in text.split(",") if n.strip())
    if not names:
        raise argparse.ArgumentTypeError("give at least one name, comma-separated")
    return names


def _repeats(text: str) -> tuple[int, ...]:
    """'0,2' or '0-4' (inclusive) or a mix: '0-1,4'."""
    found: list[int] = []
    try:
        for part in text.split(","):
            lo, _, hi = part.strip().partition("-")
            found += range(int(lo), int(hi or lo) + 1)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: give repeat numbers like 0,2 or 0-4") from None
    if not found or min(found) < 0:
        raise argparse.ArgumentTypeError(f"{text!r}: give repeat numbers from 0 up, like 0,2 or 0-4")
    return tuple(sorted(set(found)))


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.group == "render":
        return render_only(args.out)
    if not args.datasets.is_dir() and args.group not in ("server", "sse"):  # these need no shared dataset
        print(f"{args.datasets} is missing: the benchmark reads the shared datasets from there (--datasets).",
              file=sys.stderr)
        return 2
    plan = (tiny_plan if args.tiny else full_plan)(args.datasets)
    groups = IN_ALL if args.group == "all" else (args.group,)
    if plan.child_threads is not None:  # inherited by every child process; this one never runs torch
        os.environ["OMP_NUM_THREADS"] = os.environ["MKL_NUM_THREADS"] = str(plan.child_threads)
    if args.group == "quality":
        return run_quality_group(args, plan, argv)
    workdir = Path(tempfile.mkdtemp(prefix="classmill-bench-"))
    started = time.perf_counter()
    results: dict = {"command": "python -m bench " + " ".join(sys.argv[1:] if argv is None else argv),
                     "machine": describe_machine(), "plan": plan.to_dict(), "workdir": str(workdir)}
    carried = carry_over(results, args.out, groups)
    print(f"classmill benchmark: {', '.join(groups)}{' (tiny)' if plan.tiny else ''}; work folder {workdir}", flush=True)
    try:
        if "train" in groups:
            from bench.train_peers import classmill_peer, run_training

            print("training ...", flush=True)
            results["train"] = run_training(plan, workdir)
            _save(results, args.out, started)
        if "infer" in groups:
            from bench.infer_peers import run_inference

            print("inference ...", flush=True)
            trained = None
            if "train" in results and plan.infer_dataset in results["train"]["datasets"]:
                peer = results["train"]["datasets"][plan.infer_dataset]["peers"].get(classmill_peer("balanced"), {})
                trained = Path(peer["run_dir"]) if peer.get("status") == "ok" else None
            results["infer"] = run_inference(plan, workdir, trained)
            _save(results, args.out, started)
        if "validate" in groups:
            from bench.validate_speed import run_validation

            print("validation / import speed ...", flush=True)
            results["validate"] = run_validation(plan)
            _save(results, args.out, started)
        if "server" in groups:
            from bench.server_platform import run_server_benchmark

            print("platform server ...", flush=True)
            results["server"] = run_server_benchmark(plan, workdir)
            _save(results, args.out, started)
        if "sse" in groups:
            from bench.server_sse import run_sse_benchmark

            print("live job events (SSE) ...", flush=True)
            results["sse"] = run_sse_benchmark(plan, workdir)
            _save(results, args.out, started)
        if "task" in groups:
            from bench.task_overhead import run_task_benchmark

            print("training task overhead ...", flush=True)
            results["task"] = run_task_benchmark(plan, workdir)
            _save(results, args.out, started)
        if "endpoint" in groups:
            from bench.endpoint_load import run_endpoint_benchmark

            print("published endpoint vs classmill serve ...", flush=True)
            results["endpoint"] = run_endpoint_benchmark(plan, workdir)
            _save(results, args.out, started)
        if "scale" in groups:
            from bench.scale import run_scale_benchmark

            print("scale: a generated dataset, default preset ...", flush=True)
            results["scale"] = run_scale_benchmark(plan, workdir)
        json_path, md_path = _save(results, args.out, started)
    finally:
        if args.keep_work:
            print(f"work folder kept: {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    print()
    print(md_path.read_text(encoding="utf-8"))
    if carried:
        print(f"kept from the earlier results in {args.out}: {', '.join(carried)}")
    print(f"results: {md_path} and {json_path}")
    return 0


def run_quality_group(args: argparse.Namespace, plan, argv: list[str] | None) -> int:
    from bench.quality import other_kind_cells, quality_peers, run_quality
    from bench.quality_report import write_quality

    sets, peers = args.sets or plan.quality_sets, args.peers or quality_peers(plan)
    repeats = args.repeats if args.repeats is not None else tuple(range(plan.quality_repeats))
    unknown = [f"peer {p!r}" for p in peers if p not in quality_peers(plan)] + \
        [f"dataset {s!r}" for s in sets if not (args.datasets / s).is_dir()]
    if unknown:
        print(f"--peers/--sets: unknown {', '.join(unknown)}; peers: {', '.join(quality_peers(plan))}; datasets are "
              f"folders of {args.datasets}.", file=sys.stderr)
        return 2
    mixed = other_kind_cells(args.out, plan.tiny)
    if mixed:
        print(f"{args.out} holds cells of a {'full' if plan.tiny else 'tiny'} run (e.g. {mixed[0]}); a "
              f"{'tiny' if plan.tiny else 'full'} run never mixes with them: give another --out.", file=sys.stderr)
        return 2
    command = "python -m bench " + " ".join(sys.argv[1:] if argv is None else argv)
    machine = describe_machine()
    workdir = Path(tempfile.mkdtemp(prefix="classmill-bench-quality-"))
    print(f"classmill held-out quality{' (tiny)' if plan.tiny else ''}: {', '.join(sets)} x {', '.join(peers)} x "
          f"repeats {', '.join(map(str, repeats))}; cells in {args.out / 'cells'}; work folder {workdir}", flush=True)
    try:
        done = run_quality(plan, args.out, workdir, machine, sets=tuple(sets), peers=tuple(peers),
                           repeats=repeats, redo=args.redo)
    finally:
        if args.keep_work:
            print(f"work folder kept: {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    machine["load_average_at_end"] = load_average()
    json_path, md_path = write_quality(args.out, plan, machine, command)
    print()
    print(md_path.read_text(encoding="utf-8"))
    print(f"cells measured now: {len(done['ran'])}, already present (skipped): {len(done['skipped'])}, "
          f"failed: {len(done['failed'])}{' (' + ', '.join(done['failed']) + ')' if done['failed'] else ''}")
    print(f"results: {md_path} and {json_path}")
    return 1 if done["failed"] else 0


def carry_over(results: dict, out: Path, groups: tuple[str, ...]) -> list[str]:
    """A run of some groups keeps the other groups' sections already in out/results.json, naming where they came from.

    Without this, `python -m bench server` into bench/results would wipe the committed training and inference
    figures. Only sections of the same kind of run are kept (full with full, tiny with tiny).
    """
    source = out / "results.json"
    if not source.is_file():
        return []
    try:
        earlier = json.loads(source.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    if earlier.get("plan", {}).get("tiny") != results["plan"]["tiny"]:
        return []
    kept = [g for g in GROUPS if g not in groups and g in earlier]
    provenance = earlier.get("carried_over", {})
    for group in kept:
        results[group] = earlier[group]
        results.setdefault("carried_over", {})[group] = provenance.get(group) or {
            "command": earlier.get("command"), "finished": earlier.get("finished"),
            "git_revision": earlier.get("machine", {}).get("git_revision")}
    return kept


def render_only(out: Path) -> int:
    source = out / "results.json"
    if not source.is_file():
        print(f"{source} is missing: run a benchmark first.", file=sys.stderr)
        return 2
    results = json.loads(source.read_text(encoding="utf-8"))
    _, md_path = write_results(results, out)
    print(md_path.read_text(encoding="utf-8"))
    return 0


def _save(results: dict, out: Path, started: float):
    """Written after every group, so a long run that dies later still leaves what it measured."""
    results["machine"]["load_average_at_end"] = load_average()
    results["finished"] = time.strftime("%Y-%m-%d %H:%M:%S")
    results["wall_s"] = round(time.perf_counter() - started, 1)
    results["problems"] = list(_problems(results))
    return write_results(results, out)


def _problems(results: dict):
    """Every peer or figure that did not produce a number, with why: reported, never hidden."""
    for name, d in results.get("train", {}).get("datasets", {}).items():
        for peer, p in d["peers"].items():
            if p.get("status") != "ok":
                yield f"training {name} / {peer}: {p.get('status')}: {p.get('reason')}"
            elif p.get("same_split_as_peers") is False:
                yield f"training {name} / {peer}: validated on a different split than the other peers"
    infer = results.get("infer")
    if infer is not None:
        if infer.get("status") != "ok":
            yield f"inference: {infer.get('reason')}"
        for part in ("torch_eager", "onnxruntime", "serving"):
            if infer.get(part, {}).get("status") == "failed":
                yield f"inference / {part}: {infer[part].get('reason')}"
        failed = infer.get("serving", {}).get("failed_requests")
        if failed:
            yield f"serving: {failed} request(s) failed, e.g. {infer['serving']['failures_sample'][:1]}"
    endpoint = results.get("endpoint")
    if endpoint is not None:
        if endpoint.get("status") != "ok":
            yield f"endpoint: {endpoint.get('reason')}"
        else:
            for target in ("serve", "endpoint"):
                if endpoint[target]["failed_requests"]:
                    yield f"endpoint / {target}: {endpoint[target]['failed_requests']} request(s) failed, e.g. " \
                          f"{endpoint[target]['runs'][0]['failures_sample'][:1]}"
            counted = endpoint["endpoint_statistics"]
            if counted["request_count"] != counted["requests_sent"]:
                yield f"endpoint: its statistics counted {counted['request_count']} of {counted['requests_sent']} requests"
    if "scale" in results:
        from bench.scale import scale_problems

        yield from scale_problems(results["scale"])
    for backend, b in results.get("server", {}).get("backends", {}).items():
        if b.get("status") != "ok":
            yield f"server / {backend}: {b.get('status')}: {b.get('reason')}"
            continue
        for name in SERVER_MEASUREMENTS:
            if b.get(name, {}).get("status") != "ok":
                yield f"server / {backend} / {name}: {b.get(name, {}).get('status')}: {b.get(name, {}).get('reason')}"
    sse = results.get("sse", {})
    for backend, b in sse.get("backends", {}).items():
        names = [f"clients_{n}" for n in sse.get("clients", ())] if b.get("status") == "ok" else []
        if b.get("status") != "ok":
            yield f"sse / {backend}: {b.get('status')}: {b.get('reason')}"
        for name in names:
            if b.get(name, {}).get("status") != "ok":
                yield f"sse / {backend} / {name}: {b.get(name, {}).get('status')}: {b.get(name, {}).get('reason')}"


if __name__ == "__main__":
    sys.exit(main())
