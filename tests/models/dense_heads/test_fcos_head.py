"""FCOSHead: batched point targets and test-time decoding against per-image references
written here (mmdetection 2.x's per-image algorithm; torchvision's ``batched_nms``)."""
from __future__ import annotations

import pytest
import torch
from torchvision.ops import batched_nms

from mmssd.registry import MODELS

NUM_CLASSES = 4
STRIDES = [8, 16, 32]
RANGES = [(-1, 32), (32, 64), (64, 1e8)]
FEATMAPS = [(16, 20), (8, 10), (4, 5)]  # a 128 x 160 batch
TEST_CFG = dict(nms_pre=60, min_bbox_size=0, score_thr=0.2,
                nms=dict(type='nms', iou_threshold=0.5), max_per_img=40)


def build_head(**kwargs) -> torch.nn.Module:
    cfg = dict(type='FCOSHead', num_classes=NUM_CLASSES, in_channels=8, feat_channels=8,
               stacked_convs=1, strides=STRIDES, regress_ranges=RANGES,
               norm_cfg=dict(type='GN', num_groups=4), train_cfg=dict(), test_cfg=TEST_CFG)
    return MODELS.build(dict(cfg, **kwargs))


def random_gts(g: torch.Generator, num: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``num`` boxes in a 128 x 160 image, with nested boxes (the smallest-area rule) and
    an exact duplicate of equal area (ties go to the lower index)."""
    xy = torch.rand(num, 2, generator=g) * torch.tensor([150., 118.])
    wh = torch.rand(num, 2, generator=g) * 100 + 4
    boxes = torch.cat([xy, xy + wh], 1)
    if num >= 3:
        boxes[1] = boxes[0] + torch.tensor([3., 3., -3., -3.])  # inside box 0
        boxes[2] = boxes[0]  # a tie with box 0, of another class
    labels = torch.randint(0, NUM_CLASSES, (num,), generator=g)
    if num >= 3:
        labels[2] = (labels[0] + 1) % NUM_CLASSES
    return boxes, labels


def boundary_gts() -> tuple[torch.Tensor, torch.Tensor]:
    """Boxes whose largest distance from the level-0 points (20, 20) and (44, 44) is
    exactly the bound 32 between the ranges of levels 0 and 1."""
    boxes = torch.tensor([[-12., 10., 25., 25.], [40., 12., 50., 50.]])
    return boxes, torch.tensor([1, 2])


def reference_targets(points, strides, ranges, boxes, labels, center_sampling, radius,
                      norm_on_bbox):
    """One image, mmdetection 2.x's ``FCOSHead._get_target_single`` written out:
    ``(N, G, 4)`` distances, masks, ``areas.min`` (first index on ties)."""
    num_points, num_gts = points.size(0), boxes.size(0)
    if num_gts == 0:
        return torch.full((num_points,), NUM_CLASSES), torch.zeros(num_points, 4)
    areas = ((boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1]))[None].repeat(
        num_points, 1)
    xs, ys = points[:, 0:1], points[:, 1:2]
    targets = torch.stack([xs - boxes[None, :, 0], ys - boxes[None, :, 1],
                           boxes[None, :, 2] - xs, boxes[None, :, 3] - ys], -1)
    if center_sampling:
        cx, cy = (boxes[:, 0] + boxes[:, 2]) / 2, (boxes[:, 1] + boxes[:, 3]) / 2
        stride = (strides * radius)[:, None]
        x_min, y_min = cx[None] - stride, cy[None] - stride
        x_max, y_max = cx[None] + stride, cy[None] + stride
        cg = torch.stack([torch.where(x_min > boxes[:, 0], x_min, boxes[:, 0].expand_as(x_min)),
                          torch.where(y_min > boxes[:, 1], y_min, boxes[:, 1].expand_as(y_min)),
                          torch.where(x_max > boxes[:, 2], boxes[:, 2].expand_as(x_max), x_max),
                          torch.where(y_max > boxes[:, 3], boxes[:, 3].expand_as(y_max), y_max)],
                         -1)
        dist = torch.stack([xs - cg[..., 0], ys - cg[..., 1], cg[..., 2] - xs,
                            cg[..., 3] - ys], -1)
        inside = dist.min(-1).values > 0
    else:
        inside = targets.min(-1).values > 0
    max_dist = targets.max(-1).values
    in_range = (max_dist >= ranges[:, :1]) & (max_dist <= ranges[:, 1:])
    areas[~inside] = 1e8
    areas[~in_range] = 1e8
    min_area, inds = areas.min(dim=1)
    out_labels = labels[inds].clone()
    out_labels[min_area == 1e8] = NUM_CLASSES
    out_targets = targets[torch.arange(num_points), inds]
    if norm_on_bbox:
        out_targets = out_targets / strides[:, None]
    return out_labels, out_targets


def reference_points() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Points ``((j + 0.5) * s, (i + 0.5) * s)`` in (level, H, W) order, their strides and
    regress ranges."""
    points, strides, ranges = [], [], []
    for (h, w), s, r in zip(FEATMAPS, STRIDES, RANGES, strict=True):
        for i in range(h):
            for j in range(w):
                points.append(((j + 0.5) * s, (i + 0.5) * s))
                strides.append(float(s))
                ranges.append(r)
    return torch.tensor(points), torch.tensor(strides), torch.tensor(ranges)


@pytest.mark.parametrize('center_sampling,norm_on_bbox', [(False, False), (True, True)])
def test_batched_targets_equal_per_image_reference(center_sampling, norm_on_bbox):
    g = torch.Generator().manual_seed(0)
    gts = [random_gts(g, n) for n in (12, 0, 1, 30, 5)] + [boundary_gts()]
    head = build_head(center_sampling=center_sampling, center_sample_radius=1.5,
                      norm_on_bbox=norm_on_bbox)
    got = head.get_targets(head.get_points(FEATMAPS), FEATMAPS, [b for b, _ in gts],
                           [lb for _, lb in gts])
    points, strides, ranges = reference_points()
    overlapped = 0
    for i, (boxes, labels) in enumerate(gts):
        want_labels, want_targets = reference_targets(
            points, strides, ranges, boxes, labels, center_sampling, 1.5, norm_on_bbox)
        assert torch.equal(got.labels[i], want_labels)
        pos = want_labels < NUM_CLASSES
        torch.testing.assert_close(got.bbox_targets[i][pos], want_targets[pos], rtol=0, atol=0)
        assert not got.bbox_targets[i][~pos].any()
        if len(boxes):  # points inside several GTs: the smallest-area rule is exercised
            inside = ((points[:, None] > boxes[None, :, :2]).all(-1)
                      & (points[:, None] < boxes[None, :, 2:]).all(-1))
            overlapped += int((inside.sum(1) > 1).sum())
    assert overlapped > 50
    assert (got.labels < NUM_CLASSES).sum() > 30
    assert (got.labels[1] == NUM_CLASSES).all()  # the image without GTs


def reference_detections(cls_scores, bbox_preds, centernesses, img_shape, cfg, image):
    """One image: per level the ``nms_pre`` points of highest score x centerness, decoded
    by hand and clipped; ``score_thr`` on the score; torchvision's ``batched_nms`` on
    score x centerness; the ``max_per_img`` best."""
    boxes, scores, factors = [], [], []
    for (h, w), s, cls, reg, ctr in zip(FEATMAPS, STRIDES, cls_scores, bbox_preds,
                                        centernesses, strict=True):
        ys, xs = torch.meshgrid(torch.arange(h) + 0.5, torch.arange(w) + 0.5, indexing='ij')
        pts = torch.stack([xs.reshape(-1) * s, ys.reshape(-1) * s], -1)
        prob = cls[image].reshape(NUM_CLASSES, -1).t().sigmoid()
        cent = ctr[image].reshape(-1).sigmoid()
        dist = reg[image].reshape(4, -1).t()
        keep = (prob * cent[:, None]).max(1).values.topk(min(cfg['nms_pre'], len(pts))).indices
        pts, prob, cent, dist = pts[keep], prob[keep], cent[keep], dist[keep]
        box = torch.stack([(pts[:, 0] - dist[:, 0]).clamp(0, img_shape[1]),
                           (pts[:, 1] - dist[:, 1]).clamp(0, img_shape[0]),
                           (pts[:, 0] + dist[:, 2]).clamp(0, img_shape[1]),
                           (pts[:, 1] + dist[:, 3]).clamp(0, img_shape[0])], -1)
        boxes.append(box)
        scores.append(prob)
        factors.append(cent)
    boxes, scores, factors = torch.cat(boxes), torch.cat(scores), torch.cat(factors)
    box_i, label = (scores > cfg['score_thr']).nonzero(as_tuple=True)
    final = scores[box_i, label] * factors[box_i]
    keep = batched_nms(boxes[box_i], final, label, cfg['nms']['iou_threshold'])
    keep = keep[:cfg['max_per_img']]
    return torch.cat([boxes[box_i][keep], final[keep, None]], 1), label[keep]


def test_decoding_equals_per_image_decode_and_batched_nms():
    torch.manual_seed(0)
    head = build_head(norm_on_bbox=True).eval()
    feats = [torch.randn(2, 8, h, w) for h, w in FEATMAPS]
    shapes = [(128, 160, 3), (100, 120, 3)]
    metas = [{'img_shape': shape, 'scale_factor': 2.0} for shape in shapes]
    with torch.no_grad():
        outs = head(feats)
        got = head.get_bboxes(*outs, img_metas=metas, rescale=True)
        for (dets, labels), (dets2, labels2) in zip(got, head.simple_test(feats, metas),
                                                    strict=True):
            assert torch.equal(dets, dets2) and torch.equal(labels, labels2)
    total = 0
    for i, (dets, labels) in enumerate(got):
        want_dets, want_labels = reference_detections(*outs, shapes[i], TEST_CFG, i)
        assert torch.equal(labels, want_labels)
        torch.testing.assert_close(dets[:, :4], want_dets[:, :4] / 2)
        torch.testing.assert_close(dets[:, 4], want_dets[:, 4])
        total += len(dets)
    assert total > 20


@pytest.mark.filterwarnings('ignore::torch.jit.TracerWarning')
def test_decoding_traces():
    """Decoding is tensor operations only: a trace replays it on new inputs."""
    head = build_head().eval()
    metas = [{'img_shape': (128, 160, 3)}]

    def decode(*outs):
        return head.mlvl_topk_decode(*(list(o) for o in (outs[0:3], outs[3:6], outs[6:9])),
                                     metas, 15)  # < every level's 20+ points: top-k
    # on each level (traced, top-k always runs; eagerly a level of <= nms_pre keeps its order)

    def outputs(seed):
        torch.manual_seed(seed)
        with torch.no_grad():
            return [t for level in head([torch.randn(1, 8, h, w) for h, w in FEATMAPS])
                    for t in level]
    traced = torch.jit.trace(decode, tuple(outputs(0)), check_trace=False)
    for want, got in zip(decode(*outputs(1)), traced(*outputs(1)), strict=True):
        torch.testing.assert_close(got, want)


def test_loss_without_positives_keeps_the_graph():
    head = build_head()
    outs = head([torch.randn(2, 8, h, w) for h, w in FEATMAPS])
    losses = head.loss(*outs, [torch.zeros(0, 4)] * 2, [torch.zeros(0, dtype=torch.long)] * 2,
                       [{}, {}])
    assert losses['loss_bbox'] == 0 and losses['loss_centerness'] == 0
    assert losses['loss_cls'] > 0
    sum(losses.values()).backward()


def test_layers_conv_bias_and_refusals():
    head = build_head()
    assert head.cls_convs[0].conv.bias is None and hasattr(head.cls_convs[0], 'gn')
    assert build_head(conv_bias=True).cls_convs[0].conv.bias is not None
    assert build_head(norm_cfg=None).cls_convs[0].conv.bias is not None  # 'auto'
    with pytest.raises(Exception, match='dcn_on_last_conv'):
        build_head(dcn_on_last_conv=True)


def test_loss_equals_hand_computation():
    """The three losses from the reference targets, written out: sigmoid focal loss
    (torchvision's) over all points / positives, ``-log IoU`` of the decoded boxes
    weighted by the centerness targets / their sum, centerness cross-entropy / positives."""
    from torchvision.ops import box_iou, sigmoid_focal_loss
    g = torch.Generator().manual_seed(3)
    gts = [random_gts(g, n) for n in (6, 3)]
    head = build_head(center_sampling=True, norm_on_bbox=True)
    torch.manual_seed(0)
    cls, reg, ctr = head([torch.randn(2, 8, h, w) for h, w in FEATMAPS])
    losses = head.loss(cls, reg, ctr, [b for b, _ in gts], [lb for _, lb in gts], [{}, {}])
    points, strides, ranges = reference_points()
    flat = [torch.cat([m[i].reshape(m.size(1), -1).t() for m in maps]) for maps in (cls, reg, ctr)
            for i in range(2)]
    cls_all, reg_all, ctr_all = torch.cat(flat[0:2]), torch.cat(flat[2:4]), torch.cat(flat[4:6])
    refs = [reference_targets(points, strides, ranges, b, lb, True, 1.5, True) for b, lb in gts]
    labels = torch.cat([r[0] for r in refs])
    targets = torch.cat([r[1] for r in refs])
    pos = labels < NUM_CLASSES
    num_pos = pos.sum().float()
    one_hot = torch.nn.functional.one_hot(labels, NUM_CLASSES + 1)[:, :NUM_CLASSES].float()
    focal = sigmoid_focal_loss(cls_all, one_hot, alpha=0.25, gamma=2.0, reduction='sum')
    torch.testing.assert_close(losses['loss_cls'], focal / num_pos)
    t = targets[pos]
    centerness = torch.sqrt(t[:, [0, 2]].min(1).values / t[:, [0, 2]].max(1).values
                            * t[:, [1, 3]].min(1).values / t[:, [1, 3]].max(1).values)
    pts = points.repeat(2, 1)[pos]
    p = reg_all[pos]

    def decode(d):
        return torch.cat([pts - d[:, :2], pts + d[:, 2:]], 1)
    iou = box_iou(decode(p), decode(t)).diagonal().clamp(min=1e-6)
    torch.testing.assert_close(losses['loss_bbox'],
                               (-iou.log() * centerness).sum() / centerness.sum())
    bce = torch.nn.functional.binary_cross_entropy_with_logits(ctr_all[pos, 0], centerness)
    torch.testing.assert_close(losses['loss_centerness'], bce)
