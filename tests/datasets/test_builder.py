"""build_dataset / expand_dataset_config: 2.x list ``ann_file`` -> ConcatDataset, and the
Runner path (config translation + mmengine's root registry) from a relative data_root."""
from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pytest
from mmengine.config import Config
from mmengine.registry import DATASETS as MMENGINE_DATASETS
from mmengine.registry import DefaultScope

from mmssd.datasets import (
    DEMO_CLASSES,
    ConcatDataset,
    RepeatDataset,
    VOCDataset,
    build_dataset,
    expand_dataset_config,
    leaf_dataset_configs,
    make_demo_voc_dataset,
)
from mmssd.engine import ConfigError
from mmssd.engine.config_translation import evaluator_config
from mmssd.engine.config_translation.data import translate_data

REPO = Path(__file__).resolve().parents[2]
LIST_CFG = dict(type='VOCDataset', ann_file=['a/trainval.txt', 'b/trainval.txt'],
                img_prefix=['a/', 'b/'], pipeline=[dict(type='LoadImageFromFile')],
                classes=('x',))


def test_list_ann_file_becomes_concat_of_one_dataset_per_file():
    original = copy.deepcopy(LIST_CFG)
    out = expand_dataset_config(LIST_CFG)
    assert original == LIST_CFG  # the input is left as it was
    assert out == dict(type='ConcatDataset', separate_eval=True, datasets=[
        dict(LIST_CFG, ann_file='a/trainval.txt', img_prefix='a/'),
        dict(LIST_CFG, ann_file='b/trainval.txt', img_prefix='b/')])
    out['datasets'][0]['pipeline'].append('changed')
    assert out['datasets'][1]['pipeline'] == LIST_CFG['pipeline']  # no shared sub-dicts


def test_single_img_prefix_is_shared_and_separate_eval_moves_to_concat():
    out = expand_dataset_config(dict(LIST_CFG, img_prefix='imgs/', separate_eval=False,
                                     proposal_file=['p1.pkl', 'p2.pkl']))
    assert out['separate_eval'] is False
    assert [d['img_prefix'] for d in out['datasets']] == ['imgs/', 'imgs/']
    assert [d['proposal_file'] for d in out['datasets']] == ['p1.pkl', 'p2.pkl']
    assert all('separate_eval' not in d for d in out['datasets'])


def test_recurses_into_wrappers_and_lists():
    cfg = dict(type='RepeatDataset', times=2, dataset=dict(
        type='ClassBalancedDataset', oversample_thr=0.1, dataset=dict(
            type='ConcatDataset', datasets=[LIST_CFG, dict(LIST_CFG, ann_file='c.txt',
                                                           img_prefix='c/')])))
    out = expand_dataset_config(cfg)
    inner = out['dataset']['dataset']['datasets']
    assert inner[0]['type'] == 'ConcatDataset' and len(inner[0]['datasets']) == 2
    assert inner[1]['ann_file'] == 'c.txt'
    leaves = leaf_dataset_configs(out)
    assert [leaf['ann_file'] for leaf in leaves] == ['a/trainval.txt', 'b/trainval.txt', 'c.txt']
    assert leaves[2] is inner[1]
    listed = expand_dataset_config([dict(LIST_CFG, ann_file='c.txt', img_prefix='c/')] * 2)
    assert listed['type'] == 'ConcatDataset' and len(listed['datasets']) == 2


def test_built_datasets_inside_wrapper_configs_are_passed_through():
    built = RepeatDataset.__new__(RepeatDataset)  # any Dataset object
    out = expand_dataset_config(dict(type='ConcatDataset', datasets=[built, LIST_CFG]))
    assert out['datasets'][0] is built and out['datasets'][1]['type'] == 'ConcatDataset'
    assert expand_dataset_config(dict(type='RepeatDataset', times=2, dataset=built))[
        'dataset'] is built
    assert leaf_dataset_configs(out)[0]['ann_file'] == 'a/trainval.txt'


@pytest.mark.parametrize('bad, message', [
    (dict(img_prefix=['a/']), r'`img_prefix` has 1 entries but `ann_file` has 2'),
    (dict(ann_file=[]), r'`ann_file` is an empty list'),
])
def test_bad_lists_name_the_key(bad, message):
    with pytest.raises(ValueError, match=message):
        expand_dataset_config(dict(LIST_CFG, **bad))


# --------------------------------------------------------------------------- on disk
@pytest.fixture(scope='module')
def demo_voc(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp('demo_voc')
    make_demo_voc_dataset(str(root), num_trainval07=4, num_trainval12=3, num_test07=3)
    return root / 'VOCdevkit'


def voc0712_cfg(data_root: str) -> dict:
    return dict(type='VOCDataset', classes=DEMO_CLASSES, data_root=data_root,
                ann_file=['VOC2007/ImageSets/Main/trainval.txt',
                          'VOC2012/ImageSets/Main/trainval.txt'],
                img_prefix=['VOC2007/', 'VOC2012/'],
                pipeline=[dict(type='LoadImageFromFile'), dict(type='LoadAnnotations')])


def test_build_dataset_concatenates_voc07_and_voc12(demo_voc: Path):
    ds = build_dataset(dict(type='RepeatDataset', times=2, dataset=voc0712_cfg(str(demo_voc))))
    assert isinstance(ds, RepeatDataset) and isinstance(ds.dataset, ConcatDataset)
    parts = ds.dataset.datasets
    assert [p.year for p in parts] == [2007, 2012] and [len(p) for p in parts] == [4, 3]
    assert len(ds) == 14 and ds.metainfo['year'] == 2007
    np.testing.assert_array_equal(ds.dataset.flag, np.concatenate([p.flag for p in parts]))
    sample = ds[5]  # the second VOC2012 image
    assert sample['img'].shape[:2] == (parts[1].data_infos[1]['height'],
                                       parts[1].data_infos[1]['width'])
    assert sample['img_id'] == 2012000001


def runner_build(dataset_cfg: dict):
    """Build like mmengine's Runner: its root registry, in mmssd's default scope."""
    with DefaultScope.overwrite_default_scope('mmssd'):
        return MMENGINE_DATASETS.build(dataset_cfg)


def test_voc0712_config_from_relative_data_root(demo_voc: Path, monkeypatch):
    """configs/_base_/datasets/voc0712.py as is (data_root 'data/VOCdevkit/'), from a cwd
    that holds data/VOCdevkit: the paths resolve from the working directory."""
    monkeypatch.chdir(demo_voc.parent)
    (demo_voc.parent / 'data').mkdir(exist_ok=True)
    if not (demo_voc.parent / 'data' / 'VOCdevkit').exists():
        (demo_voc.parent / 'data' / 'VOCdevkit').symlink_to(demo_voc)
    cfg = Config.fromfile(str(REPO / 'configs/_base_/datasets/voc0712.py'))
    cfg.merge_from_dict({'data.train.dataset.classes': DEMO_CLASSES,
                         'data.val.classes': DEMO_CLASSES, 'data.test.classes': DEMO_CLASSES})
    loaders = translate_data(cfg, with_val=True)
    train_cfg = loaders['train_dataloader']['dataset']
    assert train_cfg['dataset']['type'] == 'ConcatDataset'
    assert train_cfg['dataset']['datasets'][1]['ann_file'] == \
        'data/VOCdevkit/VOC2012/ImageSets/Main/trainval.txt'
    train = runner_build(train_cfg)
    assert len(train) == 3 * (4 + 3)
    assert train[0]['img'].shape[0] == 3  # the full train pipeline ran (tensor image)
    val = runner_build(loaders['val_dataloader']['dataset'])
    assert isinstance(val, VOCDataset) and val.test_mode and len(val) == 3
    assert val.img_prefix == 'data/VOCdevkit/VOC2007/'


def test_translation_sets_test_mode_on_every_leaf_and_picks_the_leaf_metric():
    data = dict(samples_per_gpu=2, train=LIST_CFG,
                val=dict(type='RepeatDataset', times=1, dataset=dict(LIST_CFG,
                                                                     samples_per_gpu=4)),
                test=dict(LIST_CFG, samples_per_gpu=3))
    loaders = translate_data(Config(dict(data=data)), with_val=True)
    assert all(not leaf.get('test_mode')
               for leaf in leaf_dataset_configs(loaders['train_dataloader']['dataset']))
    for split in ('val', 'test'):
        leaves = leaf_dataset_configs(loaders[f'{split}_dataloader']['dataset'])
        assert len(leaves) == 2 and all(leaf['test_mode'] is True for leaf in leaves)
    assert loaders['test_dataloader']['batch_size'] == 3
    assert 'samples_per_gpu' not in str(loaders['test_dataloader']['dataset'])
    metric = evaluator_config(Config(dict(evaluation=dict(metric='mAP'))),
                              loaders['test_dataloader']['dataset'])
    assert metric['type'] == 'VOCMetric'


def test_translation_names_the_split_of_a_bad_list():
    data = dict(samples_per_gpu=2, train=dict(LIST_CFG, img_prefix=['a/', 'b/', 'c/']))
    with pytest.raises(ConfigError, match=r'`data.train`: config key `img_prefix` has 3'):
        translate_data(Config(dict(data=data)), with_val=False)
