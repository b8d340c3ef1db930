"""Box mapping between test-time augmentations and the original image, and the merges,
against hand-written references."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from mmssd.models.test_time_augs import (
    bbox_mapping,
    bbox_mapping_back,
    concat_aug_bboxes,
    merge_aug_bboxes,
    merge_aug_proposals,
    per_image_metas,
)


def meta(flip: bool, direction: str | None = 'horizontal', scale=(2.0, 0.5),
         shape=(50, 80)) -> dict:
    """An augmentation's meta: the original image resized by ``scale`` (w, h) to ``shape``
    (h, w), then flipped along ``direction`` when ``flip``."""
    return {'img_shape': (*shape, 3), 'flip': flip, 'flip_direction': direction,
            'scale_factor': np.array([scale[0], scale[1], scale[0], scale[1]], np.float32)}


def reference_back(box: list[float], m: dict) -> list[float]:
    """One box of an augmentation's pixels back to the original image, written out."""
    x1, y1, x2, y2 = box
    h, w = m['img_shape'][:2]
    if m['flip'] and m['flip_direction'] in ('horizontal', 'diagonal'):
        x1, x2 = w - x2, w - x1
    if m['flip'] and m['flip_direction'] in ('vertical', 'diagonal'):
        y1, y2 = h - y2, h - y1
    sw, sh = m['scale_factor'][:2]
    return [x1 / sw, y1 / sh, x2 / sw, y2 / sh]


@pytest.mark.parametrize('m', [meta(False, None), meta(True), meta(True, 'vertical'),
                               meta(True, 'diagonal'), meta(False, scale=(1.0, 1.0))])
def test_mapping_back_matches_written_out_and_inverts_mapping(m):
    boxes = torch.tensor([[1.0, 2.0, 30.0, 40.0], [10.5, 0.0, 80.0, 49.0]])
    back = bbox_mapping_back(boxes, m)
    want = torch.tensor([reference_back(b, m) for b in boxes.tolist()])
    torch.testing.assert_close(back, want)
    torch.testing.assert_close(bbox_mapping(back, m), boxes)
    # one box per class (n, 4C) maps class by class
    per_class = torch.cat([boxes, boxes + 1], dim=1)
    torch.testing.assert_close(bbox_mapping_back(per_class, m),
                               torch.cat([want, bbox_mapping_back(boxes + 1, m)], dim=1))


def test_scalar_scale_factor_and_missing_keys():
    m = {'img_shape': (10, 20, 3), 'scale_factor': 2.0, 'flip': False, 'flip_direction': None}
    torch.testing.assert_close(bbox_mapping_back(torch.tensor([[2., 4., 6., 8.]]), m),
                               torch.tensor([[1., 2., 3., 4.]]))
    with pytest.raises(KeyError, match="missing \\['flip'\\]"):
        bbox_mapping_back(torch.zeros(1, 4), {'img_shape': (10, 20, 3), 'scale_factor': 1.0})


def greedy_nms(boxes: np.ndarray, scores: np.ndarray, thr: float) -> list[int]:
    """Plain greedy NMS, written out: indices kept, by decreasing score."""
    order = list(np.argsort(-scores, kind='stable'))
    keep = []
    while order:
        i = order.pop(0)
        keep.append(i)
        rest = []
        for j in order:
            lt = np.maximum(boxes[i, :2], boxes[j, :2])
            rb = np.minimum(boxes[i, 2:], boxes[j, 2:])
            inter = np.prod(np.clip(rb - lt, 0, None))
            area = lambda b: (b[2] - b[0]) * (b[3] - b[1])  # noqa: E731
            if inter / (area(boxes[i]) + area(boxes[j]) - inter) <= thr:
                rest.append(j)
        order = rest
    return keep


def test_merge_aug_proposals_is_nms_of_the_mapped_back_union():
    g = torch.Generator().manual_seed(0)
    metas = [meta(False, None), meta(True)]
    aug_proposals = []
    for _ in metas:
        xy = torch.rand(40, 2, generator=g) * torch.tensor([60., 35.])
        wh = torch.rand(40, 2, generator=g) * 20 + 2
        aug_proposals.append(torch.cat([xy, xy + wh, torch.rand(40, 1, generator=g)], dim=1))
    merged = merge_aug_proposals(aug_proposals, metas, iou_threshold=0.5, max_per_img=25)
    union = np.concatenate([np.concatenate([[reference_back(b[:4], m) for b in p.tolist()],
                                            p[:, 4:].numpy()], axis=1)
                            for p, m in zip(aug_proposals, metas, strict=True)])
    keep = greedy_nms(union[:, :4], union[:, 4], 0.5)[:25]
    assert merged.shape == (25, 5)
    np.testing.assert_allclose(merged.numpy(), union[keep], rtol=1e-5, atol=1e-4)


def test_merge_aug_bboxes_averages_and_concat_keeps_all():
    metas = [meta(False, None), meta(True)]
    boxes = torch.tensor([[10., 5., 30., 20.]])
    flipped = torch.tensor([[80. - 32., 5., 80. - 10., 20.]])  # the same box 2 px wider, flipped
    scores = [torch.tensor([[0.2, 0.8]]), torch.tensor([[0.4, 0.6]])]
    mean_boxes, mean_scores = merge_aug_bboxes([boxes, flipped], scores, metas)
    torch.testing.assert_close(mean_boxes, torch.tensor([[5., 10., 15.5, 40.]]))
    torch.testing.assert_close(mean_scores, torch.tensor([[0.3, 0.7]]))
    torch.testing.assert_close(merge_aug_bboxes([boxes, flipped], None, metas), mean_boxes)
    all_boxes, all_scores = concat_aug_bboxes([boxes, flipped], scores, metas)
    torch.testing.assert_close(all_boxes, torch.tensor([[5., 10., 15., 40.], [5., 10., 16., 40.]]))
    assert all_scores.shape == (2, 2)


def test_per_image_metas_transposes_and_checks_counts():
    assert per_image_metas([[{'a': 0}, {'a': 1}], [{'a': 2}, {'a': 3}]]) == [
        [{'a': 0}, {'a': 2}], [{'a': 1}, {'a': 3}]]
    with pytest.raises(ValueError, match='same number of image metas'):
        per_image_metas([[{}, {}], [{}]])
