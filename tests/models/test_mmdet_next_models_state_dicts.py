"""Swin, ResNeXt, FCOS, ATSS, GFL and YOLOX detectors built from the shipped configs match
mmdetection: state-dict keys, shapes, per-part parameter counts; mmdetection checkpoints
load strictly."""
from __future__ import annotations

import pytest
import torch
from mmengine.runner import load_checkpoint

from mmssd.registry import MODELS
from tests.helpers.state_dicts import (
    assert_state_dict_matches,
    load_reference,
    random_state_dict,
    shipped_model_cfg,
)

CONFIGS = {name: f'configs/{folder}/{name}.py' for folder, name in [
    ('swin', 'cascade_rcnn_swin-t-p4-w7_fpn_1x_coco'),
    ('swin', 'retinanet_swin-t-p4-w7_fpn_1x_coco'),
    ('resnext', 'faster_rcnn_x101_32x4d_fpn_1x_coco'),
    ('fcos', 'fcos_r50_caffe_fpn_gn-head_1x_coco'),
    ('atss', 'atss_r50_fpn_1x_coco'),
    ('gfl', 'gfl_r50_fpn_1x_coco'),
    ('yolox', 'yolox_s_8x8_300e_coco'),
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
    assert_state_dict_matches(model, reference[name], PARTS)


def test_mmdetection_checkpoint_loads_strictly(built, reference: dict, tmp_path) -> None:
    """A checkpoint with mmdetection's keys and shapes loads ``strict=True`` (weights-only)
    and sets every weight."""
    name, model = built
    state_dict = random_state_dict(reference[name]['state_dict'])
    path = tmp_path / 'mmdet.pth'
    torch.save({'meta': {'mmdet_version': '2.28.2'}, 'state_dict': state_dict}, path)
    load_checkpoint(model, str(path), map_location='cpu', strict=True)
    for key, value in model.state_dict().items():
        assert torch.equal(value, state_dict[key]), key
