"""Training augmentation, layered on top of the preprocessing spec.

Every random choice comes from a generator seeded by (run seed, epoch, sample position), so the
same run replays the same augmentations in any thread, after any resume.
"""

from __future__ import annotations

import math

import torch
from torchvision.transforms.v2 import functional as F

LEVELS = {
    # scale range of the random crop, and whether colour/rotation/vertical flips are used
    "light": dict(scale=(0.6, 1.0), colour=0.0, rotate=0.0, vflip=False),
    "strong": dict(scale=(0.35, 1.0), colour=0.3, rotate=15.0, vflip=True),
}


def _uniform(g: torch.Generator, lo: float, hi: float) -> float:
    return lo + (hi - lo) * float(torch.rand((), generator=g))


def random_resized_crop_box(height: int, width: int, scale: tuple[float, float], g: torch.Generator) -> tuple[int, int, int, int]:
    area = height * width
    log_ratio = (math.log(3 / 4), math.log(4 / 3))
    for _ in range(10):
        target = area * _uniform(g, *scale)
        ratio = math.exp(_uniform(g, *log_ratio))
        w = int(round(math.sqrt(target * ratio)))
        h = int(round(math.sqrt(target / ratio)))
        if 0 < w <= width and 0 < h <= height:
            top = int(torch.randint(0, height - h + 1, (), generator=g))
            left = int(torch.randint(0, width - w + 1, (), generator=g))
            return top, left, h, w
    side = min(height, width)  # fall back to a centre square
    return (height - side) // 2, (width - side) // 2, side, side


def augment(image: torch.Tensor, size: int, level: str, g: torch.Generator) -> torch.Tensor:
    """uint8 CHW image (the cached decode) -> uint8 CHW size x size, randomly transformed."""
    params = LEVELS[level]
    _, h, w = image.shape
    top, left, ch, cw = random_resized_crop_box(h, w, params["scale"], g)
    out = F.resized_crop(image, top, left, ch, cw, [size, size], antialias=True)
    if torch.rand((), generator=g) < 0.5:
        out = F.horizontal_flip(out)
    if params["vflip"] and torch.rand((), generator=g) < 0.5:
        out = F.vertical_flip(out)
    if params["rotate"]:
        out = F.rotate(out, _uniform(g, -params["rotate"], params["rotate"]))
    if params["colour"]:
        c = params["colour"]
        out = F.adjust_brightness(out, _uniform(g, 1 - c, 1 + c))
        out = F.adjust_contrast(out, _uniform(g, 1 - c, 1 + c))
        out = F.adjust_saturation(out, _uniform(g, 1 - c, 1 + c))
    return out
