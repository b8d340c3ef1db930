"""An mmdetection SSD checkpoint loads into the model built from our config, key for key."""
from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest
import torch
from mmengine.runner import load_checkpoint

from mmssd.apis import load_config
from mmssd.engine import install_checkpointing
from mmssd.registry import MODELS
from mmssd.utils import register_all_modules
from tests.helpers.state_dicts import random_state_dict

REPO = Path(__file__).resolve().parents[2]
REFERENCE = REPO.parent / 'shared' / 'reference' / 'mmdet_ssd_state_dicts.json'


def mmdet_style_checkpoint(shapes: dict[str, list[int]], classes: tuple[str, ...]) -> dict:
    """A checkpoint as mmdetection 2.x writes it, with random weights of the given shapes."""
    state_dict = random_state_dict(shapes)
    meta = {'mmdet_version': '2.28.2', 'mmcv_version': '1.7.1', 'CLASSES': classes,
            'epoch': 24, 'iter': 100, 'time': time.asctime(), 'config': 'model = dict()'}
    return {'meta': meta, 'state_dict': state_dict}


@pytest.mark.parametrize('name, config', [
    ('ssd300_voc0712', 'configs/pascal_voc/ssd300_voc0712.py'),
    ('ssdlite_mobilenetv2_scratch_600e_coco',
     'configs/ssd/ssdlite_mobilenetv2_scratch_600e_coco.py'),
])
def test_load_from_mmdet_checkpoint_without_key_mapping(name, config, tmp_path):
    if not REFERENCE.is_file():
        pytest.skip(f'mmdetection reference state dicts not found at {REFERENCE}')
    shapes = json.loads(REFERENCE.read_text())['models'][name]['state_dict']
    checkpoint = mmdet_style_checkpoint(shapes, tuple(f'c{i}' for i in range(20)))
    path = tmp_path / f'{name}.pth'
    torch.save(checkpoint, path)

    register_all_modules()
    install_checkpointing()  # mmssd's weights-only loader, as the entry points install it
    model_cfg = load_config(str(REPO / config)).model
    model_cfg.backbone.init_cfg = None
    model = MODELS.build(model_cfg)
    load_checkpoint(model, str(path), map_location='cpu', strict=True)  # weights_only inside
    for key, value in model.state_dict().items():
        assert torch.equal(value, checkpoint['state_dict'][key]), key


def test_incompatible_checkpoint_names_missing_unexpected_and_mismatched_keys(tmp_path):
    """``load_from`` a checkpoint of another head size: every difference is named."""
    register_all_modules()
    install_checkpointing()  # mmssd's weights-only loader, as the entry points install it
    model_cfg = load_config(str(REPO / 'configs/demo/ssdlite_mobilenetv2_demo.py')).model
    other = MODELS.build(model_cfg)  # 5 classes
    state_dict = dict(other.state_dict())
    state_dict['neck.extra_layer.weight'] = torch.zeros(3)  # a key the model lacks
    dropped = next(k for k in state_dict if k.startswith('backbone.conv1'))
    del state_dict[dropped]
    path = tmp_path / 'other.pth'
    torch.save({'state_dict': state_dict}, path)

    model_cfg.bbox_head.num_classes = 3
    model = MODELS.build(model_cfg)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    with pytest.raises(RuntimeError) as error:
        load_checkpoint(model, str(path), map_location='cpu', strict=True)
    message = str(error.value)
    assert 'unexpected key in source state_dict: neck.extra_layer.weight' in message
    assert f'missing keys in source state_dict: {dropped}' in message
    assert re.search(r'size mismatch for bbox_head\.cls_convs\.0\.\S+: copying a param with '
                     r'shape torch.Size\(\[\d+', message)
    # loading without strict keeps the model's own values where shapes differ
    load_checkpoint(model, str(path), map_location='cpu', strict=False)
    cls_key = next(k for k in before if k.startswith('bbox_head.cls_convs.0.')
                   and before[k].shape != state_dict[k].shape)
    assert torch.equal(model.state_dict()[cls_key], before[cls_key])
