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
class Conclusion:
    verdict: str  # "Good", "Fair" or "Poor"
    text: str  # the sentences after the verdict: every reader (CLI, HTML badge, PDF) shows the verdict itself


def write_conclusion(
    overall: OverallMetrics,
    per_class: list[ClassMetrics],
    confusion: ConfusionMatrix,
    calibration: Calibration,
) -> Conclusion:
    verdict = _verdict(overall)
    sentences = [f"Accuracy {percent(overall.accuracy)} on {overall.n_images:,} images."]

    if overall.accuracy - overall.macro_recall > IMBALANCE_GAP:
        sentences.append(
            f"Accuracy hides weak classes: the average recall per class is only {percent(overall.macro_recall)}."
        )
    scored = [row for row in per_class if row.f1 is not None]
    if scored and overall.accuracy < 1.0:
        weakest = min(scored, key=lambda row: (row.f1, row.name))
        clause = f"Weakest class {weakest.name} (F1 {weakest.f1:.2f})"
        pairs = confusion.most_confused_pairs(limit=1)
        if pairs:
            true_name, predicted_name, count = pairs[0]
            clause += f"; most confused pair {true_name}→{predicted_name} ({count} image{'s' if count != 1 else ''})"
        sentences.append(clause + ".")
    elif overall.accuracy == 1.0:
        sentences.append("Every image was classified correctly; check that the split is not a copy of the training data.")

    absent = [row.name for row in per_class if row.support == 0]
    if absent:
        listed = ", ".join(absent[:5]) + (f" and {len(absent) - 5} more" if len(absent) > 5 else "")
        which = "that class is" if len(absent) == 1 else "those classes are"
        sentences.append(f"No images of {listed} in this split, so {which} not measured.")
    if calibration.ece >= NOTABLE_ECE:
        sentences.append(
            f"Confidences are {calibration.direction} (ECE {calibration.ece:.3f}): "
            "treat raw probabilities with care when choosing thresholds."
        )
    if overall.n_images < FEW_IMAGES:
        sentences.append(
            f"Only {overall.n_images} images: each one moves accuracy by {percent(1 / overall.n_images)}, "
            "so treat these numbers as rough."
        )
    return Conclusion(verdict=verdict, text=" ".join(sentences))


def _verdict(overall: OverallMetrics) -> str:
    if overall.accuracy >= GOOD_ACCURACY and overall.macro_recall >= GOOD_ACCURACY - IMBALANCE_GAP:
        return "Good"
    if overall.accuracy >= FAIR_ACCURACY and overall.macro_recall >= FAIR_ACCURACY - IMBALANCE_GAP:
        return "Fair"
    return "Poor"
