"""Re-estimate BatchNorm statistics on the training images before the probe ("AdaBN").

A pretrained backbone normalises every layer with ImageNet's running means and variances. On
images unlike ImageNet (grey castings, 32 px photos upscaled) those statistics are off, so the
features the probe fits its head on are skewed, and fine-tuning with BatchNorm in train mode then
normalises by batch statistics the head was never fitted on. Re-estimating the statistics on the
run's own images first (Li et al. 2016, "Revisiting Batch Normalization For Practical Domain
Adaptation") makes the probe's features and the fine-tune's agree, so BatchNorm can train.
"""

from __future__ import annotations

import torch

from classmill.preprocess import PreprocessSpec
from classmill.progress import PhaseProgress
from classmill.train.pipeline import ImageStore, eval_batches


def adaptation_indices(n: int, max_images: int) -> range | list[int]:
    """Evenly spread images of the n (all when n <= max_images): deterministic, covers every class."""
    if n <= max_images:
        return range(n)
    step = n / max_images
    return [int(i * step) for i in range(max_images)]


@torch.no_grad()
def adapt_batchnorm(model: torch.nn.Module, store: ImageStore, spec: PreprocessSpec, device: torch.device,
                    batch_size: int, *, max_images: int, progress: PhaseProgress | None = None) -> int:
    """Replace every BatchNorm layer's running statistics by those of `store`'s images (evaluation
    preprocessing, at most max_images of them); returns the number of images used."""
    layers = [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    if not layers or len(store) < 2:
        return 0
    momenta = [m.momentum for m in layers]
    for layer in layers:
        layer.reset_running_stats()
        layer.momentum = None  # a cumulative average over the batches, not an exponential one
    was_training = model.training
    model.train()
    used = 0
    try:
        for x in eval_batches(store, spec, batch_size, device, adaptation_indices(len(store), max_images)):
            if len(x) < 2:  # train-mode BatchNorm cannot normalise a single image
                continue
            model(x)
            used += len(x)
            if progress is not None:
                progress.advance(len(x))
    finally:
        for layer, momentum in zip(layers, momenta):
            layer.momentum = momentum
        model.train(was_training)
    return used
