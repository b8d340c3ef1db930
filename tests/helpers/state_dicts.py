"""Comparing models built from the shipped configs with mmdetection's published state
dicts (``../shared/reference/*.json``: keys, shapes, parameter counts per part)."""
from __future__ import annotations

import copy
import json

import pytest
import torch
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


def assert_state_dict_matches(model: nn.Module, expected: dict, parts: tuple[str, ...]) -> None:
    """``model``'s state dict has the reference's keys and shapes, and its parameter counts
    (total, and each of ``parts`` the reference counts) equal the reference's ``params``."""
    shapes = {key: list(value.shape) for key, value in model.state_dict().items()}
    assert sorted(shapes) == sorted(expected['state_dict'])
    mismatched = {k: (shapes[k], v) for k, v in expected['state_dict'].items() if shapes[k] != v}
    assert not mismatched
    counts = {part: num_params(getattr(model, part)) for part in parts
              if part in expected['params']}
    assert dict(counts, total=num_params(model)) == expected['params']


#: Buffers holding integers (counters, index tables): random integers, not floats.
INTEGER_BUFFERS = ('tracked', 'relative_position_index')


def random_state_dict(shapes: dict[str, list[int]], seed: int = 0) -> dict[str, torch.Tensor]:
    """Random weights with the given keys and shapes (integers for :data:`INTEGER_BUFFERS`),
    as a checkpoint of mmdetection would hold them."""
    generator = torch.Generator().manual_seed(seed)
    return {k: (torch.randint(0, 5, s, generator=generator) if k.endswith(INTEGER_BUFFERS)
                else torch.randn(s, generator=generator)) for k, s in shapes.items()}
