"""TIMMBackbone: outputs equal timm's own feature extractor, mmdetection 2.x's
``mmcls.TIMMBackbone`` name, the neck-channel check, offline pretrained weights and
``checkpoint_path`` (weights-only)."""
from __future__ import annotations

import socket
import time

import pytest
import torch

from mmssd.engine.checkpoint import UnsafeCheckpointError, install_checkpointing
from mmssd.models.backbones.timm_backbone import TimmWeightsNotFoundError
from mmssd.registry import MODELS
from mmssd.utils.config_error import ConfigError

timm = pytest.importorskip('timm')


def test_outputs_equal_timms_features_only_model():
    torch.manual_seed(0)
    backbone = MODELS.build(dict(type='TIMMBackbone', model_name='test_efficientnet',
                                 out_indices=(1, 2, 3, 4))).eval()
    reference = timm.create_model('test_efficientnet', features_only=True,
                                  out_indices=(1, 2, 3, 4)).eval()
    reference.load_state_dict(backbone.timm_model.state_dict())
    x = torch.rand(2, 3, 70, 90)
    with torch.no_grad():
        ours, theirs = backbone(x), reference(x)
    assert len(ours) == len(theirs) == 4
    for a, b in zip(ours, theirs, strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    assert backbone.out_channels == tuple(o.shape[1] for o in ours) == (24, 32, 48, 64)
    assert backbone.strides == (4, 8, 16, 32)


def test_mmcls_name_kwargs_and_neck_channel_check():
    backbone = MODELS.build(dict(type='mmcls.TIMMBackbone', model_name='test_resnet',
                                 out_indices=(2, 3), drop_path_rate=0.1))
    assert backbone.out_channels == (48, 192) and backbone.strides == (8, 16)
    detector = dict(
        type='RetinaNet',
        backbone=dict(type='mmcls.TIMMBackbone', model_name='test_resnet', out_indices=(2, 3)),
        neck=dict(type='FPN', in_channels=[256, 512], out_channels=16, num_outs=2),
        bbox_head=dict(type='RetinaHead', num_classes=2, in_channels=16, feat_channels=16),
        train_cfg=None, test_cfg=None)
    with pytest.raises(ConfigError, match=r'neck.in_channels=\[256, 512\].*\[48, 192\]'):
        MODELS.build(detector)
    with pytest.raises(KeyError, match="no model 'test_resnett'"):
        MODELS.build(dict(type='TIMMBackbone', model_name='test_resnett'))


def test_pretrained_offline_names_model_and_where_the_file_goes(monkeypatch, tmp_path):
    monkeypatch.setenv('HF_HUB_CACHE', str(tmp_path))
    import huggingface_hub.constants as hf_constants
    monkeypatch.setattr(hf_constants, 'HF_HUB_CACHE', str(tmp_path))

    def unreachable(*args, **kwargs):
        raise OSError(101, 'Network is unreachable')

    monkeypatch.setattr(socket, 'create_connection', unreachable)
    start = time.perf_counter()
    with pytest.raises(TimmWeightsNotFoundError) as error:
        MODELS.build(dict(type='TIMMBackbone', model_name='efficientnet_b1', pretrained=True))
    assert time.perf_counter() - start < 30
    message = str(error.value)
    assert "'efficientnet_b1'" in message and 'timm/efficientnet_b1' in message
    assert 'checkpoint_path=' in message and 'Network is unreachable' in message


class _Payload:
    """An arbitrary class: weights-only loading must refuse to unpickle it."""


def test_checkpoint_path_loads_weights_only(tmp_path):
    install_checkpointing()
    source = timm.create_model('test_resnet')  # the classifier too, as released
    with torch.no_grad():
        for param in source.parameters():
            param.normal_()
    path = tmp_path / 'test_resnet.pth'
    torch.save(source.state_dict(), path)
    backbone = MODELS.build(dict(type='TIMMBackbone', model_name='test_resnet',
                                 checkpoint_path=str(path)))
    backbone.init_weights()
    for name, value in backbone.timm_model.state_dict().items():
        torch.testing.assert_close(value, source.state_dict()[name], msg=name)
    torch.save({'state_dict': {}, 'payload': _Payload()}, path)
    with pytest.raises(UnsafeCheckpointError, match='test_resnet.pth'):
        MODELS.build(dict(type='TIMMBackbone', model_name='test_resnet',
                          checkpoint_path=str(path))).init_weights()
