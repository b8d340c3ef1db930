"""Test-time augmentation: boxes mapped between augmentations and the original image,
merged proposals and detections (mmdetection 2.x semantics)."""
from .aug_test import dense_aug_bboxes, rcnn_aug_bboxes
from .merge_augs import (
    bbox_mapping,
    bbox_mapping_back,
    concat_aug_bboxes,
    merge_aug_bboxes,
    merge_aug_proposals,
    per_image_metas,
)

__all__ = ['bbox_mapping', 'bbox_mapping_back', 'concat_aug_bboxes', 'dense_aug_bboxes',
           'merge_aug_bboxes', 'merge_aug_proposals', 'per_image_metas', 'rcnn_aug_bboxes']
