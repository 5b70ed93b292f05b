"""Run a trained run's PyTorch model over labelled images: class probabilities, nothing else.

Images go through exactly the decode + preprocessing that training's validation uses, so the
probabilities are the ones the run's validation scores came from. The report built from them
lives in classmill.evaluate, which never imports torch.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Callable

import numpy as np
import torch

from classmill.data.records import ImageRecord
from classmill.train.checkpoint import TrainedModel
from classmill.train.pipeline import ImageStore, decode_for_eval, eval_batches


def predict_proba(trained: TrainedModel, records: list[ImageRecord], batch_size: int = 32,
                  advance: Callable[[int], None] | None = None) -> np.ndarray:
    """(len(records), classes) softmax probabilities on the CPU, in record order.

    advance: called with the number of images after each batch (progress).
    """
    model = trained.model.to(memory_format=torch.channels_last)
    outputs = [np.zeros((0, len(trained.classes)), np.float32)]
    with ThreadPoolExecutor(max_workers=2) as pool, torch.inference_mode():
        store = ImageStore(records, lambda r: decode_for_eval(r, trained.spec), pool=pool)
        for x in eval_batches(store, trained.spec, batch_size, torch.device("cpu")):
            outputs.append(torch.softmax(model(x).float(), dim=1).numpy())
            if advance is not None:
                advance(x.shape[0])
    return np.concatenate(outputs)
