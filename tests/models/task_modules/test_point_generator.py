"""Multi-level point generator: hand-computed points, order, offset, strides."""
import pytest
import torch

from mmssd.registry import TASK_UTILS


def test_points_by_hand():
    gen = TASK_UTILS.build({'type': 'MlvlPointGenerator', 'strides': [8, (16, 32)]})
    assert gen.num_levels == 2 and gen.num_base_priors == [1, 1]
    level0, level1 = gen.grid_priors([(2, 3), (1, 2)])
    # row-major (H, W): x varies fastest; cell centres at (j + 0.5) * stride
    torch.testing.assert_close(level0, torch.tensor(
        [[4., 4.], [12., 4.], [20., 4.], [4., 12.], [12., 12.], [20., 12.]]))
    torch.testing.assert_close(level1, torch.tensor([[8., 16.], [24., 16.]]))
    with_stride = gen.single_level_grid_priors((1, 2), 1, with_stride=True)
    torch.testing.assert_close(with_stride, torch.tensor([[8., 16., 16., 32.],
                                                          [24., 16., 16., 32.]]))


def test_offset_zero_and_level_count():
    gen = TASK_UTILS.build({'type': 'MlvlPointGenerator', 'strides': [4], 'offset': 0.})
    torch.testing.assert_close(gen.grid_priors([(1, 2)])[0], torch.tensor([[0., 0.], [4., 0.]]))
    with pytest.raises(ValueError, match='2 feature maps for 1 point levels'):
        gen.grid_priors([(1, 1), (1, 1)])
