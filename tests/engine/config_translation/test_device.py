"""Every GPU-dependent choice of the translation, with and without a GPU."""
from __future__ import annotations

import pytest
import torch

from mmssd.engine.config_translation import ConfigError, device


@pytest.mark.parametrize('gpu', [False, True])
def test_choices_follow_the_device(monkeypatch, gpu):
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: gpu)
    assert device.pin_memory() is gpu
    assert device.dist_backend('nccl') == ('nccl' if gpu else 'gloo')
    assert device.dist_backend('gloo') == 'gloo'
    wrapper = device.mixed_precision_wrapper({'loss_scale': 512.})
    if gpu:
        assert wrapper == dict(type='AmpOptimWrapper', loss_scale=512., dtype=None)
    else:
        assert wrapper == dict(type='mmssd.AutocastOptimWrapper', device_type='cpu',
                               dtype='bfloat16')
    assert device.sync_bn_owner('torch') == (('torch', False) if gpu else (None, True))
    assert device.sync_bn_owner(None) == (None, False)


def test_bad_values_are_named(monkeypatch):
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    with pytest.raises(ConfigError, match="`fp16.dtype` is 'float16', which needs a GPU"):
        device.mixed_precision_wrapper({'dtype': 'float16'})
    with pytest.raises(ConfigError, match="`sync_bn` is 'yes'"):
        device.sync_bn_owner('yes')
