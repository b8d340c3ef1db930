"""Box operations, numpy and torch versions side by side (mmdetection's
``mmdet.structures.bbox``)."""
from .bbox_overlaps import bbox_areas_np, bbox_overlaps, bbox_overlaps_np
from .transforms import bbox_flip

__all__ = ['bbox_areas_np', 'bbox_flip', 'bbox_overlaps', 'bbox_overlaps_np']
