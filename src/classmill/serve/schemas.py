"""Response bodies of the prediction routes (what /openapi.json documents)."""

from __future__ import annotations

from pydantic import BaseModel, Field


class LabelProb(BaseModel):
    label: str
    prob: float


class PredictionOut(BaseModel):
    filename: str
    label: str = Field(description="the most likely class (the model's answer, also when uncertain)")
    confidence: float = Field(description="its probability")
    top_k: list[LabelProb] = Field(description="the most likely classes, most likely first")
    # Added fields only: clients written before thresholds existed read the same answer as before.
    uncertain: bool = Field(False, description="true when confidence is below the threshold set for `label`")
    threshold: float | None = Field(None, description="the threshold set for `label`; absent when it has none")
    result_image: str | None = Field(None, description="PNG data URL, only with render=true")
