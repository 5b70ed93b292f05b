"""Losses for imbalanced, noisy, real-world labels: cross-entropy with smoothing, focal, class weights, mixup."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from classmill.train.seeding import derive_seed


def class_weights(counts: list[int]) -> torch.Tensor:
    """Inverse-frequency weights normalised to mean 1: n / (C * count)."""
    c = torch.tensor([max(x, 1) for x in counts], dtype=torch.float32)
    return c.sum() / (len(counts) * c)


def soft_targets(labels: torch.Tensor, num_classes: int, smoothing: float) -> torch.Tensor:
    one_hot = F.one_hot(labels, num_classes).float()
    return one_hot * (1 - smoothing) + smoothing / num_classes


class Criterion:
    """loss(logits, targets) where targets are class probabilities (so mixup and smoothing compose)."""

    def __init__(self, kind: str, num_classes: int, smoothing: float, weights: torch.Tensor | None, gamma: float):
        self.kind, self.num_classes, self.smoothing, self.gamma = kind, num_classes, smoothing, gamma
        self.weights = weights

    def targets(self, labels: torch.Tensor) -> torch.Tensor:
        return soft_targets(labels, self.num_classes, self.smoothing if self.kind == "ce" else 0.0)

    def __call__(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        log_p = F.log_softmax(logits.float(), dim=1)
        per_class = -targets * log_p
        if self.kind == "focal":
            per_class = per_class * (1 - log_p.exp()).pow(self.gamma)
        if self.weights is not None:
            w = self.weights.to(logits.device)
            # Weighted mean, as F.cross_entropy does, so the loss scale does not depend on the batch mix.
            sample_w = (targets * w).sum(1)
            return (per_class * w).sum(1).sum() / sample_w.sum().clamp_min(1e-12)
        return per_class.sum(1).mean()


def mixup(x: torch.Tensor, targets: torch.Tensor, alpha: float, seed: int, epoch: int, step: int):
    """Mix the batch with a shuffled copy of itself; deterministic for (seed, epoch, step)."""
    rng = np.random.default_rng(derive_seed(seed, epoch, step, 0x313))
    lam = float(rng.beta(alpha, alpha))
    perm = torch.from_numpy(rng.permutation(x.shape[0]))
    return lam * x + (1 - lam) * x[perm], lam * targets + (1 - lam) * targets[perm]
