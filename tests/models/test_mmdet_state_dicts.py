"""Models built from the shipped configs match mmdetection: state-dict keys, shapes, sizes."""
from __future__ import annotations

import pytest

from mmssd.registry import MODELS
from tests.helpers.state_dicts import load_reference, num_params, shipped_model_cfg

CONFIGS = {
    'ssd300_coco': 'configs/ssd/ssd300_coco.py',
    'ssd512_coco': 'configs/ssd/ssd512_coco.py',
    'ssdlite_mobilenetv2_scratch_600e_coco': 'configs/ssd/ssdlite_mobilenetv2_scratch_600e_coco.py',
    'ssd300_voc0712': 'configs/pascal_voc/ssd300_voc0712.py',
    'ssd512_voc0712': 'configs/pascal_voc/ssd512_voc0712.py',
}


def model_cfg(name: str) -> dict:
    return shipped_model_cfg(CONFIGS[name])


@pytest.fixture(scope='module')
def reference() -> dict:
    return load_reference('mmdet_ssd_state_dicts.json')


@pytest.mark.parametrize('name', sorted(CONFIGS))
def test_state_dict_matches_mmdetection(name: str, reference: dict) -> None:
    expected = reference[name]
    model = MODELS.build(model_cfg(name))
    assert model.bbox_head.num_classes == expected['num_classes']
    shapes = {key: list(value.shape) for key, value in model.state_dict().items()}
    assert sorted(shapes) == sorted(expected['state_dict'])
    mismatched = {k: (shapes[k], v) for k, v in expected['state_dict'].items() if shapes[k] != v}
    assert not mismatched
    assert {'total': num_params(model), 'backbone': num_params(model.backbone),
            'neck': num_params(model.neck),
            'bbox_head': num_params(model.bbox_head)} == expected['params']
