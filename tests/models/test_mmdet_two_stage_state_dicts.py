"""Two-stage (and RetinaNet R50) models built from the shipped configs match mmdetection:
state-dict keys, shapes, per-part parameter counts; mmdetection checkpoints load strictly."""
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

CONFIGS = {
    'cascade_rcnn_r50_fpn_1x_coco': 'configs/cascade_rcnn/cascade_rcnn_r50_fpn_1x_coco.py',
    'faster_rcnn_r50_fpn_1x_coco': 'configs/faster_rcnn/faster_rcnn_r50_fpn_1x_coco.py',
    'faster_rcnn_r50_fpn_1x_voc0712': 'configs/pascal_voc/faster_rcnn_r50_fpn_1x_voc0712.py',
    'rpn_r50_fpn_1x_coco': 'configs/rpn/rpn_r50_fpn_1x_coco.py',
    'retinanet_r50_fpn_1x_coco': 'configs/retinanet/retinanet_r50_fpn_1x_coco.py',
}
PARTS = ('backbone', 'neck', 'rpn_head', 'roi_head', 'bbox_head')


def model_cfg(name: str) -> dict:
    return shipped_model_cfg(CONFIGS[name])


@pytest.fixture(scope='module')
def reference() -> dict:
    return load_reference('mmdet_two_stage_state_dicts.json')


@pytest.fixture(scope='module', params=sorted(CONFIGS))
def built(request) -> tuple[str, torch.nn.Module]:
    return request.param, MODELS.build(model_cfg(request.param))


def test_state_dict_matches_mmdetection(built, reference: dict) -> None:
    name, model = built
    assert_state_dict_matches(model, reference[name], PARTS)


def test_mmdetection_checkpoint_loads_strictly(built, reference: dict, tmp_path) -> None:
    """A checkpoint with mmdetection's keys and shapes loads ``strict=True`` (weights-only)
    and sets every weight; an RPN checkpoint of mmdetection 2.x (``rpn_head.*``) too."""
    name, model = built
    state_dict = random_state_dict(reference[name]['state_dict'])
    saved = dict(state_dict)
    if name.startswith('rpn'):
        saved = {k.replace('bbox_head.', 'rpn_head.', 1): v for k, v in saved.items()}
    path = tmp_path / 'mmdet.pth'
    torch.save({'meta': {'mmdet_version': '2.28.2'}, 'state_dict': saved}, path)
    load_checkpoint(model, str(path), map_location='cpu', strict=True)
    for key, value in model.state_dict().items():
        assert torch.equal(value, state_dict[key]), key
