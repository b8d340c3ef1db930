"""Inference of SSD300-VGG16 and the demo SSDLite on CPU, and SSD post-processing
(decode + class-aware NMS) against a plain per-image / per-class loop.

Part 1, end to end: images/s of ``model(img, img_metas, mode='predict')`` (backbone, neck,
head, decode, NMS, per-class numpy arrays) at batch 1 and 8 on random images, random
weights, interleaved variants:

- ``fp32``: under ``torch.inference_mode()``;
- ``no_grad``: fp32 under ``torch.no_grad()`` only (what ``inference_mode`` saves);
- ``channels_last``: fp32, model and images in ``torch.channels_last``;
- ``bf16``: under ``torch.autocast('cpu', torch.bfloat16)`` (decoding and NMS stay float32:
  the head casts its outputs).

Part 2, post-processing alone, SSD300 COCO head (8732 anchors, 80 classes, ``nms_pre=1000``,
``score_thr=0.02``, NMS IoU 0.45, ``max_per_img=200``) on synthetic head outputs whose
scores put several thousand (box, class) candidates per image above ``score_thr`` (the
count is printed), boxes scattered around the anchors so that NMS has work to do:

(a) ``SSDHead.get_bboxes``: batched softmax / top-k / decode, then ``multiclass_nms``
    (one ``batched_nms`` call per image);
(b) a plain per-image, per-level, per-class loop in this file (mmdetection 1.x style:
    softmax, top-k, decode per level, then ``torchvision.ops.nms`` per class, sort,
    truncate).

The run checks that (a) and (b) return the same detections before printing times.

    python benchmarks/bench_inference.py            # median of 5
    python benchmarks/bench_inference.py --quick    # batch 1 and 2, 2 repeats (smoke test)
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
from collections.abc import Callable
from pathlib import Path

import onednn_env  # noqa: F401  (sets oneDNN's cache size; must precede torch)
import torch
from torch import Tensor
from torchvision.ops import nms

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_models  # noqa: E402
from machine_peak import cpu_model  # noqa: E402

#: variant -> (grad mode context factory, bf16 autocast, channels_last)
VARIANTS: dict[str, tuple[Callable[[], contextlib.AbstractContextManager], bool, bool]] = {
    'fp32': (torch.inference_mode, False, False),
    'no_grad': (torch.no_grad, False, False),
    'channels_last': (torch.inference_mode, False, True),
    'bf16': (torch.inference_mode, True, False),
}
TEST_CFG = {'nms_pre': 1000, 'nms': {'type': 'nms', 'iou_threshold': 0.45}, 'min_bbox_size': 0,
            'score_thr': 0.02, 'max_per_img': 200}


# --------------------------------------------------------------------------- part 1
def time_predict(model: torch.nn.Module, img: Tensor, metas: list[dict], variant: str) -> float:
    """Seconds for one ``mode='predict'`` call of ``model`` on ``img (B, 3, H, W)``."""
    grad_mode, bf16, _ = VARIANTS[variant]
    autocast = torch.autocast('cpu', dtype=torch.bfloat16) if bf16 else contextlib.nullcontext()
    start = time.perf_counter()
    with grad_mode(), autocast:
        results = model(img, metas, mode='predict')
    elapsed = time.perf_counter() - start
    assert len(results) == img.size(0)
    return elapsed


def end_to_end(name: str, batch_sizes: list[int], repeats: int) -> None:
    """Images/s of each variant of model ``name`` at each batch size."""
    model, _ = bench_models.build_detector(name)
    model.eval()
    size = bench_models.input_size(name)
    models = {}
    for variant, (_, _, channels_last) in VARIANTS.items():
        m = copy.deepcopy(model)
        models[variant] = m.to(memory_format=torch.channels_last) if channels_last else m
    print(f'\n== {name}: end to end (forward + decode + NMS + numpy), 3x{size}x{size}, '
          f'median of {repeats} (after 1 warm-up)')
    print(f'{"batch":>5}' + ''.join(f'{v + " img/s":>20}' for v in VARIANTS) +
          ''.join(f'{v + "/fp32":>20}' for v in list(VARIANTS)[1:]))
    for batch_size in batch_sizes:
        img, metas, _, _ = bench_models.synthetic_batch(batch_size, size, 1)
        inputs = {v: img.contiguous(memory_format=torch.channels_last) if VARIANTS[v][2] else img
                  for v in VARIANTS}
        times: dict[str, list[float]] = {v: [] for v in VARIANTS}
        for i in range(repeats + 1):
            for v in VARIANTS:
                t = time_predict(models[v], inputs[v], metas, v)
                if i:
                    times[v].append(t)
        rate = {v: batch_size / statistics.median(ts) for v, ts in times.items()}
        print(f'{batch_size:>5}' + ''.join(f'{rate[v]:>20.2f}' for v in VARIANTS) +
              ''.join(f'{rate[v] / rate["fp32"]:>19.2f}x' for v in list(VARIANTS)[1:]))


# --------------------------------------------------------------------------- part 2
def synthetic_head_outputs(head: torch.nn.Module, batch_size: int,
                           seed: int = 0) -> tuple[list[Tensor], list[Tensor]]:
    """SSD300 (300x300 input) head outputs: per level ``(B, A_l * (C + 1), H_l, W_l)``
    logits and ``(B, A_l * 4, H_l, W_l)`` deltas.

    Background logit ~ N(8, 1); foreground ~ N(0, 1.5) with one in 20 anchors seeing a
    random class raised by 5 (an object), so each image has a few thousand (box, class)
    pairs above 0.02; deltas ~ N(0, 0.5), boxes near their (overlapping) anchors.
    """
    g = torch.Generator().manual_seed(seed)
    size = 300
    strides = [s[0] if isinstance(s, (tuple, list)) else s for s in head.prior_generator.strides]
    cls_scores, bbox_preds = [], []
    for stride, num_priors in zip(strides, head.num_base_priors, strict=True):
        side = math.ceil(size / stride)  # 38, 19, 10, 5, 3, 1
        c = head.cls_out_channels
        logits = torch.randn(batch_size, side, side, num_priors, c, generator=g) * 1.5
        logits[..., -1] = 8 + torch.randn(batch_size, side, side, num_priors, generator=g)
        objects = torch.rand(batch_size, side, side, num_priors, generator=g) < 0.05
        cls = torch.randint(0, c - 1, objects.shape, generator=g)
        logits.scatter_add_(-1, cls[..., None], 5.0 * objects[..., None].float())
        cls_scores.append(logits.reshape(batch_size, side, side, -1).permute(0, 3, 1, 2))
        deltas = torch.randn(batch_size, side, side, num_priors * 4, generator=g) * 0.5
        bbox_preds.append(deltas.permute(0, 3, 1, 2))
    return cls_scores, bbox_preds


def per_class_postprocess(head: torch.nn.Module, cls_scores: list[Tensor],
                          bbox_preds: list[Tensor], metas: list[dict],
                          cfg: dict) -> list[tuple[Tensor, Tensor]]:
    """(b): per image, per level softmax / top-k / decode, then ``nms`` class by class.

    Returns per image ``(dets (k, 5), labels (k,))`` sorted by score.
    """
    featmap_sizes = [s.shape[-2:] for s in cls_scores]
    mlvl_anchors = head.get_anchors(featmap_sizes)
    num_classes = head.num_classes
    out = []
    for i, meta in enumerate(metas):
        boxes_all, scores_all = [], []
        for cls, reg, anchors in zip(cls_scores, bbox_preds, mlvl_anchors, strict=True):
            scores = cls[i].permute(1, 2, 0).reshape(-1, num_classes + 1).softmax(-1)
            deltas = reg[i].permute(1, 2, 0).reshape(-1, 4)
            if 0 < cfg['nms_pre'] < scores.size(0):
                top = scores[:, :-1].max(dim=1).values.topk(cfg['nms_pre']).indices
                scores, deltas, anchors = scores[top], deltas[top], anchors[top]
            boxes_all.append(head.bbox_coder.decode(anchors, deltas,
                                                    max_shape=meta['img_shape'][:2]))
            scores_all.append(scores)
        boxes = torch.cat(boxes_all) / float(meta['scale_factor'])
        scores = torch.cat(scores_all)
        dets, labels = [], []
        for c in range(num_classes):
            keep_mask = scores[:, c] > cfg['score_thr']
            if not keep_mask.any():
                continue
            class_boxes, class_scores = boxes[keep_mask], scores[keep_mask, c]
            keep = nms(class_boxes, class_scores, cfg['nms']['iou_threshold'])
            dets.append(torch.cat([class_boxes[keep], class_scores[keep, None]], dim=1))
            labels.append(torch.full((len(keep),), c, dtype=torch.long))
        if not dets:
            out.append((torch.zeros(0, 5), torch.zeros(0, dtype=torch.long)))
            continue
        dets_t, labels_t = torch.cat(dets), torch.cat(labels)
        order = dets_t[:, 4].argsort(descending=True)[:cfg['max_per_img']]
        out.append((dets_t[order], labels_t[order]))
    return out


def check_same(got: list[tuple[Tensor, Tensor]], want: list[tuple[Tensor, Tensor]]) -> None:
    """Same detections per image (compared as sets: sorted by label, then score)."""
    for (dets_a, labels_a), (dets_b, labels_b) in zip(got, want, strict=True):
        assert len(dets_a) == len(dets_b), f'{len(dets_a)} vs {len(dets_b)} detections'
        key_a = (labels_a.double() * 10 - dets_a[:, 4].double()).argsort()
        key_b = (labels_b.double() * 10 - dets_b[:, 4].double()).argsort()
        torch.testing.assert_close(dets_a[key_a], dets_b[key_b])
        assert torch.equal(labels_a[key_a], labels_b[key_b])


def postprocess(batch_size: int, repeats: int) -> None:
    """Part 2: ms per image of (a) ``SSDHead.get_bboxes`` and (b) the per-class loop."""
    model, _ = bench_models.build_detector('ssd300')
    head = model.bbox_head
    cls_scores, bbox_preds = synthetic_head_outputs(head, batch_size)
    metas = bench_models.synthetic_batch(batch_size, 300, 1)[1]
    cfg = dict(TEST_CFG)

    def run_batched() -> list[tuple[Tensor, Tensor]]:
        return head.get_bboxes(cls_scores, bbox_preds, metas, cfg=cfg, rescale=True)

    def run_per_class() -> list[tuple[Tensor, Tensor]]:
        return per_class_postprocess(head, cls_scores, bbox_preds, metas, cfg)

    times: dict[str, list[float]] = {'a': [], 'b': []}
    results = {}
    with torch.inference_mode():
        candidates = count_candidates(head, cls_scores, cfg)
        for i in range(repeats + 1):
            for key, fn in (('a', run_batched), ('b', run_per_class)):
                start = time.perf_counter()
                results[key] = fn()
                if i:
                    times[key].append(time.perf_counter() - start)
    check_same(results['a'], results['b'])
    ms = {k: statistics.median(ts) * 1e3 / batch_size for k, ts in times.items()}
    kept = [len(d) for d, _ in results['a']]
    print(f'\n== post-processing, SSD300 COCO head, batch {batch_size}, median of {repeats}: '
          f'nms_pre {cfg["nms_pre"]}, score_thr {cfg["score_thr"]}, '
          f'{head.num_classes} classes')
    print(f'(box, class) candidates above score_thr per image: {min(candidates)}..'
          f'{max(candidates)}; kept after NMS (max {cfg["max_per_img"]}): '
          f'{min(kept)}..{max(kept)}; (a) and (b) gave the same detections')
    print(f'(a) SSDHead.get_bboxes (batched decode, multiclass_nms): {ms["a"]:7.2f} ms/image')
    print(f'(b) per-image, per-class loop                          : {ms["b"]:7.2f} ms/image')
    print(f'speed-up (b) / (a)                                     : {ms["b"] / ms["a"]:7.2f}x'
          f'   (target: (a) <= 5 ms/image)')


def count_candidates(head: torch.nn.Module, cls_scores: list[Tensor], cfg: dict) -> list[int]:
    """Per image, the (anchor, class) pairs among the top ``nms_pre`` per level that
    score above ``score_thr``."""
    counts = torch.zeros(cls_scores[0].size(0), dtype=torch.long)
    for cls in cls_scores:
        scores = cls.permute(0, 2, 3, 1).reshape(cls.size(0), -1, head.cls_out_channels)
        scores = scores.softmax(-1)[..., :-1]
        if 0 < cfg['nms_pre'] < scores.size(1):
            top = scores.max(-1).values.topk(cfg['nms_pre'], dim=1).indices
            scores = scores.gather(1, top[..., None].expand(-1, -1, scores.size(-1)))
        counts += (scores > cfg['score_thr']).sum(dim=(1, 2))
    return counts.tolist()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--quick', action='store_true', help='batches 1 and 2, 2 repeats')
    parser.add_argument('--repeats', type=int, default=None, help='default 5 (quick: 2)')
    parser.add_argument('--threads', type=int, default=2)
    parser.add_argument('--models', nargs='+', default=bench_models.DEFAULT_MODELS,
                        choices=list(bench_models.MODEL_CONFIGS))
    parser.add_argument('--skip-end-to-end', action='store_true', help='part 2 only')
    args = parser.parse_args()
    repeats = args.repeats or (2 if args.quick else 5)
    batch_sizes = [1, 2] if args.quick else [1, 8]
    torch.set_num_threads(args.threads)
    print(f'torch {torch.__version__}, {torch.get_num_threads()} threads, {cpu_model()}; '
          f'load average at start {os.getloadavg()[0]:.2f}')
    postprocess(batch_sizes[-1], repeats)
    if not args.skip_end_to_end:
        for name in args.models:
            end_to_end(name, batch_sizes, repeats)
    print(f'load average at end {os.getloadavg()[0]:.2f}')


if __name__ == '__main__':
    main()
