"""The upload page's HTML: the form, the model's facts, and one image's result or error.

Rendered on the server (static/upload.html with {{MARKERS}}), so the page works without
JavaScript and without network; every value from the model or the request is escaped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from html import escape
from importlib.resources import files as package_files

from classmill.infer import Prediction, Predictor
from classmill.serve.problems import ApiProblem

_MARKER = re.compile(r"\{\{([A-Z_]+)\}\}")
_LABELS_SHOWN = 6


@dataclass(frozen=True)
class UploadResult:
    filename: str
    prediction: Prediction
    picture: str  # the result picture as a PNG data URL


@lru_cache(maxsize=1)
def _template() -> str:
    return package_files("classmill.serve").joinpath("static/upload.html").read_text(encoding="utf-8")


def model_name(predictor: Predictor) -> str:
    meta = predictor.metadata
    return str(meta.get("name") or meta.get("model_name") or predictor.bundle.path.stem)


def _facts(predictor: Predictor) -> str:
    labels = predictor.labels
    facts = [f"{len(labels)} classes", f"{predictor.spec.input_size} px input"]
    if predictor.int8:
        facts.append("INT8")
    if predictor.thresholds:
        facts.append(f"confidence thresholds for {len(predictor.thresholds)} of them")
    facts.append(", ".join(labels[:_LABELS_SHOWN]) + (", …" if len(labels) > _LABELS_SHOWN else ""))
    return " · ".join(facts)


def _percent(p: float) -> str:
    return f"{p * 100:.1f}%"


def _result_html(result: UploadResult) -> str:
    prediction = result.prediction
    # data-* carry the exact numbers (repr round-trips a float) for scripts and tests.
    rows = "".join(
        f'<li data-label="{escape(label)}" data-prob="{prob!r}"><div class="row"><span>{escape(label)}</span>'
        f"<span>{_percent(prob)}</span></div><div class=\"track\"><div class=\"fill\" "
        f'style="width:{max(0.5, prob * 100):.2f}%"></div></div></li>'
        for label, prob in prediction.top_k
    )
    uncertain = ""
    if prediction.uncertain:
        uncertain = (
            f'<p id="uncertain" data-threshold="{prediction.threshold!r}"><strong>Uncertain:</strong> '
            f"{_percent(prediction.confidence)} is below the {_percent(prediction.threshold)} threshold set for "
            f"“{escape(prediction.label)}”. Check this image yourself.</p>"
        )
    return (
        f'  <div class="card" id="result" aria-live="polite" data-uncertain="{str(prediction.uncertain).lower()}">\n'
        f'    <img id="result-image" src="{result.picture}" alt="The image with its predicted label">\n'
        f'    <div>\n      <p class="file">{escape(result.filename)}</p>\n'
        f'      <p class="label-big" id="top-label">{escape(prediction.label)}</p>\n'
        f'      <p class="conf-big" id="top-conf">{_percent(prediction.confidence)} confident</p>\n'
        f"      {uncertain}\n      <ol id=\"topk\">{rows}</ol>\n    </div>\n  </div>"
    )


def _error_html(problem: ApiProblem) -> str:
    return (f'    <div id="error" role="alert" data-code="{escape(problem.code)}"><div>{escape(problem.detail)}</div>'
            f"<small>{escape(problem.fix)}</small></div>")


def render_upload_page(predictor: Predictor, *, result: UploadResult | None = None,
                       error: ApiProblem | None = None) -> str:
    """The page for `predictor`: the empty form, or the form with one image's result or error."""
    name = model_name(predictor)
    values = {
        "TITLE": escape(name),
        "MODEL_NAME": escape(name),
        "MODEL_FACTS": escape(_facts(predictor)),
        "RESULT": _result_html(result) if result is not None else "",
        "ERROR": _error_html(error) if error is not None else "",
    }
    # One pass: a marker-like text inside a value (a file name) is never substituted again.
    return _MARKER.sub(lambda m: values[m.group(1)], _template())
