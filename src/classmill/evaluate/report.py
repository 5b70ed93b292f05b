"""`build_report`: predictions in; report.json, a self-contained report.html (and report.pdf) out."""

from __future__ import annotations

import dataclasses
import json
import math
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Sequence

import numpy as np
import sklearn

from classmill import __version__
from classmill.atomic import write_bytes, write_text
from classmill.evaluate.calibration import Calibration, TemperatureScaling, compute_calibration, temperature_scaling
from classmill.evaluate.conclusion import Conclusion, write_conclusion
from classmill.evaluate.curves import MAX_CLASSES_WITH_OWN_CURVE, CurveSet, compute_curves
from classmill.evaluate.inputs import resolve_positive_class, validate_predictions, validate_target
from classmill.evaluate.metrics import (
    ClassMetrics,
    ConfusionMatrix,
    OverallMetrics,
    compute_class_metrics,
    compute_confusion,
    compute_overall_metrics,
)
from classmill.evaluate.misclassified import PER_CLASS_CAP, MisclassifiedGroup, attach_thumbnails, select_misclassified
from classmill.evaluate.thresholds import (
    ClassThresholdRow,
    OperatingPoint,
    TopOneRow,
    per_class_tables,
    suggest_class_thresholds,
    suggest_operating_points,
    top_one_table,
)

SCHEMA_VERSION = 1
JSON_NAME = "report.json"
HTML_NAME = "report.html"
PDF_NAME = "report.pdf"
FIGURES_DIR = "figures"


@dataclass(frozen=True)
class EvaluationReport:
    """Everything in the report, as objects; `to_json()` is exactly what report.json holds."""

    out_dir: Path
    json_path: Path
    html_path: Path
    pdf_path: Path | None
    figure_paths: dict[str, Path]  # figure name -> PNG written under out_dir/figures/
    class_names: list[str]
    overall: OverallMetrics
    per_class: list[ClassMetrics]
    confusion: ConfusionMatrix
    roc: CurveSet
    pr: CurveSet
    top_one_thresholds: list[TopOneRow]
    class_thresholds: dict[str, list[ClassThresholdRow]]
    positive_class: str | None
    operating_points: list[OperatingPoint]
    class_operating_points: dict[str, OperatingPoint]  # the suggested deployment threshold per class
    calibration: Calibration
    misclassified: list[MisclassifiedGroup]
    provenance: dict
    conclusion: Conclusion
    notes: list[str]
    generated_at: str
    temperature: TemperatureScaling | None = None  # how `calibration`'s probabilities were calibrated
    timings: dict[str, float] = field(default_factory=dict)  # seconds per stage; not in JSON

    def to_json(self) -> dict:
        """The strict-JSON dict written to report.json (NaN -> null, no thumbnails)."""
        return _strict(
            {
                "schema_version": SCHEMA_VERSION,
                "generated_at": self.generated_at,
                "classmill_version": __version__,
                "scikit_learn_version": sklearn.__version__,
                "provenance": self.provenance,
                "conclusion": dataclasses.asdict(self.conclusion),
                "n_images": self.overall.n_images,
                "class_names": self.class_names,
                "overall": dataclasses.asdict(self.overall),
                "per_class": [dataclasses.asdict(row) for row in self.per_class],
                "confusion_matrix": {
                    "labels": self.confusion.labels,
                    "rows": "true class",
                    "columns": "predicted class",
                    "counts": self.confusion.counts,
                    "row_normalised": self.confusion.row_normalised,
                },
                "curves": {"roc": self.roc.to_json(), "pr": self.pr.to_json()},
                "thresholds": {
                    "top1": [dataclasses.asdict(row) for row in self.top_one_thresholds],
                    "per_class": {
                        name: [dataclasses.asdict(row) for row in rows] for name, rows in self.class_thresholds.items()
                    },
                },
                "positive_class": self.positive_class,
                "operating_points": [dataclasses.asdict(point) for point in self.operating_points],
                "suggested_thresholds": {name: dataclasses.asdict(point)
                                         for name, point in self.class_operating_points.items()},
                "calibration": dataclasses.asdict(self.calibration) | {
                    "direction": self.calibration.direction,
                    "temperature": self.temperature.to_json() if self.temperature else None},
                "misclassified": [_group_without_thumbnails(group) for group in self.misclassified],
                "notes": self.notes,
                "files": {
                    "html": self.html_path.name,
                    "pdf": self.pdf_path.name if self.pdf_path else None,
                    "figures": {name: str(path.relative_to(self.out_dir)) for name, path in self.figure_paths.items()},
                },
            }
        )


def build_report(
    y_true: np.ndarray | Sequence[int],
    probs: np.ndarray | Sequence[Sequence[float]],
    class_names: Sequence[str],
    out_dir: str | Path,
    *,
    image_paths: Sequence[str | Path] | None = None,
    provenance: dict | None = None,
    target_recall: float | None = None,
    target_precision: float | None = None,
    positive_class: str | None = None,
    pdf: bool = False,
    calibration_fit: dict | None = None,
    uncalibrated_probs: np.ndarray | Sequence[Sequence[float]] | None = None,
    fitted_images_here: int | None = None,
) -> EvaluationReport:
    """Compute every metric from predictions and write report.json, report.html (+ report.pdf).

    y_true: (N,) class indices into class_names; probs: (N, C) softmax probabilities, calibrated
    when the model has a temperature (what it answers when deployed).
    image_paths: one per row, for misclassified thumbnails. provenance: shown and stored as given.
    target_recall / target_precision: fractions for `positive_class` (binary default: the
    minority class) for which a threshold is suggested.
    calibration_fit: the model's calibration.json; with it, uncalibrated_probs (plain softmax of the
    same logits) give the ECE before calibration, and fitted_images_here says how many of these
    images the temperature was fitted on (None: not known).
    """
    # Imported here: matplotlib and Jinja2 cost ~0.5 s to import, and `classmill evaluate --help`
    # or a metrics-only caller should not pay it.
    from classmill.evaluate import figures as figure_module
    from classmill.evaluate.html import render_html

    timings: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(stage: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        timings[stage] = round(now - clock, 4)
        clock = now

    predictions = validate_predictions(y_true, probs, class_names, image_paths)
    target_recall = validate_target("target_recall", target_recall)
    target_precision = validate_target("target_precision", target_precision)
    wants_point = target_recall is not None or target_precision is not None
    positive_index, positive_note = resolve_positive_class(predictions, positive_class, needed=wants_point)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    lap("validate")

    overall = compute_overall_metrics(predictions)
    per_class = compute_class_metrics(predictions)
    confusion = compute_confusion(predictions)
    roc, pr = compute_curves(predictions)
    calibration = compute_calibration(predictions)
    temperature = None
    if calibration_fit:
        if uncalibrated_probs is None:
            raise ValueError("build_report: calibration_fit needs uncalibrated_probs for the ECE before calibration.")
        uncalibrated = validate_predictions(y_true, uncalibrated_probs, class_names, image_paths)
        temperature = temperature_scaling(calibration_fit, uncalibrated, fitted_images_here)
    lap("metrics")

    top_one = top_one_table(predictions)
    class_tables = per_class_tables(predictions)
    operating_points = (
        suggest_operating_points(predictions, positive_index, target_recall=target_recall, target_precision=target_precision)
        if positive_index is not None and wants_point
        else []
    )
    class_points = suggest_class_thresholds(predictions)
    lap("thresholds")

    misclassified = attach_thumbnails(select_misclassified(predictions))
    lap("thumbnails")

    figures = {
        "confusion_matrix": figure_module.confusion_matrix_figure(confusion),
        "reliability": figure_module.reliability_figure(calibration, temperature),
        "thresholds": figure_module.threshold_figure(top_one),
    }
    if roc.micro is not None:
        figures["roc"] = figure_module.curves_figure(roc)
        figures["pr"] = figure_module.curves_figure(pr)
    pngs = {name: figure_module.to_png(figure) for name, figure in figures.items()}
    figure_paths = {}
    for name, png in pngs.items():
        figure_paths[name] = out / FIGURES_DIR / f"{name}.png"
        write_bytes(figure_paths[name], png)
    for name in ("roc", "pr"):
        if name not in pngs:  # from an earlier report into the same folder; would now mislead
            (out / FIGURES_DIR / f"{name}.png").unlink(missing_ok=True)
    lap("figures")

    report = EvaluationReport(
        out_dir=out,
        json_path=out / JSON_NAME,
        html_path=out / HTML_NAME,
        pdf_path=out / PDF_NAME if pdf else None,
        figure_paths=figure_paths,
        class_names=list(predictions.class_names),
        overall=overall,
        per_class=per_class,
        confusion=confusion,
        roc=roc,
        pr=pr,
        top_one_thresholds=top_one,
        class_thresholds=class_tables,
        positive_class=predictions.class_names[positive_index] if positive_index is not None else None,
        operating_points=operating_points,
        class_operating_points=class_points,
        calibration=calibration,
        misclassified=misclassified,
        provenance=_strict(dict(provenance or {})),
        conclusion=write_conclusion(overall, per_class, confusion, calibration),
        notes=_notes(overall, per_class, positive_note, wants_point and positive_index is not None),
        generated_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        temperature=temperature,
        timings=timings,
    )
    write_text(report.html_path, render_html(report, pngs))
    lap("html")
    if pdf:
        from classmill.evaluate.pdf import write_pdf

        write_pdf(report.pdf_path, report, figures)
        lap("pdf")
    # report.json goes last: a job runner or UI polling the folder may take its presence to mean
    # "report complete". allow_nan=False: a NaN that slipped past _strict must fail loudly.
    write_text(report.json_path, json.dumps(report.to_json(), indent=2, ensure_ascii=False, allow_nan=False) + "\n")
    lap("json")
    for figure in figures.values():
        figure.clear()  # drop the artists now; a worker process may build many reports
    return report


def _notes(
    overall: OverallMetrics, per_class: list[ClassMetrics], positive_note: str | None, has_point: bool
) -> list[str]:
    notes = []
    if overall.n_classes_present < overall.n_classes:
        absent = [row.name for row in per_class if row.support == 0]
        notes.append(
            f"Macro averages and macro AUC use the {overall.n_classes_present} classes present in the split; "
            f"no images of: {', '.join(absent)}."
        )
    never_predicted = [row.name for row in per_class if row.predicted == 0 and row.support > 0]
    if never_predicted:
        notes.append(
            "Never predicted, so precision is set to 0 (scikit-learn zero_division=0): "
            + ", ".join(never_predicted) + "."
        )
    if overall.n_classes <= 5:
        notes.append(f"Top-{overall.n_classes} accuracy is 100 % by definition with {overall.n_classes} classes.")
    if overall.n_classes > MAX_CLASSES_WITH_OWN_CURVE:
        notes.append(f"More than {MAX_CLASSES_WITH_OWN_CURVE} classes: curves show micro and macro averages only.")
    if positive_note and has_point:
        notes.append(positive_note)
    notes.append(
        f"Misclassified examples: at most {PER_CLASS_CAP} per true class, most confident mistakes first."
    )
    notes.append(
        f"Metrics by scikit-learn {sklearn.__version__}; expected calibration error (ECE) by classmill "
        "(scikit-learn has none): top-1 confidence, 15 equal-width bins."
    )
    return notes


def calibration_note(temperature: TemperatureScaling, after: Calibration, n_images: int) -> str:
    """What the probabilities are and how far the ECE after calibration can be trusted on these images,
    in one paragraph for the command line (the HTML report has its own section, the web UI its own
    translated sentences)."""
    t = temperature
    text = (f"Probabilities are calibrated: softmax(logits / T) with T = {t.temperature:.3g}, fitted on the training "
            f"run's {t.fitted_on} split ({t.fitted_images:,} images); ECE {t.before.ece:.3f} before, "
            f"{after.ece:.3f} after.")
    if t.clamped:
        why = ("the split it was fitted on has (nearly) no mistakes to calibrate against" if t.temperature < 1
               else "on the split it was fitted on the model's confidence tells right from wrong no better than chance")
        text += f" The fit stopped at the bound of its range: {why}."
    if t.overlap is None:
        text += (" Whether these images include the ones it was fitted on is not known; if they do, the ECE "
                 "after calibration is optimistic.")
    elif t.overlap:
        every = "All" if t.overlap == n_images else f"{t.overlap:,} of the {n_images:,}"
        text += (f" {every} images here are ones it was fitted on, so the ECE after calibration is optimistic: "
                 "a test split measures it honestly.")
    else:
        text += " None of these images were used to fit it: the ECE after calibration is an honest measure."
    return text


def _group_without_thumbnails(group: MisclassifiedGroup) -> dict:
    data = dataclasses.asdict(group)
    for example in data["shown"]:
        example.pop("thumbnail_jpeg_base64", None)
    return data


def _strict(value):
    """Make a value JSON-safe: arrays to lists, NaN/inf to None, unknown objects to str."""
    if isinstance(value, dict):
        return {str(key): _strict(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_strict(item) for item in value]
    if isinstance(value, np.ndarray):
        return _strict(value.tolist())
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    if value is None or isinstance(value, str):
        return value
    return str(value)
