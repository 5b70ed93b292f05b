"""Calibrated probabilities: softmax(logits / T) with the temperature a run fitted on its validation split.

The model (ONNX or PyTorch) always outputs raw logits; every runtime turns them into
probabilities here, in one place, so the bundle's answers, the service's and the evaluation
report's are the same numbers. The temperature travels as calibration.json (in the run folder,
then in the bundle with its checksum in metadata.json); a model without one uses T = 1, which is
plain softmax — what bundles from before calibration return.

Only numpy: this is part of the offline runtime (classmill.sdk.runtime_modules).
"""

from __future__ import annotations

import json
import math
from typing import Mapping

import numpy as np

from classmill.errors import UserError

METHOD = "temperature"
# The fit's search range. A validation split without a single mistake pushes T towards 0 (ever
# sharper is ever better on it); the bounds keep that finite and calibration.json says "clamped".
MIN_TEMPERATURE = 0.05
MAX_TEMPERATURE = 20.0


def softmax(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """Probabilities of softmax(logits / temperature) over the last axis, in the logits' float type."""
    logits = np.asarray(logits)
    if temperature != 1.0:
        logits = logits / np.asarray(temperature, dtype=logits.dtype)
    shifted = logits - logits.max(axis=-1, keepdims=True)
    e = np.exp(shifted)
    return e / e.sum(axis=-1, keepdims=True)


def check_calibration(document: object, *, source: str) -> dict:
    """A calibration.json document, checked: {"method": "temperature", "temperature": T > 0, ...}.

    source: the file it came from, for the error message. Other keys (how and where it was
    fitted, ECE before and after) are kept as they are.
    """
    if not isinstance(document, Mapping):
        raise UserError(f'{source}: must be a JSON object like {{"method": "temperature", "temperature": 0.7}}; '
                        f"got {type(document).__name__}.")
    if document.get("method") != METHOD:
        raise UserError(f"{source}: method {document.get('method')!r} is not supported; classmill applies "
                        f'"method": "{METHOD}" only.')
    value = document.get("temperature")
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
            or not MIN_TEMPERATURE <= value <= MAX_TEMPERATURE:
        raise UserError(f"{source}: temperature {value!r} is not a number between {MIN_TEMPERATURE} and "
                        f"{MAX_TEMPERATURE}.")
    return {**dict(document), "temperature": float(value)}


def parse_calibration(data: bytes | str, *, source: str) -> dict:
    """check_calibration of a JSON document."""
    try:
        document = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise UserError(f"{source}: not valid JSON ({exc}).") from exc
    return check_calibration(document, source=source)


def calibration_json(document: Mapping) -> bytes:
    """The bytes of calibration.json (stable: the same document gives the same checksum)."""
    return (json.dumps(dict(document), indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def temperature_of(document: Mapping | None) -> float:
    """The temperature a (checked) calibration document applies; 1.0 when there is none."""
    return float(document["temperature"]) if document else 1.0
