"""Child: classmill's default training path, exactly as a user calls it from Python.

    train(resolve_config(preset, data=DATASET, val=0.2, seed=0), run_dir)

Times are taken from just before that call, so they include what a user waits for: the
dataset check, the split, building the model and decoding the images into the cache.

With spec["test"] the run also holds out a test part (the same stratified split as
classmill.data.split with that val/test/seed); with spec["score_part"] the checkpoint the run
selected on validation (best.pt) is then run over that part of the run's own split, after the
timed call, and its per-image probabilities are returned for bench.held_out to score.
"""

from __future__ import annotations

import time
from pathlib import Path

from bench.child import child_main


def measure(spec: dict) -> dict:
    from classmill.train import resolve_config, train
    from classmill.train.config import TrainConfig

    epochs: list[dict] = []
    marks: dict[str, float] = {}
    started = time.perf_counter()

    def on_event(event: dict) -> None:
        now = time.perf_counter() - started
        if event.get("type") == "start":
            marks["loop_start_s"] = now
            marks["train_images"] = event["train_images"]
            marks["val_images"] = event["val_images"]
        elif event.get("type") == "head_warmup":
            # The presets may fit the new head on frozen features before any epoch: a validated
            # "epoch 0" that counts for time-to-accuracy like any epoch.
            epochs.append({"epoch": 0, "phase": "head_warmup", "elapsed_s": round(now, 2),
                           "val_top1": event["val"]["top1"], "phase_seconds": event.get("seconds")})
        elif event.get("type") == "epoch":
            epochs.append({"epoch": event["epoch"], "elapsed_s": round(now, 2), "val_top1": event["val"]["top1"],
                           "classmill_elapsed_s": event["elapsed_s"]})
        print(f"{now:8.1f} s  {event.get('type')}  {event.get('epoch', '')}", flush=True)

    config = resolve_config(spec["preset"], data=spec["data"], val=spec["val"], test=spec.get("test"),
                            seed=spec["seed"], **spec.get("overrides", {}))
    result = train(config, spec["run_dir"], callbacks=(on_event,))
    wall = round(time.perf_counter() - started, 2)
    # What the run actually used: options left "auto" (input size, class balance) are decided from the data.
    config = TrainConfig.load(Path(spec["run_dir"]) / "config.yaml")
    held_out = _predict_part(spec["run_dir"], spec["score_part"]) \
        if spec.get("score_part") and result.status == "finished" else None
    return {
        "status": "ok" if result.status == "finished" else result.status,
        "image_size": config.image_size,
        "batch_size": config.batch_size,
        "epochs_planned": config.epochs,
        # The preset as resolved at run time: presets change as classmill develops.
        "config": {k: v for k, v in config.to_dict().items() if k not in ("data", "schedule")},
        "data_choices": config.data_choices,
        "wall_s": wall,
        "epochs": epochs,
        "run_dir": spec["run_dir"],
        "best_epoch": result.best_epoch,
        **marks,
        **({"held_out": held_out} if held_out is not None else {}),
    }


def _predict_part(run_dir: str, part: str) -> dict:
    from bench.held_out import predictions
    from bench.splits import run_split_records
    from classmill.train import load_trained_model
    from classmill.train.predict import predict_proba

    records = run_split_records(Path(run_dir), part)
    trained = load_trained_model(Path(run_dir))  # best.pt: the checkpoint selected on validation
    return predictions(trained.classes, [r.path for r in records], [r.label for r in records],
                       predict_proba(trained, records))


if __name__ == "__main__":
    child_main(measure)
