"""Fault: ``--resume-from`` / ``load_from`` / ``tools/test.py`` given a checkpoint of another
class count or another model. Resuming or testing stops before any step with the keys and
shapes named; ``load_from`` of another class count fine-tunes as in mmdetection 2.x (the
head layers of another shape named in a warning), of another model it stops."""
from __future__ import annotations

import copy
from pathlib import Path

import pytest
import torch
import torchvision

from mmssd.apis import build_train_runner, load_config
from mmssd.engine import CheckpointMismatchError
from mmssd.registry import MODELS
from mmssd.utils import register_all_modules
from tests.helpers.logs import current_log_messages
from tests.helpers.tiny_coco import tiny_config, write_tiny_coco
from tests.helpers.tools import load_tool


@pytest.fixture(scope='module')
def setup(tmp_path_factory) -> dict:
    """A 1-class config, and checkpoints of the same model with 3 classes and of a ResNet."""
    tmp = tmp_path_factory.mktemp('mismatch')
    root = write_tiny_coco(tmp / 'data', [(64, 64), (64, 64)])
    config = tiny_config(tmp / 'tiny.py', root, epochs=1)
    register_all_modules()
    model_cfg = load_config(str(config)).model
    three = copy.deepcopy(model_cfg)
    three.bbox_head.num_classes = 3
    ours, theirs = MODELS.build(model_cfg).state_dict(), MODELS.build(three).state_dict()
    torch.save({'meta': {'epoch': 1, 'iter': 1}, 'state_dict': theirs}, tmp / 'three.pth')
    torch.save(torchvision.models.resnet18().state_dict(), tmp / 'resnet18.pth')
    reshaped = [k for k in ours if ours[k].shape != theirs[k].shape]
    return dict(tmp=tmp, config=config, ours=ours, theirs=theirs, reshaped=reshaped)


def checkpoints_in(work_dir: Path) -> list[str]:
    return sorted(p.name for p in work_dir.iterdir() if p.suffix == '.pth'
                  or p.name == 'last_checkpoint')


def test_resume_from_another_class_count(setup: dict, tmp_path: Path):
    train = load_tool('tools/train.py')
    work, path = tmp_path / 'work', setup['tmp'] / 'three.pth'
    with pytest.raises(CheckpointMismatchError) as error:
        train.main([str(setup['config']), '--work-dir', str(work), '--resume-from', str(path),
                    '--no-validate'])
    first = setup['reshaped'][0]
    shapes = 'x'.join(map(str, setup['theirs'][first].shape)), 'x'.join(
        map(str, setup['ours'][first].shape))
    message = str(error.value)
    assert message.startswith(
        f'cannot resume from {path}: it is not a checkpoint of this model: '
        f'{len(setup["reshaped"])} of another shape ({first} (checkpoint {shapes[0]}, '
        f'model {shapes[1]}), ')
    assert all(k in message for k in setup['reshaped'][:8])
    assert message.endswith(
        f'... and {len(setup["reshaped"]) - 8} more). Resuming needs the same model '
        '(num_classes, layers); to start a new training from its weights, use load_from '
        'instead of resume_from')
    assert len(setup['reshaped']) == 12 and all('cls_convs' in k for k in setup['reshaped'])
    assert checkpoints_in(work) == []  # stopped before any training step or save


def test_load_from_another_model(setup: dict, tmp_path: Path):
    cfg = load_config(str(setup['config']), work_dir=str(tmp_path / 'work'))
    cfg.load_from = str(setup['tmp'] / 'resnet18.pth')
    runner = build_train_runner(cfg, validate=False)
    with pytest.raises(CheckpointMismatchError) as error:
        runner.train()
    assert str(error.value).startswith(
        f"load_from={cfg.load_from} fills only 0% of the model's weights; it is a "
        f'checkpoint of another model: {len(setup["ours"])} missing from the checkpoint '
        '(backbone.conv1.conv.weight, ')
    assert checkpoints_in(tmp_path / 'work') == []


def test_load_from_another_class_count_fine_tunes(setup: dict, tmp_path: Path):
    cfg = load_config(str(setup['config']), work_dir=str(tmp_path / 'work'))
    cfg.load_from = str(setup['tmp'] / 'three.pth')
    runner = build_train_runner(cfg, validate=False)
    with current_log_messages() as messages:
        runner.load_or_resume()
    expected = (f'checkpoint {cfg.load_from} does not fit the model exactly; the layers '
                'named keep their initial weights: 12 of another shape (bbox_head.cls_convs.'
                '0.1.weight (checkpoint 24x48x1x1, model 12x48x1x1)')
    assert any(expected in m for m in messages), messages
    loaded = runner.model.state_dict()
    for key, value in setup['theirs'].items():
        if key not in setup['reshaped']:
            assert torch.equal(loaded[key], value), key


def test_tools_test_with_another_class_count(setup: dict, tmp_path: Path):
    test = load_tool('tools/test.py')
    path = setup['tmp'] / 'three.pth'
    with pytest.raises(CheckpointMismatchError) as error:
        test.main([str(setup['config']), str(path), '--eval', 'bbox', '--work-dir',
                   str(tmp_path / 'work')])
    assert str(error.value).startswith(
        f'checkpoint {path} does not fit the model of this config: 12 of another shape '
        '(bbox_head.cls_convs.0.1.weight (checkpoint 24x48x1x1, model 12x48x1x1), ')
    assert str(error.value).endswith('. Use the config the checkpoint was trained with '
                                     '(num_classes, layers)')
