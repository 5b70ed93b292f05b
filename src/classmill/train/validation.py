"""Validation metrics the trainer selects the best checkpoint by (the full report is classmill.evaluate)."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.metrics import precision_recall_fscore_support, top_k_accuracy_score


def validation_metrics(logits: torch.Tensor, labels: torch.Tensor) -> dict:
    num_classes = logits.shape[1]
    y = labels.numpy()
    probs = F.softmax(logits.float(), dim=1).numpy()
    pred = probs.argmax(1)
    all_labels = np.arange(num_classes)
    precision, recall, f1, _ = precision_recall_fscore_support(y, pred, labels=all_labels, average="macro", zero_division=0)
    k = min(5, num_classes - 1) if num_classes > 2 else 1
    return {
        "loss": float(F.cross_entropy(logits.float(), labels)),
        "top1": float((pred == y).mean()),
        "top5": float(top_k_accuracy_score(y, probs, k=k, labels=all_labels)) if num_classes > 2 else float((pred == y).mean()),
        "precision": float(precision),
        "recall": float(recall),
        "f1": float(f1),
        "images": int(len(y)),
    }
