"""``build_dataset`` and the 2.x config rewrite behind it (list ``ann_file`` -> concat).

As in mmdetection 2.x, a dataset config whose ``ann_file`` is a list stands for one
dataset per file, concatenated::

    dict(type='VOCDataset', ann_file=['VOC2007/.../trainval.txt', 'VOC2012/.../trainval.txt'],
         img_prefix=['VOC2007/', 'VOC2012/'], pipeline=p)
    -> dict(type='ConcatDataset', separate_eval=True, datasets=[
           dict(type='VOCDataset', ann_file='VOC2007/.../trainval.txt', img_prefix='VOC2007/',
                pipeline=p),
           dict(type='VOCDataset', ann_file='VOC2012/.../trainval.txt', img_prefix='VOC2012/',
                pipeline=p)])

``img_prefix``, ``seg_prefix`` and ``proposal_file`` may be lists (one entry per file)
or single values shared by all; other keys are shared. A list of configs is their
concatenation too. :func:`expand_dataset_config` does this rewrite as a pure function,
recursing into wrappers (``RepeatDataset.dataset``, ``ClassBalancedDataset.dataset``,
``ConcatDataset.datasets``). mmengine's ``Runner`` builds datasets with its own root
registry, so ``mmssd/engine/config_translation/`` applies the rewrite before the
configs reach it; :func:`build_dataset` applies it for direct use.
"""
from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from torch.utils.data import Dataset

from mmssd.registry import DATASETS

#: Keys that may be lists parallel to a list ``ann_file``.
PER_FILE_KEYS = ('img_prefix', 'seg_prefix', 'proposal_file')
#: Wrapper type -> key of its wrapped config(s).
WRAPPER_KEYS = {'RepeatDataset': 'dataset', 'ClassBalancedDataset': 'dataset',
                'ConcatDataset': 'datasets', 'MultiImageMixDataset': 'dataset'}


def _type_name(cfg: Mapping) -> str | None:
    """``cfg['type']`` without its registry scope (``'mmssd.X'`` -> ``'X'``)."""
    dataset_type = cfg.get('type')
    return dataset_type.split('.')[-1] if isinstance(dataset_type, str) else None


def _split_by_ann_file(cfg: dict) -> dict:
    """A config with a list ``ann_file`` -> a ``ConcatDataset`` config of one per file."""
    ann_files = list(cfg['ann_file'])
    if not ann_files:
        raise ValueError(f"config key `ann_file` is an empty list (dataset type "
                         f"{cfg.get('type')!r}); expected at least one annotation file")
    for key in PER_FILE_KEYS:
        value = cfg.get(key)
        if isinstance(value, (list, tuple)) and len(value) != len(ann_files):
            raise ValueError(f'config key `{key}` has {len(value)} entries but `ann_file` has '
                             f'{len(ann_files)}: {ann_files}; give one per annotation file, or '
                             'a single value shared by all')
    separate_eval = cfg.pop('separate_eval', True)
    datasets = []
    for i, ann_file in enumerate(ann_files):
        one = copy.deepcopy(cfg)
        one['ann_file'] = ann_file
        for key in PER_FILE_KEYS:
            if isinstance(cfg.get(key), (list, tuple)):
                one[key] = cfg[key][i]
        datasets.append(one)
    return dict(type='ConcatDataset', datasets=datasets, separate_eval=separate_eval)


def expand_dataset_config(cfg: Any) -> Any:
    """A rewritten deep copy of a 2.x dataset config (see the module docstring).

    Args:
        cfg: a dataset config dict (``ConfigDict`` too), a list of them, or a built
            dataset (returned as is).

    Returns:
        The same kind of config with every list ``ann_file`` (and list of configs)
        turned into a ``ConcatDataset`` config; the input is not modified.

    Raises:
        ValueError: an empty ``ann_file`` list, or a per-file key whose length differs.
    """
    if isinstance(cfg, Dataset):
        return cfg
    if isinstance(cfg, (list, tuple)):
        return dict(type='ConcatDataset', datasets=[expand_dataset_config(c) for c in cfg])
    if not isinstance(cfg, Mapping):
        raise TypeError(f'a dataset config must be a dict or a list of dicts; got '
                        f'{type(cfg).__name__}: {cfg!r}')
    child_key = WRAPPER_KEYS.get(_type_name(cfg))
    # wrapped configs are copied by the recursion, which passes built datasets through
    out = {k: v if k == child_key else copy.deepcopy(v) for k, v in cfg.items()}
    if child_key == 'datasets':
        out['datasets'] = [expand_dataset_config(c) for c in out.get('datasets', [])]
    elif child_key is not None and child_key in out:
        out[child_key] = expand_dataset_config(out[child_key])
    elif isinstance(out.get('ann_file'), (list, tuple)):
        return _split_by_ann_file(out)
    return out


def leaf_dataset_configs(cfg: Any) -> list[dict]:
    """The non-wrapper dataset configs inside ``cfg`` (the very dicts, for in-place edits).

    Call it on an expanded config (:func:`expand_dataset_config`).
    """
    if isinstance(cfg, (list, tuple)):
        return [leaf for c in cfg for leaf in leaf_dataset_configs(c)]
    if not isinstance(cfg, Mapping):
        return []  # a built dataset
    child_key = WRAPPER_KEYS.get(_type_name(cfg))
    if child_key is None:
        return [cfg]
    return leaf_dataset_configs(cfg.get(child_key, []))


def build_dataset(cfg: Any, default_args: dict | None = None) -> Dataset:
    """Build a dataset from a 2.x config (list ``ann_file`` and config lists included).

    Args:
        cfg: dataset config, list of configs, or an already built dataset.
        default_args: defaults merged into the top-level config (mmengine semantics).
    """
    if isinstance(cfg, Dataset):
        return cfg
    return DATASETS.build(expand_dataset_config(cfg), default_args=default_args)
