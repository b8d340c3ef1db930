"""MaxIoUAssigner: hand-made example, ignore regions, batched == per image; RandomSampler."""
import torch

from mmssd.models.task_modules import AssignResult
from mmssd.models.utils import pad_instances
from mmssd.registry import TASK_UTILS
from mmssd.structures.bbox import bbox_overlaps

GTS = torch.tensor([[0., 0., 10., 10.], [20., 20., 30., 30.]])
LABELS = torch.tensor([3, 7])
ANCHORS = torch.tensor([
    [0., 0., 10., 10.],  # IoU 1 with gt 0 -> positive
    [0., 0., 10., 5.],  # IoU .5 with gt 0 -> positive (>= pos_iou_thr)
    [0., 0., 10., 4.],  # IoU .4 with gt 0 -> between thresholds: ignored
    [50., 50., 60., 60.],  # IoU 0 -> negative
    [20., 20., 25., 28.],  # IoU .4 with gt 1, its best anchor -> low-quality positive
])


def assigner(**kwargs):
    cfg = {'type': 'MaxIoUAssigner', 'pos_iou_thr': 0.5, 'neg_iou_thr': 0.3, 'min_pos_iou': 0.1,
           'gt_max_assign_all': False}
    cfg.update(kwargs)
    return TASK_UTILS.build(cfg)


def test_hand_made_example():
    result = assigner().assign(ANCHORS, GTS, gt_labels=LABELS)
    assert result.gt_inds.tolist() == [1, 1, -1, 0, 2]
    assert result.labels.tolist() == [3, 3, -1, -1, 7]
    torch.testing.assert_close(result.max_overlaps, torch.tensor([1., .5, .4, 0., .4]))


def test_min_pos_iou_blocks_low_quality_match():
    result = assigner(min_pos_iou=0.45).assign(ANCHORS, GTS, gt_labels=LABELS)
    assert result.gt_inds.tolist() == [1, 1, -1, 0, -1]
    result = assigner(match_low_quality=False).assign(ANCHORS, GTS, gt_labels=LABELS)
    assert result.gt_inds.tolist() == [1, 1, -1, 0, -1]


def test_gt_max_assign_all_and_later_gt_wins():
    anchors = torch.tensor([[0., 0., 10., 20.], [0., 0., 20., 10.], [40., 40., 50., 50.]])
    gts = torch.tensor([[0., 0., 10., 10.], [0., 0., 10., 10.]])  # identical gts
    all_best = assigner(gt_max_assign_all=True).assign(anchors, gts)
    assert all_best.gt_inds.tolist() == [2, 2, 0]  # both tie at .5; gt 1 (later) wins
    first_best = assigner(pos_iou_thr=0.6).assign(anchors, gts)
    assert first_best.gt_inds.tolist() == [2, -1, 0]


def test_no_gts_all_negative():
    result = assigner().assign(ANCHORS, torch.zeros((0, 4)), gt_labels=torch.zeros(0).long())
    assert result.gt_inds.tolist() == [0] * 5
    assert result.labels.tolist() == [-1] * 5


def test_ignore_iof():
    ignore = torch.tensor([[49., 49., 61., 61.]])
    result = assigner(ignore_iof_thr=0.5).assign(ANCHORS, GTS, gt_bboxes_ignore=ignore,
                                                 gt_labels=LABELS)
    assert result.gt_inds.tolist() == [1, 1, -1, -1, 2]


def reference_assign(anchors, gts, pos_iou_thr, neg_iou_thr, min_pos_iou, gt_max_assign_all,
                     ignore=None, ignore_iof_thr=-1):
    """mmdetection 2.x's MaxIoUAssigner for one image, step by step (the test's reference)."""
    gt_inds = torch.full((len(anchors),), -1, dtype=torch.long)
    if len(gts) == 0:
        return gt_inds.zero_()
    overlaps = bbox_overlaps(gts, anchors)  # (G, N)
    if ignore is not None and len(ignore) and ignore_iof_thr > 0:
        ignored = bbox_overlaps(anchors, ignore, mode='iof').max(dim=1).values > ignore_iof_thr
        overlaps[:, ignored] = -1
    max_overlaps, argmax_overlaps = overlaps.max(dim=0)
    gt_max_overlaps, gt_argmax_overlaps = overlaps.max(dim=1)
    if isinstance(neg_iou_thr, tuple):
        gt_inds[(max_overlaps >= neg_iou_thr[0]) & (max_overlaps < neg_iou_thr[1])] = 0
    else:
        gt_inds[(max_overlaps >= 0) & (max_overlaps < neg_iou_thr)] = 0
    pos = max_overlaps >= pos_iou_thr
    gt_inds[pos] = argmax_overlaps[pos] + 1
    for i in range(len(gts)):
        if gt_max_overlaps[i] >= min_pos_iou:
            if gt_max_assign_all:
                gt_inds[overlaps[i, :] == gt_max_overlaps[i]] = i + 1
            else:
                gt_inds[gt_argmax_overlaps[i]] = i + 1
    return gt_inds


def test_batched_equals_independent_reference():
    """Random batches on an integer grid (many exact IoU ties, duplicate ground truths),
    empty images, ignore regions: the batched assignment equals the step-by-step one."""
    g = torch.Generator().manual_seed(0)

    def boxes(n):
        xy = torch.randint(0, 40, (n, 2), generator=g).float()
        return torch.cat([xy, xy + torch.randint(2, 20, (n, 2), generator=g)], 1)

    anchors = boxes(300)
    for trial in range(20):
        gts = [boxes(int(n)) for n in torch.randint(0, 9, (5,), generator=g)]
        gts[0] = torch.cat([gts[0], gts[0][:2]])  # duplicates: tied argmax and low-quality
        labels = [torch.randint(0, 5, (len(b),), generator=g) for b in gts]
        ignore = [boxes(int(n)) for n in torch.randint(0, 3, (5,), generator=g)]
        padded, valid = pad_instances(gts)
        padded_labels, _ = pad_instances(labels, pad_value=-1)
        padded_ignore, ignore_valid = pad_instances(ignore)
        for kwargs in ({'gt_max_assign_all': True, 'min_pos_iou': 0.},
                       {'gt_max_assign_all': False, 'min_pos_iou': 0.2},
                       {'gt_max_assign_all': True, 'neg_iou_thr': (0.1, 0.4),
                        'ignore_iof_thr': 0.5, 'min_pos_iou': 0.1}):
            cfg = {'pos_iou_thr': 0.5, 'neg_iou_thr': 0.4, **kwargs}
            batched = assigner(**cfg).assign_batched(anchors, padded, valid, padded_labels,
                                                     padded_ignore, ignore_valid)
            for i in range(len(gts)):
                want = reference_assign(anchors, gts[i], ignore=ignore[i], **cfg)
                assert torch.equal(batched.gt_inds[i], want), (trial, kwargs, i)
                want_labels = torch.where(want > 0, labels[i][(want - 1).clamp(min=0)]
                                          if len(gts[i]) else want, -1)
                assert torch.equal(batched.labels[i], want_labels), (trial, kwargs, i)


def test_prior_valid_equals_assigning_the_valid_subset_per_image():
    """mmdetection assigns only each image's inside anchors (then maps back, outside = -1):
    a per-image ``prior_valid`` mask must give exactly that, low-quality matches included
    (a ground truth's best prior is sought among the valid ones only)."""
    g = torch.Generator().manual_seed(1)

    def boxes(n):
        xy = torch.randint(0, 40, (n, 2), generator=g).float()
        return torch.cat([xy, xy + torch.randint(2, 20, (n, 2), generator=g)], 1)

    anchors = boxes(200)
    for trial in range(10):
        gts = [boxes(int(n)) for n in torch.randint(0, 6, (4,), generator=g)]
        ignore = [boxes(int(n)) for n in torch.randint(0, 3, (4,), generator=g)]
        prior_valid = torch.rand(4, len(anchors), generator=g) < 0.6
        prior_valid[-1] = False  # an image without any valid prior
        padded, valid = pad_instances(gts)
        padded_ignore, ignore_valid = pad_instances(ignore)
        for kwargs in ({'gt_max_assign_all': True, 'min_pos_iou': 0.},
                       {'gt_max_assign_all': False, 'min_pos_iou': 0.2, 'ignore_iof_thr': 0.5}):
            cfg = {'pos_iou_thr': 0.5, 'neg_iou_thr': 0.4, **kwargs}
            batched = assigner(**cfg).assign_batched(anchors, padded, valid, None, padded_ignore,
                                                     ignore_valid, prior_valid=prior_valid)
            for i in range(len(gts)):
                inside = prior_valid[i]
                want = torch.full((len(anchors),), -1, dtype=torch.long)
                if inside.any():  # mmdetection skips an image without inside anchors
                    want[inside] = reference_assign(anchors[inside], gts[i], ignore=ignore[i],
                                                    **cfg)
                assert torch.equal(batched.gt_inds[i], want), (trial, kwargs, i)
    empty = assigner().assign_batched(anchors, torch.zeros(2, 0, 4),
                                      torch.zeros(2, 0, dtype=torch.bool),
                                      prior_valid=prior_valid[:2])
    assert torch.equal(empty.gt_inds, torch.where(prior_valid[:2], 0, -1))


def test_neg_iou_range_and_no_low_quality():
    # max IoUs: 1, .5, .4, 0, .4 (the last is gt 1's best anchor)
    result = assigner(neg_iou_thr=(0.1, 0.45), match_low_quality=False).assign(
        ANCHORS, GTS, gt_labels=LABELS)
    assert result.gt_inds.tolist() == [1, 1, 0, -1, 0]  # IoU 0 is below the range: ignored
    result = assigner(neg_iou_thr=(0.1, 0.45)).assign(ANCHORS, GTS, gt_labels=LABELS)
    assert result.gt_inds.tolist() == [1, 1, 0, -1, 2]


def test_random_sampler_per_image():
    torch.manual_seed(0)
    sampler = TASK_UTILS.build({'type': 'RandomSampler', 'num': 4, 'pos_fraction': 0.25,
                                'neg_pos_ub': -1, 'add_gt_as_proposals': True})
    assign = assigner().assign(ANCHORS, GTS, gt_labels=LABELS)
    result = sampler.sample(assign, ANCHORS, GTS, gt_labels=LABELS)
    # the 2 gts become priors 0, 1 (positives); 1 of the 5 positives, 3 - ... negatives
    assert assign.gt_inds.tolist() == [1, 2, 1, 1, -1, 0, 2]
    assert len(result.pos_inds) == 1 and result.neg_inds.tolist() == [5]
    pos = int(result.pos_inds[0])
    assert result.pos_is_gt.tolist() == [int(pos < 2)]
    all_priors = torch.cat([GTS, ANCHORS])
    torch.testing.assert_close(result.pos_bboxes, all_priors[result.pos_inds])
    torch.testing.assert_close(result.pos_gt_bboxes, GTS[assign.gt_inds[pos] - 1][None])
    torch.testing.assert_close(result.neg_bboxes, ANCHORS[3:4])
    bounded = TASK_UTILS.build({'type': 'RandomSampler', 'num': 10, 'pos_fraction': 0.5,
                                'neg_pos_ub': 0, 'add_gt_as_proposals': False})
    result = bounded.sample(assigner().assign(ANCHORS, GTS, gt_labels=LABELS), ANCHORS, GTS)
    assert sorted(result.pos_inds.tolist()) == [0, 1, 4] and len(result.neg_inds) == 0


def test_random_sampler_batched_budgets():
    torch.manual_seed(0)
    sampler = TASK_UTILS.build({'type': 'RandomSampler', 'num': 10, 'pos_fraction': 0.3,
                                'neg_pos_ub': 2})
    gt_inds = torch.tensor([[1] * 5 + [0] * 20 + [-1] * 5,  # 3 of 5 pos, then 6 negatives
                            [0] * 30,  # no positive: max(1, 0) * 2 = 2 negatives
                            [2] * 2 + [0] * 3 + [-1] * 25])  # 2 pos, all 3 negatives
    pos_mask, neg_mask = sampler.sample_batched(AssignResult(None, gt_inds, gt_inds.float()))
    assert pos_mask.sum(1).tolist() == [3, 0, 2] and neg_mask.sum(1).tolist() == [6, 2, 3]
    assert (gt_inds[pos_mask] > 0).all() and (gt_inds[neg_mask] == 0).all()
    counts = torch.zeros(5)
    for _ in range(200):  # every positive is drawn about equally often
        counts += sampler.sample_batched(AssignResult(None, gt_inds, gt_inds.float()))[0][0, :5]
    assert counts.min() > 80 and counts.max() < 160
