"""The training loop: one plain call used by the CLI, the platform worker and the tests.

    result = train(config, run_dir)            # new run
    result = resume(run_dir)                   # after pause, stop, crash or kill -9
    result = extend(run_dir, epochs=5)         # more epochs on a finished run

Resume is exact: sample order, augmentation, mixup and dropout are seeded from
(seed, epoch, step), and the learning rate is a function of progress, so continuing from a
checkpoint replays what the uninterrupted run would have done.
"""

from __future__ import annotations

import copy
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import torch
import torch.distributed as dist

from classmill import __version__, atomic
from classmill.data.readers.lists import labels_to_text
from classmill.errors import RunStateError
from classmill.models import backbone_and_head_parameters, create_model, default_preprocess
from classmill.preprocess import PreprocessSpec
from classmill.train import control
from classmill.train.checkpoint import load_checkpoint, save_checkpoint
from classmill.train.config import TrainConfig
from classmill.train.events import EventLog
from classmill.train.head_warmup import fit_head, pooled_features
from classmill.train.losses import Criterion, class_weights, mixup
from classmill.train.ownership import owned_run
from classmill.train.pipeline import (ImageStore, TrainingBatches, decode_for_eval, decode_for_training,
                                      epoch_order, estimated_cache_mb, eval_batches)
from classmill.train.prepare import load_prepared, prepare_data
from classmill.train.run_dir import RunDirectory
from classmill.train.schedule import lr_at
from classmill.train.seeding import derive_seed
from classmill.train.validation import validation_metrics

EventCallback = Callable[[dict], None]
StopCheck = Callable[[], "str | None"]
_STEP_EVENT_SECONDS = 2.0


@dataclass
class RunResult:
    status: str  # finished | stopped | paused
    run_dir: Path
    epochs_completed: int
    best_epoch: int
    best_metric: float
    select_metric: str
    best_metrics: dict = field(default_factory=dict)
    wall_seconds: float = 0.0


def train(config: TrainConfig, run_dir: str | Path, *, callbacks: tuple[EventCallback, ...] = (),
          should_stop: StopCheck | None = None) -> RunResult:
    """Start a new run in `run_dir` (which must not hold one already)."""
    run = RunDirectory(Path(run_dir))
    with owned_run(run, main=_is_main_process(), create=True) as owner:
        if _is_main_process():
            # Only rank 0 looks: the others would find the config.yaml it has just written.
            if run.last.exists() or run.config.exists():
                raise RunStateError(f"{run.root} already holds a run; resume it with --resume, extend it with "
                                    "--extend, or choose another --out.")
            prepare_data(config, run)
            config.save(run.config)
            owner.start(config)
        _barrier()
        return _run(config, run, load_prepared(run), state=None, callbacks=callbacks, should_stop=should_stop)


def resume(run_dir: str | Path, *, callbacks: tuple[EventCallback, ...] = (),
           should_stop: StopCheck | None = None) -> RunResult:
    """Continue a paused, stopped or interrupted run from its last checkpoint."""
    run = RunDirectory(Path(run_dir))
    run.require_run()
    with owned_run(run, main=_is_main_process()) as owner:
        if run.status().get("status") == "finished":
            raise RunStateError(f"{run.root} has finished; add epochs with --extend N.")
        config = TrainConfig.load(run.config)
        state = load_checkpoint(run.last) if run.last.exists() else None
        control.clear_request(run.root)
        owner.start(config)
        return _run(config, run, load_prepared(run), state=state, callbacks=callbacks, should_stop=should_stop)


def extend(run_dir: str | Path, epochs: int, *, lr_scale: float = 0.3, callbacks: tuple[EventCallback, ...] = (),
           should_stop: StopCheck | None = None) -> RunResult:
    """Add `epochs` epochs to a run, as a warm restart of the schedule at lr * lr_scale."""
    run = RunDirectory(Path(run_dir))
    if epochs <= 0:
        raise RunStateError("--extend needs a positive number of epochs.")
    run.require_run()
    with owned_run(run, main=_is_main_process()) as owner:
        if _is_main_process():  # only rank 0 looks: the others could read the "running" it is about to write
            status = run.status().get("status")
            status = "interrupted" if status == "running" else status  # we hold the lock: its owner is gone
            if not run.last.exists() or status in ("paused", "stopped", "interrupted", "failed"):
                raise RunStateError(f"{run.root} has not finished (status: {status}); continue it with "
                                    f"`classmill train --resume {run.root}` first, then extend it.")
        config = TrainConfig.load(run.config)
        state = load_checkpoint(run.last)
        done = int(state["epoch"])
        if state["step"] != 0:
            raise RunStateError(f"{run.root} has not finished; --resume it first, then extend it.")
        kept = [seg for seg in config.schedule if seg[0] < done]  # none for a probe-only (0-epoch) run
        if kept:
            kept[-1][1] = min(kept[-1][1], done)
        config.schedule = kept + [[done, done + epochs, config.lr * lr_scale]]
        config.epochs = done + epochs
        state["early_stopped"] = False
        if _is_main_process():
            config.save(run.config)
        control.clear_request(run.root)
        owner.start(config)
        return _run(config, run, load_prepared(run), state=state, callbacks=callbacks, should_stop=should_stop)


def run_preprocess(config: TrainConfig) -> PreprocessSpec:
    """The run's evaluation preprocessing: the model's rule at the run's size, keeping the whole image."""
    spec = default_preprocess(config.model, config.image_size)
    return PreprocessSpec(input_size=config.image_size, resize_size=config.image_size, mean=spec.mean,
                          std=spec.std, interpolation=spec.interpolation, resize_mode=spec.resize_mode)


def _is_main_process() -> bool:
    return not dist.is_initialized() or dist.get_rank() == 0


def _barrier() -> None:
    if dist.is_initialized():
        dist.barrier()


def _broadcast_action(action: str | None) -> str | None:
    """Rank 0 decides stop/pause; every rank must leave the loop at the same step."""
    if not dist.is_initialized():
        return action
    code = torch.tensor([{None: 0, "stop": 1, "pause": 2}[action]])
    dist.broadcast(code, 0)
    return {0: None, 1: "stop", 2: "pause"}[int(code)]


def _device(config: TrainConfig) -> torch.device:
    if config.device == "cuda" or (config.device == "auto" and torch.cuda.is_available()):
        if dist.is_initialized():
            return torch.device("cuda", dist.get_rank() % torch.cuda.device_count())
        return torch.device("cuda")
    return torch.device("cpu")


def _autocast(config: TrainConfig, device: torch.device):
    if config.amp == "off" or (config.amp == "auto" and device.type != "cuda"):
        return None
    if config.amp == "fp16" or (config.amp == "auto" and not torch.cuda.is_bf16_supported()):
        return torch.float16
    return torch.bfloat16


def _set_trainable(model: torch.nn.Module, config: TrainConfig, epoch: int) -> None:
    frozen = config.freeze == "backbone" or (config.freeze == "progressive" and epoch < config.progressive_epochs)
    for p in backbone_and_head_parameters(model).backbone:
        p.requires_grad_(not frozen)
    model.train()
    if frozen or config.freeze_bn:  # keep the BatchNorm statistics the (pretrained or probed) head expects
        for module in model.modules():
            if isinstance(module, torch.nn.modules.batchnorm._BatchNorm):
                module.eval()


def _run(config: TrainConfig, run: RunDirectory, dataset, *, state: dict | None,
         callbacks: tuple[EventCallback, ...], should_stop: StopCheck | None) -> RunResult:
    started = time.perf_counter()
    main = _is_main_process()
    rank, world = (dist.get_rank(), dist.get_world_size()) if dist.is_initialized() else (0, 1)
    log = EventLog(run.events)

    def emit(event: dict) -> None:
        if main:
            event = log.write(event)
            for cb in callbacks:
                cb(event)

    torch.manual_seed(config.seed)
    device = _device(config)
    spec = run_preprocess(config)
    classes = dataset.classes
    index = dataset.label_index()
    train_records, val_records = dataset.in_split("train"), dataset.in_split("val")
    if main:
        atomic.write_text(run.labels, labels_to_text(classes))
        atomic.write_text(run.preprocess, spec.to_json())

    model = create_model(config.model, num_classes=len(classes), pretrained=config.pretrained and state is None,
                         drop_rate=config.drop_rate)
    if state is not None:
        model.load_state_dict(state["model"])
    model.to(device)
    if config.channels_last:
        model = model.to(memory_format=torch.channels_last)
    parts = backbone_and_head_parameters(model)
    param_groups = [{"params": parts.head, "lr_scale": 1.0},
                    {"params": parts.backbone, "lr_scale": config.backbone_lr_scale}]
    if config.optimizer == "adamw":
        optimizer = torch.optim.AdamW(param_groups, lr=config.lr, weight_decay=config.weight_decay)
    else:
        optimizer = torch.optim.SGD(param_groups, lr=config.lr, momentum=0.9, nesterov=True,
                                    weight_decay=config.weight_decay)
    amp_dtype = _autocast(config, device)
    scaler = torch.amp.GradScaler("cuda", enabled=amp_dtype == torch.float16)
    # A frozen backbone produces no gradients; DDP must be told or it waits for them forever.
    train_model = (torch.nn.parallel.DistributedDataParallel(model, find_unused_parameters=config.freeze != "none")
                   if dist.is_initialized() else model)

    start_epoch, start_step = 0, 0
    best_metric, best_epoch, best_metrics, stale, history = -1.0, -1, {}, 0, []
    if state is not None:
        optimizer.load_state_dict(state["optimizer"])
        scaler.load_state_dict(state["scaler"])
        start_epoch, start_step = int(state["epoch"]), int(state["step"])
        best_metric, best_epoch = float(state["best_metric"]), int(state["best_epoch"])
        best_metrics, stale, history = dict(state["best_metrics"]), int(state["stale_epochs"]), list(state["history"])

    counts = [sum(1 for r in train_records if r.label == c) for c in classes]
    criterion = Criterion(config.loss, len(classes), config.label_smoothing,
                          class_weights(counts) if config.class_balance == "weights" else None, config.focal_gamma)
    sample_weights = None
    if config.class_balance == "sampler":
        per_class = class_weights(counts)
        sample_weights = torch.tensor([float(per_class[index[r.label]]) for r in train_records])

    pool = ThreadPoolExecutor(max_workers=max(1, config.workers))
    cache = config.cache_images and estimated_cache_mb(train_records + val_records, spec.resize_size) <= config.cache_max_mb
    train_decode = (lambda r: decode_for_eval(r, spec)) if config.augment == "none" else (lambda r: decode_for_training(r, spec))
    load_started = time.perf_counter()
    train_store = ImageStore(train_records, train_decode, cache=cache, pool=pool)
    val_store = ImageStore(val_records, lambda r: decode_for_eval(r, spec), cache=cache, pool=pool)
    batches = TrainingBatches(train_store, torch.tensor([index[r.label] for r in train_records]), spec,
                              config.augment, config.seed, pool)
    val_labels = torch.tensor([index[r.label] for r in val_records])
    steps_per_epoch = -(-len(train_records) // config.batch_size)
    warmup_metrics = None
    if state is None and config.head_warmup_steps > 0:
        warm_started = time.perf_counter()
        probe_store = train_store if config.augment == "none" else ImageStore(
            train_records, lambda r: decode_for_eval(r, spec), cache=False, pool=pool)
        head = model.get_classifier()
        fit_head(head, pooled_features(model, probe_store, spec, device, config.batch_size), batches.labels,
                 criterion, steps=config.head_warmup_steps, lr=config.head_lr, weight_decay=config.weight_decay,
                 seed=derive_seed(config.seed, 0x4EAD), sample_weights=sample_weights)
        with torch.inference_mode():
            val_logits = head(pooled_features(model, val_store, spec, device, config.batch_size).to(device)).cpu()
        warmup_metrics = validation_metrics(val_logits, val_labels)
        warmup_seconds = time.perf_counter() - warm_started
    ema = copy.deepcopy(model).eval() if config.ema else None
    if ema is not None and state is not None and state.get("ema") is not None:
        ema.load_state_dict(state["ema"])
    if main:
        run.set_status("running", epoch=start_epoch, epochs=config.epochs)
    emit({"type": "start", "resumed": state is not None, "epoch": start_epoch, "step": start_step,
          "epochs": config.epochs, "steps_per_epoch": steps_per_epoch, "train_images": len(train_records),
          "val_images": len(val_records), "classes": classes, "device": str(device), "world_size": world,
          "cached_images": cache, "decode_seconds": round(time.perf_counter() - load_started, 2)})

    def checkpoint_state(epoch: int, step: int) -> dict:
        return {"model": model.state_dict(), "optimizer": optimizer.state_dict(), "scaler": scaler.state_dict(),
                "ema": ema.state_dict() if ema is not None else None, "epoch": epoch, "step": step,
                "best_metric": best_metric, "best_epoch": best_epoch, "best_metrics": best_metrics,
                "stale_epochs": stale, "history": history, "seed": config.seed, **_identity(config, classes, spec, dataset, run)}

    def finish(status: str, epoch: int, step: int) -> RunResult:
        pool.shutdown(wait=False)
        if main:
            save_checkpoint(run.last, checkpoint_state(epoch, step))
            run.set_status(status, epoch=epoch, step=step, epochs=config.epochs, best_epoch=best_epoch,
                           best_metric=best_metric)
            if status == "finished":
                atomic.write_json(run.metrics, {"select_metric": config.select_metric, "best_epoch": best_epoch,
                                                "best": best_metrics, "history": history,
                                                "classes": classes, "classmill_version": __version__})
            emit({"type": "status", "status": status, "epoch": epoch, "step": step})
        _barrier()
        return RunResult(status=status, run_dir=run.root, epochs_completed=epoch, best_epoch=best_epoch,
                         best_metric=best_metric, select_metric=config.select_metric, best_metrics=best_metrics,
                         wall_seconds=time.perf_counter() - started)

    if warmup_metrics is not None and main:
        # The probed head is "epoch 0": validated, eligible as best, and checkpointed so a resume skips it.
        best_metric, best_epoch, best_metrics = warmup_metrics[config.select_metric], 0, warmup_metrics
        save_checkpoint(run.best, {"model": model.state_dict(), "metrics": warmup_metrics, "epoch": 0,
                                   **_identity(config, classes, spec, dataset, run)})
        history.append({"epoch": 0, "phase": "head_warmup", "lr": config.head_lr, "val": warmup_metrics})
        save_checkpoint(run.last, checkpoint_state(0, 0))
        emit({"type": "head_warmup", "val": warmup_metrics, "seconds": round(warmup_seconds, 2),
              "elapsed_s": round(time.perf_counter() - started, 1)})
    if state is not None and state.get("early_stopped"):
        return finish("finished", start_epoch, 0)
    window_start, window_images = time.perf_counter(), 0
    for epoch in range(start_epoch, config.epochs):
        _set_trainable(model, config, epoch)
        order = epoch_order(len(train_records), epoch, config.seed, sample_weights)
        loss_sum, correct, seen = 0.0, 0, 0
        first = start_step if epoch == start_epoch else 0
        # Each rank trains on its slice of every batch; a last batch smaller than the world repeats
        # its final image so no rank gets an empty slice (and all ranks step together).
        shard = (lambda positions: positions[rank::world] or positions[-1:]) if world > 1 else (lambda positions: positions)
        for step, x, y in batches.iterate(epoch, order, config.batch_size, first, select=shard):
            lr = lr_at(epoch + step / steps_per_epoch, config.schedule, config.scheduler, config.warmup_epochs)
            for group in optimizer.param_groups:
                group["lr"] = lr * group["lr_scale"]
            torch.manual_seed(derive_seed(config.seed, epoch, step, 0xD0))  # dropout / drop-path
            x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
            if config.channels_last:
                x = x.contiguous(memory_format=torch.channels_last)
            targets = criterion.targets(y)
            if config.mixup > 0:
                x, targets = mixup(x, targets, config.mixup, config.seed, epoch, step)
            with torch.autocast(device.type, dtype=amp_dtype) if amp_dtype else nullcontext():
                logits = train_model(x)
            loss = criterion(logits, targets)
            optimizer.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
            if ema is not None:
                with torch.no_grad():
                    for e, p in zip(ema.state_dict().values(), model.state_dict().values()):
                        if e.dtype.is_floating_point:
                            e.mul_(config.ema_decay).add_(p.detach(), alpha=1 - config.ema_decay)
                        else:
                            e.copy_(p)
            loss_sum += float(loss.detach()) * len(y)
            correct += int((logits.argmax(1) == y).sum())
            seen += len(y)
            window_images += len(y) * world
            now = time.perf_counter()
            if now - window_start >= _STEP_EVENT_SECONDS or step == steps_per_epoch - 1:
                rate = window_images / max(now - window_start, 1e-9)
                remaining = (config.epochs - epoch) * steps_per_epoch - step - 1
                emit({"type": "step", "epoch": epoch, "step": step + 1, "steps_per_epoch": steps_per_epoch,
                      "loss": round(loss_sum / max(seen, 1), 5), "lr": lr, "images_per_s": round(rate, 2),
                      "eta_s": round(remaining * config.batch_size / max(rate, 1e-9), 1)})
                window_start, window_images = now, 0
            action = (control.read_request(run.root) or (should_stop() if should_stop else None)) if main else None
            action = _broadcast_action(action)
            if action and step + 1 < steps_per_epoch:
                control.clear_request(run.root) if main else None
                return finish("paused" if action == "pause" else "stopped", epoch, step + 1)
            if action:
                break  # the epoch is complete: validate and checkpoint it before leaving
        else:
            action = None
        eval_model = ema if ema is not None else model
        metrics = _validate(eval_model, val_store, val_labels, spec, device, amp_dtype, config.batch_size) if main else {}
        improved = False
        if main:
            value = metrics[config.select_metric]
            improved = value > best_metric
            if improved:
                best_metric, best_epoch, best_metrics, stale = value, epoch + 1, metrics, 0
                save_checkpoint(run.best, {"model": eval_model.state_dict(), "metrics": metrics, "epoch": epoch + 1,
                                           **_identity(config, classes, spec, dataset, run)})
            else:
                stale += 1
            history.append({"epoch": epoch + 1, "train_loss": round(loss_sum / max(seen, 1), 5),
                            "train_top1": round(correct / max(seen, 1), 5), "lr": lr, "val": metrics})
            save_checkpoint(run.last, checkpoint_state(epoch + 1, 0))
            elapsed = time.perf_counter() - started
            emit({"type": "epoch", "epoch": epoch + 1, "epochs": config.epochs, **history[-1], "best": improved,
                  "best_metric": best_metric, "elapsed_s": round(elapsed, 1),
                  "eta_s": round(elapsed / max(epoch + 1 - start_epoch, 1) * (config.epochs - epoch - 1), 1)})
        if action:
            control.clear_request(run.root) if main else None
            return finish("paused" if action == "pause" else "stopped", epoch + 1, 0)
        early = main and config.early_stop > 0 and stale >= config.early_stop
        if _broadcast_action("stop" if early else None):
            emit({"type": "early_stop", "epoch": epoch + 1, "patience": config.early_stop})
            return finish("finished", epoch + 1, 0)
    return finish("finished", config.epochs, 0)


def _identity(config: TrainConfig, classes: list[str], spec: PreprocessSpec, dataset, run: RunDirectory) -> dict:
    """What a checkpoint needs to be used on its own: model, labels, preprocessing, provenance."""
    return {"model_name": config.model, "classes": classes, "preprocess": spec.to_dict(),
            "run_id": run.root.name, "dataset_hash": dataset.dataset_hash, "classmill_version": __version__}


@torch.no_grad()
def _validate(model, store: ImageStore, labels: torch.Tensor, spec: PreprocessSpec, device, amp_dtype,
              batch_size: int) -> dict:
    was_training = model.training
    model.eval()
    outputs = []
    for x in eval_batches(store, spec, batch_size, device):
        with torch.autocast(device.type, dtype=amp_dtype) if amp_dtype else nullcontext():
            outputs.append(model(x).float().cpu())
    model.train(was_training)
    return validation_metrics(torch.cat(outputs), labels)
