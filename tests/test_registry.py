"""Registries: children of mmengine's roots, and helpful errors for unknown types."""
import pytest
import torch
from mmengine.hooks import CheckpointHook
from mmengine.registry import MODELS as MMENGINE_MODELS
from mmengine.registry import OPTIMIZERS as MMENGINE_OPTIMIZERS
from torch import nn

from mmssd.registry import HOOKS, MODELS, OPTIMIZERS, UnknownTypeError
from mmssd.utils import register_all_modules


@MODELS.register_module()
class TinyNeckForRegistryTest(nn.Module):
    def __init__(self, channels: int = 4):
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 1)


def test_registries_are_children_of_mmengine_roots():
    assert MODELS.parent is MMENGINE_MODELS
    assert OPTIMIZERS.parent is MMENGINE_OPTIMIZERS
    assert MODELS.scope == 'mmssd'


def test_builds_own_and_mmengine_types():
    neck = MODELS.build(dict(type='TinyNeckForRegistryTest', channels=3))
    assert neck.conv.in_channels == 3
    optimizer = OPTIMIZERS.build(dict(type='SGD', lr=0.1, params=neck.parameters()))
    assert isinstance(optimizer, torch.optim.SGD)
    register_all_modules()
    assert HOOKS.get('CheckpointHook') is CheckpointHook  # mmssd's own is LatestCheckpointHook
    assert HOOKS.get('LatestCheckpointHook').__module__ == 'mmssd.engine.checkpoint.hooks'
    assert HOOKS.get('IterTimerHook').__module__.startswith('mmengine')


def test_unknown_type_names_registry_and_suggests_close_name():
    with pytest.raises(UnknownTypeError) as info:
        MODELS.build(dict(type='TinyNekForRegistryTest'))
    message = str(info.value)
    assert "'TinyNekForRegistryTest' is not in the mmssd::model registry" in message
    assert "Did you mean 'TinyNeckForRegistryTest'" in message


def test_unknown_type_from_mmengine_root_build_is_reported_by_mmssd_registry():
    """mmengine's Runner builds through its root registries with scope 'mmssd'."""
    from mmengine.registry import DefaultScope

    with DefaultScope.overwrite_default_scope('mmssd'), pytest.raises(KeyError) as info:
        MMENGINE_MODELS.build(dict(type='TinyNeckForRegistryTst'))
    assert "Did you mean 'TinyNeckForRegistryTest'" in str(info.value)
