"""Backbones: output shapes and freezing."""
import torch

from mmssd.registry import MODELS


def test_ssd_vgg_outputs_and_layer_indices():
    model = MODELS.build({'type': 'SSDVGG', 'depth': 16, 'out_feature_indices': (22, 34)})
    assert isinstance(model.features[30], torch.nn.MaxPool2d)
    assert model.features[30].kernel_size == 3 and model.features[30].stride == 1
    assert model.features[31].dilation == (6, 6) and model.features[31].out_channels == 1024
    assert model.features[33].kernel_size == (1, 1)
    with torch.no_grad():
        c4, fc7 = model(torch.rand(1, 3, 75, 75))
    assert c4.shape == (1, 512, 10, 10)  # ceil-mode pooling: 75 -> 38 -> 19 -> 10
    assert fc7.shape == (1, 1024, 5, 5)


def test_ssd_vgg_pretrained_init_cfg():
    pretrained = {'type': 'Pretrained', 'checkpoint': 'x.pth'}
    model = MODELS.build({'type': 'SSDVGG', 'init_cfg': pretrained})
    assert model.init_cfg == pretrained


def test_mobilenet_v2_outputs_and_frozen_stages():
    model = MODELS.build({'type': 'MobileNetV2', 'out_indices': (4, 7), 'frozen_stages': 2})
    model.train()
    with torch.no_grad():
        c5, c7 = model(torch.rand(1, 3, 64, 64))
    assert c5.shape == (1, 96, 4, 4) and c7.shape == (1, 1280, 2, 2)
    assert not any(p.requires_grad for p in model.layer2.parameters())
    assert all(p.requires_grad for p in model.layer3.parameters())
    assert not model.layer1.training
    wide = MODELS.build({'type': 'MobileNetV2', 'widen_factor': 1.5, 'out_indices': (7,)})
    assert wide.conv2.conv.out_channels == 1920
