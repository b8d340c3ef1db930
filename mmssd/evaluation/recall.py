"""Proposal recall (mmdetection 2.x's ``eval_recalls``, used by ``metric='proposal_fast'``)."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from mmssd.structures.bbox import bbox_overlaps_np


def best_match_ious(ious: np.ndarray) -> np.ndarray:
    """Greedy one-to-one matching of ground truths to proposals.

    Repeatedly takes the pair of highest IoU among the unmatched ground truths and proposals
    and matches them, as mmdetection does.

    Args:
        ious: ``(G, P)`` IoUs of an image's ground truths with its proposals.

    Returns:
        ``(G,)`` the IoU each ground truth was matched with (0 when the proposals ran out).
    """
    ious = ious.copy()
    matched = np.zeros(ious.shape[0], dtype=np.float32)
    if ious.size == 0:
        return matched
    for j in range(min(ious.shape)):
        gt_idx, box_idx = np.unravel_index(np.argmax(ious), ious.shape)
        if ious[gt_idx, box_idx] < 0:
            break
        matched[j] = ious[gt_idx, box_idx]
        ious[gt_idx, :] = -1
        ious[:, box_idx] = -1
    return matched


def eval_recalls(gts: Sequence[np.ndarray], proposals: Sequence[np.ndarray],
                 proposal_nums: Sequence[int], iou_thrs: Sequence[float]) -> np.ndarray:
    """Recall of the ground truths by each image's best ``num`` proposals.

    Args:
        gts: per image ``(G_i, 4)`` ground-truth boxes xyxy.
        proposals: per image ``(P_i, 5)`` proposals ``[x1, y1, x2, y2, score]`` (sorted by
            score here) or ``(P_i, 4)`` already in order.
        proposal_nums: numbers of proposals to evaluate.
        iou_thrs: IoU thresholds a matched ground truth must reach.

    Returns:
        ``(len(proposal_nums), len(iou_thrs))`` recalls: the fraction of all ground truths
        matched (greedily, one to one) with IoU >= the threshold.
    """
    if len(gts) != len(proposals):
        raise ValueError(f'eval_recalls: {len(gts)} images of ground truth but '
                         f'{len(proposals)} of proposals')
    nums = np.asarray(proposal_nums, dtype=np.int64)
    thrs = np.asarray(iou_thrs, dtype=np.float32)
    matched = [[] for _ in nums]
    for gt, props in zip(gts, proposals, strict=True):
        props = np.asarray(props, dtype=np.float32)
        if props.ndim == 2 and props.shape[1] == 5:
            props = props[np.argsort(-props[:, 4], kind='stable')]
        ious = bbox_overlaps_np(gt, props[:int(nums.max()), :4])
        for k, num in enumerate(nums):
            matched[k].append(best_match_ious(ious[:, :num]))
    total = sum(len(gt) for gt in gts)
    ious_per_num = np.stack([np.concatenate(m) if m else np.zeros(0) for m in matched])
    if total == 0:
        return np.zeros((len(nums), len(thrs)))
    return (ious_per_num[:, :, None] >= thrs[None, None, :]).sum(axis=1) / float(total)
