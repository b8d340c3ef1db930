"""``YOLOXModeSwitchHook``: YOLOX's last epochs without mixing, with the L1 loss."""
from __future__ import annotations

from collections.abc import Sequence

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from mmssd.datasets import MultiImageMixDataset
from mmssd.registry import HOOKS
from mmssd.utils.config_error import ConfigError


def find_mix_dataset(dataset: object) -> MultiImageMixDataset | None:
    """The ``MultiImageMixDataset`` in ``dataset`` or under its wrappers' ``dataset``."""
    while dataset is not None:
        if isinstance(dataset, MultiImageMixDataset):
            return dataset
        dataset = getattr(dataset, 'dataset', None)
    return None


@HOOKS.register_module()
class YOLOXModeSwitchHook(Hook):
    """From epoch ``max_epochs - num_last_epochs`` (1-based, mmdetection 2.x's switch
    point) on, skip the mixing transforms ``skip_type_keys`` of the training set's
    ``MultiImageMixDataset`` and add the head's L1 loss (``bbox_head.use_l1``, where the
    model has one: a two-stage detector trained with mixing only stops mixing).

    The skipped types live in the dataset's shared memory, so loader workers that persist
    across epochs (``persistent_workers=True``) produce plain samples from the switch on,
    as do workers started later; a resumed run past the switch point switches at its first
    epoch.

    Raises:
        ConfigError: the training set has no ``MultiImageMixDataset`` (naming
            ``data.train``).
    """

    def __init__(self, num_last_epochs: int = 15,
                 skip_type_keys: Sequence[str] = ('Mosaic', 'RandomAffine', 'MixUp'),
                 priority: int | str | None = None) -> None:
        self.num_last_epochs = num_last_epochs
        self.skip_type_keys = tuple(skip_type_keys)
        if priority is not None:
            self.priority = priority
        self._switched = False

    def _dataset(self, runner) -> MultiImageMixDataset:
        dataset = runner.train_dataloader.dataset
        found = find_mix_dataset(dataset)
        if found is None:
            raise ConfigError(
                f'YOLOXModeSwitchHook (custom_hooks) switches the mixing of a '
                f"MultiImageMixDataset off, but `data.train` is a {type(dataset).__name__}; "
                "wrap it: data.train=dict(type='MultiImageMixDataset', dataset=..., "
                'pipeline=[...]) or remove the hook')
        return found

    def before_train(self, runner) -> None:
        self._dataset(runner)

    def before_train_epoch(self, runner) -> None:
        if self._switched or runner.epoch + 1 < runner.max_epochs - self.num_last_epochs:
            return
        self._dataset(runner).update_skip_type_keys(self.skip_type_keys)
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        head = getattr(model, 'bbox_head', None)
        with_l1 = hasattr(head, 'use_l1')
        if with_l1:
            head.use_l1 = True
        runner.logger.info('YOLOXModeSwitchHook: no %s from now on%s',
                           ', '.join(self.skip_type_keys), '; L1 loss added' if with_l1 else '')
        self._switched = True
