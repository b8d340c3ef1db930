"""Plot the confusion matrix of a detector's test results.

``python tools/analysis_tools/confusion_matrix.py CONFIG RESULTS.pkl SAVE_DIR
[--score-thr 0.3] [--tp-iou-thr 0.5] [--color-theme Blues] [--show] [--cfg-options ...]``

``RESULTS.pkl`` is what ``tools/test.py CONFIG CKPT --out RESULTS.pkl`` writes; ground
truth comes from the config's test set. Rows are ground-truth classes, columns predicted
classes, the last row/column the background (a false positive / a missed object); each
row is shown in percent of its total. Writes ``SAVE_DIR/confusion_matrix.png`` (and
prints the counts).
"""
from __future__ import annotations

import argparse
import os
import os.path as osp
import pickle
from collections.abc import Sequence

import numpy as np
from tqdm import tqdm

from mmssd.apis import load_config
from mmssd.datasets.builder import build_dataset
from mmssd.evaluation import detection_confusion_matrix
from mmssd.utils import register_all_modules
from mmssd.utils.cfg_options import CfgOptionsAction


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Confusion matrix of detection results')
    parser.add_argument('config', help='test config file')
    parser.add_argument('prediction_path', help='results .pkl from tools/test.py --out')
    parser.add_argument('save_dir', help='folder for confusion_matrix.png')
    parser.add_argument('--score-thr', type=float, default=0.3, help='smallest score counted')
    parser.add_argument('--tp-iou-thr', type=float, default=0.5,
                        help='IoU from which a prediction matches a ground-truth box')
    parser.add_argument('--color-theme', default='Blues', help='matplotlib colour map')
    parser.add_argument('--show', action='store_true', help='also open a window')
    parser.add_argument('--cfg-options', nargs='+', action=CfgOptionsAction,
                        help='override config settings')
    return parser.parse_args(argv)


def plot_confusion_matrix(matrix: np.ndarray, labels: Sequence[str], save_path: str | None,
                          title: str = 'Normalized Confusion Matrix',
                          color_theme: str = 'Blues', show: bool = False) -> None:
    """Draw ``matrix`` (counts) with each row in percent; save to ``save_path``."""
    import matplotlib

    if not show:
        matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    totals = matrix.sum(axis=1, keepdims=True)
    percent = np.where(totals > 0, matrix / np.maximum(totals, 1) * 100, 0.0)
    size = max(5.0, 0.6 * len(labels) + 2)
    fig, ax = plt.subplots(figsize=(size, size * 0.9), dpi=100)
    image = ax.imshow(percent, cmap=plt.get_cmap(color_theme), vmin=0, vmax=100)
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04, label='% of the row')
    ax.set_xticks(range(len(labels)), labels, rotation=45, ha='right')
    ax.set_yticks(range(len(labels)), labels)
    ax.set_xlabel('Predicted label')
    ax.set_ylabel('Ground-truth label')
    ax.set_title(title)
    for i in range(len(labels)):
        for j in range(len(labels)):
            if matrix[i, j]:
                ax.text(j, i, f'{percent[i, j]:.0f}', ha='center', va='center', fontsize=8,
                        color='white' if percent[i, j] > 50 else 'black')
    fig.tight_layout()
    if save_path is not None:
        fig.savefig(save_path)
    if show:
        plt.show()
    plt.close(fig)


def main(argv: list[str] | None = None) -> np.ndarray:
    args = parse_args(argv)
    register_all_modules()
    cfg = load_config(args.config, args.cfg_options)
    dataset = build_dataset(cfg.data.test)
    with open(args.prediction_path, 'rb') as f:
        results = pickle.load(f)  # noqa: S301 - the user's own tools/test.py output
    if len(results) != len(dataset):
        raise SystemExit(f'{args.prediction_path} holds {len(results)} results but the test '
                         f'set has {len(dataset)} images')
    gt_bboxes, gt_labels = [], []
    for i in tqdm(range(len(dataset)), desc='ground truth'):
        ann = dataset.get_ann_info(i)
        gt_bboxes.append(ann['bboxes'])
        gt_labels.append(ann['labels'])
    classes = list(dataset.metainfo['classes'])
    matrix = detection_confusion_matrix(results, gt_bboxes, gt_labels, len(classes),
                                        args.score_thr, args.tp_iou_thr)
    os.makedirs(args.save_dir, exist_ok=True)
    save_path = osp.join(args.save_dir, 'confusion_matrix.png')
    plot_confusion_matrix(matrix, [*classes, 'background'], save_path,
                          color_theme=args.color_theme, show=args.show)
    print('rows: ground truth, columns: predictions (last: background)')
    print(matrix)
    print(f'saved {save_path}')
    return matrix


if __name__ == '__main__':
    main()
