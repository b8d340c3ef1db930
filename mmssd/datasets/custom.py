"""``CustomDataset``: the mmdetection 2.x base detection dataset.

Annotation format (a json or pickle list, one dict per image)::

    [{'filename': 'a.jpg', 'width': 1280, 'height': 720, ['id': 7,]
      'ann': {'bboxes': (n, 4) xyxy, 'labels': (n,),
              'bboxes_ignore': (k, 4) optional, 'labels_ignore': (k,) optional}}]

All annotations are parsed once, at init (subclasses override :meth:`load_annotations`
and return this same middle format), then every image's boxes go through the shared
load-time box sanity (:mod:`mmssd.datasets.box_sanity`), which emits at most one
warning per dataset.

``dataset[i]`` builds the results dict of ``docs/architecture.md`` (``img_info``,
``ann_info``, ``img_prefix``, ``img_id``, ``bbox_fields``) and runs the pipeline on it.
"""
from __future__ import annotations

import os.path as osp
import warnings
from collections.abc import Sequence

import mmengine
import numpy as np
from torch.utils.data import Dataset

from mmssd.registry import DATASETS

from .annotation_files import check_ann_file, check_img_prefix, load_annotation_file
from .bad_images import BadImageLog
from .box_sanity import as_boxes, as_labels, box_sanity_message, sanitize_ann
from .issue_log import IssueLog, warn_annotations
from .pipelines import Compose

#: Keys every entry of the middle format must have.
REQUIRED_INFO_KEYS = ('filename', 'width', 'height')


def _join_root(data_root: str | None, path: str | None) -> str | None:
    """``data_root / path`` unless ``path`` is empty/None or absolute (lists: each entry).

    Relative results stay relative: they resolve from the current working directory.
    """
    if isinstance(path, (list, tuple)):
        return [_join_root(data_root, p) for p in path]
    if data_root is None or not path or osp.isabs(path):
        return path
    return osp.join(data_root, path)


@DATASETS.register_module()
class CustomDataset(Dataset):
    """Detection dataset over an annotation file and an image folder.

    Args:
        ann_file: annotation file (joined to ``data_root`` when relative).
        pipeline: list of transform configs.
        classes: class names (tuple/list) or a text file with one name per line;
            default: the class attribute ``CLASSES``.
        data_root: folder that relative ``ann_file``/``img_prefix`` are joined to.
        img_prefix: folder of the images (joined to ``data_root`` when relative).
        seg_prefix: kept for 2.x compatibility (unused by box detection).
        proposal_file: optional pickle of per-image proposals.
        test_mode: keep every image and run the pipeline without retries.
        filter_empty_gt: in train mode, drop images without any box of the chosen
            classes (neither ``bboxes`` nor ``bboxes_ignore``).
        file_client_args: kept for 2.x compatibility (a non-disk backend skips the
            ``img_prefix`` existence check).
        skip_bad_images: in train mode, replace an image that cannot be read or decoded
            (an ``OSError`` from the pipeline: missing, unreadable, corrupt, truncated)
            by another of its aspect-ratio group, with one warning for the whole run
            (:mod:`mmssd.datasets.bad_images`); ``num_skipped_images`` counts them.
            Default: the error, which names the file. Test mode always raises.

    Raises:
        TypeError: ``ann_file`` is a list (see :func:`mmssd.datasets.build_dataset`).
        FileNotFoundError: ``ann_file`` or a non-empty local ``img_prefix`` is missing.
        ValueError: the annotation file cannot be parsed (the message names it).
    """

    CLASSES: tuple[str, ...] | None = None
    #: Boxes narrower or shorter than this (px) are dropped at load (0: only empty ones).
    MIN_BOX_SIDE: float = 0.0

    def __init__(self, ann_file: str, pipeline: Sequence[dict], classes: str | Sequence[str] |
                 None = None, data_root: str | None = None, img_prefix: str = '',
                 seg_prefix: str | None = None, proposal_file: str | None = None,
                 test_mode: bool = False, filter_empty_gt: bool = True,
                 file_client_args: dict | None = None, skip_bad_images: bool = False):
        self.data_root = data_root
        self.ann_file = _join_root(data_root, ann_file)
        self.img_prefix = _join_root(data_root, img_prefix)
        self.seg_prefix = _join_root(data_root, seg_prefix)
        self.proposal_file = _join_root(data_root, proposal_file)
        self.test_mode = test_mode
        self.filter_empty_gt = filter_empty_gt
        self.file_client_args = file_client_args
        self.bad_images = BadImageLog(type(self).__name__) if skip_bad_images else None
        self.CLASSES = self.get_classes(classes)
        check_ann_file(self.ann_file, ann_file, data_root)
        check_img_prefix(self.img_prefix, img_prefix, data_root, file_client_args)
        self.box_log = IssueLog()
        self.data_infos = self.load_annotations(self.ann_file)
        self._sanitize_boxes()
        self.proposals = (self.load_proposals(self.proposal_file)
                          if self.proposal_file is not None else None)
        if not test_mode:
            valid_inds = self._filter_imgs()
            self.data_infos = [self.data_infos[i] for i in valid_inds]
            if self.proposals is not None:
                self.proposals = [self.proposals[i] for i in valid_inds]
        self._set_group_flag()
        self.pipeline = Compose(pipeline)

    # ------------------------------------------------------------------ classes
    @classmethod
    def get_classes(cls, classes: str | Sequence[str] | None = None) -> tuple[str, ...]:
        """Class names from a tuple/list, a text file (one per line), or ``CLASSES``."""
        if classes is None:
            if cls.CLASSES is None:
                raise ValueError(f'{cls.__name__} has no default CLASSES; set `classes` in '
                                 'the dataset config')
            return tuple(cls.CLASSES)
        if isinstance(classes, str):
            if not osp.isfile(classes):
                raise FileNotFoundError(f'class-name file not found: {classes} '
                                        '(config key `classes`)')
            return tuple(mmengine.list_from_file(classes))
        if isinstance(classes, (tuple, list)):
            return tuple(classes)
        raise ValueError(f'config key `classes` must be a tuple/list of names or a file path; '
                         f'got {type(classes).__name__}: {classes!r}')

    @property
    def metainfo(self) -> dict:
        """Meta information that mmengine's loops hand to metrics as ``dataset_meta``.

        ``cat_ids[label]`` is the category id of a label: the dataset's ``cat_ids``
        attribute when it has one (``CocoDataset``), else the label itself.
        """
        cat_ids = getattr(self, 'cat_ids', None)
        if cat_ids is None:
            cat_ids = list(range(len(self.CLASSES)))
        return {'classes': tuple(self.CLASSES), 'cat_ids': [int(c) for c in cat_ids],
                'ann_file': self.ann_file}

    # ------------------------------------------------------------------ annotations
    def load_annotations(self, ann_file: str) -> list[dict]:
        """The list of per-image info dicts (json or pickle, the middle format above).

        Raises:
            ValueError: not a list of dicts with ``filename``, ``width`` and ``height``.
        """
        infos = load_annotation_file(ann_file)
        if not isinstance(infos, list):
            raise ValueError(f'annotation file {ann_file} holds a {type(infos).__name__}; '
                             f'{self.__class__.__name__} expects a list with one dict per image')
        for i, info in enumerate(infos):
            missing = [k for k in REQUIRED_INFO_KEYS if not isinstance(info, dict) or k not in info]
            if missing:
                raise ValueError(f'annotation file {ann_file}, entry {i}: missing {missing}; '
                                 f'each entry needs {list(REQUIRED_INFO_KEYS)} (and `ann`)')
        return infos

    def ann_location(self, idx: int) -> str:
        """Names image ``idx`` of ``data_infos`` in warnings and errors."""
        return f"{self.ann_file} entry {idx} ('{self.data_infos[idx]['filename']}')"

    def _sanitize_boxes(self) -> None:
        """Run the shared box sanity over every image's ``ann``; warn once if anything changed."""
        for i, info in enumerate(self.data_infos):
            if info.get('ann') is None:
                continue
            info['ann'] = sanitize_ann(info['ann'], info['width'], info['height'],
                                       self.ann_location(i), self.box_log, self.MIN_BOX_SIDE)
        if self.box_log:
            warn_annotations(box_sanity_message(self.__class__.__name__, self.ann_file,
                                                self.box_log))

    def load_proposals(self, proposal_file: str) -> list:
        return mmengine.load(proposal_file)

    def get_ann_info(self, idx: int) -> dict:
        """``ann_info`` of image ``idx`` (fresh copies, safe to modify).

        ``bboxes`` (N, 4) float32 xyxy, ``labels`` (N,) int64, ``bboxes_ignore`` (M, 4)
        float32, and ``labels_ignore`` (M,) int64 when the annotations give it.
        """
        ann = self.data_infos[idx].get('ann') or {}
        out = {'bboxes': as_boxes(ann.get('bboxes')), 'labels': as_labels(ann.get('labels')),
               'bboxes_ignore': as_boxes(ann.get('bboxes_ignore'))}
        if 'labels_ignore' in ann:
            out['labels_ignore'] = as_labels(ann['labels_ignore'])
        return out

    def get_cat_ids(self, idx: int) -> list[int]:
        """Labels present in image ``idx``."""
        return self.get_ann_info(idx)['labels'].astype(int).tolist()

    def _img_id(self, idx: int) -> int:
        return int(self.data_infos[idx].get('id', idx))

    # ------------------------------------------------------------------ filtering
    def _has_boxes(self, idx: int) -> bool:
        """Whether image ``idx`` has a box of the chosen classes (ignored boxes count)."""
        ann = self.data_infos[idx].get('ann') or {}
        return any(len(as_boxes(ann.get(key))) for key in ('bboxes', 'bboxes_ignore'))

    def _filter_imgs(self, min_size: int = 32) -> list[int]:
        """Indices of images at least ``min_size`` px per side (and, with
        ``filter_empty_gt``, with a box: see :meth:`_has_boxes`)."""
        valid = []
        for i, info in enumerate(self.data_infos):
            if min(info['width'], info['height']) < min_size:
                continue
            if self.filter_empty_gt and not self._has_boxes(i):
                continue
            valid.append(i)
        return valid

    def _set_group_flag(self) -> None:
        """``flag[i]`` = 1 for images wider than tall, else 0 (aspect-ratio groups)."""
        self.flag = np.array([int(info['width'] / info['height'] > 1)
                              for info in self.data_infos], dtype=np.uint8)

    # ------------------------------------------------------------------ items
    def pre_pipeline(self, results: dict) -> None:
        """Add the prefixes and empty field lists the transforms expect."""
        results['img_prefix'] = self.img_prefix
        results['seg_prefix'] = self.seg_prefix
        results['proposal_file'] = self.proposal_file
        results['bbox_fields'] = []
        results['mask_fields'] = []
        results['seg_fields'] = []

    def _results(self, idx: int, with_ann: bool) -> dict:
        results = {'img_info': self.data_infos[idx], 'img_id': self._img_id(idx)}
        if with_ann:
            results['ann_info'] = self.get_ann_info(idx)
        if self.proposals is not None:
            results['proposals'] = self.proposals[idx]
        self.pre_pipeline(results)
        return results

    def prepare_train_img(self, idx: int) -> dict | None:
        """Pipeline output for training image ``idx`` (None if the pipeline drops it)."""
        return self.pipeline(self._results(idx, with_ann=True))

    def prepare_test_img(self, idx: int) -> dict | None:
        """Pipeline output for test image ``idx``; ``ann_info`` rides along for the
        metrics (``Collect`` carries it into ``img_metas``)."""
        return self.pipeline(self._results(idx, with_ann=True))

    def _rand_another(self, idx: int) -> int:
        """A random index with the same aspect-ratio group as ``idx``."""
        pool = np.where(self.flag == self.flag[idx])[0]
        return int(np.random.choice(pool))

    @property
    def num_skipped_images(self) -> int:
        """Unreadable images skipped so far (``skip_bad_images``), by all loader workers."""
        return 0 if self.bad_images is None else self.bad_images.count

    def __len__(self) -> int:
        return len(self.data_infos)

    def __getitem__(self, idx: int) -> dict:
        if self.test_mode:
            return self.prepare_test_img(idx)
        for _ in range(1000):
            try:
                data = self.prepare_train_img(idx)
            except OSError as error:
                if self.bad_images is None:
                    raise
                self.bad_images.record(self.ann_location(idx), error)
                data = None
            if data is not None:
                return data
            idx = self._rand_another(idx)
        warnings.warn(f'{self.__class__.__name__}: pipeline returned None 1000 times in a row',
                      stacklevel=2)
        raise RuntimeError(f'{self.__class__.__name__}: the pipeline dropped 1000 samples in '
                           'a row; check the pipeline')

    def __repr__(self) -> str:
        mode = 'Test' if self.test_mode else 'Train'
        return (f'{mode} {self.__class__.__name__} with {len(self)} images, '
                f'{len(self.CLASSES)} classes, ann_file={self.ann_file}')
