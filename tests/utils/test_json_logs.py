"""Reading mmengine and mmdetection 2.x JSON-lines logs."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from mmssd.utils.json_logs import load_json_log


def write_lines(path: Path, records: list) -> Path:
    path.write_text('\n'.join(json.dumps(r) for r in records) + '\n')
    return path


def test_mmengine_log_splits_train_and_val(tmp_path: Path):
    log = load_json_log(str(write_lines(tmp_path / 'scalars.json', [
        {'lr': 0.1, 'loss': 3.0, 'time': 0.5, 'epoch': 1, 'iter': 1, 'step': 1},
        {'lr': 0.1, 'loss': 2.0, 'time': 0.4, 'epoch': 1, 'iter': 2, 'step': 2},
        {'bbox_mAP': 0.2, 'bbox_mAP_50': 0.4, 'time': 0.1, 'step': 1},
        {'lr': 0.1, 'loss': 1.0, 'time': 0.4, 'epoch': 2, 'iter': 3, 'step': 3},
    ])))
    assert [r['loss'] for r in log.train] == [3.0, 2.0, 1.0]
    assert [r['step'] for r in log.train] == [1, 2, 3]
    assert log.val == [{'bbox_mAP': 0.2, 'bbox_mAP_50': 0.4, 'time': 0.1, 'step': 1}]
    assert log.by_epoch
    assert 'bbox_mAP' in log.keys('val') and 'loss' in log.keys('train')


def test_mmdet2_log_gets_overall_steps(tmp_path: Path):
    log = load_json_log(str(write_lines(tmp_path / 'run.log.json', [
        {'env_info': 'x', 'config': 'y'},
        {'mode': 'train', 'epoch': 1, 'iter': 50, 'lr': 0.1, 'loss': 2.0, 'time': 0.3},
        {'mode': 'train', 'epoch': 1, 'iter': 100, 'lr': 0.1, 'loss': 1.5, 'time': 0.3},
        {'mode': 'val', 'epoch': 1, 'iter': 20, 'lr': 0.1, 'bbox_mAP': 0.3},
        {'mode': 'train', 'epoch': 2, 'iter': 50, 'lr': 0.1, 'loss': 1.0, 'time': 0.3},
    ])))
    assert [r['step'] for r in log.train] == [50, 100, 150]
    assert [r['step'] for r in log.val] == [1]


def test_bad_line_names_file_and_line(tmp_path: Path):
    path = tmp_path / 'bad.json'
    path.write_text('{"loss": 1, "step": 1, "iter": 1}\nnot json\n')
    with pytest.raises(ValueError, match=r'bad.json, line 2'):
        load_json_log(str(path))


def test_log_without_records_is_refused(tmp_path: Path):
    with pytest.raises(ValueError, match='no training or validation records'):
        load_json_log(str(write_lines(tmp_path / 'empty.json', [{'env_info': 'x'}])))
