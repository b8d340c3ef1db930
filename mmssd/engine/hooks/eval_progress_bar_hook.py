"""A progress bar over the batches of every validation and test run."""
from __future__ import annotations

from mmengine.dist import is_main_process
from mmengine.hooks import Hook
from tqdm import tqdm

from mmssd.registry import HOOKS


@HOOKS.register_module()
class EvalProgressBarHook(Hook):
    """Show ``tqdm`` progress (batches done, speed, time left) on the main process."""

    def __init__(self) -> None:
        self._bar: tqdm | None = None

    def _open(self, loop, desc: str) -> None:
        if is_main_process():
            self._bar = tqdm(total=len(loop.dataloader), desc=desc, unit='batch', leave=False)

    def _advance(self) -> None:
        if self._bar is not None:
            self._bar.update(1)

    def _close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def before_val_epoch(self, runner) -> None:
        self._open(runner.val_loop, 'val')

    def after_val_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        self._advance()

    def after_val_epoch(self, runner, metrics=None) -> None:
        self._close()

    def before_test_epoch(self, runner) -> None:
        self._open(runner.test_loop, 'test')

    def after_test_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        self._advance()

    def after_test_epoch(self, runner, metrics=None) -> None:
        self._close()
