"""The pieces of a training step that need no engine state: which parameters and BatchNorm layers
train, mixed precision, the EMA, the epoch's running totals and how many images an epoch uses."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from timm.utils.model_ema import ModelEmaV3

from classmill.models import backbone_and_head_parameters, early_stages
from classmill.train.config import TrainConfig

# EMA decay warm-up (timm's ModelEmaV3): 1 - (1 + step)^-power, capped at config.ema_decay. A
# fixed 0.998 over a 300-step run leaves ~55 % of the starting weights in the average; with the
# warm-up the average forgets its start (decay 0.98 at step 300, 0.998 near step 4000).
_EMA_WARMUP_POWER = 3 / 4


@dataclass
class EpochTotals:
    """The running training loss and accuracy of the current epoch (this process's shard)."""

    loss_sum: float = 0.0
    correct: int = 0
    seen: int = 0

    def add(self, loss: torch.Tensor, logits: torch.Tensor, y: torch.Tensor) -> None:
        self.loss_sum += float(loss.detach()) * len(y)
        self.correct += int((logits.argmax(1) == y).sum())
        self.seen += len(y)

    @property
    def mean_loss(self) -> float:
        return round(self.loss_sum / max(self.seen, 1), 5)

    def summary(self) -> dict:
        return {"train_loss": self.mean_loss, "train_top1": round(self.correct / max(self.seen, 1), 5)}


def make_ema(model: torch.nn.Module, decay: float, saved: dict | None = None) -> ModelEmaV3:
    """An EMA of `model` whose decay warms up to `decay`; update it with update(model, step=optimizer steps)."""
    ema = ModelEmaV3(model, decay=decay, use_warmup=True, warmup_power=_EMA_WARMUP_POWER)
    if saved is not None:
        ema.module.load_state_dict(saved)
    return ema


def autocast_dtype(config: TrainConfig, device: torch.device):
    if config.amp == "off" or (config.amp == "auto" and device.type != "cuda"):
        return None
    if config.amp == "fp16" or (config.amp == "auto" and not torch.cuda.is_bf16_supported()):
        return torch.float16
    return torch.bfloat16


def set_trainable(model: torch.nn.Module, config: TrainConfig, epoch: int) -> None:
    frozen = config.freeze == "backbone" or (config.freeze == "progressive" and epoch < config.progressive_epochs)
    for p in backbone_and_head_parameters(model).backbone:
        p.requires_grad_(not frozen)
    fixed_stages = early_stages(model, config.freeze_stages) if config.freeze_stages and not frozen else []
    for module in fixed_stages:
        module.requires_grad_(False)
    model.train()
    if frozen or config.freeze_bn:  # keep the BatchNorm statistics the (pretrained or probed) head expects
        for module in model.modules():
            if isinstance(module, torch.nn.modules.batchnorm._BatchNorm):
                module.eval()
    for module in fixed_stages:  # fixed means fixed: their BatchNorm statistics too
        module.eval()


def trained_images_per_epoch(images: int, batch_size: int, world: int) -> int:
    """How many of an epoch's shuffled images are trained on: all, unless the last batch would leave
    a process a single image. BatchNorm in train mode cannot normalise one sample ("Expected more
    than 1 value per channel"), so that remainder (a different one each epoch) is dropped, like
    timm's drop_last but only where it would fail."""
    remainder = images % batch_size
    if images > batch_size and 0 < remainder < 2 * world:
        return images - remainder
    return images

