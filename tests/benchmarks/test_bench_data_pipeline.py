"""``benchmarks/bench_data_pipeline.py --quick`` runs (so the benchmark cannot rot) and the
optimised transforms reproduce the straightforward baseline it compares against."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from mmssd.datasets.pipelines import Compose
from tests.helpers.benchmarks import BENCHMARKS, load_benchmark

bench = load_benchmark('bench_data_pipeline')
ref = load_benchmark('reference_pipeline')


def test_quick_run(tmp_path: Path):
    proc = subprocess.run([sys.executable, str(BENCHMARKS / 'bench_data_pipeline.py'),
                           '--quick', '--ablations'],
                          capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = proc.stdout
    for name in ('Expand', 'MinIoURandomCrop', 'PhotoMetricDistortion', 'Normalize'):
        assert name in out
    assert '(a) and (b) gave identical outputs' in out
    assert '(a) optimised' in out and '(b) baseline' in out and 'speed-up' in out
    assert 'MinIoU crop: no area bound' in out


@pytest.fixture(scope='module')
def samples(tmp_path_factory) -> list[dict]:
    return bench.write_dataset(tmp_path_factory.mktemp('bench'), 6, seed=1)


def fresh(sample: dict) -> dict:
    return {**sample, 'bbox_fields': []}


def run(transforms, results: dict, seed: int) -> dict:
    np.random.seed(seed)
    for t in transforms:
        results = t(results)
    return results


@pytest.mark.parametrize('seed', range(0, 60, 3))
def test_geometry_matches_the_baseline_exactly(samples, seed):
    """Load, Expand (lazy), MinIoURandomCrop, Resize and RandomFlip: same pixels and boxes."""
    ours = Compose(bench.TRAIN_PIPELINE[:6]).transforms
    theirs = bench.baseline_transforms()[:6]
    for i, sample in enumerate(samples):
        a, b = run(ours, fresh(sample), seed + i), run(theirs, fresh(sample), seed + i)
        for key in ('img', 'gt_bboxes', 'gt_labels', 'img_shape', 'scale_factor', 'flip'):
            np.testing.assert_array_equal(a[key], b[key], err_msg=key)


@pytest.mark.parametrize('seed', [0, 100])
def test_whole_pipeline_matches_the_baseline_exactly(samples, seed):
    ours = Compose(bench.TRAIN_PIPELINE).transforms
    theirs = bench.baseline_transforms()
    outputs = [[run(t, fresh(sample), seed + i) for i, sample in enumerate(samples)]
               for t in (ours, theirs)]
    bench.compare(*outputs)


def test_photometric_distortion_is_the_baseline(samples):
    ours = Compose([bench.TRAIN_PIPELINE[6]]).transforms[0]
    theirs = bench.baseline_transforms()[6]
    img = bench.synthetic_image(np.random.default_rng(0))[0]
    for seed in range(30):
        a, b = run([ours], {'img': img}, seed), run([theirs], {'img': img}, seed)
        np.testing.assert_array_equal(a['img'], b['img'])


def test_baseline_min_iou_crop_with_awkward_boxes():
    """Zero-area, inverted and huge boxes: the early area test never changes a decision."""
    rng = np.random.default_rng(0)
    ours = Compose([{'type': 'MinIoURandomCrop'}]).transforms[0]
    theirs = ref.MinIoURandomCrop()
    for seed in range(300):
        n = int(rng.integers(0, 8))
        xy = rng.uniform(-10, 60, (n, 2))
        boxes = np.concatenate([xy, xy + rng.uniform(-5, 80, (n, 2))], 1).astype(np.float32)
        boxes[: n // 3, 2:] = boxes[: n // 3, :2]  # zero area
        results = {'img': np.zeros((50, 70, 3), np.uint8), 'gt_bboxes': boxes,
                   'gt_labels': np.arange(n), 'bbox_fields': ['gt_bboxes']}
        a = run([ours], {**results}, seed)
        next_a = np.random.random_sample()
        b = run([theirs], {**results}, seed)
        assert next_a == np.random.random_sample()  # the same number of draws
        np.testing.assert_array_equal(a['gt_bboxes'], b['gt_bboxes'])
        np.testing.assert_array_equal(a['gt_labels'], b['gt_labels'])
        assert a['img'].shape == b['img'].shape


def test_normalize_and_format_match_the_baseline():
    img = np.random.default_rng(5).integers(0, 256, (30, 40, 3)).astype(np.uint8)
    cfgs = bench.TRAIN_PIPELINE[7:9]
    ours = Compose(cfgs).transforms
    theirs = bench.baseline_transforms()[7:9]
    a, b = run(ours, {'img': img}, 0), run(theirs, {'img': img}, 0)
    assert torch.equal(a['img'], b['img'])


@pytest.mark.parametrize('dtype', [np.uint8, np.float32])
def test_eager_expand_is_the_baseline(dtype):
    cfg = {'mean': [123.675, 116.28, 103.53], 'to_rgb': True, 'ratio_range': (1, 4)}
    ours = Compose([{'type': 'Expand', **cfg}]).transforms  # last step: eager
    theirs = [ref.Expand(**cfg)]
    img = bench.synthetic_image(np.random.default_rng(0))[0][:60, :80].astype(dtype)
    boxes = np.array([[3, 4, 50, 40]], np.float32)
    for seed in range(20):
        a = run(ours, {'img': img, 'gt_bboxes': boxes, 'bbox_fields': ['gt_bboxes']}, seed)
        b = run(theirs, {'img': img, 'gt_bboxes': boxes, 'bbox_fields': ['gt_bboxes']}, seed)
        assert isinstance(a['img'], np.ndarray) and a['img'].dtype == b['img'].dtype
        np.testing.assert_array_equal(a['img'], b['img'])
        np.testing.assert_array_equal(a['gt_bboxes'], b['gt_bboxes'])


def test_mixing_pipeline_runs_on_the_benchmark_images(samples):
    mixing = load_benchmark('mixing_pipeline')
    times = mixing.time_mixing(samples[:3], seed=0, repeats=1)
    assert list(times.steps) == [t['type'] for t in mixing.MIXING_PIPELINE]
    assert times.load > 0 and all(s > 0 for s in times.steps.values())
    assert times.load + sum(times.steps.values()) <= times.total
