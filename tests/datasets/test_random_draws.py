"""The transforms draw exactly what mmdetection 2.x's calls draw, through cheaper calls."""
from __future__ import annotations

import numpy as np
import pytest

from mmssd.datasets.pipelines import MinIoURandomCrop, RandomFlip, min_iou_crop


def test_min_iou_crop_mode_is_random_choice():
    crop = MinIoURandomCrop()
    np.random.seed(0)
    ours = [crop._sample_mode() for _ in range(500)]
    np.random.seed(0)
    theirs = [np.random.choice(crop.sample_mode) for _ in range(500)]
    assert ours == theirs and all(type(m) is np.float64 for m in ours)


def test_cheap_uniform_is_numpy_uniform():
    assert min_iou_crop.uniform is min_iou_crop._uniform_by_sample  # exact on this platform
    rng = np.random.default_rng(0)
    bounds = [(float(lo), float(hi)) for lo, hi in rng.uniform(-50, 600, (2000, 2))]
    np.random.seed(1)
    ours = [min_iou_crop.uniform(lo, hi) for lo, hi in bounds] + [
        min_iou_crop.uniform(lo) for lo, _ in bounds]  # uniform(low, high=1), as mmdetection
    np.random.seed(1)
    theirs = [np.random.uniform(lo, hi) for lo, hi in bounds] + [
        np.random.uniform(lo) for lo, _ in bounds]
    assert ours == theirs


@pytest.mark.parametrize('flip_ratio, direction', [
    (0.5, 'horizontal'), (1.0, 'vertical'), (None, 'horizontal'), (0.7, ['horizontal', 'diagonal']),
    ([0.2, 0.3, 0.1], ['horizontal', 'vertical', 'diagonal']),
    ([0.5, 0.5], ['vertical', 'diagonal']),
])
def test_flip_choice_is_random_choice(flip_ratio, direction):
    flip = RandomFlip(flip_ratio, direction)
    directions = direction if isinstance(direction, list) else [direction]
    if isinstance(flip_ratio, list):
        probs = list(flip_ratio)
    else:
        probs = [(flip_ratio or 0.0) / len(directions)] * len(directions)
    probs.append(1 - sum(probs))
    np.random.seed(0)
    ours = [flip._choose() for _ in range(300)]
    np.random.seed(0)
    theirs = [np.random.choice(len(probs), p=probs) for _ in range(300)]
    assert ours == [directions[i] if i < len(directions) else None for i in theirs]
