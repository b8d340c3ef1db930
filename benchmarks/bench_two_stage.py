"""Faster R-CNN R50-FPN on CPU: mmssd against torchvision, training step and inference.

Models (see ``two_stage_models``): mmssd's ``faster_rcnn_r50_fpn_1x_coco`` config
(``backbone.init_cfg=None``) and torchvision's ``FasterRCNN`` R50-FPN as
``fasterrcnn_resnet50_fpn`` builds it for fine-tuning (FrozenBatchNorm2d, stem and layer1
frozen = ``trainable_backbone_layers=3``), with mmssd's random weights copied into it and a
few classes' classifier bias raised so that inference keeps ~4000 candidates per image
above ``score_thr``. Same settings: the batch (``--batch-size`` normalised images of
``--height`` x ``--width``, 2 to 8 synthetic boxes each, 80 classes = torchvision's 81 with
background), RPN top 2000 per level -> NMS 0.7 -> 1000 kept in training (test: 1000 / 1000),
RPN sampler 256 x 0.5, RoI sampler 512 x 0.25 with the ground truth added, test
``score_thr`` 0.05, NMS 0.5, 100 detections. torchvision's ``GeneralizedRCNNTransform`` is
bypassed (an identity: both get the same resized, normalised, padded batch). The optional
``torchvision_plain`` variant is ``fasterrcnn_resnet50_fpn(weights=None,
weights_backbone=None)`` taken literally: trainable ``BatchNorm2d`` with batch statistics and
all five stages trained.

Differences that remain (each library as it ships):

- frozen BN: torchvision's ``FrozenBatchNorm2d`` (a Python multiply-add per BN) vs mmssd's
  ``BatchNorm2d`` in eval mode (``norm_eval=True``), whose weight and bias in layer2..4
  still get gradients (``requires_grad=True`` in the config; torchvision's are buffers);
- RoIAlign: mmssd ``sampling_ratio=0`` (adaptive: ceil(roi size / 7) samples per bin) and
  ``aligned=True``; torchvision ``sampling_ratio=2``, ``aligned=False``;
- anchors: torchvision rounds its base anchors to integers; mmssd (mmdetection 2.x) does not;
- losses: mmssd L1 for both box losses; torchvision smooth L1 (beta 1/9 in the RPN, 1/9 in
  the RoI head); torchvision's RPN assigns low-quality matches at any IoU, mmssd at >= 0.3;
- test post-processing: mmssd ``multiclass_nms`` over the ``(n, 80)`` scores and per-class
  numpy arrays (``bbox2result``); torchvision drops boxes under 0.01 px and returns tensors;
- mmssd's proposals drop boxes with ``w <= 0`` or ``h <= 0`` (``min_bbox_size=0``);
  torchvision drops those under 1e-3 px and scores under ``rpn_score_thresh`` 0;
- mmssd's RPN head applies an out-of-place ReLU, torchvision's an in-place one.

Each repeat runs one training step (forward, backward, SGD with momentum, lr 1e-5, so that
random weights do not diverge) of every variant, then one inference of every variant
(``torch.inference_mode``), the variants' order alternating from repeat to repeat; after one
warm-up repeat (none with ``--quick``, whose check ran the forwards), the median and the
min..max of the timed repeats are printed, per phase (backbone+neck, RPN: head, loss,
proposals; RoI: sampling, RoIAlign, head, loss or post-processing; backward; optimizer),
with the ratio mmssd / torchvision of the medians and the median of the per-repeat ratios
(robust to load drifting during the run).

    python benchmarks/bench_two_stage.py                  # 2 x 800x1088, 5 timed repeats
    python benchmarks/bench_two_stage.py --quick          # 2 x 128x192, checks, 1 repeat
    python benchmarks/bench_two_stage.py --profile        # + torch.profiler's top ops
    python benchmarks/bench_two_stage.py --parts          # + the parts (two_stage_parts)
    python benchmarks/bench_two_stage.py --variants mmssd torchvision torchvision_plain
"""
from __future__ import annotations

import argparse
import copy
import os
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import onednn_env  # noqa: F401  (sets oneDNN's cache size; must precede torch)
import torch
from torch import Tensor, nn
from torchvision.models.detection.image_list import ImageList

sys.path.insert(0, str(Path(__file__).resolve().parent))
import two_stage_models as tsm  # noqa: E402
from machine_peak import cpu_model  # noqa: E402
from two_stage_parts import run_parts  # noqa: E402

TRAIN_PHASES = ('backbone+neck', 'rpn', 'roi', 'backward', 'optimizer')
TEST_PHASES = ('backbone+neck', 'rpn', 'roi+post')
VARIANTS = ('mmssd', 'torchvision', 'torchvision_plain')


@dataclass
class Variant:
    """One model's training and inference copies, its inputs and measured times (s)."""

    name: str
    train_model: nn.Module
    test_model: nn.Module
    optimizer: torch.optim.Optimizer
    train_fn: Callable
    test_fn: Callable
    train_times: dict[str, list[float]] = field(
        default_factory=lambda: {p: [] for p in TRAIN_PHASES})
    test_times: dict[str, list[float]] = field(
        default_factory=lambda: {p: [] for p in TEST_PHASES})
    first_losses: dict[str, float] | None = None
    workload: dict[str, list[int]] = field(default_factory=dict)

    def totals(self, train: bool) -> list[float]:
        times = self.train_times if train else self.test_times
        return [sum(ts) for ts in zip(*times.values(), strict=True)]


# ------------------------------------------------------------------ the phased forwards
def mmssd_train(model: nn.Module, batch: tsm.Batch, marks: list[float]
                ) -> tuple[dict[str, Tensor], dict[str, list[int]]]:
    """``FasterRCNN.forward_train`` step by step (``marks`` gets a time after each part)."""
    img, metas, gt_bboxes, gt_labels = batch
    x = model.features(img)
    marks.append(time.perf_counter())
    proposal_cfg = model.train_cfg.get('rpn_proposal', model.test_cfg.get('rpn'))
    losses, proposals = model.rpn_head.forward_train(x, metas, gt_bboxes, None, None,
                                                     proposal_cfg=proposal_cfg)
    marks.append(time.perf_counter())
    losses.update(model.roi_head.forward_train(x, metas, proposals, gt_bboxes, gt_labels))
    marks.append(time.perf_counter())
    return losses, {'proposals (train)': [len(p) for p in proposals]}


def torchvision_train(model: nn.Module, batch: tsm.Batch, marks: list[float]
                      ) -> tuple[dict[str, Tensor], dict[str, list[int]]]:
    """``GeneralizedRCNN.forward`` in training mode step by step (identity transform)."""
    img, _, gt_bboxes, gt_labels = batch
    targets = tsm.torchvision_targets(gt_bboxes, gt_labels)
    images = ImageList(img, [tuple(img.shape[-2:])] * img.size(0))
    features = model.backbone(img)
    marks.append(time.perf_counter())
    proposals, losses = model.rpn(images, features, targets)
    marks.append(time.perf_counter())
    losses.update(model.roi_heads(features, proposals, images.image_sizes, targets)[1])
    marks.append(time.perf_counter())
    return losses, {'proposals (train)': [len(p) for p in proposals]}


def mmssd_test(model: nn.Module, batch: tsm.Batch, marks: list[float]
               ) -> tuple[list, dict[str, list[int]]]:
    """``TwoStageDetector.simple_test`` step by step: per image, per class numpy arrays."""
    img, metas = batch[:2]
    x = model.features(img)
    marks.append(time.perf_counter())
    proposals = model.rpn_head.simple_test_rpn(x, metas)
    marks.append(time.perf_counter())
    results = model.roi_head.simple_test(x, proposals, metas, rescale=True)
    marks.append(time.perf_counter())
    return results, {'proposals (test)': [len(p) for p in proposals],
                     'detections': [sum(len(a) for a in r) for r in results]}


def torchvision_test(model: nn.Module, batch: tsm.Batch, marks: list[float]
                     ) -> tuple[list, dict[str, list[int]]]:
    """``GeneralizedRCNN.forward`` in eval mode step by step: per image a dict of tensors."""
    img = batch[0]
    images = ImageList(img, [tuple(img.shape[-2:])] * img.size(0))
    features = model.backbone(img)
    marks.append(time.perf_counter())
    proposals, _ = model.rpn(images, features)
    marks.append(time.perf_counter())
    detections, _ = model.roi_heads(features, proposals, images.image_sizes)
    detections = model.transform.postprocess(detections, images.image_sizes,
                                             images.image_sizes)
    marks.append(time.perf_counter())
    return detections, {'proposals (test)': [len(p) for p in proposals],
                        'detections': [len(d['boxes']) for d in detections]}


def total_loss(losses: dict[str, Tensor]) -> Tensor:
    """Sum of the entries named ``loss*`` (mmssd also returns ``acc``)."""
    return sum(v for k, v in losses.items() if k.startswith('loss'))


# ------------------------------------------------------------------ variants and timing
def make_variants(names: list[str], batch: tsm.Batch) -> list[Variant]:
    """Every variant with the mmssd model's weights (and its own copy for inference)."""
    mm = tsm.build_mmssd()
    tsm.boost_classes(mm)
    variants = []
    for name in names:
        if name == 'mmssd':
            train_model = copy.deepcopy(mm)
            fns = (mmssd_train, mmssd_test)
        else:
            train_model = tsm.build_torchvision(plain=name == 'torchvision_plain')
            tsm.copy_weights(mm, train_model)
            fns = (torchvision_train, torchvision_test)
        test_model = copy.deepcopy(train_model)
        train_model.train()
        test_model.eval()
        params = [p for p in train_model.parameters() if p.requires_grad]
        optimizer = torch.optim.SGD(params, lr=1e-5, momentum=0.9, weight_decay=1e-4)
        variants.append(Variant(name, train_model, test_model, optimizer, *fns))
    return variants


def train_step(v: Variant, batch: tsm.Batch, record: bool) -> None:
    """One forward + backward + optimizer step of ``v``."""
    marks = [time.perf_counter()]
    losses, counts = v.train_fn(v.train_model, batch, marks)
    loss = total_loss(losses)
    loss.backward()
    marks.append(time.perf_counter())
    v.optimizer.step()
    v.optimizer.zero_grad(set_to_none=True)
    marks.append(time.perf_counter())
    if v.first_losses is None:
        v.first_losses = {k: float(val.detach()) for k, val in losses.items()}
    if not torch.isfinite(loss):
        raise AssertionError(f'{v.name}: loss is {float(loss)}')
    v.workload.update(counts)
    if record:
        for phase, start, end in zip(TRAIN_PHASES, marks[:-1], marks[1:], strict=True):
            v.train_times[phase].append(end - start)


def test_step(v: Variant, batch: tsm.Batch, record: bool) -> None:
    """One inference of ``v``."""
    marks = [time.perf_counter()]
    with torch.inference_mode():
        _, counts = v.test_fn(v.test_model, batch, marks)
    v.workload.update(counts)
    if record:
        for phase, start, end in zip(TEST_PHASES, marks[:-1], marks[1:], strict=True):
            v.test_times[phase].append(end - start)


def check_phased_paths(variants: list[Variant], batch: tsm.Batch) -> None:
    """The step-by-step forwards give what the models' own ``forward`` gives (same seed
    for the samplers): the benchmark times the real thing. Raises AssertionError."""
    img, metas, gt_bboxes, gt_labels = batch
    for v in variants:
        torch.manual_seed(1)
        if v.name == 'mmssd':
            want = v.train_model(img, metas, gt_bboxes=gt_bboxes, gt_labels=gt_labels,
                                 mode='loss')
        else:
            want = v.train_model(img, tsm.torchvision_targets(gt_bboxes, gt_labels))
        torch.manual_seed(1)
        got, _ = v.train_fn(v.train_model, batch, [])
        for key in want:
            torch.testing.assert_close(got[key], want[key], msg=f'{v.name} {key}')
        with torch.inference_mode():
            got_dets = v.test_fn(v.test_model, batch, [])[0]
            if v.name == 'mmssd':
                want_dets = v.test_model(img, metas, mode='predict')
                same = all(len(a) == len(b) and (a == b).all()
                           for r, s in zip(got_dets, want_dets, strict=True)
                           for a, b in zip(r, s, strict=True))
            else:
                want_dets = v.test_model(img)
                same = all(torch.equal(a['boxes'], b['boxes'])
                           for a, b in zip(got_dets, want_dets, strict=True))
        if not same:
            raise AssertionError(f'{v.name}: the phased inference differs from forward()')
    print('check: the phased training and inference paths equal the models\' forward()')


def fmt(times: list[float]) -> str:
    """``median [min..max]`` in seconds."""
    return f'{statistics.median(times):7.3f} [{min(times):.3f}..{max(times):.3f}]'


def report(variants: list[Variant], train: bool, repeats: int) -> None:
    """The table of one mode (training step or inference) and the mmssd/torchvision ratio."""
    phases = TRAIN_PHASES if train else TEST_PHASES
    print(f'\n-- {"training step" if train else "inference"}: seconds, median [min..max] of '
          f'{repeats} repeat(s)')
    print(f'{"variant":<18}{"total":>24}' + ''.join(f'{p:>15}' for p in phases))
    for v in variants:
        times = v.train_times if train else v.test_times
        print(f'{v.name:<18}{fmt(v.totals(train)):>24}' +
              ''.join(f'{statistics.median(times[p]):>15.3f}' for p in phases))
    by_name = {v.name: v for v in variants}
    if 'mmssd' in by_name and 'torchvision' in by_name:
        mm, tv = by_name['mmssd'], by_name['torchvision']
        mm_t, tv_t = mm.totals(train), tv.totals(train)
        paired = [a / b for a, b in zip(mm_t, tv_t, strict=True)]
        print(f'mmssd / torchvision: {statistics.median(mm_t) / statistics.median(tv_t):.3f} '
              f'(of the medians); per repeat {statistics.median(paired):.3f} '
              f'[{min(paired):.3f}..{max(paired):.3f}]   (< 1: mmssd faster)')
        mm_p = mm.train_times if train else mm.test_times
        tv_p = tv.train_times if train else tv.test_times
        print('  per phase: ' + ', '.join(
            f'{p} {statistics.median(mm_p[p]) / max(statistics.median(tv_p[p]), 1e-9):.2f}'
            for p in phases))


def profile(variants: list[Variant], batch: tsm.Batch, rows: int) -> None:
    """torch.profiler's top ops by self CPU time in one training step and one inference."""
    from torch.profiler import ProfilerActivity
    from torch.profiler import profile as prof

    for v in variants:
        for name, fn in (('training step', train_step), ('inference', test_step)):
            with prof(activities=[ProfilerActivity.CPU]) as p:
                fn(v, batch, record=False)
            print(f'\n-- profile: {v.name}, {name}, top {rows} ops by self CPU time')
            print(p.key_averages().table(sort_by='self_cpu_time_total', row_limit=rows,
                                         max_name_column_width=40))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--quick', action='store_true',
                        help='2 x 128x192, the phased-path check, no warm-up, 1 timed repeat')
    parser.add_argument('--repeats', type=int, default=None,
                        help='timed repeats after 1 warm-up; default 5 (quick: 1)')
    parser.add_argument('--batch-size', type=int, default=2)
    parser.add_argument('--height', type=int, default=None, help='default 800 (quick: 128)')
    parser.add_argument('--width', type=int, default=None, help='default 1088 (quick: 192)')
    parser.add_argument('--threads', type=int, default=2)
    parser.add_argument('--variants', nargs='+', default=['mmssd', 'torchvision'],
                        choices=VARIANTS)
    parser.add_argument('--check', action='store_true',
                        help='check the phased paths against forward() (on with --quick)')
    parser.add_argument('--profile', action='store_true',
                        help='after timing, print torch.profiler tables of one step each')
    parser.add_argument('--profile-rows', type=int, default=25)
    parser.add_argument('--parts', action='store_true',
                        help='after timing, time the non-convolution parts alone '
                        '(two_stage_parts; needs the mmssd and torchvision variants)')
    args = parser.parse_args()
    repeats = args.repeats or (1 if args.quick else 5)
    height = args.height or (128 if args.quick else 800)
    width = args.width or (192 if args.quick else 1088)
    torch.set_num_threads(args.threads)
    print(f'torch {torch.__version__}, {torch.get_num_threads()} threads, {cpu_model()}; '
          f'load average at start {os.getloadavg()[0]:.2f}')
    batch = tsm.synthetic_batch(args.batch_size, height, width)
    variants = make_variants(args.variants, batch)
    if args.quick or args.check:
        check_phased_paths(variants, batch)

    # warm-up repeats first (allocator, oneDNN primitives); --quick's check warmed up the
    # forwards already
    warmup = 0 if args.quick else 1
    loads = []
    for r in range(warmup + repeats):
        order = variants if r % 2 == 0 else variants[::-1]
        for v in order:
            train_step(v, batch, record=r >= warmup)
        for v in order:
            test_step(v, batch, record=r >= warmup)
        loads.append(os.getloadavg()[0])

    print(f'\n== Faster R-CNN R50-FPN: batch {args.batch_size} x 3x{height}x{width}, '
          f'{tsm.NUM_CLASSES} classes, ground-truth boxes per image '
          f'{[len(b) for b in batch[2]]}; {warmup} warm-up + {repeats} timed repeat(s), variants '
          'interleaved (order alternating)')
    for v in variants:
        print(f'{v.name}: ' + '; '.join(f'{k} {n}' for k, n in v.workload.items()) +
              '; losses at step 1: ' +
              ', '.join(f'{k} {val:.4f}' for k, val in v.first_losses.items()))
    report(variants, True, repeats)
    report(variants, False, repeats)
    print(f'\nload average (1 min) after each repeat: {", ".join(f"{x:.2f}" for x in loads)}')
    if args.parts:
        by_name = {v.name: v for v in variants}
        if not {'mmssd', 'torchvision'} <= set(by_name):
            raise ValueError('--parts needs --variants mmssd torchvision')
        run_parts(by_name['mmssd'].test_model, by_name['torchvision'].test_model, batch,
                  repeats)
    if args.profile:
        profile(variants, batch, args.profile_rows)


if __name__ == '__main__':
    main()
