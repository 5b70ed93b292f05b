"""How the server opens a model version's bundle to test it: one function for the single-image test
(in the server process) and the batch test (in its job process), so both answer alike.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Mapping

from classmill.errors import UserError

if TYPE_CHECKING:
    from classmill.infer import Prediction, Predictor

TOP_K = 5  # labels listed per tested image, as the seed platforms' verification shows them


def load_model_predictor(bundle: Path, thresholds: Mapping[str, float]) -> "Predictor":
    """The version's FP32 bundle on ONNX Runtime; UserError when its file is gone."""
    from classmill.infer import Predictor

    if not Path(bundle).is_file():
        raise UserError(f"the model's bundle {Path(bundle).name} is missing from the workspace. "
                        "Train the task again, or restore the workspace's models folder from a backup.")
    # The one call site that applies a version's deployed per-class thresholds (0 = never uncertain).
    return Predictor.load(bundle, thresholds=dict(thresholds))


def uncertain_of(prediction: "Prediction") -> tuple[bool, float | None]:
    """(uncertain, threshold of the top label) as the Predictor flagged them."""
    return prediction.uncertain, prediction.threshold


def answer_of(prediction: "Prediction") -> dict:
    """The JSON answer for one tested image: top-1, its confidence, the top-5 list and the uncertain flag."""
    uncertain, threshold = uncertain_of(prediction)
    return {"label": prediction.label, "confidence": round(float(prediction.confidence), 6),
            "top5": [{"label": label, "confidence": round(float(p), 6)} for label, p in prediction.top_k[:TOP_K]],
            "uncertain": uncertain, "threshold": threshold}
