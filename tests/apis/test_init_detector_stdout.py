"""``init_detector`` with a checkpoint writes nothing to stdout (mmengine's loader would
``print`` ``Loads checkpoint by local backend from path: ...``); it logs instead."""
from __future__ import annotations

import logging
from pathlib import Path

import pytest
import torch

from mmssd.apis import init_detector

REPO = Path(__file__).resolve().parents[2]
CONFIG = str(REPO / 'configs/demo/ssdlite_mobilenetv2_demo.py')

pytestmark = pytest.mark.usefixtures('torch_single_thread')


def test_loading_a_checkpoint_prints_nothing_and_logs_the_path(tmp_path: Path, capfd,
                                                               caplog):
    path = tmp_path / 'ckpt.pth'
    torch.save({'state_dict': init_detector(CONFIG).state_dict()}, path)
    capfd.readouterr()
    with caplog.at_level(logging.INFO, logger='mmssd.apis.inference'):
        init_detector(CONFIG, str(path))
    assert capfd.readouterr().out == ''
    assert [r.getMessage() for r in caplog.records] == [
        f'Loads checkpoint by local backend from path: {path}']
