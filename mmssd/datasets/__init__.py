"""Datasets, pipelines and collate (all registered on import)."""
from .coco import COCO_CLASSES, CocoDataset
from .collate import detection_collate
from .custom import CustomDataset
from .dataset_wrappers import RepeatDataset
from .demo_shapes import DEMO_CLASSES, make_demo_dataset
from .pipelines import *  # noqa: F401,F403

__all__ = ['CustomDataset', 'CocoDataset', 'COCO_CLASSES', 'detection_collate',
           'DEMO_CLASSES', 'make_demo_dataset', 'RepeatDataset']
