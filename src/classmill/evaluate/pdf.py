"""report.pdf: a summary page followed by the report's figures, via matplotlib's PdfPages.

For printing and attaching to tickets; the HTML stays the full report (thresholds per class,
misclassified thumbnails), the PDF is the part people print.
"""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import TYPE_CHECKING

from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure

from classmill.atomic import atomic_open

if TYPE_CHECKING:
    from classmill.evaluate.report import EvaluationReport

_A4_PORTRAIT = (8.27, 11.69)
_MAX_TABLE_ROWS = 40  # one page; the HTML and JSON hold every class


def write_pdf(path: Path, report: EvaluationReport, figures: dict[str, Figure]) -> None:
    """Write the PDF atomically: a reader never sees a half-written file."""
    with atomic_open(path, "wb") as handle, PdfPages(handle, metadata={"Title": "classmill evaluation report"}) as pdf:
        pdf.savefig(_summary_page(report))
        for name in ("confusion_matrix", "roc", "pr", "thresholds", "reliability"):
            if name in figures:
                pdf.savefig(figures[name])


def _summary_page(report: EvaluationReport) -> Figure:
    figure = Figure(figsize=_A4_PORTRAIT)
    o = report.overall
    lines = [
        f"Verdict: {report.conclusion.verdict}",
        *textwrap.wrap(report.conclusion.text, 95),
        "",
        f"Images {o.n_images:,}   classes {o.n_classes}   accuracy {o.accuracy:.4f}   "
        f"macro F1 {o.macro_f1:.4f}   weighted F1 {o.weighted_f1:.4f}",
        f"Macro AUC {_fmt(o.macro_auc)}   Cohen's kappa {_fmt(o.cohen_kappa)}   ECE {report.calibration.ece:.4f}"
        + (f" (uncalibrated {report.temperature.before.ece:.4f}, T = {report.temperature.temperature:.3g})"
           if report.temperature else ""),
        "   ".join(f"top-{k} {v:.4f}" for k, v in o.top_k_accuracy.items() if 1 < k < o.n_classes),
        "",
    ]
    for point in report.operating_points:
        lines.extend(textwrap.wrap(point.message, 95))
    for key, value in list(report.provenance.items())[:8]:
        lines.append(textwrap.shorten(f"{key}: {value}", 100))
    figure.text(0.06, 0.96, "classmill evaluation report", fontsize=16, weight="bold", va="top")
    figure.text(0.06, 0.92, "\n".join(lines), fontsize=8.5, va="top", family="monospace")

    rows = report.per_class[:_MAX_TABLE_ROWS]
    axes = figure.add_axes((0.06, 0.04, 0.88, 0.56))
    axes.axis("off")
    table = axes.table(
        cellText=[
            [textwrap.shorten(r.name, 28), f"{r.support}", _fmt(r.precision), _fmt(r.recall), _fmt(r.f1), _fmt(r.auc)]
            for r in rows
        ],
        colLabels=["class", "images", "precision", "recall", "F1", "AUC"],
        loc="upper center",
        cellLoc="right",
    )
    table.auto_set_font_size(False)
    table.set_fontsize(7.5)
    if len(report.per_class) > _MAX_TABLE_ROWS:
        axes.set_title(f"first {_MAX_TABLE_ROWS} of {len(report.per_class)} classes", fontsize=8)
    return figure


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"
