"""Datasets, wrappers, pipelines and collate (all registered on import)."""
from .builder import build_dataset, expand_dataset_config, leaf_dataset_configs
from .coco import COCO_CLASSES, CocoDataset
from .collate import detection_collate
from .custom import CustomDataset
from .dataset_wrappers import ClassBalancedDataset, ConcatDataset, RepeatDataset
from .demo_shapes import DEMO_CLASSES, make_demo_dataset
from .demo_voc import make_demo_voc_dataset
from .issue_log import AnnotationWarning
from .multi_image_mix_dataset import MultiImageMixDataset
from .pipelines import *  # noqa: F401,F403
from .samplers import DistributedGroupSampler, GroupSampler
from .seed_worker import seed_worker
from .voc import VOC_CLASSES, VOCDataset
from .xml_style import XMLDataset

__all__ = ['AnnotationWarning', 'build_dataset', 'ClassBalancedDataset', 'COCO_CLASSES',
           'CocoDataset', 'ConcatDataset', 'CustomDataset', 'DEMO_CLASSES', 'detection_collate',
           'DistributedGroupSampler', 'GroupSampler',
           'expand_dataset_config', 'leaf_dataset_configs', 'make_demo_dataset',
           'make_demo_voc_dataset', 'RepeatDataset', 'seed_worker', 'VOC_CLASSES', 'VOCDataset',
           'XMLDataset', 'MultiImageMixDataset']
