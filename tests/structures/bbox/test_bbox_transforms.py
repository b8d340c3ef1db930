"""bbox_flip: numpy and torch give the same boxes; a flip twice is the identity."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from mmssd.structures.bbox import bbox_flip


@pytest.mark.parametrize('direction, want', [
    ('horizontal', [[70., 20., 90., 60.]]),
    ('vertical', [[10., 40., 30., 80.]]),
    ('diagonal', [[70., 40., 90., 80.]]),
])
def test_flip_by_hand_for_arrays_and_tensors(direction, want):
    boxes = np.array([[10., 20., 30., 60.]], np.float32)  # image 100 x 100
    np.testing.assert_array_equal(bbox_flip(boxes, (100, 100, 3), direction), want)
    flipped = bbox_flip(torch.from_numpy(boxes), (100, 100), direction)
    assert isinstance(flipped, torch.Tensor)
    np.testing.assert_array_equal(flipped.numpy(), want)
    np.testing.assert_array_equal(bbox_flip(flipped, (100, 100), direction).numpy(), boxes)


def test_bad_direction_and_columns_are_named():
    with pytest.raises(ValueError, match="got 'sideways'"):
        bbox_flip(np.zeros((1, 4)), (10, 10), 'sideways')
    with pytest.raises(ValueError, match='4k columns'):
        bbox_flip(np.zeros((1, 5)), (10, 10), 'horizontal')
