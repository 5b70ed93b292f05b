"""Render the report as one self-contained HTML file.

Everything is inline (CSS, PNG figures and JPEG thumbnails as data: URIs) and nothing is loaded
from a CDN: the report is mailed around, archived and opened on air-gapped machines.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import TYPE_CHECKING

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from classmill import __version__
from classmill.evaluate.formatting import number, percent, threshold

if TYPE_CHECKING:
    from classmill.evaluate.report import EvaluationReport

TEMPLATE_DIR = Path(__file__).parent / "templates"
TEMPLATE_NAME = "report.html"
# Threshold tables for every class are collapsed; above this many they are left out of the HTML
# (still in report.json) so a 1,000-class report stays readable.
MAX_CLASS_THRESHOLD_TABLES = 30
WEAK_F1 = 0.8


def render_html(report: EvaluationReport, pngs: dict[str, bytes]) -> str:
    """HTML text of the report; `pngs` maps figure name -> PNG bytes to embed."""
    environment = Environment(
        loader=FileSystemLoader(TEMPLATE_DIR),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,  # a typo in the template fails the tests, not a user's report
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters["pct"] = percent
    environment.filters["num"] = number
    environment.filters["threshold"] = threshold
    environment.filters["thousands"] = lambda value: f"{int(value):,}"
    template = environment.get_template(TEMPLATE_NAME)
    return template.render(
        report=report,
        version=__version__,
        title=_title(report),
        figures={name: "data:image/png;base64," + base64.b64encode(png).decode("ascii") for name, png in pngs.items()},
        provenance_rows=[(str(key), _provenance_value(value)) for key, value in report.provenance.items()],
        top_k=[(k, value) for k, value in report.overall.top_k_accuracy.items() if k == 1 or k < report.overall.n_classes],
        class_tables=_class_tables(report),
        weak_f1=WEAK_F1,
        confusion_rows=_confusion_rows(report),
    )


def _title(report: EvaluationReport) -> str:
    model = report.provenance.get("model") or report.provenance.get("model_name")
    return f"Evaluation report — {model}" if model else "Evaluation report"


def _provenance_value(value: object) -> str:
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return "—" if value is None else str(value)


def _class_tables(report: EvaluationReport) -> list[tuple[str, list, bool]]:
    """(class name, rows, open?) with the positive class first and expanded."""
    names = list(report.class_thresholds)
    if report.positive_class in names:
        names.remove(report.positive_class)
        names.insert(0, report.positive_class)
    names = names[:MAX_CLASS_THRESHOLD_TABLES]
    return [(name, report.class_thresholds[name], name == report.positive_class) for name in names]


def _confusion_rows(report: EvaluationReport) -> list[tuple[str, list[tuple[int, str, bool]]]]:
    """Per true class: (count, row percentage for the tooltip, is diagonal) per predicted class."""
    rows = []
    confusion = report.confusion
    for row_index, label in enumerate(confusion.labels):
        cells = []
        for col_index in range(len(confusion.labels)):
            fraction = float(confusion.row_normalised[row_index, col_index])
            tooltip = "no images of this class" if fraction != fraction else f"{fraction * 100:.1f} % of {label}"
            cells.append((int(confusion.counts[row_index, col_index]), tooltip, row_index == col_index))
        rows.append((label, cells))
    return rows
