"""mmengine's ``CheckpointHook`` plus the ``latest.pth`` link that mmdetection 2.x users expect."""
from __future__ import annotations

import os
import os.path as osp

from mmengine.dist import is_main_process
from mmengine.hooks import CheckpointHook as MMEngineCheckpointHook

from mmssd.registry import HOOKS

LATEST = 'latest.pth'


def point_latest_at(checkpoint_path: str) -> str:
    """Atomically make ``latest.pth`` beside ``checkpoint_path`` a symlink to it."""
    directory = osp.dirname(checkpoint_path)
    link = osp.join(directory, LATEST)
    tmp_link = f'{link}.tmp{os.getpid()}'
    if osp.lexists(tmp_link):
        os.remove(tmp_link)
    os.symlink(osp.basename(checkpoint_path), tmp_link)
    os.replace(tmp_link, link)
    return link


@HOOKS.register_module()
class CheckpointHook(MMEngineCheckpointHook):
    """Save checkpoints as mmengine does and keep ``latest.pth`` pointing at the newest."""

    def _save_checkpoint_with_step(self, runner, step, meta) -> None:
        super()._save_checkpoint_with_step(runner, step, meta)
        if is_main_process() and self.last_ckpt and osp.isfile(self.last_ckpt):
            point_latest_at(self.last_ckpt)
