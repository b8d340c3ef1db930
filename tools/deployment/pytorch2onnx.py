"""Export a detector to ONNX (NMS and RoI extraction in the graph) and verify it.

``python tools/deployment/pytorch2onnx.py CONFIG [CHECKPOINT] --output-file M.onnx
[--shape H W] [--input-img IMG] [--dynamic-export] [--opset 17] [--verify] [--simplify]``

Every detector exports: single-stage (SSD, SSDLite, RetinaNet, ...), RPN and two-stage
(Faster R-CNN, Cascade R-CNN). The graph (:mod:`mmssd.deployment`) takes ``img (B, 3, H,
W)``, normalized and padded as the test pipeline makes it, and ``img_shape (B, 2)`` ``[h,
w]`` of each image inside the padding; it returns ``dets (B, M, 5)`` ``[x1, y1, x2, y2,
score]`` in network-input pixels and ``labels (B, M)``, ``M = max_per_img``, padded with
zero rows (an image's detections are its rows with a score above 0). Only standard ONNX
operators (``NonMaxSuppression``, ``RoiAlign``, ...); opset 17 by default (16 at least for
R-CNN's aligned ``RoiAlign``, 11 for ``NonMaxSuppression``). ``--dynamic-export``: batch,
height and width dynamic; else the graph is for one input size (``--shape``, default the
test pipeline's output for ``--input-img``), which must be a multiple of the pipeline's
``Pad`` ``size_divisor``. ``--verify``: onnxruntime against PyTorch on the input image
(and, with ``--dynamic-export``, on a padded batch of it and a smaller crop): labels equal,
boxes within 1e-2 px, scores within 1e-4, ties at the ``max_per_img`` cut tolerated.
"""
from __future__ import annotations

import argparse
import os
import os.path as osp

import numpy as np
import torch
import torch.nn.functional as F
from mmengine.config import Config

from mmssd.apis import init_detector
from mmssd.apis.inference import build_test_pipeline, load_image
from mmssd.datasets.collate import detection_collate
from mmssd.deployment import ExportError
from mmssd.deployment.export import DEFAULT_OPSET, export_onnx
from mmssd.deployment.verify import verify_onnx
from mmssd.models.detectors import RPN
from mmssd.utils.cfg_options import CfgOptionsAction

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DEFAULT_IMG = osp.join(REPO, 'demo', 'demo.jpg')


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Export a detector to ONNX')
    parser.add_argument('config', help='config file')
    parser.add_argument('checkpoint', nargs='?', default=None,
                        help='checkpoint file (omit to export the initial weights)')
    parser.add_argument('--output-file', default='tmp.onnx', help='ONNX file to write')
    parser.add_argument('--shape', type=int, nargs='+', default=None,
                        help="static input size H W (default: the test pipeline's output)")
    parser.add_argument('--input-img', default=DEFAULT_IMG, help='image used for checking')
    parser.add_argument('--opset', '--opset-version', dest='opset', type=int,
                        default=DEFAULT_OPSET, help=f'ONNX opset (default {DEFAULT_OPSET})')
    parser.add_argument('--dynamic-export', action='store_true',
                        help='dynamic batch, height and width')
    parser.add_argument('--verify', action='store_true',
                        help='compare onnxruntime with PyTorch on the input image')
    parser.add_argument('--simplify', action='store_true',
                        help='simplify the graph with onnxsim (pip install onnxsim)')
    parser.add_argument('--cfg-options', nargs='+', action=CfgOptionsAction,
                        help='override config settings')
    args = parser.parse_args(argv)
    if args.shape is not None and len(args.shape) == 1:
        args.shape = [args.shape[0], args.shape[0]]
    if args.shape is not None and len(args.shape) != 2:
        parser.error('--shape takes one or two numbers')
    return args


def pipeline_size_divisor(steps: list) -> int:
    """The ``size_divisor`` of the test pipeline's ``Pad`` (searching wrappers), or 1."""
    for step in steps:
        if step.get('type') == 'Pad' and step.get('size_divisor'):
            return int(step['size_divisor'])
        inner = pipeline_size_divisor(list(step.get('transforms') or []))
        if inner > 1:
            return inner
    return 1


def preprocess(model: torch.nn.Module, images: list) -> tuple[torch.Tensor, list[dict]]:
    """The test pipeline's padded batch ``img (B, 3, H, W)`` and metas of ``images``."""
    pipeline = build_test_pipeline(model.cfg)
    batch = detection_collate([pipeline(load_image(image)) for image in images])
    img, metas = batch['img'], batch['img_metas']
    if isinstance(img, list):  # a test-time-augmented pipeline: its first augmentation
        img, metas = img[0], metas[0]
    return img, list(metas)


def check_divisible(shape: list[int], divisor: int) -> None:
    """Refuse a static ``--shape`` that is not a multiple of the model's stride."""
    if shape[0] % divisor or shape[1] % divisor:
        raise SystemExit(f'--shape {shape[0]} {shape[1]} is not divisible by the model\'s '
                         f'stride {divisor} (the test pipeline\'s Pad size_divisor); use '
                         f'{-(-shape[0] // divisor) * divisor} {-(-shape[1] // divisor) * divisor}'
                         ' or --dynamic-export')


def static_input(img: torch.Tensor, shape: list[int]) -> torch.Tensor:
    """``img (1, 3, h, w)`` zero-padded to ``shape`` ``[H, W]``."""
    if img.shape[2] > shape[0] or img.shape[3] > shape[1]:
        raise SystemExit(f'the test pipeline makes a {img.shape[2]}x{img.shape[3]} input of '
                         f'the image, larger than --shape {shape[0]} {shape[1]}; give a '
                         'larger --shape or use --dynamic-export')
    return F.pad(img, (0, shape[1] - img.shape[3], 0, shape[0] - img.shape[2]))


def shapes_of(metas: list[dict]) -> torch.Tensor:
    """``(B, 2)`` float ``[h, w]`` of the metas' ``img_shape``."""
    return torch.tensor([[float(s) for s in m['img_shape'][:2]] for m in metas])


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    if not osp.isfile(args.config):
        raise SystemExit(f'config file {args.config} does not exist')
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    divisor = pipeline_size_divisor(list(cfg.data.test.pipeline))
    if args.shape is not None:
        check_divisible(args.shape, divisor)
    model = init_detector(cfg, args.checkpoint, device='cpu')
    img, metas = preprocess(model, [args.input_img])
    if args.shape is not None:
        img = static_input(img, args.shape)
    metadata = dict(classes=list(model.CLASSES), input_shape=list(img.shape[2:]),
                    is_rpn=isinstance(model, RPN), config=osp.basename(args.config))
    os.makedirs(osp.dirname(osp.abspath(args.output_file)), exist_ok=True)
    try:
        export_onnx(model, img, shapes_of(metas), args.output_file, args.opset,
                    args.dynamic_export, metadata)
    except ExportError as err:
        raise SystemExit(f'{args.config}: {err}') from None
    if args.simplify:
        simplify(args.output_file)
    print(f'saved {args.output_file}: img (B, 3, H, W), img_shape (B, 2) -> dets (B, M, 5), '
          f'labels (B, M); opset {args.opset}; '
          + ('batch, height and width dynamic' if args.dynamic_export
             else f'static {img.shape[2]}x{img.shape[3]}, batch 1'))
    report: dict = {}
    if args.verify:
        batches = {1: (img, metas)}
        if args.dynamic_export:  # the image and a smaller crop of it, in one padded batch
            array = load_image(args.input_img)['img']
            h, w = array.shape[:2]
            crop = np.ascontiguousarray(array[: h * 3 // 4, w // 8:])
            batches[2] = preprocess(model, [args.input_img, crop])
        for size, (batch_img, batch_metas) in batches.items():
            diffs = verify_onnx(model, args.output_file, batch_img, batch_metas)
            report[size] = diffs
            print(f'verify (batch {size}, {tuple(batch_img.shape)}): {diffs["paired"]} of '
                  f'{diffs["num_dets"]} detections paired; max |onnxruntime - pytorch| boxes '
                  f'{diffs["box_diff"]:.2e} px, scores {diffs["score_diff"]:.2e}')
            if not diffs['ok']:
                unpaired = [(r['unpaired_expected'][:3], r['unpaired_actual'][:3])
                            for r in diffs['images']]
                raise SystemExit(f'verification failed (batch {size}): detections without a '
                                 f'match beyond the tolerances: {unpaired}')
        print('verified: onnxruntime gives the same detections as pytorch')
    return report


def simplify(path: str) -> None:
    """Rewrite ``path`` with onnxsim's simplified graph."""
    try:
        import onnx
        import onnxsim
    except ImportError:
        raise SystemExit('--simplify needs onnxsim: pip install onnxsim') from None
    model, ok = onnxsim.simplify(onnx.load(path))
    if not ok:
        raise SystemExit(f'onnxsim could not check the simplified graph of {path}')
    onnx.save(model, path)


if __name__ == '__main__':
    main()
