"""Draw the images a detector does best and worst on.

``python tools/analysis_tools/analyze_results.py CONFIG RESULTS OUT_DIR [--topk 20]
[--show-score-thr 0.3] [--cfg-options ...]``

``RESULTS`` is a ``tools/test.py --out`` pickle or a COCO result json of ``data.test``.
Each image is scored by its own mAP (VOC-style AP per class, averaged over IoU
0.50:0.05:0.95, as mmdetection 2.x's ``analyze_results.py``; an image without ground truth
scores 1 without detections, else 0). The ``topk`` best go to ``OUT_DIR/good/`` and the
``topk`` worst to ``OUT_DIR/bad/``, as ``<image>_<mAP>.png`` with the ground truth in white
and the predictions in their class colours (the drawing of ``tools/test.py --show-dir
--show-gt``). Ties keep the dataset order.
"""
from __future__ import annotations

import argparse
import os
import os.path as osp

import mmcv
import numpy as np
from tqdm import tqdm

from mmssd.apis import load_config
from mmssd.datasets.builder import build_dataset
from mmssd.evaluation.offline_eval import image_map, load_results
from mmssd.utils import register_all_modules
from mmssd.utils.cfg_options import CfgOptionsAction
from mmssd.visualization import draw_gt_and_result


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Draw the best and worst test images')
    parser.add_argument('config', help='test config file')
    parser.add_argument('prediction_path', help='results .pkl (tools/test.py --out) or COCO '
                                                'result .json')
    parser.add_argument('show_dir', help='folder for good/ and bad/')
    parser.add_argument('--topk', type=int, default=20, help='images drawn in each folder')
    parser.add_argument('--show-score-thr', type=float, default=0.3,
                        help='smallest predicted score drawn')
    parser.add_argument('--cfg-options', nargs='+', action=CfgOptionsAction,
                        help='override config settings')
    args = parser.parse_args(argv)
    if args.topk < 1:
        parser.error(f'--topk must be at least 1, got {args.topk}')
    return args


def main(argv: list[str] | None = None) -> dict[str, list[tuple[str, float]]]:
    """Returns ``{'good': [(file, mAP), ...], 'bad': [...]}`` as drawn."""
    args = parse_args(argv)
    register_all_modules()
    cfg = load_config(args.config, args.cfg_options)
    dataset = build_dataset(dict(cfg.data.test, test_mode=True))
    results = load_results(args.prediction_path, dataset)
    anns = [dataset.get_ann_info(i) for i in range(len(dataset))]
    scores = np.array([image_map(r, a) for r, a in
                       tqdm(zip(results, anns, strict=True), total=len(results),
                            desc='per-image mAP')])
    order = np.argsort(-scores, kind='stable')
    classes = dataset.metainfo['classes']
    drawn: dict[str, list[tuple[str, float]]] = {}
    for folder, indices in (('good', order[:args.topk]),
                            ('bad', np.argsort(scores, kind='stable')[:args.topk])):
        os.makedirs(osp.join(args.show_dir, folder), exist_ok=True)
        drawn[folder] = []
        for i in indices:
            name = dataset.data_infos[i]['filename']
            path = osp.join(dataset.img_prefix or '', name)
            image = draw_gt_and_result(path, results[i], anns[i]['bboxes'], classes,
                                       args.show_score_thr)
            stem = osp.splitext(osp.basename(name))[0]
            mmcv.imwrite(image, osp.join(args.show_dir, folder, f'{stem}_{scores[i]:.3f}.png'))
            drawn[folder].append((name, float(scores[i])))
    print(f'mean per-image mAP {scores.mean():.3f} over {len(scores)} images; best '
          f'{scores[order[0]]:.3f}, worst {scores[order[-1]]:.3f}; drawn to {args.show_dir}/'
          'good and bad')
    return drawn


if __name__ == '__main__':
    main()
