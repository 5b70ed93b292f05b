"""A job process entry for tests: the real entry plus a "sleep" kind (python -m support.job_kinds ...).

"sleep" params: {"steps": N, "step_s": seconds}; it reports progress each step and honours
stop/pause between steps, as a training does at its step boundaries.
"""

from __future__ import annotations

import sys
import time

from classmill.server.jobs import entry


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


if __name__ == "__main__":
    entry.register_kind("sleep", sleep)
    entry.register_kind("nap", sleep)  # the same work in the light class
    sys.exit(entry.main())
