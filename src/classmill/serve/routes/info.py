"""What is being served: liveness, model checksum, labels, preprocessing, batching counters."""

from __future__ import annotations

from fastapi import APIRouter

from classmill.serve.deps import BatcherDep, PredictorDep

router = APIRouter()


@router.get("/health", summary="Liveness, model checksum and dynamic-batching counters")
async def health(predictor: PredictorDep, batcher: BatcherDep) -> dict:
    return {
        "status": "ok",
        "model_sha256": predictor.metadata.get("model_sha256"),
        "int8": predictor.int8,
        "providers": predictor.providers,
        "classes": len(predictor.labels),
        "batching": batcher.stats.to_dict(),
    }


@router.get("/model", summary="Bundle metadata, class labels (index = class id), preprocessing, thresholds "
                              "and calibration")
async def model(predictor: PredictorDep) -> dict:
    return {
        "metadata": predictor.metadata,
        "labels": predictor.labels,
        "preprocess": predictor.spec.to_dict(),
        "int8": predictor.int8,
        "thresholds": predictor.thresholds,  # class -> threshold in force; answers below it are "uncertain"
        # The probabilities answered are softmax(logits / temperature); 1.0 and {} for an uncalibrated bundle.
        "temperature": predictor.temperature,
        "calibration": predictor.bundle.calibration,
    }
