"""SSD300 training data pipeline on one core: mmssd's transforms vs. the straightforward ones.

Writes N synthetic 500x375 JPEGs (quality 90: smooth colour fields, mid-frequency texture,
1 to 20 filled ellipses whose bounding boxes are the ground truth, pixel noise; ~75 KB,
like PASCAL VOC's) into a temporary directory, then runs the SSD300 VOC training pipeline
of ``configs/pascal_voc/ssd300_voc0712.py`` (LoadImageFromFile, LoadAnnotations, Expand,
MinIoURandomCrop, Resize 300x300, RandomFlip, PhotoMetricDistortion, Normalize,
DefaultFormatBundle, Collect) over them in this process, single-threaded
(``cv2.setNumThreads(1)``, ``torch.set_num_threads(1)``), so the rate is images/s per core:

(a) ``mmssd.datasets.pipelines`` (``Compose`` of the config), and
(b) the baseline, ``benchmarks/reference_pipeline.py``: the same transforms as mmssd first
    wrote them (float32 colour jitter, eager ``Expand`` canvas, ``mmcv.imnormalize``).

Both run interleaved in one run, with the same seed per image; the best of the repeats is
reported, with the time of each transform. The run checks that (a) and (b) give identical
outputs (image tensors, boxes, labels, metas) bit for bit.

    python benchmarks/bench_data_pipeline.py            # 200 images, best of 5
    python benchmarks/bench_data_pipeline.py --quick    # 8 images, 1 repeat (smoke test)
    python benchmarks/bench_data_pipeline.py --ablations  # + (a) with each idea undone
    python benchmarks/bench_data_pipeline.py --mixing  # + YOLOX-S's Mosaic/MixUp pipeline
"""
from __future__ import annotations

import argparse
import contextlib
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from unittest import mock

import cv2
import numpy as np
import torch

from mmssd.datasets.pipelines import Collect, Compose, LoadAnnotations, min_iou_crop

sys.path.insert(0, str(Path(__file__).resolve().parent))
import reference_pipeline as ref  # noqa: E402
from machine_peak import cpu_model  # noqa: E402
from mixing_pipeline import time_mixing  # noqa: E402

IMG_W, IMG_H = 500, 375
JPEG_QUALITY = 90
IMG_NORM_CFG = {'mean': [123.675, 116.28, 103.53], 'std': [1, 1, 1], 'to_rgb': True}
TRAIN_PIPELINE = [  # configs/pascal_voc/ssd300_voc0712.py
    {'type': 'LoadImageFromFile'},
    {'type': 'LoadAnnotations', 'with_bbox': True},
    {'type': 'Expand', 'mean': IMG_NORM_CFG['mean'], 'to_rgb': IMG_NORM_CFG['to_rgb'],
     'ratio_range': (1, 4)},
    {'type': 'MinIoURandomCrop', 'min_ious': (0.1, 0.3, 0.5, 0.7, 0.9), 'min_crop_size': 0.3},
    {'type': 'Resize', 'img_scale': (300, 300), 'keep_ratio': False},
    {'type': 'RandomFlip', 'flip_ratio': 0.5},
    {'type': 'PhotoMetricDistortion', 'brightness_delta': 32, 'contrast_range': (0.5, 1.5),
     'saturation_range': (0.5, 1.5), 'hue_delta': 18},
    {'type': 'Normalize', **IMG_NORM_CFG},
    {'type': 'DefaultFormatBundle'},
    {'type': 'Collect', 'keys': ['img', 'gt_bboxes', 'gt_labels']},
]


# --------------------------------------------------------------------------- data
def synthetic_image(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A natural-ish (375, 500, 3) uint8 BGR image, its (N, 4) float32 xyxy boxes and (N,)
    int64 labels, N in 1..20 (log-uniform object sizes, 16 to 400 px)."""
    low = rng.integers(0, 256, (6, 8, 3)).astype(np.float32)
    img = cv2.resize(low, (IMG_W, IMG_H), interpolation=cv2.INTER_CUBIC)
    texture = rng.normal(0, 30, (IMG_H // 4, IMG_W // 4, 3)).astype(np.float32)
    img += cv2.resize(texture, (IMG_W, IMG_H), interpolation=cv2.INTER_LINEAR)
    num = int(rng.integers(1, 21))
    boxes = np.zeros((num, 4), np.float32)
    for i in range(num):
        aw, ah = np.exp(rng.uniform(np.log(8), np.log(200), 2))
        cx, cy = rng.uniform(0, IMG_W), rng.uniform(0, IMG_H)
        color = rng.integers(0, 256, 3).tolist()
        cv2.ellipse(img, (int(cx), int(cy)), (int(aw), int(ah)), 0, 0, 360, color, -1)
        boxes[i] = [max(cx - aw, 0), max(cy - ah, 0), min(cx + aw, IMG_W), min(cy + ah, IMG_H)]
    img += rng.normal(0, 9, img.shape).astype(np.float32)
    labels = rng.integers(0, 20, num).astype(np.int64)
    return np.clip(img, 0, 255).astype(np.uint8), boxes, labels


def write_dataset(root: Path, num_images: int, seed: int = 0) -> list[dict]:
    """JPEGs in ``root`` and, per image, the dataset's ``results`` dict before the pipeline."""
    rng = np.random.default_rng(seed)
    samples = []
    for i in range(num_images):
        img, boxes, labels = synthetic_image(rng)
        name = f'{i:06d}.jpg'
        cv2.imwrite(str(root / name), img, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
        samples.append({
            'img_info': {'filename': name, 'height': IMG_H, 'width': IMG_W, 'id': i},
            'ann_info': {'bboxes': boxes, 'labels': labels,
                         'bboxes_ignore': np.zeros((0, 4), np.float32)},
            'img_prefix': str(root), 'img_id': i})
    return samples


# --------------------------------------------------------------------------- pipelines
def baseline_transforms() -> list[Callable]:
    """(b): the reference transforms, with the same arguments as ``TRAIN_PIPELINE``."""
    args = [dict(t) for t in TRAIN_PIPELINE]
    for a in args:
        a.pop('type')
    return [ref.LoadImageFromFile(**args[0]), LoadAnnotations(**args[1]),
            ref.Expand(**args[2]), ref.MinIoURandomCrop(**args[3]), ref.Resize(**args[4]),
            ref.RandomFlip(**args[5]), ref.PhotoMetricDistortion(**args[6]),
            ref.Normalize(**args[7]), ref.DefaultFormatBundle(**args[8]), Collect(**args[9])]


#: ablations whose output must equal (a)'s exactly (the uint8 colour jitter clips)
EXACT_ABLATIONS = ('eager Expand canvas', 'MinIoU crop: no area bound',
                   'MinIoU crop: numpy uniform')


def ablations() -> dict[str, tuple[list[Callable], list[tuple]]]:
    """(a) with one optimisation undone: name -> (transforms, [(object, attribute, value)]
    patched while it runs)."""
    def with_step(index: int, **changes) -> list[Callable]:
        cfg = [dict(t) for t in TRAIN_PIPELINE]
        cfg[index].update(changes)
        return Compose(cfg).transforms

    optimised = Compose(TRAIN_PIPELINE).transforms
    return {
        'eager Expand canvas': (with_step(2, lazy=False), []),
        'uint8 PhotoMetricDistortion': (with_step(6, impl='uint8'), []),
        'MinIoU crop: no area bound': (
            optimised, [(min_iou_crop.PatchTest, 'area_cutoff', lambda self, min_iou: None)]),
        'MinIoU crop: numpy uniform': (
            optimised, [(min_iou_crop, 'uniform', np.random.uniform)]),
    }


def run_once(transforms: list[Callable], samples: list[dict], seed: int,
             step_times: np.ndarray) -> tuple[float, list[dict]]:
    """Run every sample through ``transforms`` (np.random seeded with ``seed + i`` for
    sample i), adding each transform's time to ``step_times``; -> (seconds, outputs)."""
    outputs = []
    clock = time.perf_counter
    start = clock()
    for i, sample in enumerate(samples):
        np.random.seed(seed + i)
        results = {**sample, 'bbox_fields': []}
        for k, transform in enumerate(transforms):
            t0 = clock()
            results = transform(results)
            step_times[k] += clock() - t0
        outputs.append(results)
    return clock() - start, outputs


def assert_identical(outputs: list[dict], expected: list[dict], name: str) -> None:
    for i, (a, b) in enumerate(zip(outputs, expected, strict=True)):
        for key in ('img', 'gt_bboxes', 'gt_labels'):
            if not torch.equal(a[key], b[key]):
                raise AssertionError(f'{name}: image {i}: {key} differs from (a)')


def compare(optimised: list[dict], baseline: list[dict]) -> None:
    """(a) and (b) must give the same outputs: images, boxes, labels and metas."""
    for i, (a, b) in enumerate(zip(optimised, baseline, strict=True)):
        for key in ('img', 'gt_bboxes', 'gt_labels'):
            if a[key].shape != b[key].shape or not torch.equal(a[key], b[key]):
                raise AssertionError(f'image {i}: {key} differs from the baseline')
        for key in ('img_shape', 'flip', 'flip_direction', 'scale_factor'):
            if not np.array_equal(a['img_metas'][key], b['img_metas'][key]):
                raise AssertionError(f'image {i}: img_metas[{key!r}] differs from the baseline')


# --------------------------------------------------------------------------- report
def step_names(transforms: list[Callable]) -> list[str]:
    return [type(t).__name__ for t in transforms]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--quick', action='store_true', help='8 images, 1 repeat')
    parser.add_argument('--images', type=int, default=None, help='default 200')
    parser.add_argument('--repeats', type=int, default=None, help='default 5; best is kept')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--ablations', action='store_true',
                        help='also time (a) with each optimisation undone, one at a time')
    parser.add_argument('--mixing', action='store_true',
                        help="also time YOLOX-S's Mosaic + RandomAffine + MixUp pipeline")
    args = parser.parse_args()
    num_images = args.images or (8 if args.quick else 200)
    repeats = args.repeats or (1 if args.quick else 5)
    cv2.setNumThreads(1)
    torch.set_num_threads(1)

    with tempfile.TemporaryDirectory(prefix='bench_data_pipeline_') as tmp:
        samples = write_dataset(Path(tmp), num_images, args.seed)
        sizes = [(Path(tmp) / s['img_info']['filename']).stat().st_size for s in samples]
        variants = {'optimised': (Compose(TRAIN_PIPELINE).transforms, []),
                    'baseline': (baseline_transforms(), [])}
        if args.ablations:
            variants.update(ablations())
        for transforms, _ in variants.values():  # warm-up: imports, caches, page cache
            run_once(transforms, samples[:4], args.seed, np.zeros(len(transforms)))
        best = {name: (float('inf'), None) for name in variants}
        outputs = {}
        for _ in range(repeats):  # interleaved, so all see the same machine load
            for name, (transforms, patches) in variants.items():
                steps = np.zeros(len(transforms))
                with contextlib.ExitStack() as stack:
                    for target, attribute, value in patches:
                        stack.enter_context(mock.patch.object(target, attribute, value))
                    seconds, outputs[name] = run_once(transforms, samples, args.seed, steps)
                if seconds < best[name][0]:
                    best[name] = (seconds, steps)
        mixing = time_mixing(samples, args.seed, repeats) if args.mixing else None
        compare(outputs['optimised'], outputs['baseline'])
        for name in EXACT_ABLATIONS:
            if name in outputs:
                assert_identical(outputs[name], outputs['optimised'], name)

    num_boxes = [len(s['ann_info']['bboxes']) for s in samples]
    print(f'{cpu_model()}, 1 thread (cv2 {cv2.__version__}, numpy {np.__version__}, '
          f'torch {torch.__version__})')
    print(f'{num_images} synthetic {IMG_W}x{IMG_H} JPEGs (quality {JPEG_QUALITY}, '
          f'{np.mean(sizes) / 1e3:.0f} KB mean, {min(num_boxes)}..{max(num_boxes)} boxes), '
          f'SSD300 VOC train pipeline, best of {repeats}')
    print('(a) and (b) gave identical outputs (images, boxes, labels, metas)')
    names = step_names(variants['optimised'][0])
    print(f'\n{"ms per image":24s} {"(a) optimised":>14s} {"(b) baseline":>14s} {"(b)/(a)":>8s}')
    for k, name in enumerate(names):
        a, b = best['optimised'][1][k] / num_images, best['baseline'][1][k] / num_images
        print(f'{name:24s} {a * 1e3:14.3f} {b * 1e3:14.3f} {b / a:7.1f}x')
    t_opt, t_base = best['optimised'][0] / num_images, best['baseline'][0] / num_images
    print(f'{"total":24s} {t_opt * 1e3:14.3f} {t_base * 1e3:14.3f} {t_base / t_opt:7.2f}x')
    print(f'\n(a) optimised : {1 / t_opt:7.1f} images/s/core')
    print(f'(b) baseline  : {1 / t_base:7.1f} images/s/core')
    print(f'speed-up (b) / (a) : {t_base / t_opt:.2f}x')
    if mixing is not None:
        print(f'\n(c) YOLOX-S mixing, 640x640: {1 / mixing.total:7.1f} images/s/core '
              f'({mixing.total * 1e3:.2f} ms per image)')
        print(f'{"  load 5 images (decode)":34s} {mixing.load * 1e3:9.3f} ms')
        for name, seconds in mixing.steps.items():
            print(f'  {name:32s} {seconds * 1e3:9.3f} ms')
    ablation_names = [name for name in variants if name not in ('optimised', 'baseline')]
    if ablation_names:
        print('\n(outputs identical to (a) except with the uint8 colour jitter)')
        print(f'{"(a) with one optimisation undone":34s} {"ms/image":>9s} {"images/s":>9s} '
              f'{"vs (a)":>7s}')
        for name in ablation_names:
            t = best[name][0] / num_images
            print(f'{name:34s} {t * 1e3:9.3f} {1 / t:9.1f} {t / t_opt:6.2f}x')


if __name__ == '__main__':
    main()
