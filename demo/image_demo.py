"""Detect objects in one image and save it with the boxes drawn.

``python demo/image_demo.py IMG CONFIG CHECKPOINT [--out-file F] [--score-thr T] [--device D]
[--slice SIZE [--overlap 0.2] [--max-per-img N]] [--cfg-options KEY=VALUE ...]``

Each class has its own colour; every box carries a ``name|score`` label on a filled
background. Without ``--out-file`` the result is shown in a matplotlib window.
Example on the shipped image (``demo/demo.jpg``, from the demo shapes dataset)::

    python demo/image_demo.py demo/demo.jpg configs/demo/ssdlite_mobilenetv2_demo.py \
        work_dirs/demo/latest.pth --out-file demo_result.png

``--slice 512 --overlap 0.2`` detects in overlapping 512 px tiles at their own scale and
merges the tiles' boxes by per-class NMS (:mod:`mmssd.apis.sliced_inference`): for images
much larger than the model's input, whose small objects would vanish when the whole image
is resized to it. Each tile keeps the config's ``test_cfg.max_per_img``; the whole image
keeps every merged box unless ``--max-per-img`` caps it. ``--cfg-options`` changes the
config as in ``tools/test.py`` (``model.test_cfg.rcnn.max_per_img=300``,
``model.test_cfg.rcnn.nms.type=soft_nms``).
"""
from __future__ import annotations

import argparse

import numpy as np

from mmssd.apis import inference_detector, init_detector, show_result_pyplot
from mmssd.apis.sliced_inference import inference_detector_sliced
from mmssd.utils.cfg_options import CfgOptionsAction


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Detect objects in an image')
    parser.add_argument('img', help='image file')
    parser.add_argument('config', help='config file')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--out-file', default=None, help='save the drawn image here')
    parser.add_argument('--device', default='cpu', help='device, e.g. cpu or cuda:0')
    parser.add_argument('--score-thr', type=float, default=0.3, help='smallest score drawn')
    parser.add_argument('--slice', type=int, default=None, metavar='SIZE',
                        help='detect in SIZE x SIZE tiles (sliced inference for large images)')
    parser.add_argument('--overlap', type=float, default=0.2,
                        help='with --slice: fraction of a tile shared with its neighbour')
    parser.add_argument('--max-per-img', type=int, default=None,
                        help='with --slice: boxes kept for the whole image (default: all)')
    parser.add_argument('--cfg-options', nargs='+', action=CfgOptionsAction,
                        help='override config settings, KEY=VALUE (as tools/test.py)')
    args = parser.parse_args(argv)
    if args.slice is not None and args.slice < 1:
        parser.error(f'--slice must be a positive tile size in px, got {args.slice}')
    if not 0 <= args.overlap < 1:
        parser.error(f'--overlap must be in [0, 1), got {args.overlap}')
    return args


def main(argv: list[str] | None = None) -> list[np.ndarray]:
    """Run the demo; returns the detections (per class, ``(n, 5)`` arrays)."""
    args = parse_args(argv)
    model = init_detector(args.config, args.checkpoint, device=args.device,
                          cfg_options=args.cfg_options)
    if args.slice:
        result = inference_detector_sliced(model, args.img, args.slice, args.overlap,
                                           max_per_img=args.max_per_img)
    else:
        result = inference_detector(model, args.img)
    show_result_pyplot(model, args.img, result, score_thr=args.score_thr,
                       out_file=args.out_file, show=args.out_file is None)
    kept = sum(int((r[:, 4] >= args.score_thr).sum()) for r in result)
    print(f'{kept} detections with score >= {args.score_thr}'
          + (f'; saved to {args.out_file}' if args.out_file else ''))
    return result


if __name__ == '__main__':
    main()
