"""Options whose best value depends on the data, decided once the run's split is known.

An option set to "auto" is replaced here by a concrete value, with the reason, before the run's
config.yaml is written: the file then says what the run actually did and why, and a resume or an
extension reads concrete values and decides nothing again.
"""

from __future__ import annotations

import dataclasses
import math
import statistics

from classmill.data import Dataset
from classmill.train.config import AUTO, TrainConfig

# Input size when image_size is unset: the training images' median shorter side times UPSCALE,
# rounded to a multiple of 32, kept within the preset's (smallest, largest); then, for a large dataset,
# lowered to fit the preset's pixel budget (training images x side^2), down to BUDGET_FLOOR, so it trains
# at a smaller size rather than for hours. Small images are still upscaled to the preset's smallest size:
# on cifar10-mini (32 px), balanced, seed 0, 250 held-out images, 96 px scored 64.0 % in 29 s, 128 px
# 68.0 % in 49 s, 160 px 69.2 % in 79 s (an ImageNet backbone needs objects near the size it learnt them at).
UPSCALE = 2.0
SIZE_RANGES = {"fast": (128, 160), "balanced": (128, 160), "accurate": (128, 260)}
PIXEL_BUDGETS = {"fast": 160 * 160 * 20_000, "balanced": 160 * 160 * 10_000, "accurate": 260 * 260 * 10_000}
BUDGET_FLOOR = 96

# Largest class / smallest class at which "auto" balancing switches on: where a plain loss starts to
# trade the small class's recall for the large one's (a judgement, not yet measured in bench/).
IMBALANCE_RATIO = 3.0


def decide_from_data(config: TrainConfig, dataset: Dataset) -> TrainConfig:
    """`config` with every "auto" option decided from the training split; `config.data_choices`
    lists each decision as {"option", "value", "reason"}."""
    choices: list[dict] = []
    values: dict = {}
    if config.class_balance == AUTO:
        value, reason = _class_balance(dataset.counts("train"))
        values["class_balance"] = value
        choices.append({"option": "class_balance", "value": value, "reason": reason})
    if config.image_size is None:
        value, reason = _input_size(config, dataset.in_split("train"))
        values["image_size"] = value
        choices.append({"option": "image_size", "value": value, "reason": reason})
    if not choices:
        return config
    return dataclasses.replace(config, **values, data_choices=[*config.data_choices, *choices])


def _class_balance(counts: dict[str, int]) -> tuple[str, str]:
    present = {label: n for label, n in counts.items() if n > 0}
    largest = max(present, key=present.get)
    smallest = min(present, key=present.get)
    ratio = present[largest] / present[smallest]
    if ratio >= IMBALANCE_RATIO:
        return "weights", (f"the largest class ({largest!r}, {present[largest]} training images) has {ratio:.1f}x "
                           f"the smallest ({smallest!r}, {present[smallest]}): loss weights balance them, and "
                           "macro F1 is the measure to read")
    return "none", f"classes within {ratio:.1f}x of each other (balancing starts at {IMBALANCE_RATIO:g}x)"


def _input_size(config: TrainConfig, records) -> tuple[int, str]:
    from classmill.models import get_model_entry  # the registry pulls in timm; only a new run needs it

    entry = get_model_entry(config.model)
    if entry.fixed_input_size:
        return entry.input_size, f"{config.model} takes {entry.input_size} px inputs only"
    preset = config.preset
    smallest, largest = SIZE_RANGES.get(preset, SIZE_RANGES["balanced"])
    budget = PIXEL_BUDGETS.get(preset, PIXEL_BUDGETS["balanced"])
    sides = [min(r.width, r.height) for r in records if r.width and r.height]
    native = statistics.median(sides) if sides else largest
    wanted = 32 * round(native * UPSCALE / 32)
    size = min(largest, max(smallest, wanted))
    reason = (f"the training images' median shorter side is {native:g} px; {UPSCALE:g}x that, within the "
              f"{preset} range {smallest}-{largest} px")
    affordable = 32 * math.floor(math.sqrt(budget / max(len(records), 1)) / 32)
    if affordable < size:
        size = max(BUDGET_FLOOR, affordable)
        reason += (f", lowered for {len(records):,} training images so the run stays within the preset's "
                   "time budget")
    return size, reason
