"""Config files: ``_base_`` inheritance, ``_delete_``, ``--cfg-options`` and ``work_dir``."""
import textwrap
from pathlib import Path

import pytest
from mmengine.config import DictAction

from mmssd.apis import load_config

REPO = Path(__file__).resolve().parents[2]


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


@pytest.fixture
def config_tree(tmp_path: Path) -> Path:
    write(tmp_path / '_base_/models/net.py', """
        model = dict(type='SingleStageDetector',
                     backbone=dict(type='MobileNetV2', widen_factor=1.0, out_indices=(4, 7)),
                     bbox_head=dict(type='SSDHead', num_classes=80,
                                    loss_cls=dict(type='CrossEntropyLoss', loss_weight=1.0)))
    """)
    write(tmp_path / '_base_/schedules/sched.py', """
        optimizer = dict(type='SGD', lr=0.02, momentum=0.9, weight_decay=1e-4)
        runner = dict(type='EpochBasedRunner', max_epochs=12)
    """)
    return tmp_path


def test_base_list_merges_and_overrides(config_tree: Path):
    cfg_file = write(config_tree / 'exp/a.py', """
        _base_ = ['../_base_/models/net.py', '../_base_/schedules/sched.py']
        model = dict(bbox_head=dict(num_classes=5))
        optimizer = dict(lr=0.01)
    """)
    cfg = load_config(str(cfg_file))
    assert cfg.model.bbox_head.num_classes == 5
    assert cfg.model.bbox_head.loss_cls.type == 'CrossEntropyLoss'  # kept from the base
    assert cfg.optimizer == dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=1e-4)
    assert cfg.runner.max_epochs == 12


def test_base_string_and_chained_inheritance(config_tree: Path):
    write(config_tree / 'exp/a.py', "_base_ = '../_base_/schedules/sched.py'\n")
    cfg_file = write(config_tree / 'exp/b.py', """
        _base_ = './a.py'
        runner = dict(max_epochs=24)
    """)
    cfg = load_config(str(cfg_file))
    assert cfg.runner == dict(type='EpochBasedRunner', max_epochs=24)


def test_delete_replaces_instead_of_merging(config_tree: Path):
    cfg_file = write(config_tree / 'exp/c.py', """
        _base_ = ['../_base_/models/net.py', '../_base_/schedules/sched.py']
        optimizer = dict(_delete_=True, type='Adam', lr=1e-3)
        model = dict(bbox_head=dict(loss_cls=dict(_delete_=True, type='FocalLoss')))
    """)
    cfg = load_config(str(cfg_file))
    assert cfg.optimizer == dict(type='Adam', lr=1e-3)
    assert cfg.model.bbox_head.loss_cls == dict(type='FocalLoss')
    assert cfg.model.bbox_head.num_classes == 80


def test_cfg_options_override_nested_keys(config_tree: Path):
    cfg_file = write(config_tree / 'exp/d.py', "_base_ = ['../_base_/models/net.py']\n")
    action = DictAction(option_strings=['--cfg-options'], dest='cfg_options')
    namespace = type('N', (), {})()
    action(None, namespace, ['model.bbox_head.num_classes=3', 'model.backbone.out_indices=(2,7)'])
    cfg = load_config(str(cfg_file), namespace.cfg_options)
    assert cfg.model.bbox_head.num_classes == 3
    assert tuple(cfg.model.backbone.out_indices) == (2, 7)


def test_work_dir_priority(config_tree: Path):
    cfg_file = write(config_tree / 'exp/my_exp.py', "work_dir = '/tmp/from_cfg'\n")
    assert load_config(str(cfg_file), work_dir='/tmp/arg').work_dir == '/tmp/arg'
    assert load_config(str(cfg_file)).work_dir == '/tmp/from_cfg'
    plain = write(config_tree / 'exp/plain.py', 'x = 1\n')
    assert load_config(str(plain)).work_dir.endswith('work_dirs/plain')


def test_missing_config_file_is_named(tmp_path: Path):
    with pytest.raises(FileNotFoundError, match='nope.py'):
        load_config(str(tmp_path / 'nope.py'))


@pytest.mark.parametrize('path', sorted(str(p.relative_to(REPO)) for p in
                                        (REPO / 'configs').rglob('*.py')))
def test_every_shipped_config_loads(path: str):
    cfg = load_config(str(REPO / path))
    assert cfg.filename.endswith(path)
