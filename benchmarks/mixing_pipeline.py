"""YOLOX-S's mixing training pipeline (``configs/yolox/yolox_s_8x8_300e_coco.py``) over the
synthetic JPEGs of ``bench_data_pipeline.py``, for its ``--mixing`` section.

``MixingSource`` stands for the wrapped dataset (``LoadImageFromFile`` +
``LoadAnnotations`` per sample); ``MultiImageMixDataset`` runs Mosaic (640x640 quadrants),
RandomAffine, MixUp, YOLOXHSVRandomAug, RandomFlip, Resize, Pad, FilterAnnotations,
DefaultFormatBundle and Collect on it. Every sample decodes its five images (itself, three
for the mosaic, one for MixUp) once each.
"""
from __future__ import annotations

import time

import numpy as np
from torch.utils.data import Dataset

from mmssd.datasets import MultiImageMixDataset
from mmssd.datasets.pipelines import Compose

IMG_SCALE = (640, 640)
MIXING_PIPELINE = [  # configs/yolox/yolox_s_8x8_300e_coco.py
    {'type': 'Mosaic', 'img_scale': IMG_SCALE, 'pad_val': 114.0},
    {'type': 'RandomAffine', 'scaling_ratio_range': (0.1, 2),
     'border': (-IMG_SCALE[0] // 2, -IMG_SCALE[1] // 2)},
    {'type': 'MixUp', 'img_scale': IMG_SCALE, 'ratio_range': (0.8, 1.6), 'pad_val': 114.0},
    {'type': 'YOLOXHSVRandomAug'},
    {'type': 'RandomFlip', 'flip_ratio': 0.5},
    {'type': 'Resize', 'img_scale': IMG_SCALE, 'keep_ratio': True},
    {'type': 'Pad', 'pad_to_square': True, 'pad_val': {'img': (114.0, 114.0, 114.0)}},
    {'type': 'FilterAnnotations', 'min_gt_bbox_wh': (1, 1), 'keep_empty': False},
    {'type': 'DefaultFormatBundle'},
    {'type': 'Collect', 'keys': ['img', 'gt_bboxes', 'gt_labels']},
]


class MixingSource(Dataset):
    """The samples of ``bench_data_pipeline.write_dataset`` as a loading dataset."""

    def __init__(self, samples: list[dict]) -> None:
        self.samples = samples
        self.pipeline = Compose([{'type': 'LoadImageFromFile'},
                                 {'type': 'LoadAnnotations', 'with_bbox': True}])
        self.CLASSES = tuple(str(i) for i in range(20))

    def get_ann_info(self, idx: int) -> dict:
        return self.samples[idx]['ann_info']

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, idx: int) -> dict:
        return self.pipeline({**self.samples[idx], 'bbox_fields': []})


def time_mixing(samples: list[dict], seed: int, repeats: int) -> tuple[float, float]:
    """Best seconds per image of the mixing pipeline, and of decoding alone (the five
    loads a sample makes), over ``samples``."""
    source = MixingSource(samples)
    dataset = MultiImageMixDataset(source, MIXING_PIPELINE)
    dataset[0]  # warm-up
    best, best_load = float('inf'), float('inf')
    for _ in range(repeats):
        np.random.seed(seed)
        start = time.perf_counter()
        for i in range(len(dataset)):
            dataset[i]
        best = min(best, (time.perf_counter() - start) / len(dataset))
        start = time.perf_counter()
        for i in range(len(dataset)):
            for k in range(5):
                source[(i + k) % len(source)]
        best_load = min(best_load, (time.perf_counter() - start) / len(dataset))
    return best, best_load
