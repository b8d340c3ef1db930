"""``CocoMetric``: COCO bbox mAP with pycocotools, reported as in mmdetection 2.x."""
from __future__ import annotations

import contextlib
import io
import itertools
import os
import os.path as osp
from collections.abc import Sequence

import mmengine
import numpy as np
from mmengine.evaluator import BaseMetric
from mmengine.logging import print_log
from pycocotools.coco import COCO
from terminaltables import AsciiTable

from mmssd.registry import METRICS

from .coco_backends import COCO_BACKENDS, coco_api, make_coco_eval, summarize
from .ground_truth import NO_GT_CELL, fix_annotation_ids, no_ground_truth_error, num_scored_boxes
from .img_metas import first_aug_metas
from .recall import eval_recalls
from .results2json import results2json

#: Index in ``COCOeval.stats`` of each metric item.
COCO_METRIC_NAMES = {'mAP': 0, 'mAP_50': 1, 'mAP_75': 2, 'mAP_s': 3, 'mAP_m': 4, 'mAP_l': 5,
                     'AR@100': 6, 'AR@300': 7, 'AR@1000': 8, 'AR_s@1000': 9,
                     'AR_m@1000': 10, 'AR_l@1000': 11}
DEFAULT_METRIC_ITEMS = ('mAP', 'mAP_50', 'mAP_75', 'mAP_s', 'mAP_m', 'mAP_l')
SUPPORTED_METRICS = ('bbox', 'proposal_fast')


def _quiet(fn, *args, **kwargs):
    """Call ``fn`` with its stdout captured; return ``(result, captured text)``."""
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        out = fn(*args, **kwargs)
    return out, buf.getvalue()


def classwise_table(precisions: np.ndarray, names: Sequence[str]) -> tuple[str, list[float]]:
    """AsciiTable of per-class AP (IoU 0.50:0.95, all areas, last maxDets) and the APs.

    Args:
        precisions: ``COCOeval.eval['precision']`` (T, R, K, A, M).
        names: the K class names.
    """
    aps = []
    for k in range(len(names)):
        precision = precisions[:, :, k, 0, -1]
        precision = precision[precision > -1]
        aps.append(float(np.mean(precision)) if precision.size else float('nan'))
    cells = list(itertools.chain(*[(n, NO_GT_CELL if np.isnan(ap) else f'{ap:0.3f}')
                                   for n, ap in zip(names, aps, strict=True)]))
    num_columns = min(6, len(cells))
    headers = ['category', 'AP'] * (num_columns // 2)
    rows = itertools.zip_longest(*[cells[i::num_columns] for i in range(num_columns)])
    return AsciiTable([headers, *rows]).table, aps


@METRICS.register_module()
class CocoMetric(BaseMetric):
    """COCO bbox evaluation.

    Args:
        ann_file: COCO ground-truth json; default ``dataset_meta['ann_file']``.
        metric: ``'bbox'`` (detections), ``'proposal_fast'`` (average recall of an
            :class:`~mmssd.models.RPN`'s proposals at ``proposal_nums``, IoU
            ``iou_thrs``, as mmdetection 2.x's ``fast_eval_recall``), or a list of them.
        classwise: also log a per-class AP table and return ``bbox_<class>_precision``.
        iou_thrs: IoU thresholds; default 0.50:0.05:0.95.
        metric_items: items of :data:`COCO_METRIC_NAMES` to return; default
            ``mAP, mAP_50, mAP_75, mAP_s, mAP_m, mAP_l``.
        jsonfile_prefix: write the detections to ``<prefix>.bbox.json``.
        format_only: only write the json (needs ``jsonfile_prefix``) and return ``{}``.
        proposal_nums: ``COCOeval.params.maxDets`` (mmdetection 2.x: 100, 300, 1000;
            the AP numbers use the last).
        backend: ``'pycocotools'`` (default) or ``'faster_coco_eval'`` (the
            faster-coco-eval package: same numbers, C++ matching; see
            :mod:`mmssd.evaluation.coco_backends`).
        pr_curve_dir: if given, ``<pr_curve_dir>/pr_curves.png`` gets each class's
            precision-recall curves from this evaluation (``tools/test.py --pr-curve-dir``).
        collect_device, prefix: see :class:`mmengine.evaluator.BaseMetric`; a
            ``prefix`` puts ``<prefix>/`` before every metric name.
    """

    #: No prefix: the metrics keep mmdetection 2.x's names (``bbox_mAP``, not
    #: ``prefix/bbox_mAP``). ``''`` rather than ``None`` tells mmengine the prefix is
    #: chosen, so it does not warn that it is unset.
    default_prefix: str | None = ''

    def __init__(self, ann_file: str | None = None, metric: str | Sequence[str] = 'bbox',
                 classwise: bool = False, iou_thrs: Sequence[float] | None = None,
                 metric_items: Sequence[str] | None = None, jsonfile_prefix: str | None = None,
                 format_only: bool = False, proposal_nums: Sequence[int] = (100, 300, 1000),
                 collect_device: str = 'cpu', prefix: str | None = None,
                 backend: str = 'pycocotools', pr_curve_dir: str | None = None):
        super().__init__(collect_device=collect_device, prefix=prefix)
        if backend not in COCO_BACKENDS:
            raise ValueError(f'CocoMetric: backend {backend!r} is not supported; choose from '
                             f'{list(COCO_BACKENDS)}')
        coco_api(backend)  # a missing package stops here, before any evaluation
        self.backend = backend
        self.pr_curve_dir = pr_curve_dir
        metrics = [metric] if isinstance(metric, str) else list(metric)
        unsupported = [m for m in metrics if m not in SUPPORTED_METRICS]
        if unsupported:
            raise KeyError(f'CocoMetric: metric {unsupported} is not supported; choose from '
                           f'{list(SUPPORTED_METRICS)}')
        self.metrics = metrics
        self.ann_file = ann_file
        self.classwise = classwise
        if iou_thrs is None:
            iou_thrs = np.linspace(.5, 0.95, int(np.round((0.95 - .5) / .05)) + 1, endpoint=True)
        self.iou_thrs = np.asarray(iou_thrs, dtype=np.float64)
        self.metric_items = list(metric_items or DEFAULT_METRIC_ITEMS)
        bad = [m for m in self.metric_items if m not in COCO_METRIC_NAMES]
        if bad:
            raise KeyError(f'CocoMetric: metric_items {bad} unknown; choose from '
                           f'{list(COCO_METRIC_NAMES)}')
        if format_only and jsonfile_prefix is None:
            raise ValueError('CocoMetric: format_only=True needs jsonfile_prefix')
        self.jsonfile_prefix = jsonfile_prefix
        self.format_only = format_only
        self.proposal_nums = list(proposal_nums)

    # ------------------------------------------------------------------ process
    def process(self, data_batch: dict, data_samples: Sequence) -> None:
        """Store ``(img_id, [per-class (n, 5) arrays])`` for each image of the batch, or
        ``(img_id, proposals (n, 5))`` for a proposal network's results."""
        metas = first_aug_metas(data_batch['img_metas'])
        if len(metas) != len(data_samples):
            raise ValueError(f'CocoMetric.process: {len(metas)} img_metas but '
                             f'{len(data_samples)} detection results in the batch')
        for meta, dets in zip(metas, data_samples, strict=True):
            if 'img_id' not in meta:
                raise KeyError(f"CocoMetric needs 'img_id' in img_metas; got keys {sorted(meta)}")
            if isinstance(dets, np.ndarray):  # proposals
                self.results.append((int(meta['img_id']), dets.astype(np.float32)))
                continue
            per_class = [np.asarray(d, dtype=np.float32).reshape(-1, 5) for d in dets]
            self.results.append((int(meta['img_id']), per_class))

    # ------------------------------------------------------------------ compute
    def _ann_file(self) -> str:
        ann_file = self.ann_file or (self.dataset_meta or {}).get('ann_file')
        if ann_file is None:
            raise ValueError('CocoMetric: no ann_file given and dataset_meta has none')
        if not osp.isfile(ann_file):
            raise FileNotFoundError(f'CocoMetric: ann_file not found: {ann_file}')
        return ann_file

    def _cat_ids(self, coco: COCO) -> list[int]:
        cat_ids = (self.dataset_meta or {}).get('cat_ids')
        return list(cat_ids) if cat_ids is not None else sorted(coco.getCatIds())

    def _write_json(self, dets: list[dict]) -> None:
        path = f'{self.jsonfile_prefix}.bbox.json'
        os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
        mmengine.dump(dets, path)
        print_log(f'CocoMetric: detections written to {path}', logger='current')

    def compute_metrics(self, results: list) -> dict[str, float]:
        """The metrics of the collected ``results``."""
        coco = _quiet(coco_api(self.backend)[0], self._ann_file())[0]
        fix_annotation_ids(coco)  # pycocotools reads a matched annotation id 0 as no match
        is_proposals = bool(results) and isinstance(results[0][1], np.ndarray)
        if is_proposals != (self.metrics == ['proposal_fast']):
            raise ValueError(
                f'CocoMetric: metric {self.metrics} does not fit the results, which are '
                f"{'proposals (an RPN)' if is_proposals else 'detections'}; use "
                f"metric='{'proposal_fast' if is_proposals else 'bbox'}'")
        if is_proposals:
            return self._proposal_recall(coco, results)
        return self._bbox_metrics(coco, results)

    def _proposal_recall(self, coco: COCO, results: list) -> dict[str, float]:
        """``AR@N`` for N in ``proposal_nums``: recall averaged over ``iou_thrs``."""
        gts = []
        for img_id, _ in results:
            anns = coco.loadAnns(coco.getAnnIds(imgIds=[img_id]))
            boxes = [[a['bbox'][0], a['bbox'][1], a['bbox'][0] + a['bbox'][2],
                      a['bbox'][1] + a['bbox'][3]]
                     for a in anns if not a.get('ignore', False) and not a.get('iscrowd', 0)]
            gts.append(np.asarray(boxes, dtype=np.float32).reshape(-1, 4))
        recalls = eval_recalls(gts, [props for _, props in results], self.proposal_nums,
                               self.iou_thrs)
        average = recalls.mean(axis=1)
        table = AsciiTable([['', *[f'AR@{n}' for n in self.proposal_nums]],
                            ['recall', *[f'{ar:.3f}' for ar in average]]]).table
        print_log(f'Proposal recall (IoU {self.iou_thrs.min():.2f}:{self.iou_thrs.max():.2f}, '
                  f'{sum(len(g) for g in gts)} boxes):\n{table}', logger='current')
        return {f'AR@{n}': float(f'{ar:.4f}')
                for n, ar in zip(self.proposal_nums, average, strict=True)}

    def _bbox_metrics(self, coco: COCO, results: list) -> dict[str, float]:
        """COCO bbox metrics of per-class detections."""
        cat_ids = self._cat_ids(coco)
        dets = results2json(results, cat_ids)
        if self.jsonfile_prefix is not None:
            self._write_json(dets)
        if self.format_only:
            return {}
        img_ids = sorted({img_id for img_id, _ in results})
        missing = self._check_ground_truth(coco, img_ids, cat_ids)
        if not dets:
            print_log('CocoMetric: no detections at all; every metric is 0', logger='current',
                      level=30)
            return self._zeros(coco, cat_ids, missing)
        coco_dt = _quiet(coco.loadRes, dets)[0]
        coco_eval = make_coco_eval(self.backend, coco, coco_dt)
        coco_eval.params.catIds = cat_ids
        coco_eval.params.imgIds = img_ids
        coco_eval.params.maxDets = self.proposal_nums
        coco_eval.params.iouThrs = self.iou_thrs
        _quiet(coco_eval.evaluate)
        _quiet(coco_eval.accumulate)
        if self.pr_curve_dir is not None:
            self._save_pr_curves(coco, coco_eval)
        stats, summary = summarize(coco_eval, self.backend)
        print_log('Evaluating bbox...\n' + summary, logger='current')
        out = {f'bbox_{item}': float(f'{stats[COCO_METRIC_NAMES[item]]:.3f}')
               for item in self.metric_items}
        if self.classwise:
            # COCOeval sorts params.catIds; the precision array follows that order
            out.update(self._classwise(coco, list(coco_eval.params.catIds),
                                       coco_eval.eval['precision']))
        ap = stats[:6]
        print_log('bbox_mAP_copypaste: ' + ' '.join(f'{a:.3f}' for a in ap), logger='current')
        return out

    def _check_ground_truth(self, coco: COCO, img_ids: list[int],
                            cat_ids: list[int]) -> list[str]:
        """Raise when ``img_ids`` hold no ground truth at all; warn naming the classes
        without any scored box (their AP is ``nan``, outside the mean) and return them."""
        boxes = num_scored_boxes(coco, img_ids, cat_ids)
        if not any(boxes):
            raise no_ground_truth_error(self._ann_file(), len(img_ids), 'bbox')
        names = self._class_names(coco, cat_ids)
        missing = [name for name, n in zip(names, boxes, strict=True) if n == 0]
        if missing:
            print_log(f'CocoMetric: no ground truth for classes {missing} in the '
                      f'{len(img_ids)} evaluated images of {self._ann_file()}: their AP cannot '
                      f'be scored ({NO_GT_CELL} in the classwise table) and bbox_mAP averages '
                      f'the other {len(names) - len(missing)} classes', logger='current',
                      level=30)
        return missing

    def _save_pr_curves(self, coco: COCO, coco_eval) -> None:
        from mmssd.visualization.pr_curve import plot_pr_curves

        os.makedirs(self.pr_curve_dir, exist_ok=True)
        path = osp.join(self.pr_curve_dir, 'pr_curves.png')
        params = coco_eval.params  # precision follows the sorted params.catIds
        plot_pr_curves(coco_eval.eval['precision'], self._class_names(coco, list(params.catIds)),
                       params.iouThrs, params.recThrs, path)
        print_log(f'CocoMetric: precision-recall curves saved to {path}', logger='current')

    def _class_names(self, coco: COCO, cat_ids: list[int]) -> list[str]:
        return [coco.loadCats(int(c))[0]['name'] for c in cat_ids]

    def _classwise(self, coco: COCO, cat_ids: list[int], precisions: np.ndarray) -> dict:
        names = self._class_names(coco, cat_ids)
        table, aps = classwise_table(precisions, names)
        print_log('\n' + table, logger='current')
        return {f'bbox_{n}_precision': round(ap, 3) for n, ap in zip(names, aps, strict=True)}

    def _zeros(self, coco: COCO, cat_ids: list[int], missing: list[str]) -> dict[str, float]:
        """Metrics without any detection: 0, and ``nan`` for classes without ground truth."""
        out = {f'bbox_{item}': 0.0 for item in self.metric_items}
        if self.classwise:
            out.update({f'bbox_{n}_precision': float('nan') if n in missing else 0.0
                        for n in self._class_names(coco, cat_ids)})
        return out
