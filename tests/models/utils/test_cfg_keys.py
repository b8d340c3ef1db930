"""Strict model configs: a misspelt key names its config path and the closest valid key."""
from __future__ import annotations

import copy
import pickle

import pytest
from mmengine.config import Config

from mmssd.engine.config_translation import ConfigError
from mmssd.models.utils.cfg_keys import (
    ConfigKeyError,
    build_checked,
    cfg_path,
    check_cfg_keys,
    check_nms_cfg,
)
from mmssd.registry import MODELS, TASK_UTILS
from mmssd.utils import register_all_modules

register_all_modules()
SSD = Config.fromfile('configs/demo/ssdlite_mobilenetv2_demo.py').model.to_dict()
FASTER = Config.fromfile('configs/demo/faster_rcnn_r18_fpn_demo.py').model.to_dict()
CASCADE = Config.fromfile('configs/demo/cascade_rcnn_r18_fpn_demo.py').model.to_dict()


def misspell(model: dict, path: str, good: str, bad: str) -> dict:
    """A copy of ``model`` with key ``good`` of the dict at dotted ``path`` renamed ``bad``."""
    model = copy.deepcopy(model)
    node = model
    for part in path.split('.'):
        node = node[int(part)] if part.isdigit() else node[part]
    node[bad] = node.pop(good)
    return model


@pytest.mark.parametrize('base, path, good, bad', [
    # head train_cfg / test_cfg (a single-stage head gets the detector's, as in 2.x)
    (SSD, 'train_cfg', 'neg_pos_ratio', 'neg_pos_ration'),
    (SSD, 'test_cfg', 'max_per_img', 'max_per_image'),
    # NMS
    (SSD, 'test_cfg.nms', 'iou_threshold', 'iou_thr'),
    (FASTER, 'test_cfg.rcnn.nms', 'iou_threshold', 'iou_thresh'),
    # assigner, sampler
    (SSD, 'train_cfg.assigner', 'pos_iou_thr', 'pos_iou_th'),
    (FASTER, 'train_cfg.rpn.sampler', 'pos_fraction', 'pos_fractoin'),
    (FASTER, 'train_cfg.rcnn.assigner', 'neg_iou_thr', 'neg_iou_thre'),
    # anchor generator, box coder (arguments of the head)
    (SSD, 'bbox_head.anchor_generator', 'strides', 'stride'),
    (FASTER, 'rpn_head.anchor_generator', 'ratios', 'ratio'),
    (FASTER, 'roi_head.bbox_head.bbox_coder', 'target_stds', 'target_std'),
    # an RPN proposal config, a cascade stage (a list index in the path, as --cfg-options)
    (FASTER, 'train_cfg.rpn_proposal', 'max_per_img', 'max_per_imgs'),
    (CASCADE, 'train_cfg.rcnn.1.assigner', 'pos_iou_thr', 'pos_iou_th'),
    (CASCADE, 'test_cfg.rcnn', 'max_per_img', 'max_per_img_'),
])
def test_misspelt_key_names_path_and_closest_key(base, path, good, bad):
    with pytest.raises(ConfigError) as info:
        MODELS.build(misspell(base, path, good, bad))
    message = str(info.value)
    assert f'`model.{path}.{bad}`' in message, message
    assert f"did you mean '{good}'?" in message, message
    assert info.value.full_key == f'model.{path}.{bad}'


def test_keys_2x_ignores_are_accepted():
    model = copy.deepcopy(SSD)
    model['train_cfg']['debug'] = False
    MODELS.build(model)


@pytest.mark.parametrize('path, key, expected', [
    ('train_cfg', 'neg_pos_ratio', '`model.train_cfg.neg_pos_ratio` is missing'),
    ('train_cfg', 'assigner', '`model.train_cfg.assigner` is missing'),
    ('test_cfg.nms', 'iou_threshold', '`model.test_cfg.nms.iou_threshold` is missing'),
])
def test_missing_required_key_is_named(path, key, expected):
    model = copy.deepcopy(SSD)
    node = model
    for part in path.split('.'):
        node = node[part]
    del node[key]
    with pytest.raises(ConfigError, match=expected.replace('.', r'\.')):
        MODELS.build(model)


def test_bad_values_name_key_and_value():
    model = copy.deepcopy(SSD)
    model['test_cfg']['nms']['type'] = 'softnms'
    with pytest.raises(ConfigError, match=r"`model\.test_cfg\.nms\.type`: .*'softnms'; "
                                          r"did you mean 'soft_nms'"):
        MODELS.build(model)
    model['test_cfg']['nms'] = dict(type='soft_nms', method='gauss')
    with pytest.raises(ConfigError, match=r"`model\.test_cfg\.nms\.method`: .*'gaussian'"):
        MODELS.build(model)
    model['test_cfg']['nms'] = dict(type='soft_nms', min_scor=0.1)
    with pytest.raises(ConfigError, match=r"nms\.min_scor`; did you mean 'min_score'"):
        MODELS.build(model)
    model = copy.deepcopy(SSD)
    model['bbox_head']['anchor_generator']['max_sizes'] = [32, 64]
    with pytest.raises(ConfigError, match=r'`model\.bbox_head\.anchor_generator\.max_sizes`: '
                                          r'expected one entry per level \(6 levels'):
        MODELS.build(model)


def test_head_built_alone_reports_paths_relative_to_it():
    head = copy.deepcopy(SSD['bbox_head'])
    head.update(train_cfg=copy.deepcopy(SSD['train_cfg']), test_cfg=copy.deepcopy(SSD['test_cfg']))
    head['test_cfg']['score_thres'] = head['test_cfg'].pop('score_thr')
    with pytest.raises(ConfigKeyError) as info:
        MODELS.build(head)
    assert info.value.full_key == 'test_cfg.score_thres'
    assert "did you mean 'score_thr'" in str(info.value)


def test_check_cfg_keys_and_cfg_path_compose():
    roots = {'train_cfg': 'model.train_cfg'}
    with (pytest.raises(ConfigKeyError) as info, cfg_path('model.bbox_head', roots=roots),
          cfg_path('train_cfg.assigner')):
        check_cfg_keys({'pos_iou_thr': .5, 'min_pos_io': 0}, ('pos_iou_thr', 'min_pos_iou'))
    assert info.value.full_key == 'model.train_cfg.assigner.min_pos_io'
    # the located error survives pickling (errors cross process boundaries)
    assert str(pickle.loads(pickle.dumps(info.value))) == str(info.value)
    with pytest.raises(ConfigKeyError) as info, cfg_path('model.bbox_head'):
        build_checked(TASK_UTILS, {'type': 'DeltaXYWHBBoxCoder', 'clip_bordr': True},
                      'bbox_coder')
    assert info.value.full_key == 'model.bbox_head.bbox_coder.clip_bordr'
    assert "did you mean 'clip_border'" in str(info.value)
    check_nms_cfg({'type': 'nms', 'iou_threshold': 0.5, 'class_agnostic': True, 'split_thr': 1})
    with pytest.raises(ConfigKeyError, match=r'`nms\.iou_threshold`: expected a value in'):
        check_nms_cfg({'type': 'nms', 'iou_threshold': 5})
