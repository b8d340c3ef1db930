"""Swin and ResNeXt detectors built from the shipped configs match mmdetection: state-dict
keys, shapes, per-part parameter counts; mmdetection checkpoints load strictly."""
from __future__ import annotations

import pytest
import torch
from mmengine.runner import load_checkpoint

from mmssd.registry import MODELS
from tests.helpers.state_dicts import load_reference, num_params, shipped_model_cfg

CONFIGS = {name: f'configs/{folder}/{name}.py' for folder, name in [
    ('swin', 'cascade_rcnn_swin-t-p4-w7_fpn_1x_coco'),
    ('swin', 'retinanet_swin-t-p4-w7_fpn_1x_coco'),
    ('resnext', 'faster_rcnn_x101_32x4d_fpn_1x_coco'),
]}
PARTS = ('backbone', 'neck', 'rpn_head', 'roi_head', 'bbox_head')


@pytest.fixture(scope='module')
def reference() -> dict:
    return load_reference('mmdet_next_models_state_dicts.json')


@pytest.fixture(scope='module', params=sorted(CONFIGS))
def built(request) -> tuple[str, torch.nn.Module]:
    return request.param, MODELS.build(shipped_model_cfg(CONFIGS[request.param]))


def test_state_dict_matches_mmdetection(built, reference: dict) -> None:
    name, model = built
    expected = reference[name]
    shapes = {key: list(value.shape) for key, value in model.state_dict().items()}
    assert sorted(shapes) == sorted(expected['state_dict'])
    mismatched = {k: (shapes[k], v) for k, v in expected['state_dict'].items() if shapes[k] != v}
    assert not mismatched
    counts = {part: num_params(getattr(model, part)) for part in PARTS
              if part in expected['params']}
    assert dict(counts, total=num_params(model)) == expected['params']


def test_mmdetection_checkpoint_loads_strictly(built, reference: dict, tmp_path) -> None:
    """A checkpoint with mmdetection's keys and shapes loads ``strict=True`` (weights-only)
    and sets every weight."""
    name, model = built
    generator = torch.Generator().manual_seed(0)
    state_dict = {k: (torch.randint(0, 5, s, generator=generator)
                      if k.endswith(('tracked', 'relative_position_index'))
                      else torch.randn(s, generator=generator))
                  for k, s in reference[name]['state_dict'].items()}
    path = tmp_path / 'mmdet.pth'
    torch.save({'meta': {'mmdet_version': '2.28.2'}, 'state_dict': state_dict}, path)
    load_checkpoint(model, str(path), map_location='cpu', strict=True)
    for key, value in model.state_dict().items():
        assert torch.equal(value, state_dict[key]), key
