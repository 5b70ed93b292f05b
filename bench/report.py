"""results.json (everything measured) and results.md (the tables a person reads), written atomically."""

from __future__ import annotations

import json
import os
from pathlib import Path

from bench.train_peers import REFERENCE, ULTRALYTICS

SERVER_MEASUREMENTS = ("login", "token_call", "import", "gallery", "gallery_label", "thumbnail")
_PEER_TITLES = {REFERENCE: "reference loop (PyTorch/timm docs)", ULTRALYTICS: "Ultralytics"}


def write_results(results: dict, out: Path) -> tuple[Path, Path]:
    out.mkdir(parents=True, exist_ok=True)
    json_path, md_path = out / "results.json", out / "results.md"
    _write_atomic(json_path, json.dumps(results, indent=2, default=str) + "\n")
    _write_atomic(md_path, render_markdown(results))
    _write_atomic(out / PRESET_TIMES_FILE, json.dumps(preset_times(results), indent=2) + "\n")
    return json_path, md_path


PRESET_TIMES_FILE = "preset_times.json"  # what the server's new-task page reads (CLASSMILL_PRESET_TIMES)


def preset_times(r: dict) -> dict:
    """Each classmill preset's measured training time on this machine (the median over the training datasets of
    the whole training process, start to exit), with the images it trained on; presets not measured are absent."""
    from statistics import median

    runs: dict[str, list[dict]] = {}
    tiny = r.get("plan", {}).get("tiny", False)
    for name, d in ({} if tiny else r.get("train", {}).get("datasets", {})).items():  # tiny figures mean nothing
        for peer, p in d.get("peers", {}).items():
            if peer.startswith("classmill-") and p.get("status") == "ok" and p.get("process_wall_s"):
                runs.setdefault(peer.removeprefix("classmill-"), []).append({**p, "dataset": name})
    machine = r.get("machine", {})
    return {"measured": r.get("finished"), "machine": f"{machine.get('cpu', '?')}, {machine.get('cores', '?')} cores",
            "presets": {preset: {"seconds": round(median(p["process_wall_s"] for p in found), 1),
                                 "train_images": int(median(p.get("train_images", 0) for p in found)),
                                 "image_size": found[0].get("image_size"),
                                 "datasets": [p["dataset"] for p in found]}
                        for preset, found in runs.items()}}


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _num(value, digits: int = 1, suffix: str = "") -> str:
    return "–" if value is None else f"{value:,.{digits}f}{suffix}"


def _times(value) -> str:
    return "–" if value is None else f"{value:.2f}×"


def _pct(value) -> str:
    return "–" if value is None else f"{100 * value:.1f} %"


def render_markdown(r: dict) -> str:
    lines = ["# classmill benchmark results", ""]
    lines += [f"`{r['command']}` — {'TINY smoke configuration: figures are meaningless' if r['plan']['tiny'] else 'full run'}; "
              f"{r['wall_s'] / 60:.1f} min in all, finished {r['finished']}.", ""]
    lines += machine_section(r["machine"])
    runs: dict[tuple, list[str]] = {}
    for group, came in r.get("carried_over", {}).items():
        runs.setdefault((came.get("command"), came.get("finished"), came.get("git_revision")), []).append(group)
    for (command, finished, revision), groups in runs.items():
        lines += [f"Kept from an earlier run in this folder ({', '.join(groups)}): `{command}`, finished {finished}, "
                  f"classmill revision {revision or 'unknown'}; the machine, load and date above are this run's.", ""]
    lines += ["Every figure of a section was measured in one run, peers one after another on the same machine, "
              "each peer in a child process of its own. Speeds are medians of several repeats (training: of "
              "the epochs of a run). Ratios: > 1 means better than the peer named in the column. The machine is "
              "shared: \"others' load\" is how many of its cores other people's processes kept busy, on average, "
              "while a figure was measured; a figure taken under such load is slower than the machine can do.", ""]
    if "train" in r:
        lines += _training(r["train"])
    if "infer" in r:
        lines += _inference(r["infer"])
    if "validate" in r:
        lines += _validation(r["validate"])
    if "server" in r:
        lines += _server(r["server"])
    if "sse" in r:
        lines += _sse(r["sse"])
    if "task" in r:
        lines += _task(r["task"])
    if "endpoint" in r:
        lines += _endpoint(r["endpoint"])
    if "scale" in r:
        from bench.scale import scale_markdown

        lines += scale_markdown(r["scale"])
    lines += _memory(r)
    lines += _problems(r)
    return "\n".join(lines) + "\n"


def machine_section(m: dict) -> list[str]:
    """The "## Machine" table; the quality report shows the same one."""
    flags = ", ".join(f"{k} {'yes' if v else 'no'}" for k, v in m["cpu_flags"].items())
    versions = ", ".join(f"{k} {v}" for k, v in m["versions"].items() if v)
    return [
        "## Machine", "",
        "| | |", "| --- | --- |",
        f"| CPU | {m['cpu']}, {m['cores']} cores usable |",
        f"| CPU features | {flags} |",
        f"| memory | {m['memory_gib']} GiB |",
        f"| system | {m['os']}, Python {m['python']} |",
        f"| versions | {versions} |",
        f"| classmill revision | {m.get('git_revision') or 'unknown'} |",
        f"| load average (1/5/15 min) | at start {m.get('load_average_at_start')}, at end {m.get('load_average_at_end')} |",
        f"| date | {m['date']} |",
        "",
    ]


def _peer_title(key: str) -> str:
    return _PEER_TITLES.get(key) or key.replace("classmill-", "classmill ") + " preset"


def _training(t: dict) -> list[str]:
    targets = [f"{x:.2f}" for x in t["targets"]]
    lines = ["## Training", "",
             "Time to a target = wall time from the call until the end of the first epoch (or classmill's "
             "\"probe\": the new head fitted on frozen-backbone features before epoch 1) whose validation "
             "top-1 reached it (setup, dataset check, decoding and per-epoch validation included); "
             "× = the reference loop's time divided by this peer's (> 1: sooner). img/s = training images "
             "per second over the median epoch (its validation pass included).", ""]
    for name, d in t["datasets"].items():
        split = d["split"]
        lines += [f"### {name} ({split['train_images']} train / {split['val_images']} val images, "
                  f"{len(split['classes'])} classes, one split for all peers)", ""]
        head = ["peer", "input px", "epochs", "train img/s", "× ref"] + [f"to {float(x) * 100:.0f} %" for x in targets] \
            + ["final top-1", "Δ ref (points)", "peak RSS MB", "wall s", "others' load (cores)"]
        lines += ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
        for key, p in d["peers"].items():
            if p.get("status") != "ok":
                lines.append(f"| {_peer_title(key)} | {p.get('status', '?')}: {str(p.get('reason', ''))[:160]} |"
                             + " |" * (len(head) - 2))
                continue
            vs = p.get("vs_reference", {})
            full = sum(1 for e in p.get("epochs", []) if e["epoch"] >= 1)
            probed = any(e.get("phase") == "head_warmup" for e in p.get("epochs", []))
            per_epoch = p.get("speed_basis", "median epoch") == "median epoch"
            # A forward-only probe pass is not comparable with training epochs: no ratio for it.
            speed = _num(p.get("train_images_per_s")) + ("" if per_epoch else " (probe pass)")
            cells = [_peer_title(key), str(p.get("image_size", "–")), f"{'probe + ' if probed else ''}{full}",
                     speed, _times(vs.get("train_images_per_s")) if per_epoch else "–"]
            for x in targets:
                secs, epoch = p["time_to_target_s"].get(x), p["epoch_to_target"].get(x)
                speedup = vs.get("time_to_target_speedup", {}).get(x)
                where = "probe" if epoch == 0 else f"ep {epoch}"
                cells.append("not reached" if secs is None else
                             f"{secs:.0f} s ({where})" + (f" {_times(speedup)}" if speedup else ""))
            best = p.get("best_top1")
            cells += [_pct(p.get("final_top1")) + (f" (best {_pct(best)})" if best is not None and best > p["final_top1"] else ""),
                      "–" if vs.get("final_top1_points") is None else f"{vs['final_top1_points']:+.1f}",
                      _num(p.get("peak_rss_mb"), 0), _num(p.get("wall_s"), 0), _num(p.get("others_busy_cores"), 2)]
            lines.append("| " + " | ".join(cells) + " |")
        lines += ["", "Validation top-1 after each epoch (wall seconds since the call):", ""]
        for key, p in d["peers"].items():
            if p.get("epochs"):
                trace = ", ".join(f"{'probe ' if e['epoch'] == 0 else ''}{100 * e['val_top1']:.1f} % ({e['elapsed_s']:.0f} s)"
                                  for e in p["epochs"])
                lines.append(f"- {_peer_title(key)}: {trace}")
        notes = []
        for key, p in d["peers"].items():
            c = p.get("config")
            if c:
                notes.append(f"{_peer_title(key)} as resolved at run time: {c.get('model')}, {c.get('image_size')} px, "
                             f"{c.get('epochs')} epoch(s), lr {c.get('lr')}, freeze {c.get('freeze')}"
                             + (f", head warmup {c['head_warmup_steps']} steps on frozen features (\"probe\")"
                                if c.get("head_warmup_steps") else "") + f", augment {c.get('augment')}.")
            if "same_split_as_peers" in p:
                notes.append(f"{_peer_title(key)} validated on {'the same' if p['same_split_as_peers'] else 'a DIFFERENT'} "
                             "images as the other peers.")
            if key == ULTRALYTICS and p.get("status") == "ok":
                attempts = p.get("network_attempts", [])
                notes.append(f"Ultralytics {p.get('ultralytics')}: {p.get('model')} from random weights (no pretrained "
                             f"weights can be downloaded here), {p.get('dataloader_workers')} dataloader workers (its "
                             f"CPU default), {'stopped by the time box, ' if p.get('stopped_by_time_box') else ''}"
                             f"network attempts refused: {len(attempts)}"
                             + (f" ({'; '.join(attempts[:3])})" if attempts else "") + ".")
        lines += [""] + [f"- {n}" for n in notes] + ([""] if notes else [])
    return lines


def _inference(i: dict) -> list[str]:
    lines = ["## Inference", ""]
    if i.get("status") != "ok":
        return lines + [f"Not measured: {i.get('reason')}", ""]
    model, export = i["model"], i["export"]
    torch_eager, ort = i.get("torch_eager", {}), i.get("onnxruntime", {})
    comparison = i.get("comparison", {})
    lines += [f"The {model['dataset']} model trained by the classmill {model['preset']} preset, at its {export['input_size']} px "
              f"input; JPEG decoding included everywhere. img/s: a pass over all {ort.get('images') or torch_eager.get('images')} "
              f"images at batch 32, median of {len(torch_eager.get('throughput_img_s_repeats', [])) or '?'} passes; latency: one image "
              "per call. PyTorch eager and ONNX Runtime each ran in a process of its own (ONNX Runtime's never imported torch).", ""]
    head = ["runtime", "img/s", "× torch", "latency p50 ms", "p99 ms", "p50 × torch", "val top-1", "process peak RSS MB",
            "others' load (cores)"]
    lines += ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    if torch_eager.get("status") == "failed":
        lines.append(f"| PyTorch eager | failed: {torch_eager['reason'][:160]} |" + " |" * (len(head) - 2))
    else:
        lines.append(f"| PyTorch eager ({torch_eager.get('torch_threads')} threads, DataLoader 2 workers) | "
                     f"{_num(torch_eager.get('throughput_img_s_median'))} | 1.00× | {_num(torch_eager.get('latency_ms_p50'), 2)} | "
                     f"{_num(torch_eager.get('latency_ms_p99'), 2)} | 1.00× | {_pct(torch_eager.get('val_top1'))} | "
                     f"{_num(torch_eager.get('peak_rss_mb'), 0)} | {_num(torch_eager.get('others_busy_cores'), 2)} |")
    if ort.get("status") == "failed":
        lines.append(f"| ONNX Runtime | failed: {ort['reason'][:160]} |" + " |" * (len(head) - 2))
    for name, v in ort.get("variants", {}).items():
        c = comparison.get(name, {})
        lines.append(f"| classmill bundle, ONNX Runtime {name.upper()} | {_num(v['throughput_img_s_median'])} | "
                     f"{_times(c.get('throughput_vs_torch'))} | {_num(v['latency_ms_p50'], 2)} | {_num(v['latency_ms_p99'], 2)} | "
                     f"{_times(c.get('latency_p50_speedup_vs_torch'))} | {_pct(v['val_top1'])} | "
                     f"{_num(ort.get('peak_rss_mb'), 0) + ' (both variants)'} | {_num(ort.get('others_busy_cores'), 2)} |")
    q = comparison.get("int8_vs_fp32")
    if q:
        lines += ["", f"INT8 vs FP32: {_times(q['throughput'])} throughput, {_times(q['latency_p50_speedup'])} p50 latency, "
                  f"accuracy loss {q['val_top1_loss_points']:+.2f} points on the {ort.get('val_images')} validation images "
                  f"(calibrated on training images). Bundle sizes: "
                  + ", ".join(f"{k} {v / 1e6:.1f} MB" for k, v in export.get("bytes", {}).items() if v) + "."]
    return lines + [""]


def _validation(v: dict) -> list[str]:
    c = v["corpus"]
    titles = {"classmill_check": "classmill.data.check (default: header + hash + end marker, threads)",
              "classmill_check_deep": "classmill.data.check, deep=True (decodes every pixel, threads)",
              "naive_decode": "naive script: PIL open + load + convert per image, one thread"}
    lines = ["## Validation / import speed", "",
             f"{c['images']:,} distinct JPEGs ({c['bytes'] / 1e6:.0f} MB, {c['classes']} classes, re-encoded from "
             f"{' and '.join(c['sources'])}), page cache warm for all; median of {len(next(iter(v['peers'].values()))['seconds'])} "
             f"repeats, interleaved. classmill's report: {v['classmill_report']['usable_images']:,} usable images, "
             f"{v['classmill_report']['errors']} errors, {v['classmill_report']['warnings']} warnings. Other processes kept "
             f"{_num(v.get('others_busy_cores'), 2)} cores busy on average while these were timed{_quiet_note(v.get('quiet_wait'))}.", "",
             "| peer | images/s | × naive | seconds per repeat |", "| --- | --- | --- | --- |"]
    for name, p in v["peers"].items():
        lines.append(f"| {titles.get(name, name)} | {_num(p['images_per_s_median'], 0)} | {_times(p['vs_naive'])} | "
                     f"{', '.join(f'{s:.1f}' for s in p['seconds'])} |")
    return lines + [""]


def _server(s: dict) -> list[str]:
    u = s["upload"]
    lines = ["## Platform server", "",
             f"`classmill server` in its own process on a loopback port, fresh workspace and database per backend, "
             f"set up through the API and called with an API token. Upload: {u['images']:,} distinct {u['px']} px noise "
             f"JPEGs in {u['classes']} class folders, one {u['bytes'] / 1e6:.1f} MB zip. Import time runs from the "
             "first byte of the upload until the dataset is ready; peak RSS is the server process's VmHWM after "
             "the import (the import runs in a thread of the server process; ru_maxrss at exit is in results.json). "
             "Gallery: pages of 200 at offsets across the whole newest version, and across one class of it "
             "(?label=). Others' load: cores other processes kept busy during the import (PostgreSQL's own "
             "server processes count here; the benchmark and the classmill server do not).", "",
             "| database | import img/s | import s | others' load | server peak RSS MB | gallery p50 / p99 ms | "
             "gallery, one class p50 / p99 ms | thumbnail p50 ms | token call p50 / p99 ms | login p50 ms |",
             "|" + " --- |" * 10]
    for backend, b in s["backends"].items():
        if b.get("status") != "ok":
            lines.append(f"| {backend} | {b.get('status')}: {str(b.get('reason', ''))[:160]} |" + " |" * 8)
            continue
        m = {name: b.get(name, {}) if b.get(name, {}).get("status") == "ok" else {} for name in SERVER_MEASUREMENTS}
        lines.append(f"| {backend} | {_num(m['import'].get('images_per_s'))} | {_num(m['import'].get('seconds'))} | "
                     f"{_num(m['import'].get('others_busy_cores'), 2)} | "
                     f"{_num(m['import'].get('peak_rss_mb') or b.get('peak_rss_mb'), 0)} | "
                     f"{_num(m['gallery'].get('latency_ms_p50'), 1)} / {_num(m['gallery'].get('latency_ms_p99'), 1)} | "
                     f"{_num(m['gallery_label'].get('latency_ms_p50'), 1)} / "
                     f"{_num(m['gallery_label'].get('latency_ms_p99'), 1)} | "
                     f"{_num(m['thumbnail'].get('latency_ms_p50'), 1)} | {_num(m['token_call'].get('latency_ms_p50'), 1)} / "
                     f"{_num(m['token_call'].get('latency_ms_p99'), 1)} | {_num(m['login'].get('latency_ms_p50'), 0)} |")
    missing = [f"- {backend} / {name}: {b[name]['status']} ({b[name].get('reason')})"
               for backend, b in s["backends"].items() for name in SERVER_MEASUREMENTS
               if b.get("status") == "ok" and b.get(name, {}).get("status") != "ok"]
    return lines + ([""] + missing if missing else []) + [""]


def _sse(s: dict) -> list[str]:
    lines = ["## Live job events (SSE)", "",
             f"`classmill server` in its own process, fresh workspace and database per backend; a running job row "
             f"whose run folder the benchmark writes: {s['events']} "
             "step lines appended with the engine's writer (append + fsync) at random 30–70 ms gaps, each timed "
             "from just before its write until a client following `GET /api/v1/jobs/{id}/events` has parsed it "
             "(every client, every line). End: from the job's final state being recorded to the `end` event. "
             "The server polls the file every 0.1 s and the job row every 1 s.", "",
             "| database | clients | line latency p50 / p99 / max ms | end p50 / max ms |", "|" + " --- |" * 4]
    for backend, b in s["backends"].items():
        if b.get("status") != "ok":
            lines.append(f"| {backend} | {b.get('status')}: {str(b.get('reason', ''))[:160]} | | |")
            continue
        for clients in s["clients"]:
            m = b.get(f"clients_{clients}", {})
            if m.get("status") != "ok":
                lines.append(f"| {backend} | {clients} | {m.get('status')}: {str(m.get('reason', ''))[:160]} | |")
                continue
            lines.append(f"| {backend} | {clients} | {_num(m['latency_ms_p50'])} / {_num(m['latency_ms_p99'])} / "
                         f"{_num(m['latency_ms_max'])} | {_num(m['end_ms_p50'], 0)} / {_num(m['end_ms_max'], 0)} |")
    return lines + [""]


def _task(t: dict) -> list[str]:
    if "median_cli_s" not in t:
        return ["## Training task overhead", "", f"Not measured: {t.get('reason', 'see results.json')}.", ""]
    rows = [f"| {i + 1} | {_num(c['train'])} + {_num(c['evaluate'])} + {_num(c['export'])} = {_num(c['total_s'])} | "
            f"{_num(p['training_s'])} | {_num(p['total_s'])} | {_num(p['first_progress_s'])} |"
            for i, (c, p) in enumerate(zip(t["cli"], t["platform"]))]
    return ["## Training task overhead", "",
            f"`{t['dataset']}` ({t['images']} images), preset `{t['preset']}`, options {t['options']}. CLI: "
            "`classmill train`, `classmill evaluate --pdf`, `classmill export`, one process each. Platform: "
            "one task through `classmill server` (SQLite), from POST to the model version (report with PDF, "
            "FP32 bundle) being ready; the import is done once before and not timed.", "",
            "| repeat | CLI train + evaluate + export s | platform: training s (in the job) | platform task s | "
            "platform: first progress s |",
            "|---|---|---|---|---|", *rows, "",
            "The CLI pays three process starts (each imports torch) and reads the dataset three times; the "
            "task pays one job process, the database and the progress writes.", "",
            f"Median CLI {_num(t['median_cli_s'])} s, platform {_num(t['median_platform_s'])} s: the platform takes "
            f"{_times(t['platform_over_cli'])} the CLI's time; the first progress reaches the API after "
            f"{_num(t['median_first_progress_s'])} s.", ""]


def _endpoint(e: dict) -> list[str]:
    lines = ["## Published endpoint vs `classmill serve`", ""]
    if e.get("status") != "ok":
        return lines + [f"Failed: {e.get('reason')}", ""]
    m, counted = e["model"], e["endpoint_statistics"]
    lines += [f"The platform (`classmill server`, SQLite) imported {m['images']} {m['dataset']} photos, "
              f"trained a `{m['preset']}` task ({m['model']}, {m['input_size']} px, {_num(m['training_s'])} s, val "
              f"accuracy {_pct(m['val_accuracy'])}) and published its model version; `classmill serve` served the "
              f"same bundle ({m['bundle_bytes'] / 1e6:.1f} MB). Both are uvicorn processes with default limits. "
              f"{e['concurrency']} concurrent clients (threads of the benchmark process, one keep-alive connection "
              f"each) POST one JPEG per request ({e['distinct_images']} distinct photos), {e['requests_per_run']:,} "
              f"requests per run, {e['runs']} run(s) of each, alternating, after a warm-up; medians over the "
              "runs. The endpoint checks the API token and resolves its name in the database on every request.",
              "", "| | req/s | p50 ms | p99 ms | failed | others' load |", "| --- | --- | --- | --- | --- | --- |"]
    for target, title in (("serve", "`classmill serve`"), ("endpoint", "published endpoint (/serve/{name}/predict)")):
        t = e[target]
        lines.append(f"| {title} | {_num(t['requests_per_s_median'])} | {_num(t['latency_ms_p50_median'])} | "
                     f"{_num(t['latency_ms_p99_median'])} | {t['failed_requests']} | "
                     f"{_num(t['others_busy_cores_median'], 2)} |")
    lines += ["", f"Endpoint throughput: {_times(e['endpoint_vs_serve_throughput'])} of `classmill serve`'s. "
              f"The endpoint's own statistics (GET /api/v1/endpoints/{{id}}) counted {counted['request_count']:,} of the "
              f"{counted['requests_sent']:,} requests sent to it, {counted['error_count']} errors, mean "
              f"{_num(counted['mean_latency_ms'])} ms, p50 / p99 {_num(counted['latency_p50_ms'])} / "
              f"{_num(counted['latency_p99_ms'])} ms (measured inside the server, from the request's arrival to "
              "the answer's end; its p50/p99 cover its last 1,000 requests, i.e. the last run).", ""]
    return lines


def _memory(r: dict) -> list[str]:
    rows = []
    for name, d in r.get("train", {}).get("datasets", {}).items():
        peers = d["peers"]
        ref = peers.get(REFERENCE, {})
        for key, p in peers.items():
            if p.get("status") == "ok":
                vs = "" if key == REFERENCE else _times(p.get("vs_reference", {}).get("peak_rss"))
                rows.append(f"| training, {name}: {_peer_title(key)} (batch {p.get('batch_size')}, "
                            f"{p.get('image_size')} px) | {_num(p.get('peak_rss_mb'), 0)} | "
                            f"{vs + ' of the reference loop' if vs and ref.get('status') == 'ok' else ''} |")
    infer = r.get("infer", {})
    serving, torch_eager, ort = infer.get("serving", {}), infer.get("torch_eager", {}), infer.get("onnxruntime", {})
    if serving.get("peak_rss_mb") is not None:
        rows.append(f"| serving: `classmill serve` under load ({serving['requests']} requests, {serving['concurrency']} "
                    f"concurrent, {serving['requests_per_s']} req/s, p50 {serving['latency_ms_p50']} ms, "
                    f"{serving['failed_requests']} failed; RSS idle {serving['rss_mb_idle']} MB; torch loaded in the service "
                    f"process: {_yes_no(serving.get('torch_loaded_in_service'))}) | {_num(serving['peak_rss_mb'], 0)} | "
                    f"{_times(_div(serving['peak_rss_mb'], torch_eager.get('peak_rss_mb')))} of the PyTorch eager inference process |")
    elif serving:
        rows.append(f"| serving: `classmill serve` | failed: {serving.get('reason', '')[:200]} | |")
    if ort.get("peak_rss_mb") is not None:
        rows.append(f"| ONNX Runtime measuring process: FP32 and INT8 sessions both loaded, each run through predict_many "
                    f"(batch 32) and Predictor.predict (chunks of 64); ONNX Runtime keeps a memory arena per session | "
                    f"{_num(ort['peak_rss_mb'], 0)} | "
                    f"{_times(_div(ort['peak_rss_mb'], torch_eager.get('peak_rss_mb')))} of the PyTorch eager inference process |")
    if not rows:
        return []
    return ["## Peak memory", "",
            "Peak resident set size of the largest single process, from the kernel (wait4 ru_maxrss) when it exited. "
            "The reference loop's 2 DataLoader worker processes are separate processes and not added in.", "",
            "| what | peak RSS MB | vs peer |", "| --- | --- | --- |"] + rows + [""]


def _quiet_note(quiet: dict | None) -> str:
    if not quiet:
        return ""
    return (f" (after waiting {quiet['waited_s']:.0f} s for a quiet machine; {quiet['busy_cores_at_start']} cores "
            "were busy with other work when timing began)")


def _yes_no(value) -> str:
    return "unknown" if value is None else ("yes" if value else "no")


def _div(a, b):
    return None if a is None or not b else a / b


def _problems(r: dict) -> list[str]:
    problems = r.get("problems", [])
    if not problems:
        return ["## Not measured / failed", "", "Nothing: every figure above was measured.", ""]
    return ["## Not measured / failed", ""] + [f"- {p}" for p in problems] + [""]
