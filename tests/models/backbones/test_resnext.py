"""ResNeXt: grouped widths as mmdetection's, a block against its op-by-op computation,
caffe style, freezing."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from mmssd.registry import MODELS


@pytest.mark.parametrize(('groups', 'base_width', 'widths'),
                         [(32, 4, (128, 256, 512, 1024)), (64, 4, (256, 512, 1024, 2048)),
                          (1, 4, (64, 128, 256, 512))])
def test_group_widths_as_mmdetection(groups, base_width, widths):
    """mmdetection: ``floor(planes * base_width / base_channels) * groups`` (``planes``
    when ``groups == 1``)."""
    model = MODELS.build({'type': 'ResNeXt', 'depth': 50, 'groups': groups,
                          'base_width': base_width})
    for i, width in enumerate(widths):
        conv2 = getattr(model, f'layer{i + 1}')[0].conv2
        assert (conv2.out_channels, conv2.groups) == (width, groups)
    assert model.out_channels == (256, 512, 1024, 2048)


def test_block_equals_grouped_convs_and_outputs():
    model = MODELS.build({'type': 'ResNeXt', 'depth': 50, 'groups': 4, 'base_width': 2,
                          'base_channels': 16, 'out_indices': (0, 1, 2, 3)}).eval()
    block = model.layer2[0]
    assert block.conv2.weight.shape == (16, 4, 3, 3)  # floor(32 * 2 / 16) * 4 = 16
    x = torch.randn(2, 64, 8, 10)

    def bn(name, y):
        norm = getattr(block, name)
        return F.batch_norm(y, norm.running_mean, norm.running_var, norm.weight, norm.bias)

    y = F.relu(bn('bn1', F.conv2d(x, block.conv1.weight)))
    y = F.relu(bn('bn2', F.conv2d(y, block.conv2.weight, stride=2, padding=1, groups=4)))
    y = bn('bn3', F.conv2d(y, block.conv3.weight))
    with torch.no_grad():
        torch.testing.assert_close(block(x), F.relu(y + block.downsample(x)))
        outs = model(torch.rand(1, 3, 64, 64))
    assert [tuple(o.shape[1:]) for o in outs] == [(64, 16, 16), (128, 8, 8), (256, 4, 4),
                                                  (512, 2, 2)]


def test_caffe_style_frozen_stages_and_depth():
    model = MODELS.build({'type': 'ResNeXt', 'depth': 50, 'groups': 2, 'base_width': 4,
                          'base_channels': 16, 'style': 'caffe', 'frozen_stages': 2})
    model.train()
    assert model.layer3[0].conv1.stride == (2, 2) and model.layer3[0].conv2.groups == 2
    assert not any(p.requires_grad for p in model.layer2.parameters())
    assert not model.layer2.training and model.layer3.training
    with pytest.raises(KeyError, match='invalid depth 18'):
        MODELS.build({'type': 'ResNeXt', 'depth': 18, 'groups': 32})


@pytest.mark.parametrize(('config', 'name'), [
    ('resnext/faster_rcnn_x101_32x4d_fpn_1x_coco.py', 'open-mmlab://resnext101_32x4d'),
    ('faster_rcnn/faster_rcnn_r50_caffe_fpn_1x_coco.py',
     'open-mmlab://detectron2/resnet50_caffe')])
def test_shipped_configs_name_open_mmlab_weights(config, name):
    """The weights resolve through mmengine's table to a URL (fetched, offline-safe, by
    mmssd's pretrained-weights path); the caffe config normalises BGR by the mean only."""
    from mmengine.config import Config

    from mmssd.engine.checkpoint.pretrained_weights import checkpoint_url
    from tests.helpers.tools import REPO

    cfg = Config.fromfile(str(REPO / 'configs' / config))
    assert cfg.model.backbone.init_cfg.checkpoint == name
    assert checkpoint_url(name).startswith('https://download.openmmlab.com/')
    if 'caffe' in config:
        normalize = [t for t in cfg.data.train.pipeline if t['type'] == 'Normalize'][0]
        assert normalize['std'] == [1.0, 1.0, 1.0] and normalize['to_rgb'] is False
        assert cfg.model.backbone.style == 'caffe'
