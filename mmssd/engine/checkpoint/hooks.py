"""The hooks that write and read mmssd checkpoints.

* :class:`SafeCheckpointHook` keeps every checkpoint readable by
  ``torch.load(weights_only=True)`` (numpy data and ``HistoryBuffer`` s converted before
  saving, rebuilt after loading).
* :class:`LatestCheckpointHook` saves as mmengine's ``CheckpointHook`` does (same
  arguments; the translation of ``checkpoint_config`` builds it), but so that an
  interrupted or failed save (full disk, SIGTERM) never costs a complete checkpoint: the
  new file is written atomically (:mod:`.atomic_write`), ``last_checkpoint`` (what
  ``--auto-resume`` reads) and the ``latest.pth`` link of mmdetection 2.x move to it only
  once it is complete, and only then are checkpoints beyond ``max_keep_ckpts`` (or the
  previous best) removed. mmengine removes first and saves second.
"""
from __future__ import annotations

import os
import os.path as osp
from typing import Any

from mmengine.dist import is_main_process
from mmengine.hooks import CheckpointHook, Hook
from mmengine.logging import MMLogger

from mmssd.registry import HOOKS
from mmssd.utils.log_filters import FILE_CLIENT_NOTES, hidden_log_messages

from .atomic_write import DiskFullError, write_atomically
from .weights_only import restore_history_buffers, to_weights_only

#: The link to the newest complete checkpoint, as mmdetection 2.x names it.
LATEST = 'latest.pth'
#: The file mmengine's auto-resume reads (the newest complete checkpoint's path).
LAST_CHECKPOINT = 'last_checkpoint'


@HOOKS.register_module()
class SafeCheckpointHook(Hook):
    """Convert numpy data before saving and rebuild ``HistoryBuffer`` s after loading.

    Runs first among hooks (``priority='VERY_HIGH'``) so every other hook sees the
    restored ``message_hub``.
    """

    priority = 'VERY_HIGH'

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        converted = to_weights_only(checkpoint)
        checkpoint.clear()
        checkpoint.update(converted)

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        if 'message_hub' in checkpoint:
            checkpoint['message_hub'] = restore_history_buffers(checkpoint['message_hub'])


def point_latest_at(checkpoint_path: str) -> str:
    """Atomically make ``latest.pth`` beside ``checkpoint_path`` a symlink to it."""
    directory = osp.dirname(checkpoint_path)
    link = osp.join(directory, LATEST)
    tmp_link = f'{link}.tmp{os.getpid()}'
    try:
        if osp.lexists(tmp_link):
            os.remove(tmp_link)
        os.symlink(osp.basename(checkpoint_path), tmp_link)
        os.replace(tmp_link, link)
    except BaseException:  # an interrupt between the two steps leaves no stray link
        if osp.lexists(tmp_link):
            os.remove(tmp_link)
        raise
    return link


class _DeferredRemoval:
    """A file backend whose ``remove`` / ``rmtree`` only note the path (for
    :meth:`LatestCheckpointHook._save_best_checkpoint`); everything else is delegated."""

    def __init__(self, backend: Any) -> None:
        self.backend, self.removed = backend, []

    def remove(self, path: str) -> None:
        self.removed.append(path)

    rmtree = remove

    def __getattr__(self, name: str) -> Any:
        return getattr(self.backend, name)


@HOOKS.register_module()
class LatestCheckpointHook(CheckpointHook):
    """mmengine's ``CheckpointHook`` (same arguments) that saves before it removes, and
    keeps ``last_checkpoint`` and ``latest.pth`` on the newest complete checkpoint.

    A full disk ends the run with :class:`~.atomic_write.DiskFullError` naming the file,
    its size and the newest complete checkpoint, which is left as it was.
    """

    def before_train(self, runner) -> None:
        """mmengine's, without the two deprecation notes of the ``FileClient`` it builds
        and never uses when ``file_client_args`` is ``None`` (see
        :data:`mmssd.utils.log_filters.FILE_CLIENT_NOTES`). A config that sets
        ``file_client_args`` uses that client, and is told that it is deprecated."""
        if self.file_client_args is not None:
            super().before_train(runner)
            return
        with hidden_log_messages(MMLogger.get_current_instance(), FILE_CLIENT_NOTES):
            super().before_train(runner)

    def _save_checkpoint_with_step(self, runner, step: int, meta: dict) -> None:
        previous = self.last_ckpt
        stale = None
        if self.max_keep_ckpts > 0 and not (self.keep_ckpt_ids and
                                            self.keep_ckpt_ids[-1] == step):
            if len(self.keep_ckpt_ids) == self.max_keep_ckpts:
                stale = self.keep_ckpt_ids.popleft()
            self.keep_ckpt_ids.append(step)
            runner.message_hub.update_info('keep_ckpt_ids', list(self.keep_ckpt_ids))
        filename = self.filename_tmpl.format(step)
        self.last_ckpt = self.file_backend.join_path(self.out_dir, filename)
        runner.message_hub.update_info('last_ckpt', self.last_ckpt)
        try:
            runner.save_checkpoint(
                self.out_dir, filename, self.file_client_args,
                save_optimizer=self.save_optimizer,
                save_param_scheduler=self.save_param_scheduler, meta=meta,
                by_epoch=self.by_epoch, backend_args=self.backend_args, **self.args)
        except DiskFullError as error:
            self.last_ckpt = previous
            if previous is not None:
                runner.message_hub.update_info('last_ckpt', previous)
            _raise_with_newest(error, previous)
        if not is_main_process():
            return
        write_atomically(self.last_ckpt.encode(), osp.join(runner.work_dir, LAST_CHECKPOINT))
        if osp.isfile(self.last_ckpt):
            point_latest_at(self.last_ckpt)
        if stale is not None and stale != step:
            self._remove(self.file_backend.join_path(self.out_dir,
                                                     self.filename_tmpl.format(stale)))

    def _save_best_checkpoint(self, runner, metrics: dict) -> None:
        """mmengine's, with the previous best removed only after the new one is saved; a
        failed save leaves the best score and path as they were."""
        if not self.save_best:
            return
        backend = self.file_backend
        self.file_backend = deferred = _DeferredRemoval(backend)
        info = runner.message_hub.runtime_info
        before = (getattr(self, 'best_ckpt_path', None),
                  dict(getattr(self, 'best_ckpt_path_dict', {})),
                  {k: v for k, v in info.items() if k.startswith('best_')})
        try:
            super()._save_best_checkpoint(runner, metrics)
        except BaseException as error:
            self.best_ckpt_path, self.best_ckpt_path_dict = before[:2]
            for key in [k for k in info if k.startswith('best_')]:
                del info[key]
            info.update(before[2])
            if isinstance(error, DiskFullError):
                _raise_with_newest(error, self.last_ckpt)
            raise
        finally:
            self.file_backend = backend
        current = {getattr(self, 'best_ckpt_path', None),
                   *getattr(self, 'best_ckpt_path_dict', {}).values()}
        for path in deferred.removed:
            if path not in current:
                self._remove(path)

    def _remove(self, path: str) -> None:
        if is_main_process() and self.file_backend.isfile(path):
            self.file_backend.remove(path)
        elif is_main_process() and self.file_backend.isdir(path):  # deepspeed's folders
            self.file_backend.rmtree(path)


def _raise_with_newest(error: DiskFullError, newest: str | None) -> None:
    """Raise ``error`` with the newest complete checkpoint and the way to continue added."""
    if getattr(error, 'names_newest', False):
        raise error
    kept = (f'the newest complete checkpoint is still {newest} ({LATEST}, '
            f'{LAST_CHECKPOINT})' if newest else 'no earlier checkpoint exists')
    named = DiskFullError(error.errno, f'{error.strerror}; {kept}. Free space on that disk (or '
                          'train with --work-dir on another disk), then continue with '
                          '--auto-resume', error.filename)
    named.names_newest = True
    raise named from error

