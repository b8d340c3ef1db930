"""Build a detector from a config (and checkpoint) and run it on images.

``init_detector`` -> a model in eval mode carrying ``model.cfg`` and ``model.CLASSES``
(``init_onnx_detector``, or ``init_detector`` given an ``.onnx`` file: the same on
onnxruntime);
``inference_detector(model, imgs)`` -> per image, a list over classes of float32
``(n, 5)`` arrays ``[x1, y1, x2, y2, score]`` in the pixels of the given image.
"""
from __future__ import annotations

import copy
import logging
import os.path as osp
from collections.abc import Sequence

import numpy as np
import torch
from mmengine.config import Config
from mmengine.runner.checkpoint import _load_checkpoint, _load_checkpoint_to_model
from torch import nn

from mmssd.datasets.collate import detection_collate
from mmssd.datasets.pipelines import Compose, read_image
from mmssd.engine.checkpoint import check_checkpoint_fits, install_checkpointing
from mmssd.engine.config_translation import translate_model
from mmssd.engine.custom_imports import import_custom_modules
from mmssd.registry import DATASETS, MODELS
from mmssd.utils import register_all_modules

ImageInput = str | np.ndarray
DetResult = list[np.ndarray]

#: Where checkpoint loading reports (mmengine's loader would ``print`` the path to stdout);
#: silent unless the application configures logging.
LOGGER = logging.getLogger(__name__)

#: Pipeline steps that read the image from disk; inference loads it itself.
LOADING_STEPS = ('LoadImageFromFile', 'LoadImageFromWebcam', 'LoadImageFromNDArray')


def _as_config(config: str | Config, cfg_options: dict | None) -> Config:
    if isinstance(config, str):
        if not osp.isfile(config):
            raise FileNotFoundError(f'config file {config} does not exist')
        config = Config.fromfile(config, import_custom_modules=False)
    elif not isinstance(config, Config):
        raise TypeError(f'config must be a path or a Config, got {type(config).__name__}')
    else:
        config = copy.deepcopy(config)
    if cfg_options:
        config.merge_from_dict(cfg_options)
    import_custom_modules(config)  # the user's modules, with errors that name them
    return config


def _class_names(cfg: Config, checkpoint_meta: dict | None) -> tuple[str, ...]:
    """Class names from the checkpoint's dataset meta, else the test set's config/type."""
    meta = checkpoint_meta or {}
    for key in ('dataset_meta', 'meta'):
        classes = (meta.get(key) or {}).get('classes') if isinstance(meta.get(key), dict) \
            else None
        if classes:
            return tuple(classes)
    if meta.get('CLASSES'):
        return tuple(meta['CLASSES'])
    test = (cfg.get('data') or {}).get('test') or {}
    while isinstance(test, dict) and 'dataset' in test:  # wrappers
        test = test['dataset']
    if isinstance(test, dict):
        if test.get('classes'):
            return tuple(test['classes'])
        if test.get('type'):
            dataset_cls = DATASETS.get(test['type'])
            if getattr(dataset_cls, 'CLASSES', None):
                return tuple(dataset_cls.CLASSES)
    return tuple(f'class_{i}' for i in range(config_num_classes(cfg.model)))


def config_num_classes(model_cfg: dict) -> int:
    """Classes predicted by the model of a config: its ``bbox_head``'s, or its
    ``roi_head.bbox_head``'s (the last stage's when a list)."""
    if 'roi_head' in model_cfg:
        head = model_cfg['roi_head']['bbox_head']
        return (head[-1] if isinstance(head, (list, tuple)) else head)['num_classes']
    head = model_cfg.get('bbox_head') or model_cfg.get('rpn_head')
    return head.get('num_classes', 1)


def init_detector(config: str | Config, checkpoint: str | None = None, device: str = 'cpu',
                  cfg_options: dict | None = None) -> nn.Module:
    """A detector built from ``config`` with ``checkpoint``'s weights, in eval mode.

    Args:
        config: config file path or a loaded :class:`mmengine.config.Config`.
        checkpoint: weights to load (safe ``weights_only`` loading), or an ``.onnx`` file
            (:func:`init_onnx_detector`: the model runs on onnxruntime); ``None`` keeps
            PyTorch's default initialisation (``init_cfg`` is not applied, so nothing is
            downloaded), which is enough for shape checks, FLOP counts and export tests.
        device: where the model lives, e.g. ``'cpu'`` or ``'cuda:0'``.
        cfg_options: overrides merged into the config first.

    Returns:
        The model, with ``model.cfg`` (the config) and ``model.CLASSES`` (class names,
        from the checkpoint's ``meta.dataset_meta`` when present, else the test set).

    Raises:
        mmssd.engine.CheckpointMismatchError: ``checkpoint`` lacks some of the model's
            tensors or has them in another shape (another model or class count); the
            message names the keys and shapes.
    """
    if checkpoint is not None and str(checkpoint).endswith('.onnx'):
        return init_onnx_detector(config, checkpoint, device, cfg_options)
    register_all_modules()
    install_checkpointing()
    cfg = _as_config(config, cfg_options)
    model_cfg = translate_model(cfg)
    model_cfg.pop('pretrained', None)  # weights come from `checkpoint` only
    model = MODELS.build(model_cfg)  # no init_weights(): init_cfg is never applied here
    meta = None
    if checkpoint is not None:
        loaded = _load_checkpoint(checkpoint, map_location='cpu', logger=LOGGER)
        check_checkpoint_fits(model, loaded, checkpoint, 'test')
        _load_checkpoint_to_model(model, loaded, logger=LOGGER)
        meta = loaded.get('meta') if isinstance(loaded, dict) else None
    model.cfg = cfg
    model.CLASSES = _class_names(cfg, meta)
    model.to(device)
    model.eval()
    return model


def init_onnx_detector(config: str | Config, onnx_file: str, device: str = 'cpu',
                       cfg_options: dict | None = None) -> nn.Module:
    """An exported ONNX file (``tools/deployment/pytorch2onnx.py``) as a detector that
    :func:`inference_detector`, sliced inference, ``show_result_pyplot`` and the demos
    use as they use :func:`init_detector`'s: it runs on onnxruntime's CPU provider.

    Args:
        config: the config the file was exported from (its test pipeline makes the
            inputs).
        onnx_file: the ``.onnx`` file.
        device: must be ``'cpu'``.
        cfg_options: overrides merged into the config first.

    Returns:
        A :class:`mmssd.deployment.ONNXRuntimeModel` with ``cfg`` and ``CLASSES`` (the
        file's class names, else the config's).
    """
    from mmssd.deployment import ONNXRuntimeModel

    if not str(device).startswith('cpu'):
        raise ValueError(f'ONNX models run on onnxruntime\'s CPU provider; got device '
                         f'{device!r} (use cpu)')
    register_all_modules()
    cfg = _as_config(config, cfg_options)
    model = ONNXRuntimeModel(onnx_file)
    model.cfg = cfg
    model.CLASSES = model.CLASSES or _class_names(cfg, None)
    return model.eval()


def build_test_pipeline(cfg: Config) -> Compose:
    """The config's test pipeline without its loading step (images come in loaded)."""
    steps = copy.deepcopy(cfg.data.test.pipeline)
    steps = [dict(step) for step in steps if step['type'] not in LOADING_STEPS]
    return Compose(steps)


def load_image(img: ImageInput, index: int = 0) -> dict:
    """The results dict the loading step would produce for ``img`` (path or BGR array)."""
    if isinstance(img, str):
        if not osp.isfile(img):
            raise FileNotFoundError(f'image file not found: {img}')
        array = read_image(img)
        filename = img
    elif isinstance(img, np.ndarray):
        if img.ndim != 3 or img.shape[2] != 3:
            raise ValueError(f'image arrays must be (H, W, 3) BGR; got shape {img.shape}')
        array, filename = img, None
    else:
        raise TypeError(f'images must be paths or (H, W, 3) arrays, got {type(img).__name__}')
    return dict(img_info=dict(filename=filename, height=array.shape[0], width=array.shape[1]),
                img_prefix=None, filename=filename, ori_filename=filename, img=array,
                img_shape=array.shape, ori_shape=array.shape, img_fields=['img'],
                bbox_fields=[], img_id=index)


def inference_detector(model: nn.Module, imgs: ImageInput | Sequence[ImageInput],
                       batch_size: int | None = None) -> DetResult | list[DetResult]:
    """Detect objects in one image or a list of images.

    Args:
        model: a detector from :func:`init_detector` (needs ``model.cfg``).
        imgs: a path, an (H, W, 3) uint8 BGR array, or a list of either.
        batch_size: images per forward pass (default: all at once).

    Returns:
        For one image, a list over classes of float32 ``(n, 5)`` arrays
        ``[x1, y1, x2, y2, score]`` in the image's own pixels; for a list, one such
        list per image.
    """
    single = isinstance(imgs, (str, np.ndarray))
    images = [imgs] if single else list(imgs)
    if not images:
        return []
    pipeline = build_test_pipeline(model.cfg)
    # a model without parameters (an ONNX model) takes its inputs on the CPU
    device = next(model.parameters(), torch.zeros(0)).device
    step = batch_size or len(images)
    results: list[DetResult] = []
    for start in range(0, len(images), step):
        samples = [pipeline(load_image(img, start + i))
                   for i, img in enumerate(images[start:start + step])]
        batch = detection_collate(samples)
        batch['img'] = [t.to(device) for t in batch['img']] if isinstance(batch['img'], list) \
            else batch['img'].to(device)
        with torch.no_grad():
            results.extend(model(img=batch['img'], img_metas=batch['img_metas'], mode='predict'))
    return results[0] if single else results
