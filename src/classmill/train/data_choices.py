"""Options whose best value depends on the data, decided once the run's split is known.

An option set to "auto" is replaced here by a concrete value, with the reason, before the run's
config.yaml is written: the file then says what the run actually did and why, and a resume or an
extension reads concrete values and decides nothing again.
"""

from __future__ import annotations

import dataclasses

from classmill.data import Dataset
from classmill.train.config import AUTO, TrainConfig

# Largest class / smallest class at which "auto" balancing switches on. At 3x a plain loss already
# trades the small class's recall for the large one's; below it balancing costs more than it gives.
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
