"""``VOCMetric``: PASCAL VOC box mAP, reported as in mmdetection 2.x (``AP50``, ``mAP``)."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from mmengine.evaluator import BaseMetric
from mmengine.logging import print_log

from mmssd.registry import METRICS

from .img_metas import first_aug_metas
from .mean_ap import eval_map

_MISSING_ANN_INFO = (
    "VOCMetric needs the image's ground truth as 'ann_info' in every img_metas dict; got "
    'keys {keys}. The datasets put `ann_info` into the results in test mode and `Collect` '
    'carries it into img_metas: check that the test dataset is built from annotations and '
    'that its pipeline ends with `Collect`.')


def _thresholds(iou_thrs: float | Sequence[float] | None,
                iou_thr: float | Sequence[float] | None) -> list[float]:
    """IoU thresholds from ``iou_thrs`` and/or its mmdetection 2.x spelling ``iou_thr``."""
    if iou_thrs is not None and iou_thr is not None and \
            np.atleast_1d(iou_thrs).tolist() != np.atleast_1d(iou_thr).tolist():
        raise ValueError(f'VOCMetric: iou_thrs={iou_thrs} and iou_thr={iou_thr} disagree; '
                         'give one of them')
    value = iou_thrs if iou_thrs is not None else iou_thr
    thrs = [float(t) for t in np.atleast_1d(0.5 if value is None else value)]
    if not thrs or any(not 0 <= t <= 1 for t in thrs):
        raise ValueError(f'VOCMetric: IoU thresholds must be in [0, 1], got {value}')
    return thrs


def ap_key(iou_thr: float) -> str:
    """Result key of one threshold: 0.5 -> ``'AP50'``, 0.75 -> ``'AP75'``, 0.05 -> ``'AP05'``."""
    return f'AP{round(iou_thr * 100):02d}'


def _annotation(ann: dict) -> dict:
    """A numpy copy of an ``ann_info`` dict with the keys :func:`eval_map` reads."""
    out = {'bboxes': np.asarray(ann['bboxes'], dtype=np.float32).reshape(-1, 4),
           'labels': np.asarray(ann['labels'], dtype=np.int64).reshape(-1),
           'bboxes_ignore': np.asarray(ann.get('bboxes_ignore', np.zeros((0, 4))),
                                       dtype=np.float32).reshape(-1, 4)}
    if ann.get('labels_ignore') is not None:
        out['labels_ignore'] = np.asarray(ann['labels_ignore'], dtype=np.int64).reshape(-1)
    return out


@METRICS.register_module()
class VOCMetric(BaseMetric):
    """PASCAL VOC box mAP (:func:`~mmssd.evaluation.eval_map`) at one or more IoUs.

    Returns ``mAP`` (mean over the thresholds, first so that ``save_best='auto'`` picks
    it) and ``AP50``-style keys, one per threshold rounded to 3 decimals, like
    mmdetection 2.x's ``VOCDataset.evaluate``. With ``scale_ranges`` each threshold gives
    one key per range, ``AP50_<min>_<max>``, and ``mAP`` is the mean of them all.

    Ground truth comes from ``img_metas[i]['ann_info']``; difficult boxes are ignored
    when it has ``labels_ignore``.

    Args:
        metric: ``'mAP'`` (or ``['mAP']``), the only metric computed; the mmdetection 2.x
            ``evaluation.metric`` key.
        iou_thrs: IoU threshold(s); default 0.5.
        iou_thr: the mmdetection 2.x name of ``iou_thrs`` (give either).
        eval_mode: ``'area'``, ``'11points'``, or ``None``: ``'11points'`` when
            ``dataset_meta['year'] == 2007`` (the VOC2007 protocol), else ``'area'``.
        use_legacy_coordinate: boxes are ``x2 - x1 + 1`` wide, as in the VOC devkit.
        scale_ranges: ``[(min_side, max_side), ...]`` evaluated separately.
        collect_device, prefix: see :class:`mmengine.evaluator.BaseMetric`; a
            ``prefix`` puts ``<prefix>/`` before every metric name.
    """

    #: No prefix: the metrics keep mmdetection 2.x's names (``mAP``, not
    #: ``prefix/mAP``). ``''`` rather than ``None`` tells mmengine the prefix is
    #: chosen, so it does not warn that it is unset.
    default_prefix: str | None = ''

    def __init__(self, metric: str | Sequence[str] = 'mAP',
                 iou_thrs: float | Sequence[float] | None = None,
                 iou_thr: float | Sequence[float] | None = None, eval_mode: str | None = None,
                 use_legacy_coordinate: bool = True,
                 scale_ranges: Sequence[tuple[float, float]] | None = None,
                 collect_device: str = 'cpu', prefix: str | None = None):
        super().__init__(collect_device=collect_device, prefix=prefix)
        metrics = [metric] if isinstance(metric, str) else list(metric)
        unsupported = [m for m in metrics if m != 'mAP']
        if unsupported:
            raise KeyError(f"VOCMetric: metric {unsupported} is not supported; it computes "
                           "'mAP' only")
        if eval_mode not in (None, 'area', '11points'):
            raise ValueError(f"VOCMetric: eval_mode must be None, 'area' or '11points', "
                             f'got {eval_mode!r}')
        self.iou_thrs = _thresholds(iou_thrs, iou_thr)
        keys = [ap_key(t) for t in self.iou_thrs]
        if len(set(keys)) != len(keys):
            raise ValueError(f'VOCMetric: IoU thresholds {self.iou_thrs} give the same keys '
                             f'{keys}')
        self.eval_mode = eval_mode
        self.use_legacy_coordinate = use_legacy_coordinate
        self.scale_ranges = None if scale_ranges is None else [tuple(r) for r in scale_ranges]
        self._warned_ignore = False

    # ------------------------------------------------------------------ process
    def process(self, data_batch: dict, data_samples: Sequence) -> None:
        """Store ``(per-class (n, 5) detections, ground truth)`` for each image."""
        metas = first_aug_metas(data_batch['img_metas'])
        if len(metas) != len(data_samples):
            raise ValueError(f'VOCMetric.process: {len(metas)} img_metas but '
                             f'{len(data_samples)} detection results in the batch')
        for meta, dets in zip(metas, data_samples, strict=True):
            if 'ann_info' not in meta:
                raise KeyError(_MISSING_ANN_INFO.format(keys=sorted(meta)))
            ann = _annotation(meta['ann_info'])
            self._warn_unlabelled_ignore(ann)
            per_class = [np.asarray(d, dtype=np.float32).reshape(-1, 5) for d in dets]
            self.results.append((per_class, ann))

    def _warn_unlabelled_ignore(self, ann: dict) -> None:
        if self._warned_ignore or 'labels_ignore' in ann or not len(ann['bboxes_ignore']):
            return
        self._warned_ignore = True
        print_log("VOCMetric: ann_info has 'bboxes_ignore' but no 'labels_ignore'; the "
                  'ignored boxes are left out of the evaluation (as in mmdetection 2.x), so '
                  'detections on them count as false positives', logger='current', level=30)

    # ------------------------------------------------------------------ compute
    def resolved_eval_mode(self) -> str:
        """``eval_mode``, or from ``dataset_meta['year']``: 2007 -> ``'11points'``."""
        if self.eval_mode is not None:
            return self.eval_mode
        year = (self.dataset_meta or {}).get('year')
        return '11points' if str(year) == '2007' else 'area'

    def _class_names(self, num_classes: int) -> list[str] | None:
        classes = (self.dataset_meta or {}).get('classes')
        if classes is None:
            return None
        if len(classes) != num_classes:
            raise ValueError(f"VOCMetric: dataset_meta['classes'] has {len(classes)} names "
                             f'but the detections have {num_classes} classes')
        return list(classes)

    def _scale_keys(self, thr: float) -> list[str]:
        if self.scale_ranges is None:
            return [ap_key(thr)]
        return [f'{ap_key(thr)}_{lo:g}_{hi:g}' for lo, hi in self.scale_ranges]

    def compute_metrics(self, results: list) -> dict[str, float]:
        """``{'mAP': mean, 'AP50': ..., ...}`` of the collected ``results``."""
        if not results:
            raise ValueError('VOCMetric: no images were processed; is the dataset empty?')
        dets = [r[0] for r in results]
        anns = [r[1] for r in results]
        names = self._class_names(len(dets[0]))
        mode = self.resolved_eval_mode()
        per_key: dict[str, float] = {}
        for thr in self.iou_thrs:
            print_log(f'\n{"-" * 15}iou_thr: {thr}, eval_mode: {mode}{"-" * 15}',
                      logger='current')
            mean_ap, _ = eval_map(dets, anns, iou_thr=thr, scale_ranges=self.scale_ranges,
                                  eval_mode=mode, use_legacy_coordinate=self.use_legacy_coordinate,
                                  dataset=names, logger='current')
            per_key.update(zip(self._scale_keys(thr), np.atleast_1d(mean_ap).tolist()))
        out = {'mAP': float(np.mean(list(per_key.values())))}
        out.update({k: round(v, 3) for k, v in per_key.items()})
        return out
