"""Point-distance box coder: hand-computed values, round trip, clipping, clamping."""
import pytest
import torch

from mmssd.models.task_modules import DistancePointBBoxCoder, bbox2distance, distance2bbox
from mmssd.registry import TASK_UTILS


def test_hand_computed_encode_decode():
    points = torch.tensor([[10., 20.], [0., 0.]])
    boxes = torch.tensor([[4., 15., 30., 22.], [-5., 2., 5., 8.]])
    # left = x - x1, top = y - y1, right = x2 - x, bottom = y2 - y (negative: outside)
    expected = torch.tensor([[6., 5., 20., 2.], [5., -2., 5., 8.]])
    torch.testing.assert_close(bbox2distance(points, boxes), expected)
    torch.testing.assert_close(distance2bbox(points, expected), boxes)


def test_round_trip_batched_and_broadcast():
    g = torch.Generator().manual_seed(0)
    points = torch.rand(30, 2, generator=g) * 100
    dist = torch.rand(3, 30, 4, generator=g) * 40
    coder = TASK_UTILS.build({'type': 'DistancePointBBoxCoder', 'clip_border': False})
    boxes = coder.decode(points, dist)  # (N, 2) points broadcast over (B, N, 4)
    assert boxes.shape == (3, 30, 4)
    torch.testing.assert_close(coder.encode(points.expand(3, -1, -1), boxes), dist,
                               rtol=1e-5, atol=1e-4)


def test_clip_border_and_per_image_shapes():
    points = torch.tensor([[5., 5.], [5., 5.]])
    dist = torch.tensor([[[10., 1., 20., 30.], [1., 1., 1., 1.]]]).expand(2, -1, -1)
    clipped = DistancePointBBoxCoder().decode(points, dist, max_shape=(12, 15))
    torch.testing.assert_close(clipped[0, 0], torch.tensor([0., 4., 15., 12.]))
    per_image = DistancePointBBoxCoder().decode(points, dist,
                                                max_shape=torch.tensor([[12, 15], [8, 9]]))
    torch.testing.assert_close(per_image[0], clipped[0])
    torch.testing.assert_close(per_image[1, 0], torch.tensor([0., 4., 9., 8.]))
    unclipped = DistancePointBBoxCoder(clip_border=False).decode(points, dist, (12, 15))
    torch.testing.assert_close(unclipped[0, 0], torch.tensor([-5., 4., 25., 35.]))


def test_max_dis_clamps_to_last_bin():
    points = torch.tensor([[10., 10.]])
    boxes = torch.tensor([[12., -100., 40., 11.]])
    dist = DistancePointBBoxCoder().encode(points, boxes, max_dis=16, eps=0.1)
    torch.testing.assert_close(dist, torch.tensor([[0., 15.9, 15.9, 1.]]))


def test_shape_errors():
    coder = DistancePointBBoxCoder()
    with pytest.raises(ValueError, match='same leading shape'):
        coder.encode(torch.zeros(3, 2), torch.zeros(4, 4))
    with pytest.raises(ValueError, match=r'points \(\.\.\., 2\)'):
        coder.decode(torch.zeros(3, 4), torch.zeros(3, 4))
