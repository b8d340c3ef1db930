"""Box overlaps: hand-made cases, both versions against a per-pair loop, modes, autograd."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from mmssd.structures.bbox import bbox_overlaps, bbox_overlaps_np


def pair_iou(a, b, extra=0.0, mode='iou'):
    """IoU (or IoF, GIoU) of two boxes, one pair at a time in float64 (the reference)."""
    iw = max(min(a[2], b[2]) - max(a[0], b[0]) + extra, 0.0)
    ih = max(min(a[3], b[3]) - max(a[1], b[1]) + extra, 0.0)
    inter = iw * ih
    area_a = (a[2] - a[0] + extra) * (a[3] - a[1] + extra)
    area_b = (b[2] - b[0] + extra) * (b[3] - b[1] + extra)
    if mode == 'iof':
        return inter / max(area_a, 1e-6)
    union = max(area_a + area_b - inter, 1e-6)
    if mode == 'iou':
        return inter / union
    enclose = (max(a[2], b[2]) - min(a[0], b[0])) * (max(a[3], b[3]) - min(a[1], b[1]))
    return inter / union - (enclose - union) / max(enclose, 1e-6)


def random_boxes(rng, n):
    xy = rng.uniform(0, 100, (n, 2))
    return np.concatenate([xy, xy + rng.uniform(1, 40, (n, 2))], 1).astype(np.float32)


@pytest.mark.parametrize('legacy', [False, True])
def test_numpy_version_matches_a_per_pair_loop(legacy):
    rng = np.random.default_rng(0)
    a, b = random_boxes(rng, 7), random_boxes(rng, 9)
    want = [[pair_iou(x, y, 1.0 if legacy else 0.0) for y in b.astype(np.float64)]
            for x in a.astype(np.float64)]
    got = bbox_overlaps_np(a, b, use_legacy_coordinate=legacy)
    assert got.dtype == np.float32 and got.shape == (7, 9)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize('mode', ['iou', 'iof', 'giou'])
def test_torch_version_matches_the_loop_and_the_numpy_version(mode):
    rng = np.random.default_rng(1)
    a, b = random_boxes(rng, 6), random_boxes(rng, 8)
    want = np.array([[pair_iou(x, y, mode=mode) for y in b.astype(np.float64)]
                     for x in a.astype(np.float64)])
    got = bbox_overlaps(torch.from_numpy(a), torch.from_numpy(b), mode=mode).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    if mode == 'iou':
        np.testing.assert_allclose(got, bbox_overlaps_np(a, b), rtol=1e-6, atol=1e-7)
    aligned = bbox_overlaps(torch.from_numpy(a), torch.from_numpy(b[:6]), mode=mode,
                            is_aligned=True)
    np.testing.assert_allclose(aligned.numpy(), np.diagonal(want[:, :6]), rtol=1e-5,
                               atol=1e-6)


def test_bad_mode_is_named():
    with pytest.raises(ValueError, match="mode must be 'iou', 'iof' or 'giou', got 'io'"):
        bbox_overlaps(torch.zeros(1, 4), torch.zeros(1, 4), mode='io')


def test_bbox_overlaps_modes():
    a = torch.tensor([[0., 0., 10., 10.]])
    b = torch.tensor([[5., 0., 15., 10.], [20., 20., 30., 30.]])
    torch.testing.assert_close(bbox_overlaps(a, b), torch.tensor([[50 / 150, 0.]]))
    torch.testing.assert_close(bbox_overlaps(a, b, mode='iof'), torch.tensor([[.5, 0.]]))
    torch.testing.assert_close(bbox_overlaps(a, b[:1], is_aligned=True),
                               torch.tensor([50 / 150]))
    batched = bbox_overlaps(torch.stack([a, a]), torch.stack([b, b]))
    assert batched.shape == (2, 1, 2)


def test_bbox_overlaps_in_place_and_autograd_paths_agree():
    g = torch.Generator().manual_seed(3)
    xy = torch.rand(2, 5, 2, generator=g) * 50
    a = torch.cat([xy, xy + torch.rand(2, 5, 2, generator=g) * 20 + 1], -1)
    b = torch.cat([xy[0] + 3, xy[0] + 15], -1)  # (5, 4), broadcast over the batch
    for mode in ('iou', 'iof', 'giou'):
        with torch.no_grad():
            fast = bbox_overlaps(a, b, mode=mode)
        leaf = a.clone().requires_grad_()
        slow = bbox_overlaps(leaf, b, mode=mode)
        slow.sum().backward()
        torch.testing.assert_close(fast, slow.detach())
        assert torch.isfinite(leaf.grad).all()
    torch.testing.assert_close(bbox_overlaps(a[0], b, mode='giou').diagonal(),
                               bbox_overlaps(a[0], b, mode='giou', is_aligned=True))


def test_numpy_overlaps_plain_and_legacy():
    a = np.array([[0, 0, 9, 9]], np.float32)
    b = np.array([[0, 0, 9, 4], [20, 20, 30, 30]], np.float32)
    np.testing.assert_allclose(bbox_overlaps_np(a, b), [[36 / 81, 0]], rtol=1e-6)
    np.testing.assert_allclose(bbox_overlaps_np(a, b, use_legacy_coordinate=True), [[0.5, 0]])
    assert bbox_overlaps_np(a, np.zeros((0, 4))).shape == (1, 0)
