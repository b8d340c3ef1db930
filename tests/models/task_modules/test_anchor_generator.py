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


def paper_default_boxes() -> torch.Tensor:
    """SSD300 VOC default boxes as in the SSD paper (Liu et al. 2016), unclipped, in pixels,
    computed without the anchor generator: per cell ``(i, j)`` of a level with step ``s`` the
    centre is ``((j + .5) s, (i + .5) s)``; boxes are the ``min`` square, the
    ``sqrt(min * max)`` square and, per ratio ``r``, ``(min sqrt(r), min / sqrt(r))`` and its
    transpose."""
    min_sizes, max_sizes = [30, 60, 111, 162, 213, 264], [60, 111, 162, 213, 264, 315]
    steps, fmaps = [8, 16, 32, 64, 100, 300], [38, 19, 10, 5, 3, 1]
    ratios = [[2], [2, 3], [2, 3], [2, 3], [2], [2]]
    boxes = []
    for k, fmap in enumerate(fmaps):
        s, big = min_sizes[k], math.sqrt(min_sizes[k] * max_sizes[k])
        whs = [(s, s), (big, big)]
        for r in ratios[k]:
            whs += [(s * math.sqrt(r), s / math.sqrt(r)), (s / math.sqrt(r), s * math.sqrt(r))]
        for i in range(fmap):
            for j in range(fmap):
                cx, cy = (j + .5) * steps[k], (i + .5) * steps[k]
                boxes += [(cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2) for w, h in whs]
    return torch.tensor(boxes, dtype=torch.float64)


def sort_rows(boxes: torch.Tensor) -> torch.Tensor:
    """Rows in lexicographic order (ties of earlier columns broken by later ones)."""
    rounded = boxes.double().round(decimals=2)  # equal boxes sort together despite fp noise
    order = torch.arange(len(boxes))
    for col in reversed(range(boxes.size(1))):
        order = order[torch.sort(rounded[order, col], stable=True).indices]
    return boxes[order].double()


def test_ssd300_voc_equals_paper_default_boxes():
    gen = TASK_UTILS.build(dict(SSD300_COCO, basesize_ratio_range=(0.2, 0.9)))
    anchors = torch.cat(gen.grid_priors(SSD300_SIZES))
    expected = paper_default_boxes()
    assert anchors.shape == expected.shape == (8732, 4)
    torch.testing.assert_close(sort_rows(anchors), sort_rows(expected), rtol=0, atol=1e-3)


def test_anchor_generator_hand_computed():
    # mmdetection's docstring example: base size 9, centre (0, 0), one anchor per cell
    gen = TASK_UTILS.build({'type': 'AnchorGenerator', 'strides': [16], 'ratios': [1.],
                            'scales': [1.], 'base_sizes': [9]})
    anchors = gen.grid_priors([(2, 2)])
    torch.testing.assert_close(anchors[0], torch.tensor([
        [-4.5, -4.5, 4.5, 4.5], [11.5, -4.5, 20.5, 4.5],
        [-4.5, 11.5, 4.5, 20.5], [11.5, 11.5, 20.5, 20.5]]))
    # ratio 4 (h/w) at scale 2 with base size = stride 8: w = 8, h = 32; centre offset .5
    gen = TASK_UTILS.build({'type': 'AnchorGenerator', 'strides': [8], 'ratios': [1., 4.],
                            'scales': [1., 2.], 'center_offset': 0.5})
    assert gen.num_base_priors == [4]
    torch.testing.assert_close(gen.base_anchors[0], torch.tensor([
        [0., 0., 8., 8.], [-4., -4., 12., 12.],  # ratio 1: scales 1, 2 (scale-major)
        [2., -4., 6., 12.], [0., -12., 8., 20.]]))  # ratio 4: 4 x 16, 8 x 32
    ratio_major = TASK_UTILS.build({'type': 'AnchorGenerator', 'strides': [8],
                                    'ratios': [1., 4.], 'scales': [1., 2.],
                                    'center_offset': 0.5, 'scale_major': False})
    torch.testing.assert_close(ratio_major.base_anchors[0], gen.base_anchors[0][[0, 2, 1, 3]])
    centred = TASK_UTILS.build({'type': 'AnchorGenerator', 'strides': [(8, 4)], 'ratios': [1.],
                                'scales': [1.], 'centers': [(1., 2.)]})
    torch.testing.assert_close(centred.grid_priors([(2, 2)])[0][3],
                               torch.tensor([1. + 8 - 2, 2. + 4 - 2, 1. + 8 + 2, 2. + 4 + 2]))


def test_anchor_generator_octave_scales_retinanet():
    gen = TASK_UTILS.build({'type': 'AnchorGenerator', 'octave_base_scale': 4,
                            'scales_per_octave': 3, 'ratios': [0.5, 1.0, 2.0],
                            'strides': [8, 16, 32, 64, 128]})
    assert gen.num_base_priors == [9] * 5
    for stride, base in zip([8, 16, 32, 64, 128], gen.base_anchors, strict=True):
        expected = []
        for ratio in (0.5, 1.0, 2.0):
            for octave in range(3):
                size = stride * 4 * 2 ** (octave / 3)
                w, h = size / math.sqrt(ratio), size * math.sqrt(ratio)
                expected.append([-w / 2, -h / 2, w / 2, h / 2])
        torch.testing.assert_close(base, torch.tensor(expected))
    # mmdetection's RetinaNet base anchors of the first level start with these
    torch.testing.assert_close(gen.base_anchors[0][:2], torch.tensor(
        [[-22.6274, -11.3137, 22.6274, 11.3137], [-28.5088, -14.2544, 28.5088, 14.2544]]),
        rtol=0, atol=1e-4)
    anchors = gen.grid_priors([(4, 4), (2, 2), (1, 1), (1, 1), (1, 1)])
    assert [len(a) for a in anchors] == [144, 36, 9, 9, 9]
    torch.testing.assert_close(anchors[0][9 * 5:9 * 6], gen.base_anchors[0] + 8)  # cell (1, 1)
    with pytest.raises(ValueError):
        TASK_UTILS.build({'type': 'AnchorGenerator', 'strides': [8], 'ratios': [1.]})
