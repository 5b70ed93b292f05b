"""Child: classmill's default training on the generated dataset, then its best checkpoint on held-out originals.

    train(resolve_config(preset, data=GENERATED, val=0.2, seed=0), run_dir)

Times are taken from just before that call: what a user waits for until the first sign of life
(the first progress event), until the first training step is reported, and until the end.
"""

from __future__ import annotations

import time
from pathlib import Path

from bench.child import child_main
from bench.stats import median

# The start event's figures on the data pipeline.
_START_FIELDS = ("train_images", "val_images", "steps_per_epoch", "device", "loader", "cached_images", "cache_mb",
                 "cache_budget_mb", "decode_seconds")


def measure(spec: dict) -> dict:
    from classmill.train import resolve_config, train

    marks: dict = {}
    epochs: list[dict] = []
    rates: list[float] = []
    phases: dict[str, float] = {}
    started = time.perf_counter()

    def on_event(event: dict) -> None:
        now = round(time.perf_counter() - started, 2)
        kind = event.get("type")
        marks.setdefault("first_event_s", now)
        if kind == "progress":
            marks.setdefault("first_progress_s", now)
            phases.setdefault(event["phase"], now)
        elif kind == "start":
            marks["loop_start_s"] = now
            marks["start"] = {k: event.get(k) for k in _START_FIELDS}
        elif kind == "step":
            # The event stream reports a step at most every 2 s: this is the first report, and the
            # step it reports (the first step itself ended at most 2 s before).
            marks.setdefault("first_step_event_s", now)
            marks.setdefault("first_step_event_step", event["step"])
            rates.append(event["images_per_s"])
        elif kind == "head_warmup":
            epochs.append({"epoch": 0, "phase": "head_warmup", "elapsed_s": now, "val_top1": event["val"]["top1"]})
        elif kind == "epoch":
            epochs.append({"epoch": event["epoch"], "elapsed_s": now, "val_top1": event["val"]["top1"]})
        if kind != "progress":
            print(f"{now:8.1f} s  {kind}  {event.get('epoch', '')}", flush=True)

    config = resolve_config(spec["preset"], data=spec["data"], val=spec["val"], seed=spec["seed"],
                            **spec.get("overrides", {}))
    result = train(config, spec["run_dir"], callbacks=(on_event,))
    trained_s = time.perf_counter() - started
    heldout = score_heldout(Path(spec["run_dir"]), spec["heldout"]) if result.status == "finished" else None
    return {
        "status": "ok" if result.status == "finished" else result.status,
        "config": {k: v for k, v in config.to_dict().items() if k not in ("data", "schedule")},
        "train_wall_s": round(trained_s, 2),
        "phase_start_s": phases,
        "epochs": epochs,
        "train_images_per_s_median": median(rates),
        "best_epoch": result.best_epoch,
        "heldout": heldout,
        **marks,
    }


def score_heldout(run_dir: Path, heldout: list[list[str]]) -> dict:
    """Top-1 and macro F1 of the run's best checkpoint on the held-out originals ([path, label] pairs)."""
    import numpy as np
    from sklearn.metrics import f1_score

    from classmill.data.records import ImageRecord
    from classmill.train import load_trained_model
    from classmill.train.predict import predict_proba

    started = time.perf_counter()
    trained = load_trained_model(run_dir, "best")
    index = {label: i for i, label in enumerate(trained.classes)}
    records = [ImageRecord(path=Path(path), ref=path, label=label) for path, label in heldout]
    truth = np.array([index[r.label] for r in records])
    predicted = predict_proba(trained, records).argmax(1)
    return {"images": len(records), "top1": round(float((predicted == truth).mean()), 4),
            "macro_f1": round(float(f1_score(truth, predicted, labels=range(len(trained.classes)), average="macro",
                                             zero_division=0)), 4),
            "seconds": round(time.perf_counter() - started, 1)}


if __name__ == "__main__":
    child_main(measure)
