"""Models built from the configs have mmdetection's exact state-dict keys, shapes and sizes."""
from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from mmengine.config import Config

from mmssd.registry import MODELS

REPO = Path(__file__).parents[2]
REFERENCE = REPO / '..' / 'shared' / 'reference' / 'mmdet_ssd_state_dicts.json'
SSD300 = REPO / 'configs' / '_base_' / 'models' / 'ssd300.py'
SSDLITE = REPO / 'configs' / '_base_' / 'models' / 'ssdlite_mobilenetv2.py'


def ssd300_cfg(num_classes: int = 80, basesize_ratio_range=(0.15, 0.9)) -> dict:
    """mmdetection's ssd300_coco / ssd300_voc0712 model, without the pretrained download."""
    model = copy.deepcopy(Config.fromfile(str(SSD300)).model.to_dict())
    model['backbone']['init_cfg'] = None
    model['bbox_head']['num_classes'] = num_classes
    model['bbox_head']['anchor_generator']['basesize_ratio_range'] = basesize_ratio_range
    return model


def ssd512_cfg(num_classes: int = 80, basesize_ratio_range=(0.1, 0.9)) -> dict:
    """mmdetection's ssd512_coco / ssd512_voc0712 model (derived from SSD300 as it does)."""
    model = ssd300_cfg(num_classes, basesize_ratio_range)
    model['neck'].update(out_channels=(512, 1024, 512, 256, 256, 256, 256),
                         level_strides=(2, 2, 2, 2, 1), level_paddings=(1, 1, 1, 1, 1),
                         last_kernel_size=4)
    model['bbox_head']['in_channels'] = (512, 1024, 512, 256, 256, 256, 256)
    model['bbox_head']['anchor_generator'].update(
        input_size=512, strides=[8, 16, 32, 64, 128, 256, 512],
        ratios=[[2], [2, 3], [2, 3], [2, 3], [2, 3], [2], [2]])
    return model


def ssdlite_cfg() -> dict:
    return copy.deepcopy(Config.fromfile(str(SSDLITE)).model.to_dict())


MODEL_CFGS = {
    'ssd300_coco': lambda: ssd300_cfg(80, (0.15, 0.9)),
    'ssd300_voc0712': lambda: ssd300_cfg(20, (0.2, 0.9)),
    'ssd512_coco': lambda: ssd512_cfg(80, (0.1, 0.9)),
    'ssd512_voc0712': lambda: ssd512_cfg(20, (0.15, 0.9)),
    'ssdlite_mobilenetv2_scratch_600e_coco': ssdlite_cfg,
}


@pytest.fixture(scope='module')
def reference() -> dict:
    if not REFERENCE.is_file():
        pytest.skip(f'mmdetection reference state dicts not found at {REFERENCE.resolve()}')
    return json.loads(REFERENCE.read_text())['models']


def num_params(module) -> int:
    return sum(p.numel() for p in module.parameters())


@pytest.mark.parametrize('name', sorted(MODEL_CFGS))
def test_state_dict_matches_mmdetection(name: str, reference: dict) -> None:
    expected = reference[name]
    model = MODELS.build(MODEL_CFGS[name]())
    assert model.bbox_head.num_classes == expected['num_classes']
    shapes = {key: list(value.shape) for key, value in model.state_dict().items()}
    assert sorted(shapes) == sorted(expected['state_dict'])
    mismatched = {k: (shapes[k], v) for k, v in expected['state_dict'].items() if shapes[k] != v}
    assert not mismatched
    assert {'total': num_params(model), 'backbone': num_params(model.backbone),
            'neck': num_params(model.neck),
            'bbox_head': num_params(model.bbox_head)} == expected['params']
