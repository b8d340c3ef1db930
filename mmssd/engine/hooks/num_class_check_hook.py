"""Stop early when the dataset's classes and the head's ``num_classes`` disagree."""
from __future__ import annotations

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from torch.nn import ModuleList

from mmssd.registry import HOOKS


@HOOKS.register_module()
class NumClassCheckHook(Hook):
    """Check ``len(dataset classes) == num_classes`` of every classifying head before
    training and validation: ``bbox_head`` of a single-stage detector, ``roi_head.bbox_head``
    (each stage's, when a list) of a two-stage one; a proposal network has none.

    A mismatch (a custom ``classes=`` tuple with the head left at 80) otherwise trains
    silently with wrong labels.
    """

    def _check(self, runner, dataloader, phase: str) -> None:
        classes = getattr(dataloader.dataset, 'metainfo', {}).get('classes')
        if classes is None:
            return
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        for name, head in classifying_heads(model):
            if head.num_classes != len(classes):
                raise ValueError(
                    f'the {phase} dataset has {len(classes)} classes {tuple(classes)} but '
                    f'`model.{name}.num_classes` is {head.num_classes}; set '
                    f'model.{name}.num_classes={len(classes)} in the config')

    def before_train_epoch(self, runner) -> None:
        self._check(runner, runner.train_dataloader, 'train')

    def before_val_epoch(self, runner) -> None:
        self._check(runner, runner.val_dataloader, 'val')


def classifying_heads(model) -> list[tuple[str, object]]:
    """``(config path, head)`` of each head of ``model`` that predicts dataset classes."""
    if not getattr(model, 'needs_gt_labels', True):  # proposals only (RPN)
        return []
    heads = []
    if getattr(model, 'bbox_head', None) is not None:
        heads.append(('bbox_head', model.bbox_head))
    roi_bbox_head = getattr(getattr(model, 'roi_head', None), 'bbox_head', None)
    if isinstance(roi_bbox_head, (list, tuple, ModuleList)):
        heads += [(f'roi_head.bbox_head[{i}]', h) for i, h in enumerate(roi_bbox_head)]
    elif roi_bbox_head is not None:
        heads.append(('roi_head.bbox_head', roi_bbox_head))
    return heads
