"""``XMLDataset``: a dataset in the Pascal VOC folder layout (one XML file per image).

Layout under ``img_prefix`` (e.g. ``VOCdevkit/VOC2007/``)::

    ImageSets/Main/<split>.txt   <- ann_file: one image id per line
    JPEGImages/<id>.jpg          <- img_subdir
    Annotations/<id>.xml         <- ann_subdir

Coordinates follow mmdetection 2.x: the four ``<bndbox>`` values are truncated to
integers (as mmdet's ``int(float(...))``) and 1 is subtracted from each, turning VOC's
1-based inclusive pixel indices into 0-based ones. A box thus spans
``x2 - x1 + 1`` pixels, the legacy convention the VOC protocol (and the VOC metric's
``+ 1`` areas) expect.
"""
from __future__ import annotations

import os.path as osp
from collections import Counter

import numpy as np

from mmssd.registry import DATASETS

from .annotation_files import read_image_ids
from .custom import CustomDataset
from .issue_log import IssueLog, warn_annotations
from .voc_xml import VOCAnnotation, parse_voc_xml, read_image_size


def legacy_voc_boxes(corners: list[tuple[float, float, float, float]]) -> np.ndarray:
    """VOC ``(xmin, ymin, xmax, ymax)`` as written -> (N, 4) float32 mmdet 2.x boxes.

    Finite values are truncated toward zero, then 1 is subtracted; NaN/inf stay as they
    are for the box sanity to count and drop.
    """
    return np.trunc(np.array(corners, dtype=np.float64).reshape(-1, 4)).astype(np.float32) - 1


@DATASETS.register_module()
class XMLDataset(CustomDataset):
    """Images listed in ``ann_file``, annotated by VOC-style XML files.

    ``data_infos[i]`` is ``{'id': '<id>', 'filename': '<img_subdir>/<id>.jpg',
    'width', 'height', 'ann'}``. Objects flagged ``difficult`` go to ``bboxes_ignore``
    (with ``labels_ignore``); so do objects narrower or shorter than ``min_size``
    (measured as written, ``xmax - xmin``). Objects whose class is not in ``classes``
    are skipped with one warning counting them by name; a class of ``classes`` without
    any object in the split gets a warning too.

    ``img_id`` (what metrics see) is the image id as an int when it is made of digits
    and underscores (``'000005'`` -> 5, ``'2008_000008'`` -> 2008000008), else the index.

    Args:
        min_size: objects smaller than this become ignored boxes (training only).
        img_subdir: image folder under ``img_prefix``.
        ann_subdir: XML folder under ``img_prefix``.
        **kwargs: :class:`CustomDataset` arguments.

    Raises:
        ValueError: ``min_size`` with ``test_mode`` (as mmdet 2.x), a malformed XML or
            image list (the message names the file).
        FileNotFoundError: an XML file, or an image whose XML has no ``<size>``.
    """

    def __init__(self, min_size: float | None = None, img_subdir: str = 'JPEGImages',
                 ann_subdir: str = 'Annotations', **kwargs) -> None:
        if min_size and kwargs.get('test_mode', False):
            raise ValueError(f'config key `min_size`={min_size!r} turns small objects into '
                             'ignored boxes for training; it cannot be used with test_mode=True')
        self.min_size = min_size
        self.img_subdir = img_subdir
        self.ann_subdir = ann_subdir
        super().__init__(**kwargs)

    # ------------------------------------------------------------------ paths
    def xml_path(self, img_id: str) -> str:
        return osp.join(self.img_prefix or '', self.ann_subdir, f'{img_id}.xml')

    def ann_location(self, idx: int) -> str:
        return self.xml_path(self.data_infos[idx]['id'])

    def _img_id(self, idx: int) -> int:
        digits = str(self.data_infos[idx]['id']).replace('_', '')
        return int(digits) if digits.isdigit() else idx

    # ------------------------------------------------------------------ loading
    def load_annotations(self, ann_file: str) -> list[dict]:
        """Parse every XML file of the split (see the class docstring for the result)."""
        self.cat2label = {name: i for i, name in enumerate(self.CLASSES)}
        unknown, per_class = IssueLog(), Counter()
        data_infos = []
        for img_id in read_image_ids(ann_file):
            xml_path = self.xml_path(img_id)
            voc = parse_voc_xml(xml_path)
            filename = osp.join(self.img_subdir, f'{img_id}.jpg')
            width, height = voc.size or read_image_size(
                osp.join(self.img_prefix or '', filename), xml_path)
            ann = self._objects_to_ann(voc, xml_path, unknown)
            per_class.update(o.name for o in voc.objects if o.name in self.cat2label)
            data_infos.append(dict(id=img_id, filename=filename, width=width, height=height,
                                   ann=ann))
        self._warn_classes(unknown, per_class)
        return data_infos

    def _objects_to_ann(self, voc: VOCAnnotation, xml_path: str, unknown: IssueLog) -> dict:
        """One file's objects -> the middle-format ``ann`` dict (mmdet 2.x coordinates)."""
        kept, ignored = ([], []), ([], [])
        for obj in voc.objects:
            if obj.name not in self.cat2label:
                unknown.add(obj.name, xml_path)
                continue
            xmin, ymin, xmax, ymax = obj.bbox
            small = bool(self.min_size) and (xmax - xmin < self.min_size
                                             or ymax - ymin < self.min_size)
            boxes, labels = ignored if obj.difficult or small else kept
            boxes.append(obj.bbox)
            labels.append(self.cat2label[obj.name])
        return {'bboxes': legacy_voc_boxes(kept[0]),
                'labels': np.array(kept[1], dtype=np.int64),
                'bboxes_ignore': legacy_voc_boxes(ignored[0]),
                'labels_ignore': np.array(ignored[1], dtype=np.int64)}

    def _warn_classes(self, unknown: IssueLog, per_class: Counter) -> None:
        """One warning for objects of unknown classes, one for classes without objects."""
        name = self.__class__.__name__
        if unknown:
            warn_annotations(
                f'{name}: skipped {unknown.total()} objects whose class is not in `classes`: '
                f'{unknown.as_dict()} (first in {unknown.first_any}); ann_file={self.ann_file}')
        empty = [c for c in self.CLASSES if per_class[c] == 0]
        if empty:
            warn_annotations(f'{name}: classes {empty} of `classes` have no object in '
                             f'{self.ann_file} (XML files under '
                             f'{osp.join(self.img_prefix or "", self.ann_subdir)})')
