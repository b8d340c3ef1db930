"""Swin-T backbone on CPU: mmssd's against timm's, with mmssd's ResNet-50 for scale.

Three backbones at the same input (``--batch-size`` random images of ``--height`` x
``--width``, default 2 x 800x1216, a Swin detector's training size), each with random
weights and all four feature levels:

- ``mmssd_swin_t``: :class:`~mmssd.models.backbones.SwinTransformer` as the shipped
  ``configs/swin/*_swin-t-p4-w7_*`` build it (embed 96, depths 2-2-6-2, window 7,
  drop-path 0.2, out_indices 0-3, NCHW outputs);
- ``timm_swin_t``: ``timm.create_model('swin_tiny_patch4_window7_224', features_only=True,
  img_size=(H, W), drop_path_rate=0.2)`` (same architecture and FLOPs; NHWC outputs, as timm
  gives them);
- ``mmssd_r50``: :class:`~mmssd.models.backbones.ResNet` depth 50 (``norm_eval`` off, all
  stages trained).

Each repeat runs, for every model in an order that alternates from repeat to repeat, one
forward in ``torch.inference_mode`` (eval mode) and one forward + backward of the sum of the
outputs (train mode). After one warm-up repeat, the median and min..max of the timed
repeats are printed, in wall time and in process CPU time (all threads; steadier than wall
time on a shared machine), with the ratio to ``timm_swin_t`` of the medians and the median
of the per-repeat ratios (robust to load drifting during the run).

    python benchmarks/bench_swin.py                       # 2 x 800x1216, 3 timed repeats
    python benchmarks/bench_swin.py --quick               # 1 x 224x320, 1 repeat
"""
from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import torch
from torch import nn

from mmssd.registry import MODELS

SWIN_T = dict(type='SwinTransformer', embed_dims=96, depths=(2, 2, 6, 2),
              num_heads=(3, 6, 12, 24), window_size=7, drop_path_rate=0.2,
              out_indices=(0, 1, 2, 3))


def build_models(height: int, width: int) -> dict[str, nn.Module]:
    """The three backbones, random weights."""
    import timm

    models = {
        'mmssd_swin_t': MODELS.build(SWIN_T),
        'timm_swin_t': timm.create_model('swin_tiny_patch4_window7_224', features_only=True,
                                         img_size=(height, width), drop_path_rate=0.2),
        'mmssd_r50': MODELS.build(dict(type='ResNet', depth=50, norm_eval=False)),
    }
    for model in models.values():
        if hasattr(model, 'init_weights'):
            model.init_weights()
    return models


def forward_time(model: nn.Module, x: torch.Tensor) -> tuple[float, float]:
    """Wall and process CPU seconds of one forward."""
    model.eval()
    start, cpu = time.perf_counter(), time.process_time()
    with torch.inference_mode():
        model(x)
    return time.perf_counter() - start, time.process_time() - cpu


def train_step_time(model: nn.Module, x: torch.Tensor) -> tuple[float, float]:
    """Wall and process CPU seconds of one forward + backward."""
    model.train()
    model.zero_grad(set_to_none=True)
    start, cpu = time.perf_counter(), time.process_time()
    sum(out.float().mean() for out in model(x)).backward()
    return time.perf_counter() - start, time.process_time() - cpu


def summarise(name: str, times: dict[str, list[float]], reference: str) -> None:
    print(f'\n{name}: median s (min..max), ratio to {reference} (of medians / median of '
          'per-repeat ratios)')
    ref = times[reference]
    for model, values in times.items():
        ratios = [v / r for v, r in zip(values, ref, strict=True)]
        print(f'  {model:14s} {statistics.median(values):7.3f} s ({min(values):.3f}..'
              f'{max(values):.3f})  {statistics.median(values) / statistics.median(ref):.2f}x'
              f' / {statistics.median(ratios):.2f}x')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--batch-size', type=int, default=2)
    parser.add_argument('--height', type=int, default=800)
    parser.add_argument('--width', type=int, default=1216)
    parser.add_argument('--repeats', type=int, default=3)
    parser.add_argument('--quick', action='store_true', help='1 x 224x320, 1 repeat')
    args = parser.parse_args()
    if args.quick:
        args.batch_size, args.height, args.width, args.repeats = 1, 224, 320, 1
    torch.manual_seed(0)
    models = build_models(args.height, args.width)
    x = torch.randn(args.batch_size, 3, args.height, args.width)
    with torch.inference_mode():
        shapes = {n: [tuple(o.shape) for o in m.eval()(x)] for n, m in models.items()}
    print(f'torch {torch.__version__}, {torch.get_num_threads()} threads, batch '
          f'{args.batch_size} x {args.height}x{args.width}; outputs: {shapes}')
    phases: dict[str, Callable[[nn.Module, torch.Tensor], tuple[float, float]]] = {
        'forward (inference_mode)': forward_time, 'forward + backward': train_step_time}
    times = {f'{phase}, {clock}': {n: [] for n in models}
             for phase in phases for clock in ('wall', 'process CPU')}
    names = list(models)
    for repeat in range(args.repeats + (0 if args.quick else 1)):
        order = names if repeat % 2 == 0 else names[::-1]
        for phase, measure in phases.items():
            for name in order:
                wall, cpu = measure(models[name], x)
                if args.quick or repeat > 0:
                    times[f'{phase}, wall'][name].append(wall)
                    times[f'{phase}, process CPU'][name].append(cpu)
        print(f'repeat {repeat} done', flush=True)
    for phase, values in times.items():
        summarise(phase, values, 'timm_swin_t')


if __name__ == '__main__':
    main()
