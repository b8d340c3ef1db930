"""Comparing models built from the shipped configs with mmdetection's published state
dicts (``../shared/reference/*.json``: keys, shapes, parameter counts per part)."""
from __future__ import annotations

import copy
import json

import pytest
from mmengine.config import Config
from torch import nn

from tests.helpers.tools import REPO

REFERENCE_DIR = REPO / '..' / 'shared' / 'reference'


def num_params(module: nn.Module) -> int:
    """Number of parameters (elements) of ``module``."""
    return sum(p.numel() for p in module.parameters())


def load_reference(file_name: str) -> dict:
    """The ``models`` of a reference file, e.g. ``mmdet_ssd_state_dicts.json``; the test is
    skipped, with the path, where the file is not beside the repository."""
    path = REFERENCE_DIR / file_name
    if not path.is_file():
        pytest.skip(f'mmdetection reference state dicts not found at {path.resolve()}')
    return json.loads(path.read_text())['models']


def shipped_model_cfg(config: str) -> dict:
    """The ``model`` of a shipped config (path relative to the repository), without the
    pretrained backbone download."""
    model = copy.deepcopy(Config.fromfile(str(REPO / config)).model.to_dict())
    if (model['backbone'].get('init_cfg') or {}).get('type') == 'Pretrained':
        model['backbone']['init_cfg'] = None
    return model
