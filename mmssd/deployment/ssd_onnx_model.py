"""SSD as an exportable module: images in, decoded boxes and class scores of every anchor out."""
from __future__ import annotations

import torch
from torch import Tensor, nn

from mmssd.models.dense_heads.ssd_head import levels_to_batch


class SSDOnnxModel(nn.Module):
    """Network, softmax and box decoding of an SSD-style detector, for tracing to ONNX.

    The anchors of the fixed input size are computed once and stored as a buffer, so the
    graph holds no anchor generation; SSD's input size is fixed by its anchors, only the
    batch size may vary. Per-level top-k (``nms_pre``), the score threshold and per-class
    NMS are left to :func:`mmssd.deployment.postprocess_detections` (the post-step).

    Outputs of ``forward(img (B, 3, H, W))`` (normalized like the test pipeline's output):

    * ``boxes (B, N, 4)``: ``[x1, y1, x2, y2]`` decoded and clipped, in pixels of the
      network input (divide by ``scale_factor`` for original image pixels);
    * ``scores (B, N, C + 1)``: softmax scores, background last.

    ``N = sum_l H_l * W_l * A_l`` anchors in the head's order (level, y, x, anchor);
    :attr:`num_level_anchors` gives the per-level counts.

    Args:
        detector: a built single-stage detector with an ``SSDHead``-like ``bbox_head``
            (``cls_out_channels``, ``get_anchors``, ``bbox_coder``).
        input_shape: ``(H, W)`` of the network input.
    """

    def __init__(self, detector: nn.Module, input_shape: tuple[int, int]) -> None:
        super().__init__()
        self.detector = detector
        self.input_shape = (int(input_shape[0]), int(input_shape[1]))
        head = detector.bbox_head
        with torch.no_grad():
            device = next(detector.parameters()).device
            cls_scores, _ = detector.forward_dense(
                torch.zeros(1, 3, *self.input_shape, device=device))
        featmap_sizes = [score.shape[-2:] for score in cls_scores]
        anchors = head.get_anchors(featmap_sizes, device)
        self.num_level_anchors = [int(a.size(0)) for a in anchors]
        self.register_buffer('anchors', torch.cat(anchors).clone(), persistent=False)

    def forward(self, img: Tensor) -> tuple[Tensor, Tensor]:
        head = self.detector.bbox_head
        cls_scores, bbox_preds = self.detector.forward_dense(img)
        logits = levels_to_batch(cls_scores, head.cls_out_channels).float()
        to_probabilities = getattr(head, 'cls_probabilities', None)
        scores = to_probabilities(logits) if to_probabilities else logits.softmax(-1)
        deltas = levels_to_batch(bbox_preds, 4).float()
        boxes = head.bbox_coder.decode(self.anchors[None].expand_as(deltas), deltas,
                                       max_shape=self.input_shape)
        return boxes, scores
