"""``CocoDataset``: COCO-format json read with pycocotools."""
from __future__ import annotations

import contextlib
import io

import numpy as np
from pycocotools.coco import COCO

from mmssd.registry import DATASETS

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


def load_coco(ann_file: str) -> COCO:
    """A pycocotools ``COCO`` of ``ann_file`` (its progress prints silenced)."""
    with contextlib.redirect_stdout(io.StringIO()):
        return COCO(ann_file)


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

    Crowd boxes (``iscrowd=1``) become ``bboxes_ignore``; boxes with w < 1, h < 1,
    area <= 0 or outside the image are skipped. Every sample carries ``img_id``.
    """

    CLASSES = COCO_CLASSES

    def load_annotations(self, ann_file: str) -> list[dict]:
        self.coco = load_coco(ann_file)
        self.cat_ids = cat_ids_for_classes(self.coco, self.CLASSES, ann_file)
        self.cat2label = {cat_id: i for i, cat_id in enumerate(self.cat_ids)}
        self.img_ids = self.coco.getImgIds()
        data_infos = []
        for img_id in self.img_ids:
            info = dict(self.coco.loadImgs([img_id])[0])
            info['filename'] = info['file_name']
            data_infos.append(info)
        return data_infos

    def _img_id(self, idx: int) -> int:
        return int(self.data_infos[idx]['id'])

    def get_ann_info(self, idx: int) -> dict:
        img_info = self.data_infos[idx]
        ann_ids = self.coco.getAnnIds(imgIds=[img_info['id']])
        return self._parse_ann_info(img_info, self.coco.loadAnns(ann_ids))

    def get_cat_ids(self, idx: int) -> list[int]:
        ann_ids = self.coco.getAnnIds(imgIds=[self.data_infos[idx]['id']])
        return [ann['category_id'] for ann in self.coco.loadAnns(ann_ids)]

    def _parse_ann_info(self, img_info: dict, ann_info: list[dict]) -> dict:
        """COCO annotations of one image -> ``bboxes``/``labels``/``bboxes_ignore`` (xyxy)."""
        bboxes, labels, ignore = [], [], []
        for ann in ann_info:
            if ann.get('ignore', False) or ann['category_id'] not in self.cat2label:
                continue
            x1, y1, w, h = ann['bbox']
            inter_w = max(0, min(x1 + w, img_info['width']) - max(x1, 0))
            inter_h = max(0, min(y1 + h, img_info['height']) - max(y1, 0))
            if inter_w * inter_h == 0 or ann.get('area', w * h) <= 0 or w < 1 or h < 1:
                continue
            box = [x1, y1, x1 + w, y1 + h]
            if ann.get('iscrowd', False):
                ignore.append(box)
            else:
                bboxes.append(box)
                labels.append(self.cat2label[ann['category_id']])
        return {'bboxes': np.array(bboxes, np.float32).reshape(-1, 4),
                'labels': np.array(labels, np.int64),
                'bboxes_ignore': np.array(ignore, np.float32).reshape(-1, 4)}

    def _filter_imgs(self, min_size: int = 32) -> list[int]:
        """Images >= ``min_size`` px per side that (with ``filter_empty_gt``) have an
        annotation of the chosen classes; also narrows ``img_ids`` to them."""
        with_ann = {ann['image_id'] for ann in self.coco.anns.values()}
        in_cats: set[int] = set()
        for cat_id in self.cat_ids:
            in_cats |= set(self.coco.catToImgs[cat_id])
        in_cats &= with_ann
        valid_inds, valid_ids = [], []
        for i, info in enumerate(self.data_infos):
            img_id = self.img_ids[i]
            if self.filter_empty_gt and img_id not in in_cats:
                continue
            if min(info['width'], info['height']) >= min_size:
                valid_inds.append(i)
                valid_ids.append(img_id)
        self.img_ids = valid_ids
        return valid_inds
