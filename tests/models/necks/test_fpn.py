"""FPN: output levels and channels, the top-down sum, extra levels of each kind, names."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from mmssd.registry import MODELS

IN_CHANNELS = (4, 6, 8, 10)
SIZES = (32, 16, 8, 4)


def inputs(batch: int = 2) -> list[torch.Tensor]:
    gen = torch.Generator().manual_seed(0)
    return [torch.randn(batch, c, s, s, generator=gen) for c, s in zip(IN_CHANNELS, SIZES)]


def build(**kwargs):
    cfg = {'type': 'FPN', 'in_channels': IN_CHANNELS, 'out_channels': 5, 'num_outs': 4}
    cfg.update(kwargs)
    neck = MODELS.build(cfg)
    neck.init_weights()
    return neck.eval()


def test_plain_fpn_is_the_top_down_sum_of_laterals():
    neck = build()
    feats = inputs()
    with torch.no_grad():
        outs = neck(feats)
        laterals = [conv(x) for conv, x in zip(neck.lateral_convs, feats)]
        for i in range(3, 0, -1):
            laterals[i - 1] = laterals[i - 1] + F.interpolate(laterals[i], scale_factor=2.0)
        expected = [conv(lat) for conv, lat in zip(neck.fpn_convs, laterals)]
    assert [tuple(o.shape) for o in outs] == [(2, 5, s, s) for s in SIZES]
    for out, ref in zip(outs, expected):
        torch.testing.assert_close(out, ref)


def test_max_pool_extra_levels_and_start_level():
    neck = build(start_level=1, num_outs=5)
    with torch.no_grad():
        outs = neck(inputs())
    assert [o.shape[-1] for o in outs] == [16, 8, 4, 2, 1]
    assert len(neck.lateral_convs) == 3 and len(neck.fpn_convs) == 3
    torch.testing.assert_close(outs[3], outs[2][..., ::2, ::2])  # 1x1 max pool, stride 2


@pytest.mark.parametrize(('source', 'first_in'), [('on_input', 10), ('on_lateral', 5),
                                                  ('on_output', 5), (True, 10)])
def test_extra_conv_sources(source, first_in):
    neck = build(start_level=1, num_outs=5, add_extra_convs=source)
    assert neck.fpn_convs[3].conv.in_channels == first_in
    assert neck.fpn_convs[3].conv.stride == (2, 2)
    feats = inputs()
    with torch.no_grad():
        outs = neck(feats)
        laterals = [conv(x) for conv, x in zip(neck.lateral_convs, feats[1:])]
        laterals[1] = laterals[1] + F.interpolate(laterals[2], size=(8, 8))
        laterals[0] = laterals[0] + F.interpolate(laterals[1], size=(16, 16))
        source_map = {'on_input': feats[3], True: feats[3], 'on_lateral': laterals[2],
                      'on_output': neck.fpn_convs[2](laterals[2])}[source]
        p6 = neck.fpn_convs[3](source_map)
    assert [o.shape[-1] for o in outs] == [16, 8, 4, 2, 1]
    torch.testing.assert_close(outs[3], p6)
    torch.testing.assert_close(outs[4], neck.fpn_convs[4](p6))


def test_relu_before_extra_convs():
    neck = build(start_level=1, num_outs=5, add_extra_convs='on_input',
                 relu_before_extra_convs=True)
    with torch.no_grad():
        outs = neck(inputs())
        torch.testing.assert_close(outs[4], neck.fpn_convs[4](F.relu(outs[3])))
        assert not torch.allclose(outs[4], neck.fpn_convs[4](outs[3]))


def test_end_level_limits_the_levels():
    neck = build(start_level=0, end_level=2, num_outs=3)
    with torch.no_grad():
        outs = neck(inputs())
    assert [o.shape[-1] for o in outs] == [32, 16, 8]
    with pytest.raises(ValueError, match='num_outs=4 must equal'):
        build(end_level=2, num_outs=4)


def test_invalid_arguments_are_named():
    with pytest.raises(ValueError, match='add_extra_convs'):
        build(add_extra_convs='on_top')
    with pytest.raises(ValueError, match='num_outs=2 is fewer'):
        build(num_outs=2)
    with pytest.raises(ValueError, match='expects 4 inputs'):
        build()(inputs()[:3])


def test_mmdetection_retinanet_neck_names_and_shapes():
    neck = MODELS.build({'type': 'FPN', 'in_channels': [256, 512, 1024, 2048],
                         'out_channels': 256, 'start_level': 1,
                         'add_extra_convs': 'on_input', 'num_outs': 5})
    shapes = {k: tuple(v.shape) for k, v in neck.state_dict().items()}
    assert shapes['lateral_convs.0.conv.weight'] == (256, 512, 1, 1)
    assert shapes['fpn_convs.2.conv.weight'] == (256, 256, 3, 3)
    assert shapes['fpn_convs.3.conv.weight'] == (256, 2048, 3, 3)
    assert shapes['fpn_convs.4.conv.weight'] == (256, 256, 3, 3)
    assert len(shapes) == 16  # 3 lateral + 5 fpn convs, weight and bias each
