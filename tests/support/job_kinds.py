"""A job process entry for tests: the real entry plus test kinds (python -m support.job_kinds ...).

"sleep" params: {"steps": N, "step_s": seconds}; it reports progress each step and honours
stop/pause between steps, as a training does at its step boundaries.
"chatter" params: {"run": name, "steps": N, "step_s": seconds}: a training's events.jsonl without the
training — a start line, one step line per step (loss, images/s, ETA), an epoch line, a status line —
written into the run folder over time, with the same progress reports, prints and stop/pause.
"""

from __future__ import annotations

import sys
import time

from classmill.server.jobs import entry
from classmill.server.jobs.train_job import run_folder
from classmill.train.events import EventLog


def sleep(ctx: entry.JobContext) -> tuple[str, dict]:
    steps, step_s = int(ctx.params.get("steps", 10)), float(ctx.params.get("step_s", 0.1))
    for step in range(steps):
        action = ctx.requested()
        if action:
            return ("paused" if action == "pause" else "stopped"), {"steps_done": step}
        ctx.report("sleep", step, steps, force=True)
        time.sleep(step_s)
    ctx.report("sleep", steps, steps, force=True)
    return "succeeded", {"steps_done": steps}


def chatter(ctx: entry.JobContext) -> tuple[str, dict]:
    steps, step_s = int(ctx.params.get("steps", 10)), float(ctx.params.get("step_s", 0.1))
    folder = run_folder(ctx.workspace, ctx.params)
    folder.mkdir(parents=True, exist_ok=True)
    log = EventLog(folder / "events.jsonl")
    start = {"type": "start", "resumed": False, "epoch": 0, "step": 0, "epochs": 1, "steps_per_epoch": steps,
             "select_metric": "top1"}
    ctx.event(log.write(start))
    for step in range(1, steps + 1):
        action = ctx.requested()
        if action:
            state = "paused" if action == "pause" else "stopped"
            log.write({"type": "status", "status": state, "epoch": 0, "step": step - 1})
            return state, {"steps_done": step - 1}
        time.sleep(step_s)
        print(f"step {step} of {steps}", flush=True)
        ctx.event(log.write({"type": "step", "epoch": 0, "step": step, "steps_per_epoch": steps,
                             "loss": round(1 / step, 4), "lr": 0.01, "images_per_s": 100.0 + step,
                             "eta_s": round((steps - step) * step_s, 2)}))
    val = {"loss": 0.5, "top1": 0.75}
    ctx.event(log.write({"type": "epoch", "epoch": 1, "epochs": 1, "train_loss": 0.4, "train_top1": 0.8, "lr": 0.01,
                         "val": val, "best": True, "best_metric": 0.75, "elapsed_s": 1.0, "eta_s": 0.0}))
    log.write({"type": "status", "status": "finished", "epoch": 1, "step": 0})
    return "succeeded", {"steps_done": steps}


if __name__ == "__main__":
    entry.register_kind("sleep", sleep)
    entry.register_kind("nap", sleep)  # the same work in the light class
    entry.register_kind("chatter", chatter)
    sys.exit(entry.main())
