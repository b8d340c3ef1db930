"""Models built from the shipped configs match mmdetection: state-dict keys, shapes, sizes."""
from __future__ import annotations

import pytest

from mmssd.registry import MODELS
from tests.helpers.state_dicts import assert_state_dict_matches, load_reference, shipped_model_cfg

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
    assert_state_dict_matches(model, expected, ('backbone', 'neck', 'bbox_head'))
