"""``model`` and ``data``: the model config and the three dataloaders."""
from __future__ import annotations

import warnings
from typing import Any

from mmengine.config import Config

from mmssd.datasets.builder import expand_dataset_config, leaf_dataset_configs
from mmssd.utils.config_error import ConfigError

from .common import plain, require
from .device import pin_memory


def translate_model(cfg: Config) -> dict:
    """``model`` with the legacy top-level ``train_cfg``/``test_cfg`` moved inside it."""
    model = plain(require(cfg, 'model'))
    for key in ('train_cfg', 'test_cfg'):
        legacy = cfg.get(key)
        # mmengine uses top-level train_cfg/test_cfg for loops, so only a dict that
        # looks like a model cfg (no loop `type`) is the 2.x legacy form.
        if isinstance(legacy, dict) and 'type' not in legacy and 'max_epochs' not in legacy:
            warnings.warn(f'top-level `{key}` is deprecated; put it in `model`', stacklevel=2)
            model.setdefault(key, plain(legacy))
    return model


def translate_dataset(dataset: Any, split: str) -> dict:
    """One 2.x ``data.<split>`` dataset config -> the config mmengine's Runner builds.

    A list of configs, or a list ``ann_file`` (with per-file ``img_prefix``, ...),
    becomes a ``ConcatDataset`` config, inside wrappers too
    (:func:`mmssd.datasets.expand_dataset_config`): the Runner builds datasets with
    mmengine's root registry, which knows nothing of the 2.x list form. Val/test
    datasets get ``test_mode=True`` on every wrapped dataset, as mmdetection 2.x sets.
    """
    try:
        dataset = expand_dataset_config(plain(dataset))
    except (TypeError, ValueError) as e:
        raise ConfigError(f'config key `data.{split}`: {e}') from e
    if split != 'train':
        for leaf in leaf_dataset_configs(dataset):
            leaf['test_mode'] = True
    return dataset


def dataloader_config(data: dict, split: str, shuffle: bool, default_batch: int) -> dict:
    """One mmengine dataloader config from the 2.x ``data`` dict.

    ``samples_per_gpu`` -> ``batch_size`` and ``workers_per_gpu`` -> ``num_workers``
    (from ``data.<split>_dataloader``, else the val/test dataset config for the batch
    size, else ``data``); every other key of ``data.<split>_dataloader`` is a DataLoader
    argument that wins over the defaults set here. Training batches come from
    :class:`~mmssd.datasets.GroupSampler` (mmdetection 2.x's): full batches of one
    aspect-ratio group, never a last batch of one image.
    """
    if split not in data:
        raise ConfigError(f'config key `data.{split}` is missing')
    dataset = plain(data[split])
    if isinstance(dataset, dict):  # 2.x puts the val/test batch size in the dataset config
        default_batch = dataset.pop('samples_per_gpu', default_batch)
    dataset = translate_dataset(dataset, split)
    overrides = plain(data.get(f'{split}_dataloader', {}))
    batch = overrides.pop('batch_size', default_batch)  # mmengine's name; the sampler needs it
    batch = overrides.pop('samples_per_gpu', batch)
    workers = overrides.pop('workers_per_gpu', data.get('workers_per_gpu', 2))
    loader = dict(
        batch_size=batch,
        num_workers=workers,
        persistent_workers=workers > 0,
        pin_memory=pin_memory(),
        sampler=(dict(type='mmssd.GroupSampler', samples_per_gpu=batch)
                 if split == 'train' and shuffle else dict(type='DefaultSampler', shuffle=shuffle)),
        # mmengine looks collate functions up in its root registry: name the scope
        collate_fn=dict(type='mmssd.detection_collate'),
        worker_init_fn=dict(type='mmssd.seed_worker'),
        dataset=dataset,
    )
    loader.update(overrides)
    return loader


def translate_data(cfg: Config, with_val: bool) -> dict:
    """``data`` -> ``train_dataloader`` / ``val_dataloader`` / ``test_dataloader``."""
    data = plain(require(cfg, 'data'))
    if 'samples_per_gpu' not in data:
        raise ConfigError('config key `data.samples_per_gpu` is missing')
    out = {'train_dataloader': dataloader_config(data, 'train', True, data['samples_per_gpu'])}
    if with_val:
        out['val_dataloader'] = dataloader_config(data, 'val', False, 1)
    if 'test' in data:
        out['test_dataloader'] = dataloader_config(data, 'test', False, 1)
    return out
