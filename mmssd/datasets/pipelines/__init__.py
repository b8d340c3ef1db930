"""Pipeline transforms (registered in ``mmssd.registry.TRANSFORMS`` on import)."""
from .box_ops import bbox_flip, bbox_overlaps
from .compose import Compose
from .formatting import (
    DEFAULT_META_KEYS,
    Collect,
    DefaultFormatBundle,
    ImageToTensor,
    ToTensor,
    to_tensor,
)
from .loading import LoadAnnotations, LoadImageFromFile
from .test_time_aug import MultiScaleFlipAug
from .transforms import (
    Expand,
    MinIoURandomCrop,
    Normalize,
    Pad,
    PhotoMetricDistortion,
    RandomFlip,
    Resize,
)

__all__ = [
    'Compose', 'LoadImageFromFile', 'LoadAnnotations', 'Resize', 'RandomFlip', 'Normalize',
    'Pad', 'PhotoMetricDistortion', 'Expand', 'MinIoURandomCrop', 'DefaultFormatBundle',
    'ImageToTensor', 'ToTensor', 'Collect', 'MultiScaleFlipAug', 'DEFAULT_META_KEYS',
    'to_tensor', 'bbox_flip', 'bbox_overlaps',
]
