"""Measure inference speed (images per second) of a detector on its test set.

``python tools/analysis_tools/benchmark.py CONFIG CHECKPOINT [--batch-size N]
[--num-warmup 5] [--max-iter 50] [--fuse-conv-bn] [--device cpu] [--repeat-num 1]``

Batches come from the config's test set (``data.test``) through its pipeline; only the
model's forward with post-processing (``mode='predict'``) is timed, the first
``--num-warmup`` batches are run but not counted. A progress bar shows the batches.
``--fuse-conv-bn`` folds each BatchNorm into the conv before it (same outputs, faster).
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from mmcv.cnn import fuse_conv_bn
from torch.utils.data import DataLoader
from tqdm import tqdm

from mmssd.apis import init_detector
from mmssd.datasets.builder import build_dataset
from mmssd.datasets.collate import detection_collate
from mmssd.evaluation.img_metas import first_aug_metas
from mmssd.utils.cfg_options import CfgOptionsAction


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Benchmark a detector (images per second)')
    parser.add_argument('config', help='config file')
    parser.add_argument('checkpoint', nargs='?', default=None,
                        help='checkpoint file (omit to time the initial weights)')
    parser.add_argument('--batch-size', type=int, default=1, help='images per forward')
    parser.add_argument('--num-warmup', type=int, default=5, help='untimed first batches')
    parser.add_argument('--max-iter', type=int, default=50, help='timed batches at most')
    parser.add_argument('--repeat-num', type=int, default=1, help='repeat the measurement')
    parser.add_argument('--fuse-conv-bn', action='store_true',
                        help='fold BatchNorm layers into the convs before them')
    parser.add_argument('--device', default='cpu', help='device, e.g. cpu or cuda:0')
    parser.add_argument('--num-workers', type=int, default=0, help='data loader workers')
    parser.add_argument('--cfg-options', nargs='+', action=CfgOptionsAction,
                        help='override config settings')
    return parser.parse_args(argv)


def _sync(device: torch.device) -> None:
    if device.type == 'cuda':
        torch.cuda.synchronize(device)


def measure(model: torch.nn.Module, loader: DataLoader, num_warmup: int,
            max_iter: int) -> dict:
    """Run ``num_warmup + max_iter`` batches; returns images/s and s/image of the timed ones."""
    device = next(model.parameters()).device
    total = min(len(loader), num_warmup + max_iter)
    if total <= num_warmup:
        raise ValueError(f'the test set gives {len(loader)} batches: not more than the '
                         f'{num_warmup} warm-up batches; lower --num-warmup')
    timed_images, elapsed = 0, 0.0
    with torch.no_grad(), tqdm(total=total, desc='benchmark', unit='batch') as bar:
        for i, batch in enumerate(loader):
            if i >= total:
                break
            imgs = batch['img']
            imgs = [t.to(device) for t in imgs] if isinstance(imgs, list) else imgs.to(device)
            _sync(device)
            start = time.perf_counter()
            model(img=imgs, img_metas=batch['img_metas'], mode='predict')
            _sync(device)
            if i >= num_warmup:
                elapsed += time.perf_counter() - start
                timed_images += len(first_aug_metas(batch['img_metas']))
                bar.set_postfix(fps=f'{timed_images / elapsed:.1f} img/s')
            bar.update(1)
    return dict(images=timed_images, seconds=elapsed, fps=timed_images / elapsed,
                seconds_per_image=elapsed / timed_images)


def main(argv: list[str] | None = None) -> list[dict]:
    args = parse_args(argv)
    model = init_detector(args.config, args.checkpoint, device=args.device,
                          cfg_options=args.cfg_options)
    if args.fuse_conv_bn:
        model = fuse_conv_bn(model)
    dataset = build_dataset(model.cfg.data.test)
    runs = []
    for repeat in range(args.repeat_num):
        loader = DataLoader(dataset, batch_size=args.batch_size, shuffle=False,
                            num_workers=args.num_workers, collate_fn=detection_collate)
        result = measure(model, loader, args.num_warmup, args.max_iter)
        runs.append(result)
        print(f"run {repeat + 1}: {result['fps']:.2f} img/s "
              f"({result['seconds_per_image'] * 1000:.1f} ms/img over {result['images']} "
              f'images, batch size {args.batch_size}'
              + (', conv+bn fused' if args.fuse_conv_bn else '') + ')')
    if args.repeat_num > 1:
        fps = np.array([r['fps'] for r in runs])
        print(f'overall: {fps.mean():.2f} +- {fps.std():.2f} img/s')
    return runs


if __name__ == '__main__':
    main()
