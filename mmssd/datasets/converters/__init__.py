"""Annotation format converters to and from COCO json (YOLO txt, LabelMe json, loose
Pascal VOC XML).

The command-line tools are in ``tools/dataset_converters/``.
"""
from .coco_json import read_class_names, write_json
from .labelme import labelme_to_coco
from .voc_xml import voc_xml_to_coco
from .yolo import coco_to_yolo, yolo_to_coco

__all__ = ['coco_to_yolo', 'labelme_to_coco', 'read_class_names', 'voc_xml_to_coco',
           'write_json', 'yolo_to_coco']
