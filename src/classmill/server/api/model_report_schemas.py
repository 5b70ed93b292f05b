"""Response shapes of what a model version's report leads to: threshold what-ifs, its images, comparisons."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from classmill.server.api.routes.images import image_url


class _FromAttributes(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class ClassPointOut(_FromAttributes):
    name: str
    threshold: float
    support: int = Field(description="images of the class in the split")
    predicted: int = Field(description="images whose top-1 answer is the class")
    answered: int = Field(description="of those, at or above the threshold")
    uncertain: int = Field(description="of those, below it: answered 'uncertain'")
    correct: int
    coverage: float | None = Field(description="answered / predicted")
    precision: float | None = Field(description="correct / answered")
    recall: float | None = Field(description="correct / support (an uncertain image is a miss)")


class ClassPreviewOut(ClassPointOut):
    suggested: ClassPointOut = Field(description="the same class at its suggested threshold (the report's)")


class OverallPreviewOut(_FromAttributes):
    n_images: int
    answered: int
    uncertain: int
    coverage: float | None
    accuracy: float | None = Field(description="of the answered images")


class ThresholdPreviewOut(BaseModel):
    split: str
    overall: OverallPreviewOut
    classes: list[ClassPreviewOut]

    @classmethod
    def of(cls, preview) -> "ThresholdPreviewOut":
        classes = [ClassPreviewOut(**ClassPointOut.model_validate(point).model_dump(),
                                   suggested=ClassPointOut.model_validate(at_suggested))
                   for point, at_suggested in zip(preview.classes, preview.suggested)]
        return cls(split=preview.split, overall=OverallPreviewOut.model_validate(preview.overall), classes=classes)


class ModelImageOut(BaseModel):
    hash: str
    original_name: str | None
    label: str = Field(description="the true class")
    predicted: str = Field(description="the top-1 answer")
    confidence: float = Field(description="the probability of the top-1 answer")
    label_probability: float = Field(description="the probability given to the true class")
    thumbnail_url: str
    image_url: str

    @classmethod
    def of(cls, image) -> "ModelImageOut":
        return cls(hash=image.content_hash, original_name=image.original_name, label=image.label,
                   predicted=image.predicted, confidence=image.confidence, label_probability=image.label_probability,
                   thumbnail_url=f"{image_url(image.content_hash)}/thumbnail", image_url=image_url(image.content_hash))


class SideBySideOut(_FromAttributes):
    a: float | None
    b: float | None
    delta: float | None = Field(description="b - a")


class ClassComparisonOut(_FromAttributes):
    name: str
    support_a: int | None
    support_b: int | None
    metrics: dict[str, SideBySideOut]


class MetricComparisonOut(_FromAttributes):
    overall: dict[str, SideBySideOut]
    per_class: list[ClassComparisonOut]
    shared_classes: list[str]
    only_a: list[str]
    only_b: list[str]
    note: str | None


class VerdictChangeOut(BaseModel):
    hash: str
    original_name: str | None
    label_a: str
    label_b: str
    predicted_a: str
    predicted_b: str
    confidence_a: float
    confidence_b: float
    thumbnail_url: str

    @classmethod
    def of(cls, change) -> "VerdictChangeOut":
        return cls(hash=change.content_hash, original_name=change.original_name, label_a=change.label_a,
                   label_b=change.label_b, predicted_a=change.predicted_a, predicted_b=change.predicted_b,
                   confidence_a=change.confidence_a, confidence_b=change.confidence_b,
                   thumbnail_url=f"{image_url(change.content_hash)}/thumbnail")


class VerdictChangesOut(BaseModel):
    shared: int = Field(description="images both versions evaluated (same content hash)")
    only_a: int
    only_b: int
    counts: dict[str, int] = Field(description="fixed, broken, changed, unchanged")
    fixed: list[VerdictChangeOut] = Field(description="wrong in a, right in b")
    broken: list[VerdictChangeOut] = Field(description="right in a, wrong in b")
    changed: list[VerdictChangeOut] = Field(description="another answer, equally right or wrong")


class VersionSummaryOut(_FromAttributes):
    id: int
    project_id: int
    number: int
    task_name: str
    epochs: int
    classes: list[str]
    dataset_id: int
    dataset_version: int
    dataset_version_id: int


class ComparisonOut(BaseModel):
    split: str
    a: VersionSummaryOut
    b: VersionSummaryOut
    metrics: MetricComparisonOut
    config_differences: dict[str, dict]
    images: VerdictChangesOut

    @classmethod
    def of(cls, comparison) -> "ComparisonOut":
        changes = comparison.images
        images = VerdictChangesOut(shared=changes.shared, only_a=changes.only_a, only_b=changes.only_b,
                                   counts=changes.counts,
                                   **{verdict: [VerdictChangeOut.of(c) for c in group]
                                      for verdict, group in changes.images.items()})
        return cls(split=comparison.split, a=VersionSummaryOut.model_validate(comparison.a),
                   b=VersionSummaryOut.model_validate(comparison.b),
                   metrics=MetricComparisonOut.model_validate(comparison.metrics),
                   config_differences=comparison.config_differences, images=images)
