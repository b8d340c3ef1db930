"""``CocoDataset``: COCO-format json, parsed once at init (indexed with pycocotools)."""
from __future__ import annotations

import contextlib
import io

import numpy as np
from pycocotools.coco import COCO

from mmssd.registry import DATASETS

from .annotation_files import load_json
from .custom import CustomDataset

COCO_CLASSES = (
    'person', 'bicycle', 'car', 'motorcycle', 'airplane', 'bus', 'train', 'truck', 'boat',
    'traffic light', 'fire hydrant', 'stop sign', 'parking meter', 'bench', 'bird', 'cat',
    'dog', 'horse', 'sheep', 'cow', 'elephant', 'bear', 'zebra', 'giraffe', 'backpack',
    'umbrella', 'handbag', 'tie', 'suitcase', 'frisbee', 'skis', 'snowboard', 'sports ball',
    'kite', 'baseball bat', 'baseball glove', 'skateboard', 'surfboard', 'tennis racket',
    'bottle', 'wine glass', 'cup', 'fork', 'knife', 'spoon', 'bowl', 'banana', 'apple',
    'sandwich', 'orange', 'broccoli', 'carrot', 'hot dog', 'pizza', 'donut', 'cake', 'chair',
    'couch', 'potted plant', 'bed', 'dining table', 'toilet', 'tv', 'laptop', 'mouse',
    'remote', 'keyboard', 'cell phone', 'microwave', 'oven', 'toaster', 'sink',
    'refrigerator', 'book', 'clock', 'vase', 'scissors', 'teddy bear', 'hair drier',
    'toothbrush')


#: Top-level keys a COCO detection json must have (``annotations`` may be absent in test sets).
REQUIRED_COCO_KEYS = ('images', 'categories')
#: Keys each image entry must have.
REQUIRED_IMAGE_KEYS = ('id', 'file_name', 'width', 'height')
AREA_NOT_POSITIVE = "dropped: the annotation's `area` is <= 0"


def check_coco_dict(data: object, ann_file: str) -> None:
    """Raise a ``ValueError`` naming ``ann_file`` and the key when ``data`` is not COCO-shaped."""
    if not isinstance(data, dict):
        raise ValueError(f'annotation file {ann_file} holds a {type(data).__name__}; a COCO '
                         f'json is an object with keys {list(REQUIRED_COCO_KEYS)} + annotations')
    for key in REQUIRED_COCO_KEYS:
        if not isinstance(data.get(key), list):
            raise ValueError(f'annotation file {ann_file}: top-level key `{key}` is missing or '
                             'not a list; expected a COCO-format json')
    for i, img in enumerate(data['images']):
        missing = [k for k in REQUIRED_IMAGE_KEYS if k not in img]
        if missing:
            raise ValueError(f'annotation file {ann_file}: images[{i}] lacks {missing}; each '
                             f'image needs {list(REQUIRED_IMAGE_KEYS)}')


def coco_from_dict(data: dict) -> COCO:
    """A pycocotools ``COCO`` indexing ``data`` (its progress prints silenced)."""
    coco = COCO()
    coco.dataset = data
    with contextlib.redirect_stdout(io.StringIO()):
        coco.createIndex()
    return coco


def load_coco(ann_file: str) -> COCO:
    """A pycocotools ``COCO`` of ``ann_file``.

    Raises:
        ValueError: malformed json (names the file and the error position) or not a
            COCO detection json (names the missing key).
    """
    data = load_json(ann_file)
    check_coco_dict(data, ann_file)
    return coco_from_dict(data)


def cat_ids_for_classes(coco: COCO, classes: tuple[str, ...], ann_file: str) -> list[int]:
    """Category id of each class name, in the order of ``classes``.

    Raises:
        KeyError: a name is not a category of ``ann_file`` (lists the available names).
    """
    name_to_id: dict[str, int] = {}
    for cat_id in sorted(coco.cats):
        name_to_id.setdefault(coco.cats[cat_id]['name'], cat_id)
    missing = [name for name in classes if name not in name_to_id]
    if missing:
        raise KeyError(f'classes {missing} (config key `classes`) are not categories of '
                       f'{ann_file}; available: {list(name_to_id)}')
    return [name_to_id[name] for name in classes]


@DATASETS.register_module()
class CocoDataset(CustomDataset):
    """COCO detection dataset; ``classes`` picks a subset, labelled 0..K-1 in its order.

    All annotations are parsed at init into the middle format of
    :class:`CustomDataset` (``data_infos[i]['ann']``). Crowd boxes (``iscrowd=1``)
    become ``bboxes_ignore`` / ``labels_ignore``; annotations flagged ``ignore`` or of
    other categories are left out. As in mmdetection 2.x, boxes with ``w < 1`` or
    ``h < 1`` (``MIN_BOX_SIDE``) or a non-positive ``area`` are dropped; the shared box
    sanity drops and clips the rest (one warning per dataset counts them). Every sample
    carries ``img_id`` (the COCO image id).
    """

    CLASSES = COCO_CLASSES
    MIN_BOX_SIDE = 1.0

    def load_annotations(self, ann_file: str) -> list[dict]:
        self.coco = load_coco(ann_file)
        self.cat_ids = cat_ids_for_classes(self.coco, self.CLASSES, ann_file)
        self.cat2label = {cat_id: i for i, cat_id in enumerate(self.cat_ids)}
        self.img_ids = self.coco.getImgIds()
        data_infos = []
        for img_id in self.img_ids:
            info = dict(self.coco.loadImgs([img_id])[0])
            info['filename'] = info['file_name']
            anns = self.coco.loadAnns(self.coco.getAnnIds(imgIds=[img_id]))
            info['ann'] = self._parse_ann_info(info, anns)
            data_infos.append(info)
        return data_infos

    def ann_location(self, idx: int) -> str:
        info = self.data_infos[idx]
        return f"image id {info['id']} ('{info['filename']}') of {self.ann_file}"

    def _img_id(self, idx: int) -> int:
        return int(self.data_infos[idx]['id'])

    def get_cat_ids(self, idx: int) -> list[int]:
        """COCO category ids of all annotations of image ``idx`` (as mmdetection 2.x)."""
        ann_ids = self.coco.getAnnIds(imgIds=[self.data_infos[idx]['id']])
        return [ann['category_id'] for ann in self.coco.loadAnns(ann_ids)]

    def _parse_ann_info(self, img_info: dict, ann_info: list[dict]) -> dict:
        """COCO annotations of one image -> ``bboxes``/``labels``/``bboxes_ignore``/
        ``labels_ignore`` (xyxy, before the box sanity)."""
        bboxes, labels, ignore, ignore_labels = [], [], [], []
        for ann in ann_info:
            if ann.get('ignore', False) or ann['category_id'] not in self.cat2label:
                continue
            if ann.get('area', 1) <= 0:
                where = f"image id {img_info['id']} ('{img_info['file_name']}') of {self.ann_file}"
                self.box_log.add(AREA_NOT_POSITIVE, where)
                continue
            x1, y1, w, h = ann['bbox']
            box = [x1, y1, x1 + w, y1 + h]
            label = self.cat2label[ann['category_id']]
            if ann.get('iscrowd', False):
                ignore.append(box)
                ignore_labels.append(label)
            else:
                bboxes.append(box)
                labels.append(label)
        return {'bboxes': np.array(bboxes, np.float32).reshape(-1, 4),
                'labels': np.array(labels, np.int64),
                'bboxes_ignore': np.array(ignore, np.float32).reshape(-1, 4),
                'labels_ignore': np.array(ignore_labels, np.int64)}

    def _filter_imgs(self, min_size: int = 32) -> list[int]:
        """As :meth:`CustomDataset._filter_imgs`; also narrows ``img_ids`` to the kept images."""
        valid_inds = super()._filter_imgs(min_size)
        self.img_ids = [self.img_ids[i] for i in valid_inds]
        return valid_inds
