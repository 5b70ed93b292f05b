"""Per-class confidence thresholds: a top-1 answer below its class's threshold is "uncertain".

The evaluation report suggests an operating point; the threshold a user keeps travels with the
model (the bundle's thresholds.json, or given to the Predictor / the service), so the threshold a
user picks is the one deployed. The answer itself is never changed: the top-k list stays as it
is and the prediction is only flagged, so clients that ignore the flag see what they saw before.
"""

from __future__ import annotations

import difflib
import json
import math
from pathlib import Path
from typing import Mapping, Sequence

from classmill.errors import UserError

Thresholds = dict[str, float]  # class name -> threshold in [0, 1]; classes not named have none


def check_thresholds(thresholds: object, labels: Sequence[str], *, source: str = "thresholds") -> Thresholds:
    """Validate {class name: threshold in [0, 1]} against a model's labels; returned in label order.

    source: what the values came from (a file name), for the error message.
    """
    if not isinstance(thresholds, Mapping):
        raise UserError(f"{source}: thresholds must be a JSON object of class name -> threshold in [0, 1], "
                        f'e.g. {{"{labels[0] if labels else "ng"}": 0.9}}; got {type(thresholds).__name__}.')
    problems = []
    for name, value in thresholds.items():
        if name not in labels:
            close = difflib.get_close_matches(str(name), list(labels), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            problems.append(f"{name!r} is not one of the model's classes{hint}")
        elif isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
                or not 0.0 <= value <= 1.0:
            problems.append(f"{name!r}: {value!r} is not a number between 0 and 1")
    if problems:
        raise UserError(f"{source}: {'; '.join(problems)}. Classes: {', '.join(labels)}.")
    return {label: float(thresholds[label]) for label in labels if label in thresholds}


def parse_thresholds(data: bytes | str, labels: Sequence[str], *, source: str) -> Thresholds:
    """check_thresholds of a JSON document."""
    try:
        value = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise UserError(f"{source}: not valid JSON ({exc}). Write it as {{\"class name\": 0.9, ...}}.") from exc
    return check_thresholds(value, labels, source=source)


def read_thresholds_file(path: str | Path, labels: Sequence[str]) -> Thresholds:
    """A thresholds JSON file ({class name: threshold}) checked against a model's labels."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UserError(f"{path}: cannot read the thresholds file ({exc.strerror or exc}). Fix the path.") from exc
    return parse_thresholds(data, labels, source=str(path))


def thresholds_json(thresholds: Mapping[str, float]) -> bytes:
    """The bytes of thresholds.json (stable: the same thresholds give the same checksum)."""
    return (json.dumps(dict(thresholds), indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def is_uncertain(confidence: float, threshold: float | None) -> bool:
    """Below the threshold is uncertain; exactly at it is not (the report accepts p >= threshold)."""
    return threshold is not None and confidence < threshold
