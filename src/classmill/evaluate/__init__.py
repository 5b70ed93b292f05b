"""Evaluation report: metrics, thresholds, calibration, figures and report files from predictions.

The model-free half of `classmill evaluate`: whatever ran the model hands over labels and
probabilities; `build_report` writes report.json, a self-contained report.html and, on
request, report.pdf.
"""

from classmill.evaluate.report import EvaluationReport, build_report

__all__ = ["EvaluationReport", "build_report"]
