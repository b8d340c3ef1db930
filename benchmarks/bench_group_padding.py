"""Padding in training batches: mmengine's ``DefaultSampler`` vs mmssd's ``GroupSampler``.

``detection_collate`` pads every image of a batch with zeros to the batch's largest
(H, W). For a training config this script runs the train pipeline once per image (seed
0) and records the image's content size (``img_shape``, after Resize) and its size after
the pipeline (``img``, after any ``Pad``); then, for ``--epochs`` epochs (sampler seeds
0, 1, ...), it forms the batches each sampler gives and reports the padded fraction of
the batch tensors: ``1 - sum(content pixels) / sum(B * max H * max W)``. Repeated images
(``GroupSampler`` fills groups) count as the content they are.

``--keep-ratio`` swaps the config's train pipeline for mmdetection 2.x RetinaNet's COCO
pipeline scaled to the demo images (``Resize(img_scale=(320, 192), keep_ratio=True)``,
``RandomFlip``, ``Normalize``, ``Pad(size_divisor=32)``): the case grouping is for.

    python benchmarks/bench_group_padding.py configs/retinanet/retinanet_r18_fpn_8e_demo.py
    python benchmarks/bench_group_padding.py configs/retinanet/retinanet_r18_fpn_8e_demo.py \
        --keep-ratio
    python benchmarks/bench_group_padding.py CONFIG --quick   # 32 images, 1 epoch
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from mmengine.dataset import DefaultSampler

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from mmssd.apis import load_config  # noqa: E402
from mmssd.datasets import GroupSampler, build_dataset  # noqa: E402
from mmssd.utils import register_all_modules  # noqa: E402
from mmssd.utils.cfg_options import CfgOptionsAction  # noqa: E402

KEEP_RATIO_PIPELINE = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', img_scale=(320, 192), keep_ratio=True),
    dict(type='RandomFlip', flip_ratio=0.5),
    dict(type='Normalize', mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375],
         to_rgb=True),
    dict(type='Pad', size_divisor=32),
    dict(type='DefaultFormatBundle'),
    dict(type='Collect', keys=['img', 'gt_bboxes', 'gt_labels']),
]


def image_sizes(dataset, limit: int | None) -> tuple[np.ndarray, np.ndarray]:
    """(N, 2) content (h, w) and (N, 2) padded (h, w) of the first ``limit`` images."""
    np.random.seed(0)
    n = len(dataset) if limit is None else min(limit, len(dataset))
    content, padded = np.zeros((n, 2), np.int64), np.zeros((n, 2), np.int64)
    for i in range(n):
        out = dataset[i]
        content[i] = out['img_metas']['img_shape'][:2]
        padded[i] = out['img'].shape[1:]
    return content, padded


def padded_fraction(order: list[int], batch: int, content: np.ndarray,
                    padded: np.ndarray) -> float:
    """Padded share of the batch tensors when images come in ``order``, ``batch`` at a time."""
    canvas = real = 0
    for start in range(0, len(order), batch):
        ids = order[start:start + batch]
        canvas += len(ids) * int(padded[ids, 0].max()) * int(padded[ids, 1].max())
        real += int((content[ids, 0] * content[ids, 1]).sum())
    return 1.0 - real / canvas


class Subset:
    """The first ``n`` images of a dataset with its ``flag``, for the samplers."""

    def __init__(self, dataset, n: int) -> None:
        self.flag = np.asarray(dataset.flag)[:n]

    def __len__(self) -> int:
        return len(self.flag)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config')
    parser.add_argument('--keep-ratio', action='store_true',
                        help="RetinaNet's 2.x keep-ratio pipeline instead of the config's")
    parser.add_argument('--epochs', type=int, default=5, help='sampler seeds 0..epochs-1')
    parser.add_argument('--quick', action='store_true', help='32 images, 1 epoch')
    parser.add_argument('--cfg-options', nargs='+', action=CfgOptionsAction)
    args = parser.parse_args(argv)
    register_all_modules()
    cfg = load_config(args.config, args.cfg_options)
    train = cfg.data.train
    if args.keep_ratio:
        train.pipeline = KEEP_RATIO_PIPELINE
    dataset = build_dataset(train)
    limit, epochs = (32, 1) if args.quick else (None, args.epochs)
    content, padded = image_sizes(dataset, limit)
    subset = Subset(dataset, len(content))
    batch = cfg.data.samples_per_gpu
    results = {'DefaultSampler': [], 'GroupSampler': []}
    for seed in range(epochs):
        default = list(DefaultSampler(subset, shuffle=True, seed=seed, round_up=False))
        grouped = list(GroupSampler(subset, samples_per_gpu=batch, seed=seed))
        results['DefaultSampler'].append(padded_fraction(default, batch, content, padded))
        results['GroupSampler'].append(padded_fraction(grouped, batch, content, padded))
    wide = int(subset.flag.sum())
    print(f'{args.config}{" (keep-ratio pipeline)" if args.keep_ratio else ""}: '
          f'{len(subset)} training images ({wide} wider than tall), samples_per_gpu={batch}, '
          f'{epochs} epoch(s)')
    floor = 1.0 - (content.prod(1).sum() / padded.prod(1).sum())
    print(f'  (the pipeline\'s own padding, e.g. Pad size_divisor, a floor for any '
          f'sampler: {floor * 100:.2f}%)')
    for name, values in results.items():
        v = np.array(values) * 100
        print(f'  {name:15s} padded pixels {v.mean():5.2f}% (min {v.min():5.2f}, '
              f'max {v.max():5.2f})')


if __name__ == '__main__':
    main()
