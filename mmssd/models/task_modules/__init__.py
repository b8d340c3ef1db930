"""Anchor generators, box coders, assigners, samplers and overlap calculators."""
from .anchor_generator import AnchorGenerator, SSDAnchorGenerator
from .assign_result import AssignResult
from .atss_assigner import ATSSAssigner
from .delta_xywh_bbox_coder import DeltaXYWHBBoxCoder, bbox2delta, delta2bbox
from .distance_point_bbox_coder import DistancePointBBoxCoder, bbox2distance, distance2bbox
from .iou2d_calculator import BboxOverlaps2D
from .max_iou_assigner import MaxIoUAssigner
from .point_generator import MlvlPointGenerator
from .pseudo_sampler import PseudoSampler, SamplingResult
from .random_sampler import RandomSampler

__all__ = [
    'ATSSAssigner', 'AnchorGenerator', 'SSDAnchorGenerator', 'AssignResult',
    'DeltaXYWHBBoxCoder', 'bbox2delta',
    'delta2bbox', 'BboxOverlaps2D', 'MaxIoUAssigner', 'PseudoSampler',
    'SamplingResult', 'RandomSampler', 'DistancePointBBoxCoder', 'bbox2distance',
    'distance2bbox', 'MlvlPointGenerator'
]
from .sim_ota_assigner import SimOTAAssigner  # noqa: E402

__all__ += ['SimOTAAssigner']
