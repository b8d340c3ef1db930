"""SSD anchors reproduce mmdetection 2.x's."""
import math

import pytest
import torch

from mmssd.registry import TASK_UTILS

SSD300_COCO = {'type': 'SSDAnchorGenerator', 'scale_major': False, 'input_size': 300,
               'basesize_ratio_range': (0.15, 0.9), 'strides': [8, 16, 32, 64, 100, 300],
               'ratios': [[2], [2, 3], [2, 3], [2, 3], [2], [2]]}
SSD300_SIZES = [(38, 38), (19, 19), (10, 10), (5, 5), (3, 3), (1, 1)]


def test_ssd300_sizes_coco_and_voc():
    coco = TASK_UTILS.build(SSD300_COCO)
    assert coco.base_sizes == [21, 45, 99, 153, 207, 261]
    assert coco.max_sizes == [45, 99, 153, 207, 261, 315]
    voc = TASK_UTILS.build(dict(SSD300_COCO, basesize_ratio_range=(0.2, 0.9)))
    assert voc.base_sizes == [30, 60, 111, 162, 213, 264]
    assert voc.max_sizes == [60, 111, 162, 213, 264, 315]
    assert coco.num_base_priors == [4, 6, 6, 6, 4, 4]


def test_ssd300_has_8732_anchors():
    gen = TASK_UTILS.build(SSD300_COCO)
    anchors = gen.grid_priors(SSD300_SIZES)
    assert [len(a) for a in anchors] == [38 * 38 * 4, 19 * 19 * 6, 600, 150, 36, 4]
    assert sum(len(a) for a in anchors) == 8732


def test_first_anchors_by_hand():
    anchors = TASK_UTILS.build(SSD300_COCO).grid_priors(SSD300_SIZES)
    # level 0: stride 8 -> centre (4, 4); min 21, max 45; ratios 1, 1/2, 2
    big = math.sqrt(21 * 45) / 2
    w2, h2 = 21 * math.sqrt(2) / 2, 21 / math.sqrt(2) / 2
    expected = torch.tensor([
        [4 - 10.5, 4 - 10.5, 4 + 10.5, 4 + 10.5],  # min square
        [4 - big, 4 - big, 4 + big, 4 + big],  # sqrt(min * max) square
        [4 - w2, 4 - h2, 4 + w2, 4 + h2],  # h/w = 1/2
        [4 - h2, 4 - w2, 4 + h2, 4 + w2],  # h/w = 2
    ])
    torch.testing.assert_close(anchors[0][:4], expected, rtol=0, atol=1e-4)
    # the next cell is one stride to the right (cells are ordered row-major, (H, W, A))
    torch.testing.assert_close(anchors[0][4:8], expected + torch.tensor([8., 0, 8, 0]))
    below = expected + torch.tensor([0., 8, 0, 8])
    torch.testing.assert_close(anchors[0][38 * 4:38 * 4 + 4], below)
    # level 1, anchor 4: h/w = 1/3 around centre (8, 8) with base size 45
    w3, h3 = 45 * math.sqrt(3) / 2, 45 / math.sqrt(3) / 2
    torch.testing.assert_close(anchors[1][4], torch.tensor([8 - w3, 8 - h3, 8 + w3, 8 + h3]),
                               rtol=0, atol=1e-4)


def test_explicit_sizes_any_input():
    gen = TASK_UTILS.build({'type': 'SSDAnchorGenerator', 'scale_major': False,
                            'strides': [16, 32, 64, 96, 128, 192], 'ratios': [[2, 3]] * 6,
                            'min_sizes': [29, 60, 90, 121, 152, 182],
                            'max_sizes': [60, 90, 121, 152, 182, 192]})
    assert gen.num_base_priors == [6] * 6
    anchors = gen.grid_priors([(12, 12), (6, 6), (3, 3), (2, 2), (1, 1), (1, 1)], device='cpu')
    assert [len(a) for a in anchors] == [864, 216, 54, 24, 6, 6]
    torch.testing.assert_close(anchors[0][0], torch.tensor([8 - 14.5, 8 - 14.5, 8 + 14.5, 22.5]))


def test_unsupported_derived_sizes_raise():
    with pytest.raises(ValueError, match='min_sizes'):
        TASK_UTILS.build(dict(SSD300_COCO, input_size=320))


def test_ssd512_has_seven_levels():
    gen = TASK_UTILS.build(dict(SSD300_COCO, input_size=512, basesize_ratio_range=(0.1, 0.9),
                                strides=[8, 16, 32, 64, 128, 256, 512],
                                ratios=[[2], [2, 3], [2, 3], [2, 3], [2, 3], [2], [2]]))
    assert gen.base_sizes == [20, 51, 133, 215, 296, 378, 460]
    assert gen.max_sizes == [51, 133, 215, 296, 378, 460, 542]
