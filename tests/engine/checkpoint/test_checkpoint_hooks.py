"""``LatestCheckpointHook``: ``checkpoint_config.max_keep_ckpts`` never removes the best or
the newest checkpoint, old files go only after the new one is complete (also when the save
fails), and ``latest.pth`` / ``last_checkpoint`` follow the newest complete one.

The hook overrides two private methods of mmengine's ``CheckpointHook`` and swaps its
``file_backend``; a real ``Runner`` shows that mmengine calls the overrides and removes
through the swapped backend (``docs/architecture.md``, "What mmssd relies on in
mmengine"), so a rename in mmengine fails here instead of silently undoing mmssd's order
of saving and removing.
"""
from __future__ import annotations

import errno
import os
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from mmengine.config import Config
from mmengine.hooks import CheckpointHook
from mmengine.logging import MessageHub, MMLogger

from mmssd.apis import build_train_runner, load_config
from mmssd.datasets import make_demo_dataset
from mmssd.engine.checkpoint import DiskFullError, LatestCheckpointHook, write_atomically
from mmssd.engine.checkpoint.hooks import _DeferredRemoval
from mmssd.engine.config_translation.hook_configs import training_hooks
from mmssd.registry import HOOKS
from mmssd.utils import register_all_modules
from tests.helpers.toy_runner import EPOCHS as TOY_EPOCHS
from tests.helpers.toy_runner import spy_on, train_toy_runner

REPO = Path(__file__).resolve().parents[3]
EPOCHS = 4


def test_checkpoint_config_builds_mmssds_hook_whatever_type_it_names():
    register_all_modules()
    cfg = Config(dict(checkpoint_config=dict(type='CheckpointHook', interval=3)))
    loading = dict(load_from=None, resume=False)
    hook_cfg = training_hooks(cfg, True, loading)['default_hooks']['checkpoint']
    assert hook_cfg == dict(type='LatestCheckpointHook', interval=3, by_epoch=True)
    assert type(HOOKS.build(hook_cfg)) is LatestCheckpointHook


class FakeRunner(SimpleNamespace):
    """What the hook uses of a runner; ``save_checkpoint`` writes ``epoch`` into the file
    atomically, records the folder's files at that moment, and fails with a full disk
    for the file names in ``disk_full_for``."""

    def __init__(self, work_dir: Path, name: str) -> None:
        super().__init__(work_dir=str(work_dir), epoch=0, iter=0, seen=[], disk_full_for=(),
                         message_hub=MessageHub.get_instance(name),
                         logger=MMLogger.get_instance(name))

    def save_checkpoint(self, out_dir, filename, *args, **kwargs) -> None:
        self.seen.append(sorted(os.listdir(out_dir)))
        data = str(self.epoch).encode()
        if filename in self.disk_full_for:
            raise DiskFullError(errno.ENOSPC, f'disk full at {filename}', filename)
        write_atomically(data, Path(out_dir) / filename)


def files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_new_checkpoint_is_complete_before_the_old_one_goes(tmp_path: Path):
    runner = FakeRunner(tmp_path, 'save_then_prune')
    hook = LatestCheckpointHook(interval=1, max_keep_ckpts=1)
    hook.before_train(runner)
    for epoch in (1, 2):
        runner.epoch = epoch
        hook._save_checkpoint_with_step(runner, epoch, dict(epoch=epoch))
    assert runner.seen[1] == ['epoch_1.pth', 'last_checkpoint', 'latest.pth']  # during save 2
    assert files(tmp_path) == ['epoch_2.pth', 'last_checkpoint', 'latest.pth']
    assert (tmp_path / 'last_checkpoint').read_text() == str(tmp_path / 'epoch_2.pth')
    assert os.readlink(tmp_path / 'latest.pth') == 'epoch_2.pth'
    assert runner.message_hub.get_info('keep_ckpt_ids') == [2]


def test_previous_best_stays_when_the_new_best_cannot_be_written(tmp_path: Path):
    runner = FakeRunner(tmp_path, 'best_disk_full')
    hook = LatestCheckpointHook(interval=1, save_best='acc', rule='greater')
    hook.before_train(runner)
    runner.epoch = 1
    hook._save_checkpoint_with_step(runner, 1, dict(epoch=1))
    hook._save_best_checkpoint(runner, dict(acc=0.5))
    assert files(tmp_path) == ['best_acc_epoch_1.pth', 'epoch_1.pth', 'last_checkpoint',
                               'latest.pth']
    runner.epoch = 2
    hook._save_checkpoint_with_step(runner, 2, dict(epoch=2))
    runner.disk_full_for = ('best_acc_epoch_2.pth',)
    with pytest.raises(DiskFullError) as error:
        hook._save_best_checkpoint(runner, dict(acc=0.7))
    assert str(error.value) == (
        f'disk full at best_acc_epoch_2.pth; the newest complete checkpoint is still '
        f'{tmp_path}/epoch_2.pth (latest.pth, last_checkpoint). Free space on that disk (or '
        'train with --work-dir on another disk), then continue with --auto-resume')
    assert files(tmp_path) == ['best_acc_epoch_1.pth', 'epoch_1.pth', 'epoch_2.pth',
                               'last_checkpoint', 'latest.pth']
    runner.disk_full_for = ()
    hook._save_best_checkpoint(runner, dict(acc=0.8))  # room again: the old best goes now
    assert files(tmp_path) == ['best_acc_epoch_2.pth', 'epoch_1.pth', 'epoch_2.pth',
                               'last_checkpoint', 'latest.pth']


#: mmengine ``CheckpointHook`` methods that ``LatestCheckpointHook`` overrides, and the
#: attribute it swaps while mmengine's ``_save_best_checkpoint`` runs.
OVERRIDDEN = ('_save_checkpoint_with_step', '_save_best_checkpoint')


def saved_files(folder: Path) -> list[str]:
    """The checkpoints, ``latest.pth`` and ``last_checkpoint`` in ``folder`` (not the logs
    nor the dumped config)."""
    return sorted(p.name for p in folder.iterdir()
                  if p.suffix == '.pth' or p.name == 'last_checkpoint')


@pytest.fixture(scope='module')
def toy_run(tmp_path_factory: pytest.TempPathFactory) -> SimpleNamespace:
    """A real ``Runner`` trained for ``TOY_EPOCHS`` epochs, each with a new best, keeping one
    regular checkpoint; spies record what mmengine called of ``LatestCheckpointHook``."""
    work = tmp_path_factory.mktemp('toy_run')
    with pytest.MonkeyPatch.context() as patch:
        steps = spy_on(patch, LatestCheckpointHook, '_save_checkpoint_with_step',
                       lambda hook, runner, step, *rest: step)
        bests = spy_on(patch, LatestCheckpointHook, '_save_best_checkpoint',
                       lambda hook, runner, metrics: dict(metrics))
        removals = spy_on(patch, _DeferredRemoval, 'remove',
                          lambda backend, path: (Path(path).name, saved_files(work)))
        runner = train_toy_runner(work, max_keep_ckpts=1, save_best='acc', rule='greater')
    return SimpleNamespace(work=work, runner=runner, steps=steps, bests=bests,
                           removals=removals)


def test_mmengine_still_defines_what_the_hook_overrides():
    for name in OVERRIDDEN:
        assert name in vars(CheckpointHook), (
            f'mmengine\'s CheckpointHook no longer has {name}, which LatestCheckpointHook '
            'overrides; see docs/architecture.md "What mmssd relies on in mmengine"')
        assert name in vars(LatestCheckpointHook), f'LatestCheckpointHook lost {name}'


def test_mmengine_saves_each_checkpoint_through_mmssds_override(toy_run: SimpleNamespace):
    """Each epoch's regular save (not only the re-save after a new best, which mmengine's
    ``_save_best_checkpoint`` makes) goes through the override."""
    regular = [step for caller, step in toy_run.steps if caller != '_save_best_checkpoint']
    assert regular == list(range(1, TOY_EPOCHS + 1)), (
        'mmengine did not call LatestCheckpointHook._save_checkpoint_with_step for the '
        'regular checkpoint of each epoch')
    last = f'epoch_{TOY_EPOCHS}.pth'
    assert saved_files(toy_run.work) == [f'best_acc_epoch_{TOY_EPOCHS}.pth', last,
                                         'last_checkpoint', 'latest.pth']
    assert os.readlink(toy_run.work / 'latest.pth') == last  # only the override links it
    assert (toy_run.work / 'last_checkpoint').read_text() == str(toy_run.work / last)


def test_mmengine_saves_the_best_through_mmssds_override(toy_run: SimpleNamespace):
    metrics = [value for _, value in toy_run.bests]
    assert metrics == [dict(acc=float(i)) for i in range(1, TOY_EPOCHS + 1)], (
        'mmengine did not call LatestCheckpointHook._save_best_checkpoint after each '
        'validation')


def test_mmengine_removes_the_previous_best_through_the_swapped_backend(
        toy_run: SimpleNamespace):
    """mmengine's ``_save_best_checkpoint`` removes the previous best through
    ``self.file_backend``, which the override has swapped for a ``_DeferredRemoval``: it
    only notes the file, which is still there, and the hook removes it after the save."""
    names = [name for _, (name, _) in toy_run.removals]
    assert names == [f'best_acc_epoch_{i}.pth' for i in range(1, TOY_EPOCHS)], (
        'mmengine removed the previous best without going through CheckpointHook.file_backend')
    for _, (name, present) in toy_run.removals:
        assert name in present, f'{name} was gone before the new best was saved'
    checkpoint_hook = next(h for h in toy_run.runner.hooks
                           if isinstance(h, LatestCheckpointHook))
    assert not isinstance(checkpoint_hook.file_backend, _DeferredRemoval)  # swapped back


@pytest.mark.slow
def test_old_checkpoints_go_best_and_latest_stay(tmp_path: Path):
    root = tmp_path / 'demo'
    make_demo_dataset(root, num_train=8, num_val=4, seed=5)
    cfg = load_config(str(REPO / 'configs/demo/ssdlite_mobilenetv2_demo.py'),
                      work_dir=str(tmp_path / 'work'))
    for split, folder in (('train', 'train'), ('val', 'val')):
        cfg.data[split].update(ann_file=str(root / f'annotations/instances_{folder}.json'),
                               img_prefix=str(root / folder))
    cfg.data.update(samples_per_gpu=4, workers_per_gpu=0)
    cfg.runner.max_epochs = EPOCHS
    cfg.evaluation = dict(interval=1, metric='bbox', save_best='auto')
    cfg.checkpoint_config = dict(interval=1, max_keep_ckpts=1)
    cfg.lr_config.warmup_iters = 2
    runner = build_train_runner(cfg)
    runner.train()

    work = Path(cfg.work_dir)
    regular = sorted(p.name for p in work.glob('epoch_*.pth'))
    best = sorted(p.name for p in work.glob('best_bbox_mAP_epoch_*.pth'))
    assert regular == [f'epoch_{EPOCHS}.pth']
    assert len(best) == 1, sorted(p.name for p in work.iterdir())
    assert os.readlink(work / 'latest.pth') == f'epoch_{EPOCHS}.pth'
    best_epoch = int(best[0].rsplit('_', 1)[1].split('.')[0])
    checkpoint = torch.load(work / best[0], weights_only=True)
    assert checkpoint['meta']['epoch'] == best_epoch
    assert checkpoint['state_dict'].keys() == runner.model.state_dict().keys()
