"""Fold an exported graph's shape arithmetic into constants, where the image size makes it constant.

timm's TF-"same" padding (every tf_efficientnet_lite*) computes its pads at run time:
Shape -> Gather -> Cast -> Div -> Ceil -> Mul -> Sub ... -> Pad. A bundle's image size is fixed
(preprocess.json), so those pads are constants, but ONNX Runtime cannot prove it while the
batch axis is dynamic. Left in the graph they cost FP32 time: with constant pads ORT merges each
Pad, Clip and Add into its Conv and runs the whole net in its blocked (NCHWc) layout, without them
it cannot (lite0, casting 128 px, batch 64: 450 -> 800 img/s). And they break INT8: the quantiser
sees float Div/Mul/Sub nodes and wraps them in Quantize/Dequantize like any activation, the pads
come out wrong and the feature maps change shape (top-1 accuracy 98.3 % -> 54 %).

Folding is by evaluation, not by symbolic rules: every tensor computed only from shapes and
constants is run at two batch sizes; one that comes out the same both times does not depend on
the batch and becomes an initializer. One that differs (e.g. a Reshape to [batch, -1]) stays.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from onnx import numpy_helper

# Ops whose output depends on the input's shape, never on its values.
_SHAPE_SOURCES = {"Shape", "Size"}
_PROBE_BATCHES = (1, 3)


def fold_static_shapes(path: Path, input_name: str, input_shape: tuple[int, ...]) -> int:
    """Rewrite the ONNX file at `path` in place; return how many nodes were removed.

    input_shape: the image tensor's shape without the batch axis, e.g. (3, 128, 128).
    """
    model = onnx.load(str(path), load_external_data=False)
    graph = model.graph
    if _out_of_scope(graph):
        return 0
    shape_derived = _shape_derived_tensors(graph)
    frontier = _consumed_outside(graph, shape_derived)
    if not frontier:
        return 0
    values = [_evaluate(model, frontier, input_name, (batch, *input_shape)) for batch in _PROBE_BATCHES]
    constant = {name for name in frontier if all(np.array_equal(values[0][name], v[name]) for v in values[1:])}
    if not constant:
        return 0
    folded = {name: f"{name}_folded" for name in constant}
    for name, new_name in folded.items():
        graph.initializer.append(numpy_helper.from_array(values[0][name], new_name))
    for node in graph.node:
        for position, name in enumerate(node.input):
            if name in folded:
                node.input[position] = folded[name]
    before = len(graph.node)
    _drop_dead_nodes(graph)
    onnx.save(model, str(path))
    return before - len(graph.node)


def _out_of_scope(graph: onnx.GraphProto) -> bool:
    """Graphs this pass leaves as they are: weights in external files (models over 2 GB, which
    cannot be re-saved as one file) and control flow (If/Loop bodies read outer tensors by name,
    which the dead-node sweep below cannot see)."""
    external = any(init.data_location == onnx.TensorProto.EXTERNAL for init in graph.initializer)
    subgraphs = any(attr.type in (onnx.AttributeProto.GRAPH, onnx.AttributeProto.GRAPHS)
                    for node in graph.node for attr in node.attribute)
    return external or subgraphs


def _constants(graph: onnx.GraphProto) -> set[str]:
    names = {init.name for init in graph.initializer}
    names.update(out for node in graph.node if node.op_type == "Constant" for out in node.output)
    return names


def _shape_derived_tensors(graph: onnx.GraphProto) -> set[str]:
    """Tensors computed from tensor shapes and constants only (graph nodes are topologically sorted)."""
    constants = _constants(graph)
    derived: set[str] = set()
    for node in graph.node:
        inputs = [name for name in node.input if name]
        if node.op_type in _SHAPE_SOURCES or (
            inputs
            and all(name in derived or name in constants for name in inputs)
            and any(name in derived for name in inputs)
        ):
            derived.update(node.output)
    return derived


def _consumed_outside(graph: onnx.GraphProto, derived: set[str]) -> list[str]:
    """Shape-derived tensors read by a node that works on image data (e.g. Pad's pads input)."""
    frontier: list[str] = []
    for node in graph.node:
        if any(out in derived for out in node.output):
            continue
        for name in node.input:
            if name in derived and name not in frontier:
                frontier.append(name)
    return frontier


def _evaluate(model: onnx.ModelProto, names: list[str], input_name: str, shape: tuple[int, ...]) -> dict:
    probe = onnx.ModelProto()
    probe.CopyFrom(model)
    del probe.graph.output[:]
    probe.graph.output.extend(onnx.ValueInfoProto(name=name) for name in names)
    options = ort.SessionOptions()
    # Evaluate the graph as written: an optimiser pass must not be what decides the constants.
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    session = ort.InferenceSession(probe.SerializeToString(), options, providers=["CPUExecutionProvider"])
    results = session.run(names, {input_name: np.zeros(shape, dtype=np.float32)})
    return dict(zip(names, results))


def _drop_dead_nodes(graph: onnx.GraphProto) -> None:
    """Remove nodes (then initializers) that nothing reads and that are not graph outputs."""
    while True:
        wanted = {out.name for out in graph.output}
        wanted.update(name for node in graph.node for name in node.input)
        keep = [node for node in graph.node if any(out in wanted for out in node.output)]
        if len(keep) == len(graph.node):
            break
        del graph.node[:]
        graph.node.extend(keep)
    used = [init for init in graph.initializer if init.name in wanted]
    del graph.initializer[:]
    graph.initializer.extend(used)
