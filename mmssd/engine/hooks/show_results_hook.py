"""Save every test image with its predicted boxes (and, optionally, its ground truth)."""
from __future__ import annotations

import os
import os.path as osp
from collections.abc import Sequence

import mmcv
import numpy as np
from mmengine.hooks import Hook

from mmssd.evaluation.img_metas import first_aug_metas
from mmssd.registry import HOOKS
from mmssd.visualization import draw_gt_and_result


@HOOKS.register_module()
class ShowResultsHook(Hook):
    """After each test batch, draw each image's detections and write it to ``show_dir``.

    Predictions (per class ``(n, 5)`` arrays, in original image pixels) are drawn in
    their class colours with ``name|score`` labels; with ``show_gt`` the ground-truth
    boxes (from ``img_metas[i]['ann_info']``) are drawn first in white, one pixel wide.
    Files are PNGs named after the image (``<stem>.png``), so nothing is lost to JPEG.

    Args:
        show_dir: output folder (created).
        score_thr: smallest score drawn.
        show_gt: also draw the ground truth.
    """

    priority = 'LOW'

    def __init__(self, show_dir: str, score_thr: float = 0.3, show_gt: bool = False) -> None:
        self.show_dir = show_dir
        self.score_thr = score_thr
        self.show_gt = show_gt
        self.num_saved = 0

    def before_test(self, runner) -> None:
        os.makedirs(self.show_dir, exist_ok=True)
        self.num_saved = 0

    def after_test_iter(self, runner, batch_idx: int, data_batch: dict | None = None,
                        outputs: Sequence | None = None) -> None:
        if data_batch is None or outputs is None:
            return
        classes = runner.test_dataloader.dataset.metainfo['classes']
        metas = first_aug_metas(data_batch['img_metas'])
        for meta, result in zip(metas, outputs, strict=True):
            filename = meta.get('filename')
            if not filename:
                raise KeyError("ShowResultsHook needs 'filename' in img_metas (Collect's "
                               'meta_keys)')
            gt = None
            if self.show_gt:
                ann = meta.get('ann_info')
                if ann is None:
                    raise KeyError("show_gt needs 'ann_info' in img_metas (test-mode "
                                   'datasets put it there)')
                gt = np.asarray(ann['bboxes'], np.float32)
            drawn = draw_gt_and_result(filename, result, gt, classes, self.score_thr)
            stem = osp.splitext(meta.get('ori_filename') or osp.basename(filename))[0]
            mmcv.imwrite(drawn, osp.join(self.show_dir, f'{stem}.png'))
            self.num_saved += 1
