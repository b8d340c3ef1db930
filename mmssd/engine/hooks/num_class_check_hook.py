"""Stop early when the dataset's classes and the head's ``num_classes`` disagree."""
from __future__ import annotations

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from mmssd.registry import HOOKS


@HOOKS.register_module()
class NumClassCheckHook(Hook):
    """Check ``len(dataset classes) == bbox_head.num_classes`` before training and validation.

    A mismatch (a custom ``classes=`` tuple with the head left at 80) otherwise trains
    silently with wrong labels.
    """

    def _check(self, runner, dataloader, phase: str) -> None:
        classes = getattr(dataloader.dataset, 'metainfo', {}).get('classes')
        if classes is None:
            return
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        head = getattr(model, 'bbox_head', None)
        if head is not None and head.num_classes != len(classes):
            raise ValueError(
                f'the {phase} dataset has {len(classes)} classes {tuple(classes)} but '
                f'`model.bbox_head.num_classes` is {head.num_classes}; set '
                f'model.bbox_head.num_classes={len(classes)} in the config')

    def before_train_epoch(self, runner) -> None:
        self._check(runner, runner.train_dataloader, 'train')

    def before_val_epoch(self, runner) -> None:
        self._check(runner, runner.val_dataloader, 'val')
