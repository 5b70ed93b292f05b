"""The training engine: a run's state in one object, one method per phase, named hook points.

    engine = Engine(config, run, dataset, state=None, callbacks=(print,))
    engine.add_hook("on_fit_epoch_end", lambda engine, event: ...)
    result = engine.fit()

Hook points, named as Ultralytics names them. Each hook is called as fn(engine, event), in the
order added; `event` is the dict that events.jsonl records (events.EventStream is the
subscriber that writes it and calls train()'s callbacks):
    on_progress         caching, the warm-up's feature pass and head fit (classmill.progress events)
    on_train_start      set up, about to train ("start")
    on_head_warmup_end  the probed head is validated and checkpointed ("head_warmup")      rank 0 only
    on_train_batch_end  after every optimizer step ("step"; `images` counts all ranks)
    on_fit_epoch_end    after an epoch's validation and checkpoint ("epoch")              rank 0 only
    on_model_save       a checkpoint was written ("checkpoint"; not in events.jsonl)      rank 0 only
    on_early_stop       the patience ran out ("early_stop")
    on_train_end        finished, stopped or paused ("status")

Resume is exact: sample order, augmentation, mixup and dropout are seeded from (seed, epoch,
step); the learning rate and the EMA decay are functions of progress; a checkpoint taken
inside an epoch carries that epoch's running totals.
"""

from __future__ import annotations

import copy
import dataclasses
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager, nullcontext
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Callable

import torch
import torch.distributed as dist
from timm.utils.model_ema import ModelEmaV3

from classmill import __version__, atomic
from classmill.data.readers.lists import labels_to_text
from classmill.models import backbone_and_head_parameters, create_model, default_preprocess, early_stages
from classmill.preprocess import PreprocessSpec
from classmill.progress import PhaseProgress
from classmill.train import control
from classmill.train.bn_adapt import adapt_batchnorm
from classmill.train.calibrate import calibrate_best
from classmill.train.checkpoint import save_checkpoint
from classmill.train.config import TrainConfig
from classmill.train.distributed import (barrier, broadcast_action, broadcast_choice, broadcast_module, gather_rows,
                                         is_main_process, rank_and_world, shard_range, training_device)
from classmill.train.events import EventLog, EventStream
from classmill.train.head_start import FRESH, PROBE, choose_head_start, group_lr_scales
from classmill.train.head_warmup import fit_head, pooled_features
from classmill.train.losses import Criterion, class_weights, mixup
from classmill.train.image_cache import decoded_bytes, plan_cache
from classmill.train.pipeline import (ImageStore, SampleMaker, TrainingBatches, decode_for_eval, decode_for_training,
                                      epoch_order, eval_batches)
from classmill.train.process_loader import ProcessBatches, loader_kind
from classmill.train.run_dir import RunDirectory
from classmill.train.schedule import lr_at
from classmill.train.seeding import derive_seed
from classmill.train.step_parts import (EpochTotals, autocast_dtype, make_ema, set_trainable,
                                        trained_images_per_epoch)
from classmill.train.validation import beats, validation_metrics

HOOKS = ("on_progress", "on_train_start", "on_head_warmup_end", "on_train_batch_end", "on_fit_epoch_end",
         "on_model_save", "on_early_stop", "on_train_end")
EventCallback = Callable[[dict], None]
StopCheck = Callable[[], "str | None"]
Hook = Callable[["Engine", dict], None]


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
    calibration: dict | None = None  # calibration.json of a finished run (rank 0); None otherwise


def run_preprocess(config: TrainConfig) -> PreprocessSpec:
    """The run's evaluation preprocessing: the model's rule at the run's size, keeping the whole image."""
    spec = default_preprocess(config.model, config.image_size)
    return PreprocessSpec(input_size=config.image_size, resize_size=config.image_size, mean=spec.mean,
                          std=spec.std, interpolation=spec.interpolation, resize_mode=spec.resize_mode)


class Engine:
    """One training process of a run: build, optionally probe the head, train, validate, checkpoint."""

    def __init__(self, config: TrainConfig, run: RunDirectory, dataset, *, state: dict | None = None,
                 callbacks: tuple[EventCallback, ...] = (), should_stop: StopCheck | None = None):
        self.config, self.run, self.dataset, self.state, self.should_stop = config, run, dataset, state, should_stop
        self.hooks: dict[str, list[Hook]] = {name: [] for name in HOOKS}
        self.started = time.perf_counter()
        self.main = is_main_process()
        self.rank, self.world = rank_and_world()
        self.classes = dataset.classes
        self.spec = run_preprocess(config)
        self.train_records, self.val_records = dataset.in_split("train"), dataset.in_split("val")
        # Where training stands: the next step to run is `step` of `epoch` (0-based).
        self.epoch, self.step = (int(state["epoch"]), int(state["step"])) if state else (0, 0)
        self.start_epoch = self.epoch
        totals = (state or {}).get("epoch_totals")
        self.totals = EpochTotals(**totals) if totals and self.step else EpochTotals()
        self.best_metric, self.best_epoch, self.best_metrics, self.stale, self.history = -1.0, -1, {}, 0, []
        self.early_stopped = False
        if state is not None:
            self.best_metric, self.best_epoch = float(state["best_metric"]), int(state["best_epoch"])
            self.best_metrics, self.stale = dict(state["best_metrics"]), int(state["stale_epochs"])
            self.history, self.early_stopped = list(state["history"]), bool(state.get("early_stopped"))
        self.batch_positions: list[int] = []  # this process's places in the epoch order, for the last batch
        self.warmup: tuple[dict | None, float] | None = None
        self.probed_head: dict | None = None  # kept when the fine-tune starts from a fresh head
        self.head_start: dict = {}
        self._last_saved = time.perf_counter()
        EventStream(EventLog(run.events), callbacks, enabled=self.main).attach(self)

    def add_hook(self, name: str, hook: Hook) -> None:
        if name not in self.hooks:
            raise ValueError(f"unknown hook {name!r}; hook points: {', '.join(HOOKS)}")
        self.hooks[name].append(hook)

    def fire(self, name: str, event: dict) -> None:
        for hook in self.hooks[name]:
            hook(self, event)

    def progress(self, event: dict) -> None:
        self.fire("on_progress", event)

    # ---- the run ----

    def fit(self) -> RunResult:
        with ExitStack() as stack:
            self.pool = ThreadPoolExecutor(max_workers=max(1, self.config.workers))
            prefetcher = ThreadPoolExecutor(max_workers=1)
            for executor in (self.pool, prefetcher):  # on every exit, exceptions included
                stack.callback(executor.shutdown, wait=True, cancel_futures=True)
            torch.manual_seed(self.config.seed)
            self.device = training_device(self.config.device)
            if self.main:
                atomic.write_text(self.run.labels, labels_to_text(self.classes))
                atomic.write_text(self.run.preprocess, self.spec.to_json())
            self._build_model()
            self._build_data(prefetcher)
            stack.callback(self.batches.close)  # worker processes, where there are any
            return self._train()

    def _train(self) -> RunResult:
        config = self.config
        if self.state is None and config.head_warmup_steps > 0:
            self._fit_probe_head()
        self.ema = self._make_ema()
        # A frozen backbone (or its fixed first stages) produces no gradients; DDP must be told or it
        # waits for them forever.
        unused = config.freeze != "none" or config.freeze_stages > 0
        self.train_model = (torch.nn.parallel.DistributedDataParallel(self.model, find_unused_parameters=unused)
                            if dist.is_initialized() else self.model)
        if self.main:
            self.run.set_status("running", epoch=self.epoch, epochs=config.epochs)
        self.fire("on_train_start", self._start_event())
        if self.warmup is not None and self.main:
            self._record_head_warmup()
        if self.early_stopped:
            return self._finish("finished")
        while self.epoch < config.epochs:
            action = self._train_epoch()
            if action and self.step < self.steps_per_epoch:
                return self._leave(action)
            self._end_epoch()  # an action on an epoch's last step: validate and checkpoint it first
            if action:
                return self._leave(action)
            out_of_patience = self.main and config.early_stop > 0 and self.stale >= config.early_stop
            if broadcast_action("stop" if out_of_patience else None, self.device):
                self.early_stopped = True
                self.fire("on_early_stop", {"type": "early_stop", "epoch": self.epoch, "patience": config.early_stop})
                return self._finish("finished")
        return self._finish("finished")

    # ---- setup ----

    def _build_model(self) -> None:
        config, state = self.config, self.state
        model = create_model(config.model, num_classes=len(self.classes), pretrained=config.pretrained and state is None,
                             drop_rate=config.drop_rate, allow_download=config.allow_download)
        if state is not None:
            model.load_state_dict(state["model"])
        # The head as initialised, for a fine-tune that starts from a fresh head after the probe.
        self.initial_head = copy.deepcopy(model.get_classifier().state_dict()) if state is None else None
        if config.freeze_stages:
            early_stages(model, config.freeze_stages)  # a count the model cannot take fails before any work
        model.to(self.device)
        self.model = model.to(memory_format=torch.channels_last) if config.channels_last else model
        parts = backbone_and_head_parameters(self.model)
        groups = [{"params": parts.head, "lr_scale": 1.0},
                  {"params": parts.backbone, "lr_scale": config.backbone_lr_scale}]
        if config.optimizer == "adamw":
            self.optimizer = torch.optim.AdamW(groups, lr=config.lr, weight_decay=config.weight_decay)
        else:
            self.optimizer = torch.optim.SGD(groups, lr=config.lr, momentum=0.9, nesterov=True,
                                             weight_decay=config.weight_decay)
        self.amp_dtype = autocast_dtype(config, self.device)
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.amp_dtype == torch.float16)
        if state is not None:
            self.optimizer.load_state_dict(state["optimizer"])
            self.scaler.load_state_dict(state["scaler"])

    def _build_data(self, prefetcher: ThreadPoolExecutor) -> None:
        config, spec, train, val = self.config, self.spec, self.train_records, self.val_records
        index = self.dataset.label_index()
        counts = [sum(1 for r in train if r.label == c) for c in self.classes]
        self.criterion = Criterion(config.loss, len(self.classes), config.label_smoothing,
                                   class_weights(counts) if config.class_balance == "weights" else None,
                                   config.focal_gamma)
        self.sample_weights = None
        if config.class_balance == "sampler":
            per_class = class_weights(counts)
            self.sample_weights = torch.tensor([float(per_class[index[r.label]]) for r in train])
        self._build_stores()
        maker = SampleMaker(self.train_store, torch.tensor([index[r.label] for r in train]), spec, config.augment,
                            config.seed)
        self.loader = loader_kind(config.loader, self.device)
        self.batches = (ProcessBatches(maker, config.workers, pin_memory=self.device.type == "cuda")
                        if self.loader == "processes" else TrainingBatches(maker, self.pool, prefetcher))
        self.val_labels = torch.tensor([index[r.label] for r in val])
        self.images_per_epoch = trained_images_per_epoch(len(train), config.batch_size, self.world)
        self.steps_per_epoch = -(-self.images_per_epoch // config.batch_size)
        self.lr = lr_at(self.epoch + self.step / self.steps_per_epoch, config.schedule, config.scheduler,
                        config.warmup_epochs)

    def _build_stores(self) -> None:
        """Training (and, on rank 0, validation) images, decoded into one cache of at most cache_max_mb
        as far as it goes: training images first, as the sampler draws them most per byte."""
        config, spec, train, val = self.config, self.spec, self.train_records, self.val_records
        training = config.augment != "none"
        decode_train = partial(decode_for_training if training else decode_for_eval, spec=spec)
        budget = config.cache_max_mb * 2**20 if config.cache_images else 0
        sizes = [decoded_bytes(r, spec, training=training) for r in train]
        weights = self.sample_weights.tolist() if self.sample_weights is not None else None
        cache_train = plan_cache(sizes, budget, weights)
        train_bytes = sum(sizes[i] for i in cache_train)
        val_sizes = [decoded_bytes(r, spec, training=False) for r in val]
        cache_val = plan_cache(val_sizes, budget - train_bytes) if self.main else []
        progress = (PhaseProgress("cache", len(cache_train) + len(cache_val), self.progress)
                    if cache_train or cache_val else None)
        started = time.perf_counter()
        self.train_store = ImageStore(train, decode_train, pool=self.pool, cache=cache_train, cache_bytes=train_bytes,
                                      progress=progress)
        self.val_store = ImageStore(val, partial(decode_for_eval, spec=spec), pool=self.pool, cache=cache_val,
                                    cache_bytes=sum(val_sizes[i] for i in cache_val), progress=progress)
        self.decode_seconds = time.perf_counter() - started

    def _fit_probe_head(self) -> None:
        """Fit the head on backbone features (a linear probe): each rank computes features for its part
        of the images, rank 0 fits, and every rank takes rank 0's head (fits are not bit-identical)."""
        config, model, spec, device = self.config, self.model, self.spec, self.device
        started = time.perf_counter()
        probe_store = self.train_store if config.augment == "none" else ImageStore(
            self.train_records, partial(decode_for_eval, spec=spec), pool=self.pool)
        n = len(self.train_records)
        if config.bn_adapt > 0:  # every rank the same images, so every rank ends with the same statistics
            adapt_batchnorm(model, probe_store, spec, device, config.batch_size, max_images=config.bn_adapt,
                            progress=PhaseProgress("bn_adapt", min(n, config.bn_adapt), self.progress))
        part = shard_range(n)
        features_progress = PhaseProgress("features", len(part) + (len(self.val_records) if self.main else 0),
                                          self.progress)
        local = pooled_features(model, probe_store, spec, device, config.batch_size, indices=part,
                                progress=features_progress)
        features = gather_rows(local, n, device)
        head = model.get_classifier()
        metrics = None
        if self.main:
            fit_head(head, features, self.batches.labels, self.criterion, steps=config.head_warmup_steps,
                     lr=config.head_lr, weight_decay=config.weight_decay, seed=derive_seed(config.seed, 0x4EAD),
                     sample_weights=self.sample_weights,
                     progress=PhaseProgress("head_fit", config.head_warmup_steps, self.progress, unit="steps"))
            with torch.inference_mode():
                val_features = pooled_features(model, self.val_store, spec, device, config.batch_size,
                                               progress=features_progress)
                val_logits = head(val_features.to(device)).cpu()
            metrics = validation_metrics(val_logits, self.val_labels, self.classes)
        broadcast_module(head)
        self.warmup = (metrics, time.perf_counter() - started)
        self._start_fine_tune(metrics)

    def _start_fine_tune(self, probe_metrics: dict | None) -> None:
        """Decide (rank 0) where the fine-tune starts after the probe; every rank sets its head and
        its learning-rate groups to match. A fresh start keeps the probed head for the best checkpoint."""
        config = self.config
        start, reason = PROBE, "no fine-tune follows the probe (epochs 0)"
        if self.main and config.epochs > 0:
            start, reason = choose_head_start(config, probe_metrics)
        start = broadcast_choice(start, (PROBE, FRESH), self.device)
        head = self.model.get_classifier()
        if start == FRESH:
            self.probed_head = copy.deepcopy(head.state_dict())
            head.load_state_dict(self.initial_head)
        for group, scale in zip(self.optimizer.param_groups, group_lr_scales(config, start)):
            group["lr_scale"] = scale
        self.head_start = {"head_start": start, "reason": reason}

    def _make_ema(self) -> ModelEmaV3 | None:
        if not self.config.ema:
            return None
        return make_ema(self.model, self.config.ema_decay, (self.state or {}).get("ema"))

    def _start_event(self) -> dict:
        return {"type": "start", "resumed": self.state is not None, "epoch": self.epoch, "step": self.step,
                "epochs": self.config.epochs, "steps_per_epoch": self.steps_per_epoch,
                "select_metric": self.config.select_metric, "train_images": len(self.train_records),
                "val_images": len(self.val_records),
                "classes": self.classes, "device": str(self.device), "world_size": self.world,
                "loader": self.loader, "cached_images": self.train_store.cache.count + self.val_store.cache.count,
                "cache_mb": round((self.train_store.cache.filled + self.val_store.cache.filled) / 2**20, 1),
                "cache_budget_mb": self.config.cache_max_mb if self.config.cache_images else 0,
                "decode_seconds": round(self.decode_seconds, 2),
                "data_choices": self.config.data_choices}

    def _record_head_warmup(self) -> None:
        """The probed head is "epoch 0": validated, eligible as best, checkpointed so a resume skips it."""
        metrics, seconds = self.warmup
        with self._probed_head_in_place():
            self._record_best(metrics, self.model)
        self.history.append({"epoch": 0, "phase": "head_warmup", "lr": self.config.head_lr, "val": metrics,
                             **self.head_start})
        self._save_last()
        self.fire("on_head_warmup_end", {"type": "head_warmup", "val": metrics, "seconds": round(seconds, 2),
                                         "elapsed_s": round(time.perf_counter() - self.started, 1), **self.head_start})

    @contextmanager
    def _probed_head_in_place(self):
        """The model with its probed head for a while, where the fine-tune starts from a fresh one
        (the initial head, which no step has moved yet)."""
        if self.probed_head is None:
            yield
            return
        head = self.model.get_classifier()
        head.load_state_dict(self.probed_head)
        try:
            yield
        finally:
            head.load_state_dict(self.initial_head)

    # ---- training ----

    def _shard(self, positions: list[int]) -> list[int]:
        """This rank's slice of a batch; a last batch smaller than the world repeats its final image so
        no rank gets an empty slice (and all ranks step together)."""
        return positions[self.rank::self.world] or positions[-1:]

    def _train_epoch(self) -> str | None:
        """Train from `step` to the end of `epoch`; returns at once on a stop/pause request."""
        config, epoch = self.config, self.epoch
        set_trainable(self.model, config, epoch)
        order = epoch_order(len(self.train_records), epoch, config.seed, self.sample_weights)[:self.images_per_epoch]
        if self.step == 0:
            self.totals = EpochTotals()
        select = self._shard if self.world > 1 else (lambda positions: positions)
        for step, positions, x, y in self.batches.iterate(epoch, order, config.batch_size, self.step, select=select):
            self.batch_positions = positions
            self.lr = lr_at(epoch + step / self.steps_per_epoch, config.schedule, config.scheduler,
                            config.warmup_epochs)
            for group in self.optimizer.param_groups:
                group["lr"] = self.lr * group["lr_scale"]
            logits, loss = self._train_step(step, x, y)
            self.totals.add(loss, logits, y)
            self.step = step + 1
            self.fire("on_train_batch_end", {"type": "step", "epoch": epoch, "step": self.step,
                                             "steps_per_epoch": self.steps_per_epoch, "loss": self.totals.mean_loss,
                                             "lr": self.lr, "images": len(y) * self.world})
            action = self._requested_action()
            if action:
                return action
            self._checkpoint_on_time()
        return None

    def _train_step(self, step: int, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        config, device = self.config, self.device
        torch.manual_seed(derive_seed(config.seed, self.epoch, step, 0xD0))  # dropout / drop-path
        x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
        if config.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        targets = self.criterion.targets(y)
        if config.mixup > 0:
            x, targets = mixup(x, targets, config.mixup, config.seed, self.epoch, step)
        with torch.autocast(device.type, dtype=self.amp_dtype) if self.amp_dtype else nullcontext():
            logits = self.train_model(x)
        loss = self.criterion(logits, targets)
        self.optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()
        self.scaler.step(self.optimizer)
        self.scaler.update()
        if self.ema is not None:  # the decay warms up with the run's optimizer steps, so resume replays it
            self.ema.update(self.model, step=self.epoch * self.steps_per_epoch + step + 1)
        return logits, loss

    def _requested_action(self) -> str | None:
        action = None
        if self.main:
            action = control.read_request(self.run.root) or (self.should_stop() if self.should_stop else None)
        return broadcast_action(action, self.device)

    def _checkpoint_on_time(self) -> None:
        """A mid-epoch last.pt every checkpoint_minutes, so a kill -9 in a long epoch loses minutes."""
        minutes = self.config.checkpoint_minutes
        if (self.main and minutes > 0 and self.step < self.steps_per_epoch
                and time.perf_counter() - self._last_saved >= minutes * 60):
            self._save_last()

    def _end_epoch(self) -> None:
        """Validate the epoch just trained, keep the best, checkpoint, and report (rank 0)."""
        eval_model = self.ema.module if self.ema is not None else self.model
        self.epoch, self.step = self.epoch + 1, 0
        if not self.main:
            return
        metrics = self._validate(eval_model)
        improved = self._record_best(metrics, eval_model)
        self.history.append({"epoch": self.epoch, **self.totals.summary(), "lr": self.lr, "val": metrics})
        self._save_last()
        elapsed = time.perf_counter() - self.started
        self.fire("on_fit_epoch_end", {
            "type": "epoch", "epoch": self.epoch, "epochs": self.config.epochs, **self.history[-1], "best": improved,
            "best_metric": self.best_metric, "elapsed_s": round(elapsed, 1),
            "eta_s": round(elapsed / max(self.epoch - self.start_epoch, 1) * (self.config.epochs - self.epoch), 1)})

    @torch.no_grad()
    def _validate(self, model: torch.nn.Module) -> dict:
        was_training = model.training
        model.eval()
        outputs = []
        for x in eval_batches(self.val_store, self.spec, self.config.batch_size, self.device):
            with torch.autocast(self.device.type, dtype=self.amp_dtype) if self.amp_dtype else nullcontext():
                outputs.append(model(x).float().cpu())
        model.train(was_training)
        return validation_metrics(torch.cat(outputs), self.val_labels, self.classes)

    # ---- checkpoints and the end ----

    def _record_best(self, metrics: dict, model: torch.nn.Module) -> bool:
        select = self.config.select_metric
        if not beats(metrics, self.best_metrics, select):
            self.stale += 1
            return False
        # A tie takes the checkpoint but is no improvement: early stopping still counts it.
        improved = metrics[select] > self.best_metric
        self.best_metric, self.best_epoch, self.best_metrics = metrics[select], self.epoch, metrics
        self.stale = 0 if improved else self.stale + 1
        self._save("best", {"model": model.state_dict(), "metrics": metrics, "epoch": self.epoch, **self._identity()})
        return True

    def _checkpoint_state(self) -> dict:
        return {"model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(),
                "scaler": self.scaler.state_dict(), "ema": self.ema.module.state_dict() if self.ema else None,
                "epoch": self.epoch, "step": self.step,
                "epoch_totals": dataclasses.asdict(self.totals) if self.step else None,
                "best_metric": self.best_metric, "best_epoch": self.best_epoch, "best_metrics": self.best_metrics,
                "stale_epochs": self.stale, "history": self.history, "early_stopped": self.early_stopped,
                "seed": self.config.seed, **self._identity()}

    def _save_last(self) -> None:
        self._save("last", self._checkpoint_state())
        self._last_saved = time.perf_counter()

    def _save(self, which: str, state: dict) -> None:
        path = self.run.last if which == "last" else self.run.best
        save_checkpoint(path, state)
        self.fire("on_model_save", {"type": "checkpoint", "which": which, "epoch": self.epoch, "step": self.step,
                                    "path": str(path)})

    def _identity(self) -> dict:
        """What a checkpoint needs to be used on its own: model, labels, preprocessing, provenance."""
        return {"model_name": self.config.model, "classes": self.classes, "preprocess": self.spec.to_dict(),
                "run_id": self.run.root.name, "dataset_hash": self.dataset.dataset_hash,
                "classmill_version": __version__}

    def _leave(self, action: str) -> RunResult:
        if self.main:
            control.clear_request(self.run.root)
        return self._finish("paused" if action == "pause" else "stopped")

    def _finish(self, status: str) -> RunResult:
        calibration = None
        if self.main:
            self._save_last()
            if status == "finished":  # part of finishing: a crash here leaves a run that a resume finishes
                calibration = calibrate_best(self.run, self.val_store, self.val_labels, self.spec,
                                             self.config.batch_size, self.device, self.progress)
            self.run.set_status(status, epoch=self.epoch, step=self.step, epochs=self.config.epochs,
                                best_epoch=self.best_epoch, best_metric=self.best_metric)
            if status == "finished":
                atomic.write_json(self.run.metrics, {
                    "select_metric": self.config.select_metric, "best_epoch": self.best_epoch,
                    "best": self.best_metrics, "history": self.history, "classes": self.classes,
                    "classmill_version": __version__})
        end = {"type": "status", "status": status, "epoch": self.epoch, "step": self.step}
        self.fire("on_train_end", {**end, "calibration": calibration} if calibration else end)
        barrier()
        return RunResult(status=status, run_dir=self.run.root, epochs_completed=self.epoch,
                         best_epoch=self.best_epoch, best_metric=self.best_metric,
                         select_metric=self.config.select_metric, best_metrics=self.best_metrics,
                         wall_seconds=time.perf_counter() - self.started, calibration=calibration)
