"""Write a detector's ONNX file: the opset check, the export call, metadata, operator list.

The graph is traced by ``torch.onnx.export(..., dynamo=False)``, the TorchScript exporter,
chosen deliberately: torch 2.14's default, the dynamo exporter, needs ``onnxscript`` (not a
dependency of mmssd) and gives no way to emit the standard ``NonMaxSuppression`` operator
from a Python function, which the TorchScript exporter does through
:class:`~mmssd.deployment.onnx_nms.NonMaxSuppressionOp`'s ``symbolic``; torchvision's
``roi_align`` and ``nms`` register their ONNX translations for that exporter too.
"""
from __future__ import annotations

import io
import json
import warnings

import torch
from torch import nn
from torchvision.ops import RoIAlign

from .onnx_models import ExportError, build_onnx_model
from .onnx_nms import NMS_MIN_OPSET

#: the opset mmssd exports with (tested with torch 2.14, onnx 1.23, onnxruntime 1.32)
DEFAULT_OPSET = 17
#: lowest opset of ``RoiAlign`` with ``coordinate_transformation_mode='half_pixel'``
#: (torchvision's ``aligned=True``, mmdetection's default)
ROI_ALIGN_MIN_OPSET = 16
#: operator domains of the standard ONNX operators
STANDARD_DOMAINS = ('', 'ai.onnx')


def check_opset(detector: nn.Module, opset: int) -> None:
    """Raise :class:`ExportError` naming the operator and the lowest opset that has it
    when ``opset`` is too low for ``detector``'s graph."""
    needs = [('NonMaxSuppression', NMS_MIN_OPSET)]
    if any(isinstance(m, RoIAlign) and m.aligned for m in detector.modules()):
        needs.append(('RoiAlign (half_pixel, for aligned=True RoIAlign)', ROI_ALIGN_MIN_OPSET))
    for op, lowest in needs:
        if opset < lowest:
            raise ExportError(f'--opset {opset} is too low: the graph needs the ONNX operator '
                              f'{op}, which opset {lowest} introduced; use --opset {lowest} or '
                              f'higher (mmssd exports and tests with {DEFAULT_OPSET})')


def export_onnx(detector: nn.Module, img: torch.Tensor, img_shape: torch.Tensor,
                output_file: str, opset: int = DEFAULT_OPSET, dynamic: bool = False,
                metadata: dict | None = None) -> nn.Module:
    """Trace ``build_onnx_model(detector)`` on ``img (B, 3, H, W)`` and ``img_shape (B, 2)``
    and write ``output_file``; returns the traced module.

    Args:
        dynamic: batch, height and width dynamic (else the graph is for ``img``'s shape).
        metadata: stored as JSON values in the file's ``metadata_props`` (with ``opset``,
            ``max_per_img`` and ``dynamic`` added).
    """
    check_opset(detector, opset)
    wrapper = build_onnx_model(detector)
    axes = None
    if dynamic:
        axes = {'img': {0: 'batch', 2: 'height', 3: 'width'}, 'img_shape': {0: 'batch'},
                'dets': {0: 'batch'}, 'labels': {0: 'batch'}}
    buffer = io.BytesIO()
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter('ignore')  # legacy-exporter deprecation and tracer notes
        torch.onnx.export(wrapper, (img, img_shape), buffer, dynamo=False,
                          opset_version=opset, input_names=['img', 'img_shape'],
                          output_names=['dets', 'labels'], do_constant_folding=True,
                          dynamic_axes=axes)
    save_with_metadata(buffer.getvalue(), output_file,
                       dict(metadata or {}, opset=opset, dynamic=dynamic,
                            max_per_img=wrapper.max_per_img))
    return wrapper


def save_with_metadata(model_bytes: bytes, path: str, metadata: dict) -> None:
    """Write the serialized ONNX model to ``path`` with ``metadata`` (values as JSON) in
    its ``metadata_props``.

    The entries are serialized alone and appended: protobuf merges a message's
    concatenated encodings (repeated fields add up), which spares parsing and
    re-serializing the hundreds of MB of an R50 model's weights.
    """
    import onnx

    extra = onnx.ModelProto()
    for key, value in metadata.items():
        entry = extra.metadata_props.add()
        entry.key, entry.value = key, json.dumps(value)
    with open(path, 'wb') as f:
        f.write(model_bytes)
        f.write(extra.SerializeToString())


def read_metadata(session) -> dict:
    """The metadata of an onnxruntime session's model (``metadata_props``), JSON values
    decoded."""
    return {key: json.loads(value)
            for key, value in session.get_modelmeta().custom_metadata_map.items()}


def graph_op_types(path: str) -> dict[str, set[str]]:
    """``{domain: {op_type}}`` of every node of the ONNX file's graph and subgraphs
    (domain ``''`` is the standard ``ai.onnx``)."""
    import onnx

    found: dict[str, set[str]] = {}

    def visit(graph) -> None:
        for node in graph.node:
            found.setdefault(node.domain, set()).add(node.op_type)
            for attr in node.attribute:
                if attr.type == onnx.AttributeProto.GRAPH:
                    visit(attr.g)
                for sub in attr.graphs:
                    visit(sub)

    visit(onnx.load(path).graph)
    return found
