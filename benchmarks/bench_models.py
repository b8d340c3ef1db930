"""The detectors the model benchmarks time (SSD300 and the demo SSDLite by default; RetinaNet
and ATSS R50 on request), built from their configs, and synthetic
training batches for them (no files, no pretrained weights: random initialisation)."""
from __future__ import annotations

import logging
from pathlib import Path

import torch
from mmengine.config import Config
from mmengine.logging import MMLogger
from torch import Tensor

import mmssd.models  # noqa: F401  (registers the modules)
from mmssd.registry import MODELS

ROOT = Path(__file__).resolve().parents[1]
#: name -> (config file, input side in pixels)
MODEL_CONFIGS = {
    'ssd300': (ROOT / 'configs/ssd/ssd300_coco.py', 300),
    'demo': (ROOT / 'configs/demo/ssdlite_mobilenetv2_demo.py', 192),
    'retinanet_r50': (ROOT / 'configs/retinanet/retinanet_r50_fpn_1x_coco.py', 512),
    'atss_r50': (ROOT / 'configs/atss/atss_r50_fpn_1x_coco.py', 512),
}
#: run unless --models says otherwise
DEFAULT_MODELS = ['ssd300', 'demo']


def build_detector(name: str, seed: int = 0) -> tuple[torch.nn.Module, Config]:
    """The detector of ``MODEL_CONFIGS[name]`` (weights drawn with ``seed``) and its config."""
    cfg = Config.fromfile(str(MODEL_CONFIGS[name][0]))
    model_cfg = cfg.model.to_dict()
    model_cfg['backbone'].pop('init_cfg', None)  # no pretrained download
    torch.manual_seed(seed)
    model = MODELS.build(model_cfg)
    init_weights_quietly(model)
    return model, cfg


def init_weights_quietly(model: torch.nn.Module) -> None:
    """``model.init_weights()`` without mmengine's log line for every parameter."""
    logger = MMLogger.get_current_instance()
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        model.init_weights()
    finally:
        logger.setLevel(level)


def input_size(name: str) -> int:
    """Square input side of model ``name``."""
    return MODEL_CONFIGS[name][1]


def synthetic_batch(batch_size: int, size: int, num_classes: int, seed: int = 0,
                    max_boxes: int = 20) -> tuple[Tensor, list[dict], list[Tensor], list[Tensor]]:
    """Images ``(B, 3, size, size)``, metas, per image ``1..max_boxes`` boxes ``(G, 4)``
    (xyxy pixels, sides 8 to ``size``) and labels ``(G,)`` in ``[0, num_classes)``."""
    g = torch.Generator().manual_seed(seed)
    img = torch.randn(batch_size, 3, size, size, generator=g) * 50
    metas, boxes, labels = [], [], []
    for _ in range(batch_size):
        n = int(torch.randint(1, max_boxes + 1, (1,), generator=g))
        wh = 8 + torch.rand(n, 2, generator=g) * (size - 8)
        xy = torch.rand(n, 2, generator=g) * (size - wh)
        boxes.append(torch.cat([xy, xy + wh], dim=1))
        labels.append(torch.randint(0, num_classes, (n,), generator=g))
        metas.append({'img_shape': (size, size, 3), 'ori_shape': (size, size, 3),
                      'pad_shape': (size, size, 3), 'scale_factor': 1.0, 'flip': False})
    return img, metas, boxes, labels
