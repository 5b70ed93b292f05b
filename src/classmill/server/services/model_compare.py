"""Compare two model versions: metrics side by side, the options that differ, and the images whose verdict changed.

Any two versions the user can read, from one project or two. Per-class numbers cover the classes
both learned (with a note when the sets differ); overall numbers are each version's own. Images
are matched by content hash among those both evaluated on the split, so a relabelled image (its
label differs between the two dataset versions) is judged against each version's own label.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
from sqlalchemy.orm import Session

from classmill.server.db.datasets import DatasetVersion
from classmill.server.db.models import User
from classmill.server.db.training import ModelVersion
from classmill.server.services.model_images import original_names
from classmill.server.services.model_predictions import SplitPredictions, version_predictions

OVERALL_METRICS = ("accuracy", "macro_precision", "macro_recall", "macro_f1", "weighted_f1", "top5", "macro_auc",
                   "cohen_kappa")
CLASS_METRICS = ("precision", "recall", "f1")
VERDICTS = ("fixed", "broken", "changed")


@dataclass(frozen=True)
class SideBySide:
    a: float | None
    b: float | None
    delta: float | None  # b - a; None when either is undefined

    @classmethod
    def of(cls, a, b) -> "SideBySide":
        a, b = _number(a), _number(b)
        return cls(a, b, None if a is None or b is None else b - a)


@dataclass(frozen=True)
class ClassComparison:
    name: str
    support_a: int | None
    support_b: int | None
    metrics: dict[str, SideBySide]  # precision, recall, f1


@dataclass(frozen=True)
class MetricComparison:
    overall: dict[str, SideBySide]
    per_class: list[ClassComparison]  # the shared classes, in a's order
    shared_classes: list[str]
    only_a: list[str]
    only_b: list[str]
    note: str | None  # said when the class sets differ


@dataclass(frozen=True)
class VerdictChange:
    content_hash: str
    label_a: str
    label_b: str
    predicted_a: str
    predicted_b: str
    confidence_a: float  # the probability of each version's top-1 answer
    confidence_b: float
    original_name: str | None = None


@dataclass(frozen=True)
class VerdictChanges:
    shared: int  # images both evaluated
    only_a: int
    only_b: int
    counts: dict[str, int]  # fixed, broken, changed, unchanged
    images: dict[str, list[VerdictChange]] = field(default_factory=dict)  # each verdict's first `limit`


@dataclass(frozen=True)
class VersionSummary:
    id: int
    project_id: int
    number: int
    task_name: str
    epochs: int
    classes: list[str]
    dataset_id: int
    dataset_version: int  # its number in its dataset
    dataset_version_id: int


@dataclass(frozen=True)
class Comparison:
    split: str
    a: VersionSummary
    b: VersionSummary
    metrics: MetricComparison
    config_differences: dict[str, dict]  # option -> {"a": value, "b": value}, only the options that differ
    images: VerdictChanges


def _number(value) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _overall(metrics: dict, name: str):
    if name == "top5":  # k -> accuracy; keys are text once stored as JSON
        top_k = metrics.get("top_k_accuracy") or {}
        return top_k.get("5", top_k.get(5))
    return metrics.get(name)


def compare_metrics(a: dict, b: dict, classes_a: list[str], classes_b: list[str]) -> MetricComparison:
    """One split's metrics of two versions ({overall..., "per_class": {name: row}}), b - a."""
    shared = [name for name in classes_a if name in classes_b]
    only_a = [name for name in classes_a if name not in classes_b]
    only_b = [name for name in classes_b if name not in classes_a]
    rows_a, rows_b = a.get("per_class") or {}, b.get("per_class") or {}
    per_class = [ClassComparison(name, (rows_a.get(name) or {}).get("support"), (rows_b.get(name) or {}).get("support"),
                                 {m: SideBySide.of((rows_a.get(name) or {}).get(m), (rows_b.get(name) or {}).get(m))
                                  for m in CLASS_METRICS})
                 for name in shared]
    note = None
    if only_a or only_b:
        note = (f"The versions learned different classes: per-class numbers cover the {len(shared)} shared ones; "
                "overall numbers are each version's own, over its own classes.")
    return MetricComparison({m: SideBySide.of(_overall(a, m), _overall(b, m)) for m in OVERALL_METRICS},
                            per_class, shared, only_a, only_b, note)


def config_differences(a: dict, b: dict) -> dict[str, dict]:
    """The training options whose values differ (an option only one has counts, with None for the other)."""
    return {name: {"a": a.get(name), "b": b.get(name)} for name in sorted(set(a) | set(b))
            if a.get(name) != b.get(name)}


def verdict_changes(a: SplitPredictions, b: SplitPredictions, limit: int) -> VerdictChanges:
    """Images both evaluated whose verdict changed: fixed (wrong in a, right in b), broken (the reverse),
    changed (another answer, same rightness). Each list is the first `limit`, the most confident
    wrong answer first (a's for fixed, b's for broken, either's for changed), then by hash."""
    _, ia, ib = np.intersect1d(a.hashes, b.hashes, return_indices=True)
    names_a, names_b = np.asarray(a.classes, dtype=str), np.asarray(b.classes, dtype=str)
    label_a, label_b = names_a[a.labels[ia]], names_b[b.labels[ib]]
    predicted_a, predicted_b = names_a[a.predicted[ia]], names_b[b.predicted[ib]]
    right_a, right_b = predicted_a == label_a, predicted_b == label_b
    confidence_a, confidence_b = a.confidence[ia], b.confidence[ib]
    masks = {"fixed": ~right_a & right_b, "broken": right_a & ~right_b}
    masks["changed"] = (predicted_a != predicted_b) & ~masks["fixed"] & ~masks["broken"]
    keys = {"fixed": confidence_a, "broken": confidence_b, "changed": np.maximum(confidence_a, confidence_b)}
    hashes = a.hashes[ia]
    images = {}
    for verdict in VERDICTS:
        rows = np.flatnonzero(masks[verdict])
        rows = rows[np.lexsort((hashes[rows], -keys[verdict][rows]))][:limit]
        images[verdict] = [VerdictChange(str(hashes[r]), str(label_a[r]), str(label_b[r]), str(predicted_a[r]),
                                         str(predicted_b[r]), float(confidence_a[r]), float(confidence_b[r]))
                           for r in rows]
    counts = {verdict: int(masks[verdict].sum()) for verdict in VERDICTS}
    counts["unchanged"] = len(ia) - sum(counts.values())
    return VerdictChanges(len(ia), a.n_images - len(ia), b.n_images - len(ia), counts, images)


def _summary(session: Session, version: ModelVersion) -> VersionSummary:
    dataset_version = session.get(DatasetVersion, version.dataset_version_id)
    return VersionSummary(version.id, version.project_id, version.number, version.task_name, version.epochs,
                          list(version.classes), dataset_version.dataset_id, dataset_version.number,
                          dataset_version.id)


def _with_names(session: Session, changes: VerdictChanges, a: ModelVersion, b: ModelVersion) -> VerdictChanges:
    listed = [change.content_hash for group in changes.images.values() for change in group]
    names = original_names(session, b.dataset_version_id, listed)
    names.update(original_names(session, a.dataset_version_id, listed))  # a's name wins where both have one
    images = {verdict: [replace(change, original_name=names.get(change.content_hash)) for change in group]
              for verdict, group in changes.images.items()}
    return replace(changes, images=images)


def compare_versions(session: Session, user: User, a_id: int, b_id: int, split: str, limit: int,
                     workspace: Path) -> Comparison:
    """Versions a and b (read access to each) compared on `split`; differences are b - a."""
    a, predictions_a = version_predictions(session, user, a_id, split, workspace)
    b, predictions_b = version_predictions(session, user, b_id, split, workspace)
    metrics = compare_metrics(a.metrics.get(split) or {}, b.metrics.get(split) or {}, list(a.classes),
                              list(b.classes))
    changes = _with_names(session, verdict_changes(predictions_a, predictions_b, limit), a, b)
    return Comparison(split, _summary(session, a), _summary(session, b), metrics,
                      config_differences(a.config or {}, b.config or {}), changes)
