"""Synthetic detections of a small demo split, made from its ground truth, for the tests of
the result tools (eval_metric, fuse_results, analyze_results)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from mmssd.datasets import make_demo_dataset


def demo_split(root: Path, num_val: int = 8, seed: int = 4) -> tuple[Path, Path]:
    """``(ann_file, img_prefix)`` of a small demo val split made under ``root``."""
    make_demo_dataset(str(root), num_train=2, num_val=num_val, seed=seed)
    return root / 'annotations/instances_val.json', root / 'val'


def noisy_detections(ann_file: Path, keep: float = 1.0, jitter: float = 2.0,
                     false_positives: int = 1, seed: int = 0,
                     drop_mask: np.ndarray | None = None) -> list[dict]:
    """COCO result entries: every ground-truth box (or those ``drop_mask`` leaves, or a
    random ``keep`` fraction) shifted by up to ``jitter`` px, scores 0.5-1, plus
    ``false_positives`` low-scoring boxes per image where nothing is."""
    rng = np.random.default_rng(seed)
    coco = json.loads(ann_file.read_text())
    dets = []
    for k, ann in enumerate(coco['annotations']):
        dropped = drop_mask[k] if drop_mask is not None else rng.random() > keep
        if dropped:
            continue
        x, y, w, h = np.asarray(ann['bbox'], np.float64) + rng.uniform(-jitter, jitter, 4)
        dets.append({'image_id': ann['image_id'], 'category_id': ann['category_id'],
                     'bbox': [float(x), float(y), float(max(w, 1)), float(max(h, 1))],
                     'score': float(rng.uniform(0.5, 1.0))})
    for img in coco['images']:
        for _ in range(false_positives):
            dets.append({'image_id': img['id'], 'category_id': int(rng.integers(1, 6)),
                         'bbox': [0.0, 0.0, 6.0, 6.0], 'score': float(rng.uniform(0.1, 0.4))})
    return dets
