"""Export an SSD detector to ONNX and check it against PyTorch with onnxruntime.

``python tools/deployment/pytorch2onnx.py CONFIG CHECKPOINT --output-file ssd.onnx
[--shape 300 300] [--input-img IMG] [--dynamic-export] [--verify] [--atol 1e-3]``

The graph (:class:`mmssd.deployment.SSDOnnxModel`) takes the normalized image
``img (B, 3, H, W)``, as the test pipeline makes it, and returns, for every anchor,
``boxes (B, N, 4)`` (decoded, clipped, in network-input pixels) and ``scores (B, N, C+1)``
(softmax, background last). **NMS is a post-step**, not in the graph: per-level top-k
(``nms_pre``), rescaling to the original image, the score threshold and per-class NMS are
done by :func:`mmssd.deployment.postprocess_detections` with the head's ``test_cfg``; the
model's metadata (``num_level_anchors``, ``test_cfg``, ``classes``, ``input_shape``)
holds what it needs. ``--dynamic-export`` makes the batch axis dynamic; the input size is
fixed (SSD's anchors are laid out for it). ``--verify`` runs onnxruntime on the input
image (and, with ``--dynamic-export``, on a batch of two) and compares its boxes and
scores, before and after the post-step, with the PyTorch model's.
"""
from __future__ import annotations

import argparse
import json
import os.path as osp
import warnings

import numpy as np
import torch

from mmssd.apis import init_detector
from mmssd.apis.inference import build_test_pipeline, load_image
from mmssd.datasets.collate import detection_collate
from mmssd.deployment import SSDOnnxModel, postprocess_detections
from mmssd.models.detectors import SingleStageDetector
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
                        help="input size H W (default: the test pipeline's)")
    parser.add_argument('--input-img', default=DEFAULT_IMG, help='image used for checking')
    parser.add_argument('--opset-version', type=int, default=17, help='ONNX opset')
    parser.add_argument('--dynamic-export', action='store_true', help='dynamic batch axis')
    parser.add_argument('--verify', action='store_true',
                        help='compare onnxruntime with PyTorch on the input image')
    parser.add_argument('--atol', type=float, default=1e-3,
                        help='largest absolute difference --verify accepts')
    parser.add_argument('--cfg-options', nargs='+', action=CfgOptionsAction,
                        help='override config settings')
    args = parser.parse_args(argv)
    if args.shape is not None and len(args.shape) == 1:
        args.shape = [args.shape[0], args.shape[0]]
    if args.shape is not None and len(args.shape) != 2:
        parser.error('--shape takes one or two numbers')
    return args


def preprocess(model: torch.nn.Module, img_path: str) -> tuple[torch.Tensor, dict]:
    """The test pipeline's ``img (1, 3, H, W)`` and meta dict for ``img_path``."""
    batch = detection_collate([build_test_pipeline(model.cfg)(load_image(img_path))])
    img, metas = batch['img'], batch['img_metas']
    if isinstance(img, list):  # a test-time-augmented pipeline: its first augmentation
        img, metas = img[0], metas[0]
    return img, metas[0]


def add_metadata(path: str, metadata: dict) -> None:
    """Store ``metadata`` (values as JSON) in the ONNX model's ``metadata_props``."""
    import onnx

    proto = onnx.load(path)
    for key, value in metadata.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, json.dumps(value)
    onnx.save(proto, path)


def export(model: torch.nn.Module, img: torch.Tensor, output_file: str, opset_version: int,
           dynamic: bool) -> SSDOnnxModel:
    """Trace ``SSDOnnxModel(model)`` on ``img`` and write ``output_file``."""
    wrapper = SSDOnnxModel(model, tuple(img.shape[-2:])).eval()
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')  # legacy-exporter deprecation and tracer notes
        torch.onnx.export(wrapper, (img,), output_file, dynamo=False,
                          opset_version=opset_version, input_names=['img'],
                          output_names=['boxes', 'scores'], do_constant_folding=True,
                          dynamic_axes=({'img': {0: 'batch'}, 'boxes': {0: 'batch'},
                                         'scores': {0: 'batch'}} if dynamic else None))
    test_cfg = dict(model.bbox_head.test_cfg)
    add_metadata(output_file, dict(num_level_anchors=wrapper.num_level_anchors,
                                   test_cfg=test_cfg, classes=list(model.CLASSES),
                                   input_shape=list(wrapper.input_shape)))
    return wrapper


def max_detection_diff(expected: list[np.ndarray], actual: list[np.ndarray]) -> dict:
    """Largest box / score differences of two per-class detection lists (same counts)."""
    counts = ([len(d) for d in expected], [len(d) for d in actual])
    if counts[0] != counts[1]:
        return dict(same_counts=False, counts=counts, boxes=float('inf'), scores=float('inf'))
    box_diff = max((float(np.abs(e[:, :4] - a[:, :4]).max()) for e, a in
                    zip(expected, actual, strict=True) if len(e)), default=0.0)
    score_diff = max((float(np.abs(e[:, 4] - a[:, 4]).max()) for e, a in
                      zip(expected, actual, strict=True) if len(e)), default=0.0)
    return dict(same_counts=True, counts=counts, boxes=box_diff, scores=score_diff)


def verify(model: torch.nn.Module, wrapper: SSDOnnxModel, output_file: str, img: torch.Tensor,
           meta: dict, batch: int) -> dict:
    """Run onnxruntime and PyTorch on ``img`` (repeated, flipped copies for ``batch > 1``).

    Returns the largest absolute differences of the raw ``boxes`` / ``scores`` and of the
    post-processed detections, and how many detections PyTorch made.
    """
    import onnxruntime as ort

    images = torch.cat([img if i % 2 == 0 else img.flip(-1) for i in range(batch)])
    session = ort.InferenceSession(output_file, providers=['CPUExecutionProvider'])
    ort_boxes, ort_scores = session.run(None, {'img': images.numpy()})
    with torch.no_grad():
        pt_boxes, pt_scores = wrapper(images)
        pt_dets = model.simple_test(images, [meta] * batch, rescale=True)
    scale = np.stack([np.asarray(meta['scale_factor'], np.float32)] * batch)
    ort_dets = postprocess_detections(ort_boxes, ort_scores, wrapper.num_level_anchors,
                                      model.bbox_head.test_cfg, scale)
    per_image = [max_detection_diff(e, a) for e, a in zip(pt_dets, ort_dets, strict=True)]
    return dict(
        raw_boxes=float(np.abs(ort_boxes - pt_boxes.numpy()).max()),
        raw_scores=float(np.abs(ort_scores - pt_scores.numpy()).max()),
        same_counts=all(d['same_counts'] for d in per_image),
        det_boxes=max(d['boxes'] for d in per_image),
        det_scores=max(d['scores'] for d in per_image),
        num_dets=sum(len(r) for dets in pt_dets for r in dets))


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    model = init_detector(args.config, args.checkpoint, device='cpu',
                          cfg_options=args.cfg_options)
    if not isinstance(model, SingleStageDetector):
        raise SystemExit(f'{args.config}: ONNX export supports single-stage detectors (SSD, '
                         f'RetinaNet); this config builds a {type(model).__name__}')
    img, meta = preprocess(model, args.input_img)
    if args.shape is not None and list(img.shape[-2:]) != list(args.shape):
        raise SystemExit(f"--shape {args.shape} differs from the test pipeline's input "
                         f'{list(img.shape[-2:])}; SSD anchors are laid out for that size '
                         '(change the config\'s img_scale instead)')
    wrapper = export(model, img, args.output_file, args.opset_version, args.dynamic_export)
    print(f'saved {args.output_file}: img (B, 3, {img.shape[2]}, {img.shape[3]}) -> '
          f'boxes (B, {sum(wrapper.num_level_anchors)}, 4), '
          f'scores (B, {sum(wrapper.num_level_anchors)}, {model.bbox_head.cls_out_channels})'
          + ('; batch axis dynamic' if args.dynamic_export else ''))
    report: dict = {}
    if args.verify:
        for batch in ([1, 2] if args.dynamic_export else [1]):
            diffs = verify(model, wrapper, args.output_file, img, meta, batch)
            report[batch] = diffs
            print(f'verify (batch {batch}): max |onnxruntime - pytorch| raw boxes '
                  f"{diffs['raw_boxes']:.2e} px, raw scores {diffs['raw_scores']:.2e}; "
                  f"after NMS ({diffs['num_dets']} detections): boxes {diffs['det_boxes']:.2e}"
                  f" px, scores {diffs['det_scores']:.2e}")
            worst = max(diffs['raw_boxes'], diffs['raw_scores'], diffs['det_boxes'],
                        diffs['det_scores'])
            if not diffs['same_counts'] or worst > args.atol:
                raise SystemExit(f'verification failed: differences above {args.atol} or '
                                 f'different detections: {diffs}')
        print(f'verified: onnxruntime matches pytorch within {args.atol}')
    return report


if __name__ == '__main__':
    main()
