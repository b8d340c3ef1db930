"""Per-class NMS inside an exported graph: ONNX ``NonMaxSuppression`` and the padded
``dets`` / ``labels`` outputs.

Shapes: ``B`` images, ``n`` candidates per image, ``C`` foreground classes, ``M``
detections kept per image (``max_per_img``).
"""
from __future__ import annotations

import torch
from torch import Tensor
from torchvision.ops import batched_nms

#: lowest ONNX opset of the ``NonMaxSuppression`` operator
NMS_MIN_OPSET = 11


class NonMaxSuppressionOp(torch.autograd.Function):
    """ONNX ``NonMaxSuppression`` of ``boxes (B', n, 4)`` and ``scores (B', C', n)``:
    ``selected (K, 3)`` int64 rows ``[batch, class, box]``.

    Traced, it is the standard operator (greedy NMS per batch entry and class, candidates
    scoring above ``score_threshold``, at most ``max_per_class`` per class). Run eagerly,
    torchvision's ``batched_nms`` computes the same rows; while tracing, where the values
    are never used (the exporter replaces the call by the operator), one valid row
    ``[0, 0, 0]`` stands for them, sparing an NMS of every candidate of random weights.
    """

    @staticmethod
    def forward(ctx, boxes: Tensor, scores: Tensor, max_per_class: int, iou_threshold: float,
                score_threshold: float) -> Tensor:
        if torch.jit.is_tracing() or torch.onnx.is_in_onnx_export():
            return torch.zeros((1, 3), dtype=torch.long, device=boxes.device)
        rows = []
        for b in range(boxes.size(0)):
            cls, box = (scores[b] > score_threshold).nonzero(as_tuple=True)
            keep = batched_nms(boxes[b, box], scores[b, cls, box], cls, iou_threshold)
            cls, box = cls[keep], box[keep]
            # at most max_per_class per class, best first (keep is sorted by score)
            rank = torch.zeros_like(cls)
            for c in cls.unique():
                in_class = (cls == c).nonzero(as_tuple=True)[0]
                rank[in_class] = torch.arange(len(in_class))
            ok = rank < max_per_class
            rows.append(torch.stack([torch.full_like(cls[ok], b), cls[ok], box[ok]], dim=1))
        return torch.cat(rows) if rows else boxes.new_zeros((0, 3), dtype=torch.long)

    @staticmethod
    def symbolic(g, boxes, scores, max_per_class: int, iou_threshold: float,
                 score_threshold: float):
        return g.op('NonMaxSuppression', boxes, scores,
                    g.op('Constant', value_t=torch.tensor([max_per_class], dtype=torch.long)),
                    g.op('Constant', value_t=torch.tensor([iou_threshold], dtype=torch.float)),
                    g.op('Constant', value_t=torch.tensor([score_threshold],
                                                          dtype=torch.float)))


def multiclass_nms_padded(bboxes: Tensor, scores: Tensor, score_thr: float,
                          iou_threshold: float, max_per_img: int) -> tuple[Tensor, Tensor]:
    """Per-class NMS of every image, the best ``max_per_img`` kept, padded (traceable).

    The batched, fixed-shape counterpart of :func:`mmssd.models.utils.multiclass_nms`
    (same selection: candidates above ``score_thr``, greedy NMS within each class, the best
    ``max_per_img`` over all classes): one ONNX ``NonMaxSuppression`` over all images and
    classes, then a per-image top-k of the kept scores.

    Args:
        bboxes: ``(B, n, 4)`` boxes shared by the classes, or ``(B, n, C, 4)`` one per class
            (R-CNN heads).
        scores: ``(B, n, C)`` foreground scores (no background column).
        score_thr: keep candidates scoring above this (``>= 0``).
        iou_threshold: NMS IoU threshold.
        max_per_img: ``M``, detections per image.

    Returns:
        ``dets (B, M, 5)`` ``[x1, y1, x2, y2, score]`` by decreasing score and ``labels
        (B, M)`` int64, padded as mmdetection 2.x's ONNX export: the rows past an image's
        detections are zeros (score 0, label 0), so an image's detection count is the
        number of its scores above 0.
    """
    batch, num = scores.shape[0], scores.shape[1]
    scores_t = scores.transpose(1, 2).contiguous()  # (B, C, n)
    num_classes = scores_t.shape[1]
    if bboxes.dim() == 3:
        selected = NonMaxSuppressionOp.apply(bboxes, scores_t, max_per_img, iou_threshold,
                                             score_thr)
        img_inds, cls_inds, box_inds = selected[:, 0], selected[:, 1], selected[:, 2]
    else:  # one box per class: every (image, class) pair is a batch entry of the operator
        per_class = bboxes.transpose(1, 2).reshape(-1, num, 4)  # (B * C, n, 4)
        selected = NonMaxSuppressionOp.apply(per_class, scores_t.reshape(-1, 1, num),
                                             max_per_img, iou_threshold, score_thr)
        img_inds = torch.div(selected[:, 0], num_classes, rounding_mode='floor')
        cls_inds = selected[:, 0] - img_inds * num_classes
        box_inds = selected[:, 2]
    # the kept scores in a (B, C * n) matrix, zeros elsewhere, plus M zero columns so that
    # top-k always has M entries to take
    kept = torch.zeros_like(scores_t).reshape(batch, -1)
    kept = kept.index_put((img_inds, cls_inds * num + box_inds),
                          scores_t[img_inds, cls_inds, box_inds])
    kept = torch.cat([kept, kept[:, :1].expand(-1, max_per_img) * 0], dim=1)
    top_scores, top_inds = kept.topk(max_per_img, dim=1)  # (B, M)
    valid = top_scores > 0
    top_inds = torch.where(valid, top_inds, torch.zeros_like(top_inds))
    labels = torch.div(top_inds, num, rounding_mode='floor')
    boxes_at = top_inds - labels * num
    batch_inds = torch.arange(batch, device=scores.device)[:, None].expand_as(top_inds)
    if bboxes.dim() == 3:
        boxes = bboxes[batch_inds, boxes_at]
    else:
        boxes = bboxes[batch_inds, boxes_at, labels]
    dets = torch.cat([boxes, top_scores[..., None]], dim=-1) * valid[..., None].to(boxes.dtype)
    return dets, labels * valid.long()
