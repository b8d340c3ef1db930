"""tools/misc/print_config.py prints the merged config; unknown names fail with suggestions."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from mmengine.config import Config

from mmssd.apis import load_config
from mmssd.registry import MODELS, UnknownTypeError

REPO = Path(__file__).resolve().parents[2]
RETINANET = REPO / 'configs/retinanet/retinanet_r18_fpn_8e_demo.py'
BIFPN = REPO / 'projects/example_neck/configs/retinanet_r18_bifpn_8e_demo.py'


def load_tool():
    spec = importlib.util.spec_from_file_location('print_config',
                                                  REPO / 'tools/misc/print_config.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def neck_section(text: str) -> str:
    start = text.index('    neck=dict(')
    return text[start:text.index('\n    ),', start)]


def test_prints_bases_merged_with_overrides(capsys, monkeypatch):
    monkeypatch.chdir(REPO)  # custom_imports finds `projects` from the working directory
    text = load_tool().main([str(BIFPN), '--cfg-options', 'optimizer.lr=0.0123',
                             'model.bbox_head.num_classes=7'])
    assert capsys.readouterr().out == f'Config:\n{text}\n'
    neck = neck_section(text)
    assert "type='BiFPN'" in neck
    assert 'add_extra_convs' not in neck  # _delete_=True dropped FPN's keys
    assert 'out_channels=64' in neck  # {{_base_.model.neck.out_channels}}
    assert "type='ResNet'" in text and 'base_channels=32' in text  # from two levels up
    assert "type='AnchorGenerator'" in text and 'octave_base_scale=2' in text
    assert 'lr=0.0123' in text and 'num_classes=7' in text  # --cfg-options
    assert "custom_imports = dict(" in text
    assert 'max_epochs=8' in text and "type='CocoDataset'" in text  # schedule, dataset bases


def test_save_path_round_trips(tmp_path):
    out = tmp_path / 'merged.py'
    load_tool().main([str(RETINANET), '--save-path', str(out)])
    saved, original = Config.fromfile(str(out)), load_config(str(RETINANET))
    assert saved.model.to_dict() == original.model.to_dict()
    assert saved.data.to_dict() == original.data.to_dict()
    with pytest.raises(SystemExit, match='must end with .py'):
        load_tool().main([str(RETINANET), '--save-path', str(tmp_path / 'merged.json')])


def test_unknown_neck_in_a_config_fails_with_a_suggestion(tmp_path):
    config = tmp_path / 'retinanet_typo.py'
    config.write_text(f"_base_ = ['{RETINANET}']\nmodel = dict(neck=dict(type='FNP'))\n")
    cfg = load_config(str(config))
    with pytest.raises(UnknownTypeError) as info:
        MODELS.build(cfg.model)
    message = str(info.value)
    assert "'FNP' is not in the mmssd::model registry. Did you mean 'FPN'?" in message
    assert 'SSDNeck' in message  # the registered names are listed
