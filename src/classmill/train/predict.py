"""Run a trained run's PyTorch model over labelled images: logits, and the calibrated probabilities.

Images go through exactly the decode + preprocessing that training's validation uses, so the
probabilities are the ones the run's validation scores came from. Probabilities are the run's
calibrated ones (classmill.infer.calibration.softmax with the run's temperature), the numbers
its exported bundle returns. The report built from them lives in classmill.evaluate, which never
imports torch.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Callable

import numpy as np
import torch

from classmill.data.records import ImageRecord
from classmill.infer.calibration import softmax
from classmill.preprocess import PreprocessSpec
from classmill.train.checkpoint import TrainedModel
from classmill.train.pipeline import ImageStore, decode_for_eval, eval_batches


@torch.inference_mode()
def store_logits(model: torch.nn.Module, store: ImageStore, spec: PreprocessSpec, classes: int, batch_size: int,
                 device: torch.device, advance: Callable[[int], None] | None = None) -> np.ndarray:
    """(len(store), classes) float32 logits of an eval-mode model, in store order, computed in FP32
    (as the exported ONNX model runs, whatever autocast training used)."""
    outputs = [np.zeros((0, classes), np.float32)]
    for x in eval_batches(store, spec, batch_size, device):
        outputs.append(model(x).float().cpu().numpy())
        if advance is not None:
            advance(x.shape[0])
    return np.concatenate(outputs)


def predict_logits(trained: TrainedModel, records: list[ImageRecord], batch_size: int = 32,
                   advance: Callable[[int], None] | None = None) -> np.ndarray:
    """(len(records), classes) float32 logits on the CPU, in record order.

    advance: called with the number of images after each batch (progress).
    """
    model = trained.model.to(memory_format=torch.channels_last)
    with ThreadPoolExecutor(max_workers=2) as pool:
        store = ImageStore(records, lambda r: decode_for_eval(r, trained.spec), pool=pool)
        return store_logits(model, store, trained.spec, len(trained.classes), batch_size, torch.device("cpu"),
                            advance)


def predict_proba(trained: TrainedModel, records: list[ImageRecord], batch_size: int = 32,
                  advance: Callable[[int], None] | None = None) -> np.ndarray:
    """(len(records), classes) calibrated probabilities: softmax(logits / the run's temperature)."""
    return softmax(predict_logits(trained, records, batch_size, advance), trained.temperature)
