"""``VOCDataset``: Pascal VOC 2007/2012 (``VOCdevkit/VOC<year>/``)."""
from __future__ import annotations

from pathlib import PurePath

from mmssd.registry import DATASETS

from .xml_style import XMLDataset

VOC_CLASSES = ('aeroplane', 'bicycle', 'bird', 'boat', 'bottle', 'bus', 'car', 'cat', 'chair',
               'cow', 'diningtable', 'dog', 'horse', 'motorbike', 'person', 'pottedplant',
               'sheep', 'sofa', 'train', 'tvmonitor')


def infer_voc_year(img_prefix: str | None) -> int | None:
    """2007 or 2012 from the last path component of ``img_prefix`` naming ``VOC2007`` /
    ``VOC2012`` (``'data/VOCdevkit/VOC2007/'`` -> 2007); None for anything else."""
    for part in reversed(PurePath(img_prefix or '').parts):
        if 'VOC2007' in part:
            return 2007
        if 'VOC2012' in part:
            return 2012
    return None


@DATASETS.register_module()
class VOCDataset(XMLDataset):
    """Pascal VOC detection (see :class:`XMLDataset` for the layout and coordinates).

    ``year`` is inferred from ``img_prefix`` (:func:`infer_voc_year`) and given to the
    metric through ``metainfo['year']``: VOC2007 is scored with 11-point AP.

    Example config (mmdetection 2.x)::

        dict(type='VOCDataset', ann_file='data/VOCdevkit/VOC2007/ImageSets/Main/test.txt',
             img_prefix='data/VOCdevkit/VOC2007/', pipeline=[...])
    """

    CLASSES = VOC_CLASSES

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.year = infer_voc_year(self.img_prefix)

    @property
    def metainfo(self) -> dict:
        """``CustomDataset.metainfo`` plus ``year`` (2007, 2012 or None)."""
        return {**super().metainfo, 'year': self.year}
