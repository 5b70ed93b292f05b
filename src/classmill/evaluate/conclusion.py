"""The few sentences at the top of the report: a verdict and where to look next.

Accuracy alone misleads on imbalanced sets (99 % "ok" images make 99 % accuracy free), so the
verdict also looks at macro recall, and the text always names the weakest class and the most
confused pair: that is what a user acts on.
"""

from __future__ import annotations

from dataclasses import dataclass

from classmill.evaluate.calibration import Calibration
from classmill.evaluate.formatting import percent
from classmill.evaluate.metrics import ClassMetrics, ConfusionMatrix, OverallMetrics

GOOD_ACCURACY = 0.95
FAIR_ACCURACY = 0.85
# A macro recall this far below accuracy means a frequent class hides weak rare ones.
IMBALANCE_GAP = 0.10
NOTABLE_ECE = 0.05
FEW_IMAGES = 100


@dataclass(frozen=True)
class Finding:
    """One fact of the conclusion as data, so a reader in another language can word it itself.

    `kind` names the sentence; `values` holds its raw numbers and names (fractions, not "97.5 %").
    """

    kind: str
    values: dict


@dataclass(frozen=True)
class Conclusion:
    verdict: str  # "Good", "Fair" or "Poor"
    text: str  # the sentences after the verdict: every reader (CLI, HTML badge, PDF) shows the verdict itself
    findings: list[Finding]  # the same sentences as data, in order; the web UI translates them


def write_conclusion(
    overall: OverallMetrics,
    per_class: list[ClassMetrics],
    confusion: ConfusionMatrix,
    calibration: Calibration,
) -> Conclusion:
    findings = _findings(overall, per_class, confusion, calibration)
    return Conclusion(
        verdict=_verdict(overall),
        text=" ".join(_ENGLISH[f.kind](**f.values) for f in findings),
        findings=findings,
    )


def _findings(
    overall: OverallMetrics,
    per_class: list[ClassMetrics],
    confusion: ConfusionMatrix,
    calibration: Calibration,
) -> list[Finding]:
    findings = [Finding("accuracy", {"accuracy": overall.accuracy, "n_images": overall.n_images})]
    if overall.accuracy - overall.macro_recall > IMBALANCE_GAP:
        findings.append(Finding("hidden_weak_classes", {"macro_recall": overall.macro_recall}))
    scored = [row for row in per_class if row.f1 is not None]
    if scored and overall.accuracy < 1.0:
        weakest = min(scored, key=lambda row: (row.f1, row.name))
        pairs = confusion.most_confused_pairs(limit=1)
        if pairs:
            true_name, predicted_name, count = pairs[0]
            findings.append(Finding("weakest_class_and_pair", {
                "name": weakest.name, "f1": weakest.f1,
                "true_name": true_name, "predicted_name": predicted_name, "count": count,
            }))
        else:
            findings.append(Finding("weakest_class", {"name": weakest.name, "f1": weakest.f1}))
    elif overall.accuracy == 1.0:
        findings.append(Finding("all_correct", {}))

    absent = [row.name for row in per_class if row.support == 0]
    if absent:
        findings.append(Finding("absent_classes", {"names": absent[:5], "more": max(len(absent) - 5, 0)}))
    if calibration.ece >= NOTABLE_ECE:
        findings.append(Finding("calibration", {"direction": calibration.direction, "ece": calibration.ece}))
    if overall.n_images < FEW_IMAGES:
        findings.append(Finding("few_images", {"n_images": overall.n_images, "step": 1 / overall.n_images}))
    return findings


def _weakest(name: str, f1: float) -> str:
    return f"Weakest class {name} (F1 {f1:.2f})"


def _absent(names: list[str], more: int) -> str:
    listed = ", ".join(names) + (f" and {more} more" if more else "")
    which = "that class is" if len(names) == 1 and not more else "those classes are"
    return f"No images of {listed} in this split, so {which} not measured."


# The English sentence of each finding kind; the web UI's catalog has one msgid per kind too.
_ENGLISH = {
    "accuracy": lambda accuracy, n_images: f"Accuracy {percent(accuracy)} on {n_images:,} images.",
    "hidden_weak_classes": lambda macro_recall: (
        f"Accuracy hides weak classes: the average recall per class is only {percent(macro_recall)}."
    ),
    "weakest_class": lambda name, f1: _weakest(name, f1) + ".",
    "weakest_class_and_pair": lambda name, f1, true_name, predicted_name, count: (
        _weakest(name, f1)
        + f"; most confused pair {true_name}→{predicted_name} ({count} image{'s' if count != 1 else ''})."
    ),
    "all_correct": lambda: (
        "Every image was classified correctly; check that the split is not a copy of the training data."
    ),
    "absent_classes": _absent,
    "calibration": lambda direction, ece: (
        f"Confidences are {direction} (ECE {ece:.3f}): treat raw probabilities with care when choosing thresholds."
    ),
    "few_images": lambda n_images, step: (
        f"Only {n_images} images: each one moves accuracy by {percent(step)}, so treat these numbers as rough."
    ),
}


def _verdict(overall: OverallMetrics) -> str:
    if overall.accuracy >= GOOD_ACCURACY and overall.macro_recall >= GOOD_ACCURACY - IMBALANCE_GAP:
        return "Good"
    if overall.accuracy >= FAIR_ACCURACY and overall.macro_recall >= FAIR_ACCURACY - IMBALANCE_GAP:
        return "Fair"
    return "Poor"
