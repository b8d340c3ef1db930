"""Pipeline transforms (registered in ``mmssd.registry.TRANSFORMS`` on import)."""
from .albu import Albu
from .compose import Compose
from .filter_annotations import FilterAnnotations
from .formatting import (
    DEFAULT_META_KEYS,
    Collect,
    DefaultFormatBundle,
    ImageToTensor,
    ToTensor,
    to_tensor,
)
from .image_decoding import ImageDecodeError, decode_image, jpeg_is_truncated, read_image
from .loading import LoadAnnotations, LoadImageFromFile
from .mixup import MixUp
from .mosaic import Mosaic
from .random_affine import RandomAffine
from .test_time_aug import MultiScaleFlipAug
from .transforms import (
    Expand,
    MinIoURandomCrop,
    Normalize,
    Pad,
    PhotoMetricDistortion,
    RandomCrop,
    RandomFlip,
    Resize,
)
from .virtual_canvas import VirtualCanvas
from .yolox_hsv import YOLOXHSVRandomAug

__all__ = [
    'Compose', 'LoadImageFromFile', 'LoadAnnotations', 'Resize', 'RandomFlip', 'Normalize',
    'Pad', 'PhotoMetricDistortion', 'Expand', 'MinIoURandomCrop', 'RandomCrop',
    'DefaultFormatBundle', 'ImageToTensor', 'ToTensor', 'Collect', 'MultiScaleFlipAug',
    'DEFAULT_META_KEYS', 'to_tensor', 'VirtualCanvas',
    'ImageDecodeError', 'decode_image', 'jpeg_is_truncated', 'read_image', 'Albu',
    'Mosaic', 'RandomAffine', 'MixUp', 'YOLOXHSVRandomAug', 'FilterAnnotations',
]
