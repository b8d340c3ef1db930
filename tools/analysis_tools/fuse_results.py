"""Fuse several models' COCO result jsons into one (ensembling), with ``ensemble-boxes``.

Usage::

    python tools/analysis_tools/fuse_results.py A.bbox.json B.bbox.json ... \
        --ann-file GT.json -o fused.bbox.json [--method wbf|nms|soft_nms] \
        [--weights 2 1 ...] [--iou-thr 0.55] [--skip-box-thr 0.0] [--conf-type avg] \
        [--soft-method linear|gaussian] [--sigma 0.5] [--min-score 0.001] \
        [--max-per-img 100]

The inputs are COCO result lists, e.g. from ``tools/test.py CONFIG CKPT --format-only
--eval-options jsonfile_prefix=A`` (writes ``A.bbox.json``); ``GT.json`` gives the image
sizes. Weighted boxes fusion (default) averages overlapping boxes of one class, weighted
by score and model weight; ``nms`` keeps the best instead (scores scaled by the
weights); ``soft_nms`` decays the scores of overlapping boxes as mmcv's ``soft_nms``. An
input may also be a submission CSV (``tools/misc/make_submission.py``), read back with
``GT.json``'s file names and categories. The output is a COCO result list again:
``tools/analysis_tools/eval_metric.py CONFIG fused.bbox.json --eval bbox`` scores it, and
it is the file a COCO-style submission takes.
"""
from __future__ import annotations

import argparse
import json
import os.path as osp

from mmssd.datasets.converters import write_json
from mmssd.evaluation.box_fusion import FUSION_METHODS, fuse_detections
from mmssd.evaluation.submission import read_submission


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Fuse COCO result jsons of several models')
    parser.add_argument('results', nargs='+',
                        help='COCO result jsons (or submission CSVs), one per model')
    parser.add_argument('--ann-file', required=True,
                        help='COCO ground-truth json of the images (for their sizes)')
    parser.add_argument('-o', '--out', required=True, help='fused COCO result json to write')
    parser.add_argument('--method', choices=FUSION_METHODS, default='wbf',
                        help='weighted boxes fusion, NMS or soft-NMS')
    parser.add_argument('--weights', type=float, nargs='+', help='one weight per model')
    parser.add_argument('--iou-thr', type=float, default=0.55,
                        help='boxes of a class overlapping more are fused or suppressed')
    parser.add_argument('--skip-box-thr', type=float, default=0.0,
                        help='WBF: drop input boxes scoring below this')
    parser.add_argument('--conf-type', default='avg',
                        choices=['avg', 'max', 'box_and_model_avg', 'absent_model_aware_avg'],
                        help="WBF: score of a fused box")
    parser.add_argument('--soft-method', default='linear',
                        choices=['linear', 'gaussian', 'naive'], help='soft-NMS: decay')
    parser.add_argument('--sigma', type=float, default=0.5, help='soft-NMS: gaussian width')
    parser.add_argument('--min-score', type=float, default=1e-3,
                        help='soft-NMS: drop boxes decayed below this')
    parser.add_argument('--max-per-img', type=int, default=100,
                        help='keep the best N per image (0: all)')
    return parser.parse_args(argv)


def _load(path: str, what: str):
    if not osp.isfile(path):
        raise SystemExit(f'{what} not found: {path}')
    with open(path) as f:
        return json.load(f)


def main(argv: list[str] | None = None) -> list[dict]:
    args = parse_args(argv)
    if len(args.results) < 2:
        raise SystemExit('give at least two result files to fuse')
    gt = _load(args.ann_file, 'annotation file')
    results = []
    for path in args.results:
        if path.lower().endswith('.csv'):
            if not osp.isfile(path):
                raise SystemExit(f'result file not found: {path}')
            try:
                results.append(read_submission(path, gt))
            except ValueError as error:
                raise SystemExit(str(error)) from None
            continue
        dets = _load(path, 'result file')
        if not isinstance(dets, list):
            raise SystemExit(f'{path} is not a COCO result list (a json list of detections)')
        results.append(dets)
    sizes = {int(img['id']): (float(img['width']), float(img['height']))
             for img in gt.get('images', [])}
    fused = fuse_detections(results, sizes, args.weights, args.method, args.iou_thr,
                            args.skip_box_thr, args.conf_type, args.max_per_img,
                            dict(method=args.soft_method, sigma=args.sigma,
                                 min_score=args.min_score))
    write_json(fused, args.out)
    counts = ', '.join(str(len(r)) for r in results)
    print(f'fused {len(results)} result files ({counts} boxes) by {args.method} into '
          f'{len(fused)} boxes: {args.out}')
    return fused


if __name__ == '__main__':
    main()
