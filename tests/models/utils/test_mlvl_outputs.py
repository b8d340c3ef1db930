"""Multi-level output helpers: the anchor order of flattening, the per-level top-k."""
from __future__ import annotations

import torch

from mmssd.models.utils.mlvl_outputs import level_topk, levels_to_batch, take_rows


def test_levels_to_batch_orders_level_row_column_anchor():
    # level 0: 2 anchors x 3 values on a 1 x 2 map; level 1: 2 anchors on a 1 x 1 map
    maps = [torch.arange(12.).reshape(1, 6, 1, 2), torch.arange(100., 106.).reshape(1, 6, 1, 1)]
    flat = levels_to_batch(maps, 3)
    assert flat.shape == (1, 6, 3)
    # (level 0, x=0, anchor 0) holds channels 0..2 at x=0: values 0, 2, 4
    assert flat[0, 0].tolist() == [0., 2., 4.]
    assert flat[0, 1].tolist() == [6., 8., 10.]  # anchor 1 at x=0
    assert flat[0, 2].tolist() == [1., 3., 5.]  # anchor 0 at x=1
    assert flat[0, 4].tolist() == [100., 101., 102.]


def test_level_topk_takes_each_images_best_foreground_scores():
    g = torch.Generator().manual_seed(0)
    scores = torch.rand(3, 50, 5, generator=g)  # 4 classes + background
    inds = level_topk(scores, 7)
    for b in range(3):
        best = scores[b, :, :-1].max(dim=1).values
        assert sorted(inds[b].tolist()) == sorted(best.argsort(descending=True)[:7].tolist())
    picked = take_rows(scores, inds)
    assert picked.shape == (3, 7, 5)
    assert torch.equal(picked[1], scores[1, inds[1]])
    assert level_topk(scores, -1) is None and level_topk(scores, 50) is None
