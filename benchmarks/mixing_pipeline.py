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
from dataclasses import dataclass

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


class Timed:
    """A transform (or the source's loading) that adds its seconds to ``self.seconds``; keeps
    the wrapped transform's ``get_indexes`` (the mixing transforms' extra samples)."""

    def __init__(self, transform) -> None:
        self.transform = transform
        self.seconds = 0.0
        if hasattr(transform, 'get_indexes'):
            self.get_indexes = transform.get_indexes

    def __call__(self, results):
        start = time.perf_counter()
        out = self.transform(results)
        self.seconds += time.perf_counter() - start
        return out


@dataclass
class MixingTimes:
    """Best seconds per image of the mixing pipeline (``total``) and, in that run, of the
    five loads a sample makes (``load``) and of each transform (``steps``: name -> s)."""

    total: float
    load: float
    steps: dict[str, float]


def time_mixing(samples: list[dict], seed: int, repeats: int) -> MixingTimes:
    """Run the mixing pipeline over ``samples`` ``repeats`` times (np.random seeded with
    ``seed`` each time) and keep the fastest run."""
    source = MixingSource(samples)
    load = Timed(source.pipeline)
    source.pipeline = load
    dataset = MultiImageMixDataset(source, MIXING_PIPELINE)
    steps = [Timed(t) for t in dataset.pipeline]
    dataset.pipeline = steps
    dataset[0]  # warm-up
    best = MixingTimes(float('inf'), 0.0, {})
    n = len(dataset)
    for _ in range(repeats):
        for timed in (load, *steps):
            timed.seconds = 0.0
        np.random.seed(seed)
        start = time.perf_counter()
        for i in range(n):
            dataset[i]
        total = (time.perf_counter() - start) / n
        if total < best.total:
            best = MixingTimes(total, load.seconds / n,
                               {name: t.seconds / n for name, t in
                                zip(dataset.pipeline_types, steps, strict=True)})
    return best
