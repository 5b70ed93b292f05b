"""PyTorch -> ONNX (FP32) with a checked graph and a numerical parity check against PyTorch."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import torch

from classmill.export.errors import ExportError, ExportVerificationError
from classmill.export.job import ExportJob
from classmill.export.static_shapes import fold_static_shapes
from classmill.infer.bundle import INPUT_NAME, OUTPUT_NAME
from classmill.infer.calibration import softmax

# Logit tolerance: |ort - torch| <= ATOL + RTOL * max|torch|. FP32 kernels differ in summation
# order only, so real disagreement (a wrongly exported op) is orders of magnitude above this.
ATOL = 1e-4
RTOL = 1e-3
PROB_TOLERANCE = 1e-4


def write_onnx(job: ExportJob, dest: Path) -> dict:
    """Export job.model to `dest` (batch axis dynamic, image size fixed), check the graph, verify it
    against torch."""
    example = job.example_batch(2, seed=0)
    with warnings.catch_warnings():
        # The legacy TorchScript-based exporter is deliberate: the torch.export-based one needs
        # onnxscript (not a dependency here) and gains nothing for plain CNN/ViT classifiers.
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        with torch.no_grad():
            torch.onnx.export(
                job.model,
                (example,),
                str(dest),
                dynamo=False,
                opset_version=job.opset,
                input_names=[INPUT_NAME],
                output_names=[OUTPUT_NAME],
                dynamic_axes={INPUT_NAME: {0: "batch"}, OUTPUT_NAME: {0: "batch"}},
                do_constant_folding=True,
            )
    # Before the checks, so what is checked and verified against torch is the file that ships.
    size = job.spec.input_size
    fold_static_shapes(dest, INPUT_NAME, (3, size, size))
    check_graph(dest, job.opset)
    max_diff = verify_against_torch(job, dest)
    return {"opset": job.opset, "verified_max_logit_diff": max_diff}


def check_graph(path: Path, opset: int) -> None:
    """onnx.checker plus the interface the bundle promises: named input/output, dynamic batch."""
    try:
        onnx.checker.check_model(str(path), full_check=True)
    except onnx.checker.ValidationError as exc:
        raise ExportVerificationError(f"exported ONNX graph is invalid: {exc}") from exc
    graph = onnx.load(str(path), load_external_data=False).graph
    inputs = [i.name for i in graph.input]
    outputs = [o.name for o in graph.output]
    if inputs != [INPUT_NAME] or outputs != [OUTPUT_NAME]:
        raise ExportError(
            f"the model must take one image tensor and return one logits tensor; the ONNX graph has "
            f"inputs {inputs} and outputs {outputs}. Wrap the model so forward(x) returns logits only."
        )
    batch_dim = graph.input[0].type.tensor_type.shape.dim[0]
    if not batch_dim.dim_param:
        raise ExportVerificationError("exported ONNX graph has a fixed batch size; expected a dynamic one.")


def verify_against_torch(job: ExportJob, path: Path) -> float:
    """Run a random batch (of a size not used when tracing) through both; raise if they disagree."""
    batch = job.example_batch(3, seed=1)
    with torch.no_grad():
        expected = job.model(batch).float().cpu().numpy()
    if expected.ndim != 2 or expected.shape[1] != len(job.class_names):
        raise ExportError(
            f"model returns shape {tuple(expected.shape)} for a batch of 3, but there are "
            f"{len(job.class_names)} class names. Export the model trained for these classes."
        )
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    got = session.run(None, {INPUT_NAME: batch.cpu().numpy()})[0]
    diff = float(np.abs(got - expected).max())
    limit = ATOL + RTOL * float(np.abs(expected).max())
    prob_diff = float(np.abs(softmax(got) - softmax(expected)).max())
    if diff > limit or prob_diff > PROB_TOLERANCE or not np.isfinite(got).all():
        raise ExportVerificationError(
            f"ONNX Runtime and PyTorch disagree on the same input (max logit difference {diff:.3g}, "
            f"allowed {limit:.3g}; max probability difference {prob_diff:.3g}). The model uses an "
            "operation that does not export faithfully; try another architecture or opset."
        )
    return diff
