"""ResNet: shapes, mmdetection/torchvision parameter names, weights-only Pretrained loading,
freezing and norm_eval."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
import torchvision

from mmssd.engine.checkpoint import UnsafeCheckpointError, install_checkpointing
from mmssd.registry import MODELS
from tests.helpers.state_dicts import load_reference, num_params


@pytest.fixture(autouse=True)
def checkpointing() -> None:
    """mmssd's weights-only loaders, as the entry points (mmssd.apis, tools/) install them."""
    install_checkpointing()


@pytest.mark.parametrize(('depth', 'channels'), [(18, (64, 128, 256, 512)),
                                                 (50, (256, 512, 1024, 2048))])
def test_outputs_and_strides(depth, channels):
    model = MODELS.build({'type': 'ResNet', 'depth': depth}).eval()
    with torch.no_grad():
        outs = model(torch.rand(1, 3, 64, 96))
    assert [o.shape[1] for o in outs] == list(channels) == list(model.out_channels)
    assert [tuple(o.shape[-2:]) for o in outs] == [(16, 24), (8, 12), (4, 6), (2, 3)]


def test_out_indices_and_base_channels():
    model = MODELS.build({'type': 'ResNet', 'depth': 18, 'base_channels': 16,
                          'out_indices': (1, 3)}).eval()
    with torch.no_grad():
        c3, c5 = model(torch.rand(2, 3, 64, 64))
    assert c3.shape == (2, 32, 8, 8) and c5.shape == (2, 128, 2, 2)


@pytest.mark.parametrize('depth', [18, 50])
def test_state_dict_matches_torchvision_and_mmdet_names(depth):
    """mmdetection's ResNet uses torchvision's names: the key sets and shapes agree."""
    ours = MODELS.build({'type': 'ResNet', 'depth': depth}).state_dict()
    reference = getattr(torchvision.models, f'resnet{depth}')(weights=None).state_dict()
    reference = {k: v.shape for k, v in reference.items() if not k.startswith('fc.')}
    assert {k: v.shape for k, v in ours.items()} == reference
    assert 'layer1.0.bn2.running_mean' in ours and 'layer2.0.downsample.1.weight' in ours


def test_pretrained_init_cfg_loads_a_local_file_weights_only(tmp_path):
    source = torchvision.models.resnet18(weights=None)
    with torch.no_grad():
        for param in source.parameters():
            param.normal_()
    path = tmp_path / 'resnet18.pth'
    torch.save({'state_dict': source.state_dict(), 'meta': {'note': 'plain dict'}}, path)
    model = MODELS.build({'type': 'ResNet', 'depth': 18,
                          'init_cfg': {'type': 'Pretrained', 'checkpoint': str(path)}})
    model.init_weights()
    for name, value in model.state_dict().items():
        torch.testing.assert_close(value, source.state_dict()[name], msg=name)
    # zero_init_residual does not overwrite loaded weights
    assert model.layer1[0].bn2.weight.abs().sum() > 0


def test_pretrained_from_a_detector_checkpoint_with_prefix(tmp_path):
    detector_like = {f'backbone.{k}': v + 1 for k, v in
                     MODELS.build({'type': 'ResNet', 'depth': 18}).state_dict().items()}
    detector_like['neck.lateral_convs.0.conv.weight'] = torch.zeros(1)
    path = tmp_path / 'retinanet.pth'
    torch.save({'state_dict': detector_like}, path)
    model = MODELS.build({'type': 'ResNet', 'depth': 18, 'init_cfg': {
        'type': 'Pretrained', 'checkpoint': str(path), 'prefix': 'backbone.'}})
    model.init_weights()
    torch.testing.assert_close(model.conv1.weight, detector_like['backbone.conv1.weight'])


class _Payload:
    """An arbitrary class: weights-only loading must refuse to unpickle it."""


def test_pretrained_refuses_unsafe_checkpoints(tmp_path):
    path = tmp_path / 'unsafe.pth'
    torch.save({'state_dict': {}, 'payload': _Payload()}, path)
    model = MODELS.build({'type': 'ResNet', 'depth': 18,
                          'init_cfg': {'type': 'Pretrained', 'checkpoint': str(path)}})
    with pytest.raises(UnsafeCheckpointError, match='unsafe.pth'):
        model.init_weights()


def test_pretrained_argument_is_the_deprecated_form(tmp_path):
    model = MODELS.build({'type': 'ResNet', 'depth': 18, 'pretrained': 'x.pth'})
    assert model.init_cfg == {'type': 'Pretrained', 'checkpoint': 'x.pth'}
    with pytest.raises(ValueError, match='not both'):
        MODELS.build({'type': 'ResNet', 'depth': 18, 'pretrained': 'x.pth',
                      'init_cfg': {'type': 'Pretrained', 'checkpoint': 'x.pth'}})


def test_default_init_zeroes_last_norm_of_each_block():
    model = MODELS.build({'type': 'ResNet', 'depth': 50})
    model.init_weights()
    assert all((block.bn3.weight == 0).all() for block in model.layer2)
    assert (model.layer2[0].bn1.weight == 1).all()


def test_frozen_stages_and_norm_eval():
    model = MODELS.build({'type': 'ResNet', 'depth': 18, 'frozen_stages': 1,
                          'norm_eval': True})
    model.train()
    assert not model.conv1.weight.requires_grad and not model.bn1.training
    assert not any(p.requires_grad for p in model.layer1.parameters())
    assert all(p.requires_grad for p in model.layer2.parameters())
    assert not model.layer3[0].bn1.training  # norm_eval keeps every BN in eval mode
    scratch = MODELS.build({'type': 'ResNet', 'depth': 18, 'norm_eval': False}).train()
    assert scratch.layer3[0].bn1.training and scratch.conv1.weight.requires_grad


def test_invalid_arguments():
    with pytest.raises(KeyError, match='invalid depth 20'):
        MODELS.build({'type': 'ResNet', 'depth': 20})
    with pytest.raises(ValueError, match="'caff'"):
        MODELS.build({'type': 'ResNet', 'depth': 18, 'style': 'caff'})
    with pytest.raises(NotImplementedError, match='deformable convolution'):
        MODELS.build({'type': 'ResNet', 'depth': 50,
                      'dcn': {'type': 'DCN', 'deform_groups': 1}})
    assert MODELS.build({'type': 'ResNet', 'depth': 18, 'dcn': None,
                         'stage_with_dcn': (False,) * 4}).depth == 18
    with pytest.raises(ValueError, match='out_indices'):
        MODELS.build({'type': 'ResNet', 'depth': 18, 'num_stages': 3, 'out_indices': (3,)})


def test_caffe_style_strides_the_first_1x1_conv():
    """A caffe-style bottleneck equals the op-by-op computation with the stride on conv1."""
    model = MODELS.build({'type': 'ResNet', 'depth': 50, 'base_channels': 8,
                          'style': 'caffe', 'out_indices': (1,), 'num_stages': 2}).eval()
    block = model.layer2[0]
    assert block.conv1.stride == (2, 2) and block.conv2.stride == (1, 1)
    x = torch.randn(1, 32, 9, 11)

    def bn(name, y):
        norm = getattr(block, name)
        return F.batch_norm(y, norm.running_mean, norm.running_var, norm.weight, norm.bias)

    y = F.relu(bn('bn1', F.conv2d(x, block.conv1.weight, stride=2)))
    y = F.relu(bn('bn2', F.conv2d(y, block.conv2.weight, padding=1)))
    y = bn('bn3', F.conv2d(y, block.conv3.weight))
    identity = block.downsample(x)
    with torch.no_grad():
        torch.testing.assert_close(block(x), F.relu(y + identity))
    pytorch = MODELS.build({'type': 'ResNet', 'depth': 50, 'base_channels': 8,
                            'out_indices': (1,), 'num_stages': 2})
    assert pytorch.layer2[0].conv1.stride == (1, 1) and pytorch.layer2[0].conv2.stride == (2, 2)


def test_caffe_style_matches_mmdetections_fcos_backbone():
    """Keys, shapes and count of mmdetection's ``fcos_r50_caffe`` backbone (its reference)."""
    expected = load_reference('mmdet_next_models_state_dicts.json')[
        'fcos_r50_caffe_fpn_gn-head_1x_coco']
    model = MODELS.build({'type': 'ResNet', 'depth': 50, 'style': 'caffe', 'frozen_stages': 1,
                          'norm_cfg': {'type': 'BN', 'requires_grad': False}})
    shapes = {f'backbone.{k}': list(v.shape) for k, v in model.state_dict().items()}
    assert shapes == {k: v for k, v in expected['state_dict'].items()
                      if k.startswith('backbone.')}
    assert num_params(model) == expected['params']['backbone']
    assert not any(p.requires_grad for n, p in model.named_parameters() if '.bn' in n)
