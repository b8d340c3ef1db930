"""Geometric and photometric transforms in the mmdetection 2.x vocabulary.

One module per transform; this module gathers them under mmdetection's module name
(``mmdet.datasets.pipelines.transforms``). Every transform keeps the boxes of
``results['bbox_fields']`` (N, 4 float32 xyxy, pixels of the current image) consistent
with ``results['img']``. Randomness comes from numpy's global ``np.random`` (seeded by
mmengine), drawn in mmdetection 2.x's order; each transform's docstring lists its draws.
"""
from .expand import Expand
from .flip import RandomFlip
from .min_iou_crop import MinIoURandomCrop
from .normalize import Normalize
from .pad import Pad
from .photometric import PhotoMetricDistortion
from .random_crop import RandomCrop
from .resize import Resize

__all__ = ['Expand', 'MinIoURandomCrop', 'Normalize', 'Pad', 'PhotoMetricDistortion',
           'RandomCrop', 'RandomFlip', 'Resize']
