"""Training step of SSD300-VGG16 and of the demo SSDLite on CPU: fp32 vs. bf16 autocast vs.
channels_last, against the machine's measured compute peak.

For each model (random weights; SGD with momentum and weight decay as in the configs, lr
1e-5) and a synthetic batch (``--batch-size`` images, 1 to 20 random boxes each, seeded),
one training step is timed in phases:

- backbone + neck forward (``extract_feat``),
- head forward (the per-level predictor convs),
- target assignment + loss (``SSDHead.loss``: anchors, ``get_targets``, hard negative mining),
- backward,
- optimizer (``SGD.step`` + ``zero_grad``),

in variants, each with its own copy of the same initial weights, interleaved repeat by
repeat so that all see the same machine load:

- ``fp32``;
- ``bf16``: forward and loss under ``torch.autocast('cpu', torch.bfloat16)``, as
  ``AutocastOptimWrapper`` (the ``fp16`` config key on CPU) runs it; the head casts its
  outputs to float32, so the loss is computed in float32 (checked);
- ``channels_last``: fp32 with model and images in ``torch.channels_last``;
- ``bf16+cl``: both;
- ``compiled`` (only when named in ``--variants``): fp32 with backbone, neck and head
  forward through ``torch.compile``, as the detector's ``compile=True`` option runs it; the
  warm-up step compiles and its time is printed.

The same run measures, with the same thread count before and after each model, the fp32
and bf16 peak of ``torch.mm`` (4096 x 4096) and of a 3x3 oneDNN convolution (VGG16's conv4
block at batch 8, either memory layout); the best seen so far of either kernel is the
variant's yardstick (see ``machine_peak``). It counts the forward's FLOPs with
``torch.utils.flop_counter.FlopCounterMode`` (a step = 3x the forward) and reports the
achieved FLOP/s as a fraction of the peak of the variant's dtype.

    python benchmarks/bench_train_step.py                 # batch 8, median of 3 steps
    python benchmarks/bench_train_step.py --quick         # batch 2, 2 steps (smoke test)
    python benchmarks/bench_train_step.py --models demo --variants fp32 channels_last compiled
    python benchmarks/bench_train_step.py --models retinanet_r50 atss_r50 --variants fp32 \
        --batch-size 2    # RetinaNet vs ATSS (R50 + FPN, 512 px), side by side
"""
from __future__ import annotations

import argparse
import contextlib
import copy
import math
import os
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import onednn_env  # noqa: F401  (sets oneDNN's cache size; must precede torch)
import torch
from torch import Tensor
from torch.utils.flop_counter import FlopCounterMode

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_models  # noqa: E402
from machine_peak import conv_peak, cpu_model, gemm_peak  # noqa: E402

PHASES = ('backbone+neck', 'head fwd', 'assign+loss', 'backward', 'optimizer')
#: variant -> (bf16 autocast, channels_last, torch.compile)
VARIANTS = {'fp32': (False, False, False), 'bf16': (True, False, False),
            'channels_last': (False, True, False), 'bf16+cl': (True, True, False),
            'compiled': (False, False, True)}
#: run unless --variants says otherwise (compiling takes minutes on a small CPU)
DEFAULT_VARIANTS = ['fp32', 'bf16', 'channels_last', 'bf16+cl']
Batch = tuple[Tensor, list[dict], list[Tensor], list[Tensor]]


@dataclass
class Variant:
    """One variant's model copy, optimizer, inputs and measured phase times (seconds)."""

    name: str
    model: torch.nn.Module
    optimizer: torch.optim.Optimizer
    batch: Batch
    bf16: bool
    compiled: bool
    times: dict[str, list[float]] = field(default_factory=lambda: {p: [] for p in PHASES})
    first_loss: float | None = None
    first_step: float | None = None  # seconds, the warm-up step (compilation included)

    def step_times(self) -> list[float]:
        """Whole-step times, one per timed step."""
        return [sum(ts) for ts in zip(*self.times.values(), strict=True)]


def make_variant(name: str, model: torch.nn.Module, batch: Batch) -> Variant:
    """A copy of ``model`` (and of the images) set up for variant ``name``."""
    bf16, channels_last, compiled = VARIANTS[name]
    model = copy.deepcopy(model).train()
    if compiled:  # what the detector's ``compile=True`` option sets
        model.compile_options = {}
    img = batch[0].clone()
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
        img = img.contiguous(memory_format=torch.channels_last)
    # lr 1e-5 rather than the configs' 2e-3: random weights would diverge within a few
    # steps; the optimizer's work (momentum, weight decay, update) is the same
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-5, momentum=0.9, weight_decay=5e-4)
    return Variant(name, model, optimizer, (img, *batch[1:]), bf16, compiled)


def train_step(v: Variant, record: bool) -> None:
    """One forward + backward + optimizer step of ``v``, phase by phase."""
    img, metas, gt_bboxes, gt_labels = v.batch
    autocast = torch.autocast('cpu', dtype=torch.bfloat16) if v.bf16 else contextlib.nullcontext()
    marks = [time.perf_counter()]
    with autocast:
        if v.compiled:  # one compiled graph: its time is all in the backbone+neck column
            cls_scores, bbox_preds = v.model.dense_outputs(img)
            marks += [time.perf_counter()] * 2
        else:
            feats = v.model.extract_feat(img)
            marks.append(time.perf_counter())
            cls_scores, bbox_preds = v.model.bbox_head(feats)
            marks.append(time.perf_counter())
        losses = v.model.bbox_head.loss(cls_scores, bbox_preds, gt_bboxes, gt_labels, metas)
        loss = sum(losses.values())  # ATSS adds loss_centerness
    marks.append(time.perf_counter())
    if loss.dtype != torch.float32:
        raise AssertionError(f'{v.name}: the loss is {loss.dtype}, expected float32')
    loss.backward()
    marks.append(time.perf_counter())
    v.optimizer.step()
    v.optimizer.zero_grad(set_to_none=True)
    marks.append(time.perf_counter())
    value = float(loss.detach())
    if v.first_loss is None:
        v.first_loss, v.first_step = value, marks[-1] - marks[0]
    if not math.isfinite(value):
        raise AssertionError(f'{v.name}: loss is {value}')
    if record:
        for phase, start, end in zip(PHASES, marks[:-1], marks[1:], strict=True):
            v.times[phase].append(end - start)


def count_flops(model: torch.nn.Module, batch: Batch) -> int:
    """FLOPs of one fp32 forward (incl. the loss) on ``batch``.

    Only the forward is counted: ``FlopCounterMode``'s ``convolution_backward`` formula
    ignores ``groups`` (it counts the demo model's depthwise convs' backward ~25x too
    high), so the step is taken as 3x the forward (grad input + grad weight), as usual.
    """
    model = copy.deepcopy(model).train()
    img, metas, gt_bboxes, gt_labels = batch
    with FlopCounterMode(display=False) as counter:
        model(img, metas, gt_bboxes, gt_labels, mode='loss')
    return counter.get_total_flops()


def run_model(name: str, args: argparse.Namespace, peaks: dict[bool, float]) -> float:
    """Time, check and report the variants of model ``name``; the first variant's median
    step time (seconds)."""
    model, _ = bench_models.build_detector(name)
    size = bench_models.input_size(name)
    batch = bench_models.synthetic_batch(args.batch_size, size, model.bbox_head.num_classes)
    forward_flops = count_flops(model, batch)
    step_flops = 3 * forward_flops
    variants = [make_variant(v, model, batch) for v in args.variants]
    for v in variants:  # warm-up step (allocator, oneDNN primitives); also the loss check
        train_step(v, record=False)
    for _ in range(args.steps - 1):
        for v in variants:
            train_step(v, record=True)

    num_boxes = [len(b) for b in batch[2]]
    print(f'\n== {name}: batch {args.batch_size} x 3x{size}x{size}, '
          f'{model.bbox_head.num_classes} classes, boxes per image '
          f'{min(num_boxes)}..{max(num_boxes)}; median of {args.steps - 1} timed steps '
          '(after 1 warm-up)')
    print(f'FLOPs (FlopCounterMode): forward {forward_flops / 1e9:.2f} G; a step is taken '
          f'as 3x that, {step_flops / 1e9:.2f} G')
    header = (f'{"variant":<14}{"img/s":>8}{"step ms":>9}' +
              ''.join(f'{p:>14}' for p in PHASES) + f'{"GFLOP/s":>9}{"of peak":>9}'
              f'{"vs fp32":>9}{"loss@1":>9}')
    print(header)
    base = statistics.median(variants[0].step_times())
    for v in variants:
        step = statistics.median(v.step_times())
        achieved = step_flops / step
        peak = peaks[v.bf16]
        phases = ''.join(f'{statistics.median(v.times[p]) * 1e3:>11.1f} ms' for p in PHASES)
        print(f'{v.name:<14}{args.batch_size / step:>8.2f}{step * 1e3:>9.0f}{phases}'
              f'{achieved / 1e9:>9.1f}{achieved / peak:>9.3f}{base / step:>8.2f}x'
              f'{v.first_loss:>9.3f}')
    for v in variants:
        if v.compiled:
            print(f'{v.name}: the first step, which compiles, took {v.first_step:.1f} s; '
                  'its backbone+neck column includes the head forward')
    print('(of peak: of the best fp32 peak (GEMM or convolution) for fp32 variants, of the '
          'bf16 one for bf16; '
          f'vs fp32: step-time ratio to {variants[0].name})')
    return base


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--quick', action='store_true',
                        help='batch 2, 2 steps, 2048 GEMM, a small convolution peak')
    parser.add_argument('--batch-size', type=int, default=None, help='default 8 (quick: 2)')
    parser.add_argument('--steps', type=int, default=None,
                        help='steps per variant incl. 1 warm-up; default 4 (quick: 2)')
    parser.add_argument('--threads', type=int, default=2)
    parser.add_argument('--models', nargs='+', default=bench_models.DEFAULT_MODELS,
                        choices=list(bench_models.MODEL_CONFIGS))
    parser.add_argument('--variants', nargs='+', default=DEFAULT_VARIANTS,
                        choices=list(VARIANTS))
    parser.add_argument('--gemm-size', type=int, default=None, help='default 4096 (quick: 2048)')
    args = parser.parse_args()
    args.batch_size = args.batch_size or (2 if args.quick else 8)
    args.steps = max(args.steps or (2 if args.quick else 4), 2)
    gemm_size = args.gemm_size or (2048 if args.quick else 4096)
    if args.variants[0] != 'fp32':
        args.variants = ['fp32'] + [v for v in args.variants if v != 'fp32']
    torch.set_num_threads(args.threads)

    print(f'torch {torch.__version__}, {torch.get_num_threads()} threads, {cpu_model()}; '
          f'load average at start {os.getloadavg()[0]:.2f}')
    peaks = measure_peaks(gemm_size, {False: 0.0, True: 0.0}, args.quick)
    steps = {}
    for name in args.models:
        steps[name] = run_model(name, args, peaks)
        peaks = measure_peaks(gemm_size, peaks, args.quick)
    first = args.models[0]
    print(f'\nside by side, {args.variants[0]} step time (vs {first}): ' + ', '.join(
        f'{name} {t * 1e3:.0f} ms ({t / steps[first]:.2f}x)' for name, t in steps.items()))
    print(f'load average at end {os.getloadavg()[0]:.2f}')


def measure_peaks(size: int, best: dict[bool, float], quick: bool = False) -> dict[bool, float]:
    """fp32 (key False) and bf16 (key True) peaks: the best of ``best`` and new measurements
    of ``torch.mm`` and of a 3x3 convolution (re-measured after each model: the best seen is
    the yardstick)."""
    conv_shape = {'batch': 2, 'channels': 128, 'size': 19} if quick else {}
    new = {}
    for bf16, dtype in ((False, torch.float32), (True, torch.bfloat16)):
        gemm, conv = gemm_peak(dtype, size), conv_peak(dtype, **conv_shape)
        print(f'peak {"bf16" if bf16 else "fp32"}: torch.mm {size}x{size} '
              f'{gemm / 1e9:.1f} GFLOP/s, 3x3 convolution {conv / 1e9:.1f} GFLOP/s '
              f'(best of 3 each)')
        new[bf16] = max(gemm, conv)
    return {k: max(best[k], new[k]) for k in new}


if __name__ == '__main__':
    main()
