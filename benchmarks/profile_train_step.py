"""Time a training step of any config's model on a random batch, and show where it goes.

The model is built from the config (random weights, ``init_weights``), trained with AdamW
on one synthetic batch (``--batch-size`` images of ``--size`` px, 1 to 4 random boxes of
random classes each, seeded). After a warm-up step, ``--steps`` steps are timed (mean and
min-max printed), then one more runs under ``torch.profiler`` and the operators with the
most self CPU time are listed with their share. Use it to see what a config's step costs
before a long run, or what an option changes (``--cfg-options``):

    python benchmarks/profile_train_step.py configs/demo/cascade_rcnn_r18_fpn_demo.py
    python benchmarks/profile_train_step.py configs/demo/cascade_rcnn_r18_fpn_demo.py \\
        --cfg-options model.train_cfg.rcnn.0.sampler.num=128 \\
        model.train_cfg.rcnn.1.sampler.num=128 model.train_cfg.rcnn.2.sampler.num=128
"""
from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch
from mmengine.config import Config
from torch.profiler import profile

from mmssd.registry import MODELS
from mmssd.utils import register_all_modules
from mmssd.utils.cfg_options import CfgOptionsAction


def synthetic_batch(batch_size: int, size: int, num_classes: int, seed: int = 0):
    """``img (B, 3, size, size)``, image metas and per image 1-4 boxes with labels."""
    g = torch.Generator().manual_seed(seed)
    img = torch.randn(batch_size, 3, size, size, generator=g)
    metas = [dict(img_shape=(size, size, 3), ori_shape=(size, size, 3),
                  pad_shape=(size, size, 3), batch_input_shape=(size, size),
                  scale_factor=np.ones(4, np.float32), flip=False)
             for _ in range(batch_size)]
    gt_bboxes, gt_labels = [], []
    for _ in range(batch_size):
        n = int(torch.randint(1, 5, (1,), generator=g))
        xy = torch.rand(n, 2, generator=g) * size * 0.6
        wh = (torch.rand(n, 2, generator=g) * 0.3 + 0.05) * size
        gt_bboxes.append(torch.cat([xy, (xy + wh).clamp(max=size)], 1))
        gt_labels.append(torch.randint(0, num_classes, (n,), generator=g))
    return img, metas, gt_bboxes, gt_labels


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config')
    parser.add_argument('--batch-size', type=int, default=16)
    parser.add_argument('--size', type=int, default=192, help='square image side (px)')
    parser.add_argument('--steps', type=int, default=3, help='timed steps')
    parser.add_argument('--top', type=int, default=8, help='operators listed')
    parser.add_argument('--cfg-options', nargs='+', action=CfgOptionsAction)
    args = parser.parse_args(argv)

    register_all_modules()
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    torch.manual_seed(0)
    model = MODELS.build(cfg.model.to_dict())
    model.init_weights()
    model.train()
    heads = [getattr(model, 'bbox_head', None), getattr(model, 'roi_head', None)]
    head = next(h for h in heads if h is not None)
    num_classes = head.num_classes
    img, metas, gt_bboxes, gt_labels = synthetic_batch(args.batch_size, args.size, num_classes)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)

    def step() -> None:
        losses = model(img, metas, gt_bboxes=gt_bboxes, gt_labels=gt_labels, mode='loss')
        loss = sum(v for k, v in losses.items() if 'loss' in k)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    step()  # warm-up
    times = []
    for _ in range(args.steps):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    with profile() as prof:
        step()
    events = sorted(prof.key_averages(), key=lambda e: e.self_cpu_time_total, reverse=True)
    total = sum(e.self_cpu_time_total for e in events)
    print(f'{args.config}: batch {args.batch_size} x {args.size}px, torch {torch.__version__}, '
          f'{torch.get_num_threads()} threads')
    print(f'step: {statistics.mean(times):.3f} s (min {min(times):.3f}, max {max(times):.3f}, '
          f'{args.steps} steps)')
    top = [(e.key, e.self_cpu_time_total / total) for e in events[:args.top]]
    for name, share in top:
        print(f'  {share:6.1%}  {name}')
    return dict(times=times, top=top)


if __name__ == '__main__':
    main()
