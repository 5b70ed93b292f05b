"""Report figures drawn with matplotlib's object API on the Agg canvas.

`Figure` objects are used directly, never pyplot: pyplot keeps global state (open figures,
the current backend) that leaks memory in long-running job workers and is not thread-safe.
"""

from __future__ import annotations

import io
from functools import wraps

import numpy as np
from matplotlib import colormaps, rc_context
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from classmill.evaluate.calibration import Calibration, TemperatureScaling
from classmill.evaluate.curves import CurveSet
from classmill.evaluate.fonts import figure_font_family
from classmill.evaluate.metrics import ConfusionMatrix
from classmill.evaluate.thresholds import TopOneRow

# Above this many classes the cell counts no longer fit; the colours still tell the story.
MAX_ANNOTATED_CLASSES = 30
_LABEL_CHARS = 18
_DPI = 110
_AVERAGE_STYLE = {"micro-average": ("#222222", "--"), "macro-average": ("#d62728", ":")}


def _with_figure_fonts(draw):
    """Text made while drawing keeps this font family (a concrete list, so saving later needs no context)."""
    @wraps(draw)
    def drawn(*args, **kwargs):
        with rc_context({"font.family": list(figure_font_family())}):
            return draw(*args, **kwargs)
    return drawn


def to_png(figure: Figure, dpi: int = _DPI) -> bytes:
    buffer = io.BytesIO()
    FigureCanvasAgg(figure)
    # No "Software" tag: the PNG is byte-identical across runs and names no external URL.
    figure.savefig(buffer, format="png", dpi=dpi, metadata={"Software": None})
    return buffer.getvalue()


@_with_figure_fonts
def confusion_matrix_figure(confusion: ConfusionMatrix) -> Figure:
    """Heatmap coloured by row-normalised recall, annotated with raw counts."""
    n = len(confusion.labels)
    # Capped so the PNG is shown at (nearly) its natural size in the ~1,120 px wide report:
    # a bigger image would be scaled down and its 30-class annotations become unreadable.
    side = float(np.clip(1.6 + 0.42 * n, 4.2, 9.4))
    # Room for the longest tick label, or constrained layout squeezes the axis title off the edge.
    label_room = 0.075 * max(len(_short(label)) for label in confusion.labels)
    figure = Figure(figsize=(side + 1.0 + label_room, side + (label_room if n > 3 else 0.0)), layout="constrained")
    axes = figure.add_subplot()
    # Rows without images are NaN; masked cells are drawn in the "bad" colour (light grey).
    shown = np.ma.masked_invalid(confusion.row_normalised)
    colormap = _blues_with_grey_for_missing()
    image = axes.imshow(shown, cmap=colormap, vmin=0.0, vmax=1.0, interpolation="nearest")
    colorbar = figure.colorbar(image, ax=axes, fraction=0.046, pad=0.03)
    colorbar.set_label("fraction of the true class")

    labels = [_short(label) for label in confusion.labels]
    tick_size = 10 if n <= 10 else 8.5 if n <= 20 else 7.5 if n <= MAX_ANNOTATED_CLASSES else 6
    axes.set_xticks(range(n), labels, rotation=45 if n > 3 else 0, ha="right" if n > 3 else "center",
                    rotation_mode="anchor", fontsize=tick_size)
    axes.set_yticks(range(n), labels, fontsize=tick_size)
    axes.set_xlabel("predicted class")
    axes.set_ylabel("true class")
    axes.set_title("Confusion matrix (counts; colour = row fraction)")
    if n <= MAX_ANNOTATED_CLASSES:
        count_size = 11 if n <= 6 else 9 if n <= 12 else 7.5 if n <= 20 else 6
        for row in range(n):
            for col in range(n):
                count = int(confusion.counts[row, col])
                if count == 0 and row != col:
                    continue
                fraction = confusion.row_normalised[row, col]
                dark = np.isfinite(fraction) and fraction > 0.55
                axes.text(col, row, f"{count}", ha="center", va="center", fontsize=count_size,
                          color="white" if dark else "#1a1a1a")
    return figure


@_with_figure_fonts
def curves_figure(curves: CurveSet) -> Figure:
    """ROC (kind "roc") or precision-recall (kind "pr") curves with their areas in the legend."""
    is_roc = curves.kind == "roc"
    n_lines = len(curves.per_class) + 2
    legend_rows = -(-n_lines // 2)
    # Square plot plus room for a two-column legend underneath: side by side in the HTML, each
    # figure is shown ~560 px wide, and a legend to the right would shrink the text unreadably.
    figure = Figure(figsize=(5.6, 5.0 + 0.2 * legend_rows), layout="constrained")
    axes = figure.add_subplot()
    colors = colormaps["tab20" if len(curves.per_class) > 10 else "tab10"]
    area_name = "AUC" if is_roc else "AP"
    for index, curve in enumerate(curves.per_class):
        axes.plot(curve.x, curve.y, lw=1.2, alpha=0.85, color=colors(index % colors.N),
                  label=f"{_short(curve.label)} ({area_name} {curve.area:.3f})",
                  drawstyle="default" if is_roc else "steps-post")
    for curve in (curves.micro, curves.macro):
        if curve is None:
            continue
        color, style = _AVERAGE_STYLE[curve.label]
        axes.plot(curve.x, curve.y, lw=2.2, color=color, linestyle=style, label=f"{curve.label} ({area_name} {curve.area:.3f})")
    if is_roc:
        axes.plot([0, 1], [0, 1], color="#bbbbbb", lw=1, linestyle="-", zorder=0)
        axes.set_xlabel("false-positive rate")
        axes.set_ylabel("true-positive rate (recall)")
        axes.set_title("ROC curves (one class vs the rest)")
    else:
        axes.set_xlabel("recall")
        axes.set_ylabel("precision")
        axes.set_title("Precision–recall curves (one class vs the rest)")
    axes.set_xlim(-0.01, 1.01)
    axes.set_ylim(-0.01, 1.02)
    axes.grid(alpha=0.3)
    figure.legend(loc="outside lower center", ncols=2, fontsize=8.5, frameon=False)
    return figure


@_with_figure_fonts
def reliability_figure(calibration: Calibration, temperature: TemperatureScaling | None = None) -> Figure:
    """Accuracy per confidence bin against the diagonal, with how many images each bin holds.

    temperature: the probabilities are calibrated; where each bin stood before is drawn as grey
    points and the title gives both ECEs.
    """
    figure = Figure(figsize=(6.4, 5.6), layout="constrained")
    top, bottom = figure.subplots(2, 1, sharex=True, height_ratios=(3, 1))
    width = 1.0 / calibration.n_bins
    lowers = np.array([b.lower for b in calibration.bins])
    accuracy = np.array([b.accuracy if b.accuracy is not None else 0.0 for b in calibration.bins])
    confidence = np.array([b.mean_confidence if b.mean_confidence is not None else np.nan for b in calibration.bins])
    counts = np.array([b.count for b in calibration.bins])
    filled = np.isfinite(confidence)
    top.bar(lowers, accuracy, width=width, align="edge", color="#4c78a8", edgecolor="white", label="accuracy in bin")
    # Red = distance from what the model claimed (mean confidence) to what it achieved.
    top.bar(lowers[filled], np.abs(confidence - accuracy)[filled], bottom=np.minimum(confidence, accuracy)[filled],
            width=width, align="edge", color="#d62728", alpha=0.35, edgecolor="#d62728", hatch="//",
            label="gap to mean confidence")
    top.plot([0, 1], [0, 1], color="#555555", linestyle="--", lw=1, label="perfect calibration")
    title = f"Reliability diagram (ECE {calibration.ece:.3f}, {calibration.n_bins} bins)"
    if temperature is not None:
        before = [b for b in temperature.before.bins if b.count]
        top.plot([b.mean_confidence for b in before], [b.accuracy for b in before], "o", color="#7f7f7f", ms=4,
                 label="before calibration (per bin)")
        title = (f"Calibrated (T = {temperature.temperature:.3g}): ECE {calibration.ece:.3f}, "
                 f"uncalibrated {temperature.before.ece:.3f}")
    top.set_ylabel("accuracy")
    top.set_ylim(0, 1.02)
    top.set_title(title)
    # Centre left: top-1 confidences below 1/3 are rare, and the upper left holds under-confident points.
    top.legend(loc="center left", fontsize=8, frameon=False)
    top.grid(alpha=0.3)
    bottom.bar(lowers, counts, width=width, align="edge", color="#9ecae9", edgecolor="white")
    bottom.set_xlabel("top-1 confidence")
    bottom.set_ylabel("images")
    bottom.set_xlim(0, 1)
    return figure


@_with_figure_fonts
def threshold_figure(rows: list[TopOneRow]) -> Figure:
    """How coverage falls and accuracy rises as the confidence threshold goes up."""
    figure = Figure(figsize=(6.4, 3.8), layout="constrained")
    axes = figure.add_subplot()
    thresholds = [row.threshold for row in rows]
    axes.plot(thresholds, [row.coverage for row in rows], "o-", color="#4c78a8", ms=3, label="coverage (answered)")
    axes.plot(thresholds, [row.accuracy if row.accuracy is not None else np.nan for row in rows], "s-",
              color="#2ca02c", ms=3, label="accuracy of answered")
    axes.plot(thresholds, [row.recall for row in rows], "^-", color="#ff7f0e", ms=3, label="answered and correct / all")
    axes.set_xlabel("confidence threshold (top-1)")
    axes.set_ylabel("fraction")
    axes.set_ylim(-0.02, 1.02)
    axes.set_xlim(0, 1)
    axes.grid(alpha=0.3)
    axes.legend(loc="lower left", fontsize=8, frameon=False)
    axes.set_title("Confidence threshold trade-off")
    return figure


def _blues_with_grey_for_missing():
    # with_extremes returns a copy: the registered colormap is shared and must not be mutated.
    return colormaps["Blues"].with_extremes(bad="#eeeeee")


def _short(label: str) -> str:
    return label if len(label) <= _LABEL_CHARS else label[: _LABEL_CHARS - 1] + "…"
