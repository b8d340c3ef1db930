"""Process-level Runner arguments: distributed setup, resuming, visualizer; and the model
wrapper and SyncBN, which mmengine reads from the runner's config instead."""
from __future__ import annotations

from mmengine.config import Config

from .common import RUNTIME_RENAMES, apply_renames, plain
from .device import dist_backend, sync_bn_owner
from .logger_hooks import logger_vis_backends


def dist_config(cfg: Config) -> dict:
    """``dist_params`` -> mmengine's ``env_cfg.dist_cfg`` (nccl becomes gloo without GPUs)."""
    dist = plain(cfg.get('dist_params') or {}) or dict(backend='nccl')
    if 'backend' in dist:
        dist['backend'] = dist_backend(dist['backend'])
    return dist


def translate_checkpoint_loading(cfg: Config) -> dict:
    """``load_from`` / ``resume_from`` / ``auto_resume`` -> ``load_from`` + ``resume``."""
    resume_from = cfg.get('resume_from')
    if resume_from:
        return dict(load_from=resume_from, resume=True)
    if cfg.get('auto_resume'):
        return dict(load_from=None, resume=True)
    return dict(load_from=cfg.get('load_from'), resume=False)


def translate_model_wrapper(cfg: Config) -> dict:
    """``model_wrapper_cfg`` (DDP that also runs on CPU) with ``find_unused_parameters``.

    The type carries its scope: mmengine's Runner looks wrappers up in its root registry.
    ``sync_bn`` without GPUs is done by the wrapper (:func:`~.device.sync_bn_owner`).
    """
    wrapper = dict(type='mmssd.DeviceAwareDistributedDataParallel', broadcast_buffers=False,
                   find_unused_parameters=cfg.get('find_unused_parameters', False))
    if cfg.get('sync_bn'):
        _, by_wrapper = sync_bn_owner(cfg.get('sync_bn'))
        if by_wrapper:
            wrapper['sync_bn'] = True
    wrapper.update(plain(cfg.get('model_wrapper_cfg') or {}))
    return wrapper


def translate_sync_bn(cfg: Config) -> str | None:
    """``sync_bn`` -> the Runner's ``sync_bn`` (None where the DDP wrapper converts)."""
    by_runner, _ = sync_bn_owner(cfg.get('sync_bn'))
    return by_runner


def visualizer_config(cfg: Config) -> dict:
    """``log_config.hooks`` -> the visualizer config: local json always, plus the backend
    of each logger hook (:mod:`.logger_hooks`: TensorBoard, W&B, MLflow)."""
    backends = [dict(type='LocalVisBackend'), *logger_vis_backends(cfg)]
    return dict(type='Visualizer', vis_backends=backends)  # named after the experiment


def runner_cfg_keys(cfg: Config) -> dict:
    """The keys mmengine's ``Runner`` reads from its ``cfg`` rather than from its
    arguments: ``model_wrapper_cfg`` (:func:`translate_model_wrapper`) and ``sync_bn``
    (:func:`translate_sync_bn`)."""
    return dict(model_wrapper_cfg=translate_model_wrapper(cfg), sync_bn=translate_sync_bn(cfg))


def common_runtime(cfg: Config, by_epoch: bool) -> dict:
    """Runner arguments shared by training and testing runs.

    ``by_epoch`` is whether the runner counts epochs (for the log processor).
    """
    out = dict(
        env_cfg=dict(dist_cfg=dist_config(cfg)),
        log_processor=dict(by_epoch=by_epoch),
        visualizer=visualizer_config(cfg),
        default_scope='mmssd',
    )
    return apply_renames(cfg, RUNTIME_RENAMES, out)
