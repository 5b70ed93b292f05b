"""Where the fine-tune starts after the linear probe: from the probed head, or from a fresh one.

The probe's validation top-1 says how well the pretrained features already separate the classes.
Where they do, the fine-tune should only refine them: start from the probed head and move every
layer gently (refine_lr). Where they do not, the features must move, and a probed head holds them
back: its loss is already low on the training images, so the backbone gets little gradient. Then
the fine-tune starts from a fresh head at the full lr, the backbone at lr x backbone_lr_scale, and
the probed head stays a validated candidate (the safety net) either way.

Measured with bench.epoch_scores (held-out test top-1 of the checkpoint picked on val, seed 0, the
quality benchmark's split; bench/results/quality/epoch_scores.jsonl):
  casting (probe val 96.7 %): probed head at 1e-4 throughout, stem and stages 0-2 fixed, 3 epochs:
      100 %; fresh head at 1e-3 (backbone 2e-4), 5 epochs: 98.0 %; probed head at 1e-3 / 2e-4, 5 epochs:
      falls to 88.7 % at epoch 2, picked 98.7 %.
  sign-digits (probe val 88.3 %): probed head at 1e-4, 3 epochs: 95.4 %; probed head at 1e-3 / 2e-4,
      5 epochs: 98.3 %; fresh head at 1e-3 / 2e-4, 5 epochs: 99.2 %.
  cifar10-mini (probe val 60.0 %): probed head at 1e-4, 3 epochs: 66.8 %; fresh head, 5 epochs: 73.6 %.
Tried for the fresh start and not taken (seeds 0 / 1): BatchNorm in train mode with the backbone at the
full lr, as the plain fine-tune does, gives sign-digits 99.6 / 99.4 % (against 99.2 / 98.5 %) but
cifar10-mini 60.8 / 68.8 % (against 73.6 / 78.4 %); the backbone at the full lr with BatchNorm frozen,
cifar10-mini 66.4 %; 8 epochs instead of 5, sign-digits 99.2 / 99.2 % (seed 2: 98.1 %); BatchNorm in
train mode at the preset's backbone lr, cifar10-mini 62.0 % (its epochs 43-57 %; statistics re-estimated
on the training images with evaluation preprocessing do not rescue it: 59 %); 192 px instead of 160,
sign-digits 98.3 %; statistics re-estimated before the probe and kept frozen through a fresh start
(AdaBN), sign-digits 96.3 % at epoch 4 of 5. On sign-digits' hardest split (seed 2: 97.5 %, the plain
fine-tune 99.2 %): an EMA of the weights 97.3 % (cifar10-mini seed 0 77.6 %); the crop scale range
(0.25, 1) instead of (0.6, 1) 96.3 %; no label smoothing 98.1 %, but seeds 0 / 1 fall to 98.8 / 97.3 %;
BatchNorm in train mode with the backbone at the full lr 98.6 %; mixup 0.2 97.1 %; lr 2e-3 96.9 %;
weight decay 0.05 97.1 %. Stage 2 trained too (freeze_stages 2), seeds 0 / 1 / 2 against the preset's
quality cells: sign-digits 98.8 / 98.5 / 98.3 % (99.2 / 98.3 / 97.5 %), cifar10-mini
76.4 / 80.4 / 76.8 % (74.4 / 78.8 / 78.0 %); seed 0, casting 99.3 % (100 %), neu-steel 99.8 % (99.6 %):
within a split's noise, not taken. sign-digits stays about a point under the plain fine-tune (three
repeats, bench/results/quality/quality.md); the only recipe found that narrows it costs cifar10-mini more.
"""

from __future__ import annotations

from classmill.train.config import AUTO, TrainConfig

# Probe validation top-1 from which the features are taken to suit the data (casting 96.7 %,
# neu-steel 99.4 % above; sign-digits 88.3 %, cifar10-mini 60.0 % below).
SUITED_FEATURES = 0.95

PROBE, FRESH = "probe", "fresh"


def choose_head_start(config: TrainConfig, probe_metrics: dict) -> tuple[str, str]:
    """(PROBE or FRESH, why) for a run whose probed head scored `probe_metrics` on validation."""
    top1 = probe_metrics["top1"]
    if config.head_start != AUTO:
        return config.head_start, f"--head-start {config.head_start}"
    if top1 >= SUITED_FEATURES:
        return PROBE, (f"the probed head's validation top-1 is {top1:.1%} (at least {SUITED_FEATURES:.0%}): the "
                       "pretrained features suit the data, so the fine-tune refines them from the probed head")
    return FRESH, (f"the probed head's validation top-1 is {top1:.1%} (under {SUITED_FEATURES:.0%}): the features "
                   "must move, so the fine-tune starts from a fresh head; the probed head stays a candidate")


def group_lr_scales(config: TrainConfig, start: str) -> tuple[float, float]:
    """(head, backbone) multipliers of the scheduled lr for a fine-tune starting at `start`."""
    if start == PROBE and config.refine_lr is not None:
        scale = config.refine_lr / config.lr
        return scale, scale
    return 1.0, config.backbone_lr_scale
