"""``--verify``: the exported file on onnxruntime against the PyTorch detector."""
from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from .compare import compare_detections
from .ort_detector import ONNXRuntimeDetector


def verify_onnx(detector: nn.Module, onnx_file: str, img: torch.Tensor,
                img_metas: Sequence[dict]) -> dict:
    """Detections of ``detector.simple_test`` and of the ONNX file on onnxruntime for the
    same ``img (B, 3, H, W)`` and metas, paired by :func:`compare_detections` (labels
    equal, boxes within 1e-2 px, scores within 1e-4, ties at the ``max_per_img`` cut
    tolerated).

    Returns the comparison (``ok``, ``paired``, ``box_diff``, ``score_diff``, ``images``)
    plus ``num_dets``, how many detections PyTorch made.
    """
    runtime = ONNXRuntimeDetector(onnx_file)
    with torch.no_grad():
        expected = detector.simple_test(img, list(img_metas), rescale=True)
    actual = runtime.simple_test(img, img_metas)
    if runtime.is_rpn:  # one (n, 5) array per image: a single "class"
        expected, actual = [[e] for e in expected], [[a] for a in actual]
    report = compare_detections(expected, actual, runtime.max_per_img)
    report['num_dets'] = sum(len(d) for image in expected for d in image)
    return report
