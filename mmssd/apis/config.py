"""Load a config file the way the tools do: ``_base_`` merge, then ``--cfg-options``."""
from __future__ import annotations

import os.path as osp

from mmengine.config import Config

from mmssd.engine.custom_imports import import_custom_modules


def load_config(path: str, cfg_options: dict | None = None, work_dir: str | None = None) -> Config:
    """Read ``path`` (with its ``_base_`` files), apply overrides, import the config's
    ``custom_imports`` (:mod:`mmssd.engine.custom_imports`) and settle ``work_dir``.

    ``work_dir`` priority: the argument, then the config's own ``work_dir``, then
    ``./work_dirs/<config name>`` as in mmdetection.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'config file {path} does not exist')
    cfg = Config.fromfile(path, import_custom_modules=False)  # ours names the error
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    import_custom_modules(cfg)
    if work_dir is not None:
        cfg.work_dir = work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(path))[0])
    return cfg
