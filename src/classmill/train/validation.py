"""Validation metrics the trainer selects the best checkpoint by, as the evaluation report defines them.

One implementation: the numbers come from classmill.evaluate.metrics, so a run's history and
its report agree (macro averages over the classes present in the split; top-k for k >= the
number of classes is 1.0, as in the report, since every class is then among the top k).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from classmill.evaluate.inputs import validate_predictions
from classmill.evaluate.metrics import MAX_TOP_K, compute_overall_metrics


def validation_metrics(logits: torch.Tensor, labels: torch.Tensor, classes: list[str]) -> dict:
    logits = logits.float()
    probs = F.softmax(logits.double(), dim=1).numpy()
    overall = compute_overall_metrics(validate_predictions(labels.numpy(), probs, classes))
    return {
        "loss": float(F.cross_entropy(logits, labels)),
        "top1": overall.accuracy,
        "top5": overall.top_k_accuracy[min(MAX_TOP_K, len(classes))],
        "precision": overall.macro_precision,
        "recall": overall.macro_recall,
        "f1": overall.macro_f1,
        "images": overall.n_images,
    }


def beats(candidate: dict, best: dict, select_metric: str) -> bool:
    """Whether a checkpoint's validation metrics make it the new best.

    A higher select_metric wins; at an equal one, the lower validation loss. A small validation
    split ties often (casting's 120 images: three fine-tune epochs all at 97.5 % top-1, held-out
    test 98.7 / 100 / 100 %), and keeping the first of the tied ones threw away the later, better fitted
    epochs; the loss, which tells them apart, favours the model that is right with more confidence.
    """
    if not best:
        return True
    value, held = candidate[select_metric], best[select_metric]
    return value > held or (value == held and candidate["loss"] < best["loss"])
