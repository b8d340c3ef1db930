"""Any timm model as a backbone (mmclassification's ``TIMMBackbone``, which mmdetection 2.x
configs name ``type='mmcls.TIMMBackbone'``)."""
from __future__ import annotations

import os.path as osp
import socket
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import torch
from mmengine.logging import print_log
from mmengine.model import BaseModule
from mmengine.runner.checkpoint import CheckpointLoader, load_state_dict
from torch import Tensor

from mmssd.registry import MODELS

#: Seconds to wait for the weights' host before reporting it unreachable.
CONNECT_TIMEOUT_S = 10.0


class TimmWeightsNotFoundError(FileNotFoundError):
    """``pretrained=True`` but timm could not fetch the weights (offline)."""


def _check_weights_reachable(timm: Any, model_name: str) -> None:
    """Stop at once, naming the model and where its weights file goes, when timm's
    pretrained weights are neither cached nor reachable (timm's own download would retry
    for about a minute before failing)."""
    cfg = timm.models.get_pretrained_cfg(model_name)
    if cfg is None or not (cfg.hf_hub_id or cfg.url):
        return  # timm reports models without weights itself
    if cfg.hf_hub_id:
        from huggingface_hub import constants, try_to_load_from_cache
        repo = cfg.hf_hub_id.split('@')[0]
        if any(isinstance(try_to_load_from_cache(repo, name), str)
               for name in ('model.safetensors', 'pytorch_model.bin')):
            return
        host, where = urlparse(constants.ENDPOINT).hostname, (
            f'Hugging Face repository {repo} (model.safetensors), cached under '
            f'{constants.HF_HUB_CACHE}')
    else:
        path = Path(torch.hub.get_dir()) / 'checkpoints' / osp.basename(urlparse(cfg.url).path)
        if path.is_file():
            return
        host, where = urlparse(cfg.url).hostname, f'{cfg.url}, cached at {path}'
    try:
        socket.create_connection((host, 443), timeout=CONNECT_TIMEOUT_S).close()
    except OSError as error:
        raise TimmWeightsNotFoundError(
            f'TIMMBackbone: the pretrained weights of timm model {model_name!r} are not cached '
            f'and {host} cannot be reached ({type(error).__name__}: {error}). They are the '
            f'{where}. Download the file on a machine with internet access and give it as '
            "checkpoint_path='/path/to/file' with pretrained=False (or copy that cache "
            'here).') from error


def _import_timm() -> Any:
    try:
        import timm
    except ImportError as error:
        raise ImportError('TIMMBackbone needs timm: pip install -r requirements/optional.txt '
                          "(or pip install 'timm>=1.0,<2')") from error
    return timm


@MODELS.register_module(name=['TIMMBackbone', 'mmcls.TIMMBackbone'])
class TIMMBackbone(BaseModule):
    """A ``timm.create_model(model_name, features_only=True, ...)`` feature extractor, held
    as ``timm_model`` (mmclassification's name, so its checkpoints' keys are
    ``backbone.timm_model.*``).

    ``forward`` maps ``(B, in_channels, H, W)`` to a tuple of the ``out_indices`` feature
    maps, ``(B, out_channels[i], H / strides[i], W / strides[i])``; ``out_channels`` and
    ``strides`` come from timm's ``feature_info`` (``efficientnet_b1`` with
    ``out_indices=(1, 2, 3, 4)``: channels ``(24, 40, 112, 320)`` at strides 4 to 32), and
    the detector checks its neck's ``in_channels`` against them when it is built.

    Args:
        model_name: a timm model name (``timm.list_models()``).
        features_only: must be True (a detector needs the feature pyramid).
        pretrained: timm's pretrained weights (downloaded by timm from the Hugging Face hub
            into its cache; offline, an error naming the model and how to give the file).
        checkpoint_path: a local weights file, read weights-only through mmengine's
            ``CheckpointLoader`` (keys the feature extractor lacks, such as the classifier,
            are reported and skipped).
        out_indices: feature levels (timm's ``out_indices``); None: timm's default.
        in_channels: input channels (timm's ``in_chans``).
        init_cfg: mmengine init config (usually None: timm initialises the model).
        **kwargs: passed to ``timm.create_model`` (``drop_path_rate``, ``output_stride``...).
    """

    def __init__(self, model_name: str, features_only: bool = True, pretrained: bool = False,
                 checkpoint_path: str = '', out_indices: Sequence[int] | None = None,
                 in_channels: int = 3, init_cfg: dict | None = None, **kwargs: Any) -> None:
        super().__init__(init_cfg)
        timm = _import_timm()
        if not features_only:
            raise ValueError(f'TIMMBackbone({model_name!r}): features_only=False gives a '
                             "classifier's output, not feature maps; a detector needs "
                             'features_only=True')
        if not timm.is_model(model_name):
            close = timm.list_models(f'*{model_name.split("_")[0]}*')[:5]
            raise KeyError(f'timm has no model {model_name!r}' +
                           (f'; similar names: {", ".join(close)}' if close else ''))
        if out_indices is not None:
            kwargs['out_indices'] = tuple(out_indices)
        self.model_name = model_name
        self.checkpoint_path = checkpoint_path
        if pretrained:
            _check_weights_reachable(timm, model_name)
        self.timm_model = timm.create_model(model_name, pretrained=pretrained,
                                            features_only=True, in_chans=in_channels, **kwargs)
        self.out_channels = tuple(self.timm_model.feature_info.channels())
        self.strides = tuple(self.timm_model.feature_info.reduction())
        if pretrained:
            self._is_init = True

    def init_weights(self) -> None:
        """The ``init_cfg``, then ``checkpoint_path`` (weights-only) when given."""
        super().init_weights()
        if not self.checkpoint_path:
            return
        checkpoint = CheckpointLoader.load_checkpoint(self.checkpoint_path, map_location='cpu')
        state_dict = checkpoint
        for key in ('state_dict', 'model', 'state_dict_ema'):
            if isinstance(checkpoint, dict) and key in checkpoint:
                state_dict = checkpoint[key]
                break
        state_dict = {k[7:] if k.startswith('module.') else k: v for k, v in state_dict.items()}
        own = self.timm_model.state_dict()
        if not own.keys() & state_dict.keys():
            raise KeyError(f'{self.checkpoint_path}: none of its keys (e.g. '
                           f'{sorted(state_dict)[:3]}) is a weight of timm model '
                           f'{self.model_name!r} (e.g. {sorted(own)[:3]})')
        print_log(f'TIMMBackbone {self.model_name}: loading {self.checkpoint_path}',
                  logger='current')
        load_state_dict(self.timm_model, state_dict, strict=False, logger='current')

    def forward(self, x: Tensor) -> tuple[Tensor, ...]:
        """``(B, C, H, W)`` -> the feature maps of ``out_indices`` (finest first)."""
        return tuple(self.timm_model(x))
