"""PseudoSampler: every positive and negative, per image (RoI heads) and batched (dense
heads); the two agree."""
from __future__ import annotations

import pytest
import torch

from mmssd.models.roi_heads.base_roi_head import assign_and_sample
from mmssd.models.task_modules import AssignResult
from mmssd.registry import TASK_UTILS
from mmssd.utils import register_all_modules

register_all_modules()


def test_roi_head_assignment_with_pseudo_sampler_keeps_every_proposal():
    """An R-CNN ``train_cfg`` may name ``PseudoSampler``: the RoI head's per-image call
    ``sample(assign_result, proposals, gt_bboxes, gt_labels)`` keeps all positives and
    negatives, by the assigner's own labelling."""
    assigner = TASK_UTILS.build(dict(type='MaxIoUAssigner', pos_iou_thr=0.5, neg_iou_thr=0.3,
                                     min_pos_iou=0.5, match_low_quality=False))
    sampler = TASK_UTILS.build(dict(type='PseudoSampler'))
    proposals = torch.tensor([[0., 0., 10., 10.], [1., 0., 11., 10.], [0., 0., 4., 10.],
                              [50., 50., 60., 60.], [20., 20., 30., 30.]])
    gts = torch.tensor([[0., 0., 10., 10.], [20., 20., 30., 31.]])
    labels = torch.tensor([2, 5])
    (result,) = assign_and_sample(assigner, sampler, [proposals], [gts], [labels])
    # IoUs with gt 0: 1, .82, .4 (ignored: between the thresholds), 0; gt 1: .91
    assert result.pos_inds.tolist() == [0, 1, 4]
    assert result.neg_inds.tolist() == [3]
    assert result.pos_assigned_gt_inds.tolist() == [0, 0, 1]
    torch.testing.assert_close(result.pos_gt_bboxes, gts[[0, 0, 1]])
    torch.testing.assert_close(result.neg_bboxes, proposals[[3]])
    assert not result.pos_is_gt.any()  # no ground truths added as proposals


def test_per_image_and_batched_sampling_agree():
    gt_inds = torch.tensor([[1, 0, -1, 2, 0], [0, 0, 1, -1, -1]])
    sampler = TASK_UTILS.build(dict(type='PseudoSampler'))
    pos_mask, neg_mask = sampler.sample_batched(AssignResult(2, gt_inds, gt_inds.float()))
    for i in range(2):
        one = sampler.sample(AssignResult(2, gt_inds[i], gt_inds[i].float()), torch.rand(5, 4),
                             torch.rand(2, 4))
        assert one.pos_inds.tolist() == pos_mask[i].nonzero().view(-1).tolist()
        assert one.neg_inds.tolist() == neg_mask[i].nonzero().view(-1).tolist()


def test_pseudo_sampler_takes_no_arguments():
    with pytest.raises(TypeError):
        TASK_UTILS.build(dict(type='PseudoSampler', num=5))
