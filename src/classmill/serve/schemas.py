"""Response bodies of the prediction routes (what /openapi.json documents)."""

from __future__ import annotations

from pydantic import BaseModel


class LabelProb(BaseModel):
    label: str
    prob: float


class PredictionOut(BaseModel):
    filename: str
    label: str
    confidence: float
    top_k: list[LabelProb]
    result_image: str | None = None  # PNG data URL, only with render=true
