"""SSDNeck: extra levels and the L2 normalization."""
import torch

from mmssd.models.layers import L2Norm
from mmssd.registry import MODELS


def test_ssd300_neck_levels():
    neck = MODELS.build({'type': 'SSDNeck', 'in_channels': (8, 16),
                         'out_channels': (8, 16, 16, 8, 8, 8), 'level_strides': (2, 2, 1, 1),
                         'level_paddings': (1, 1, 0, 0), 'l2_norm_scale': 20})
    with torch.no_grad():
        outs = neck([torch.rand(1, 8, 38, 38), torch.rand(1, 16, 19, 19)])
    assert [o.shape[-1] for o in outs] == [38, 19, 10, 5, 3, 1]
    assert [o.shape[1] for o in outs] == [8, 16, 16, 8, 8, 8]
    norms = outs[0].pow(2).sum(1).sqrt()
    torch.testing.assert_close(norms, torch.full_like(norms, 20.), rtol=1e-4, atol=1e-4)


def test_depthwise_neck_with_last_kernel():
    neck = MODELS.build({'type': 'SSDNeck', 'in_channels': (8, 16), 'out_channels': (8, 16, 8, 8),
                         'level_strides': (2, 1), 'level_paddings': (1, 1), 'l2_norm_scale': None,
                         'last_kernel_size': 4, 'use_depthwise': True,
                         'norm_cfg': {'type': 'BN'}, 'act_cfg': {'type': 'ReLU6'}})
    assert not hasattr(neck, 'l2_norm')
    with torch.no_grad():
        outs = neck.eval()([torch.rand(1, 8, 8, 8), torch.rand(1, 16, 4, 4)])
    assert [tuple(o.shape[-2:]) for o in outs] == [(8, 8), (4, 4), (2, 2), (1, 1)]


def test_l2_norm_keeps_dtype():
    x = torch.rand(2, 4, 3, 3, dtype=torch.float64)
    assert L2Norm(4, 10.)(x).dtype == torch.float64
