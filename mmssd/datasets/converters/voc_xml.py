"""A folder of loose Pascal VOC XML files (labelImg, CVAT, ...) -> COCO json.

Annotation tools export one ``<name>.xml`` per image, beside the images or in a folder of
their own, without the ``VOCdevkit`` layout (``ImageSets``, ``JPEGImages``) that
``tools/dataset_converters/pascal_voc.py`` reads. The XML files are parsed by
:func:`mmssd.datasets.voc_xml.parse_voc_xml`, the one XML parser of mmssd.

Pixel convention: VOC numbers pixels from 1 and its corners are inclusive. By default the
corners become mmdetection 2.x's legacy boxes, as ``XMLDataset`` and ``pascal_voc.py``
make them (truncated, 1 subtracted from each: ``[xmin - 1, ymin - 1, xmax - xmin,
ymax - ymin]`` in COCO ``xywh``); ``voc_offset=False`` keeps the corners exactly as
written (``[xmin, ymin, xmax - xmin, ymax - ymin]``), for tools that write 0-based or
sub-pixel corners.
"""
from __future__ import annotations

import os
import os.path as osp

from ..voc_xml import parse_voc_xml, read_image_size
from ..xml_style import legacy_voc_boxes
from .coco_json import IMAGE_EXTENSIONS, coco_annotation, coco_categories


def find_image(img_dir: str, written: str | None, xml_path: str,
               warnings: list[str]) -> str:
    """The image of ``xml_path`` under ``img_dir``, relative to it: ``<filename>`` as
    written, else a file of the same stem with an image extension (a warning names both).

    Raises:
        FileNotFoundError: neither exists; names the XML file and what was looked for.
    """
    stem = osp.splitext(osp.basename(written or xml_path))[0]
    if written and osp.isfile(osp.join(img_dir, written)):
        return osp.normpath(written)
    matches = sorted(n for n in os.listdir(img_dir)
                     if osp.splitext(n)[0] == stem and n.lower().endswith(IMAGE_EXTENSIONS))
    if not matches:
        raise FileNotFoundError(f'{xml_path}: its image {written or stem!r} is not in '
                                f'{img_dir} (nor a file named {stem}.* with an image '
                                f'extension {list(IMAGE_EXTENSIONS)})')
    if written:
        warnings.append(f'{xml_path}: <filename> is {written!r} but {img_dir} has '
                        f'{matches[0]!r}; using {matches[0]!r}')
    return matches[0]


def voc_xml_to_coco(xml_dir: str, img_dir: str, class_names: tuple[str, ...] | None = None,
                    voc_offset: bool = True) -> tuple[dict, list[str]]:
    """A COCO dict of every ``*.xml`` under ``xml_dir`` (sorted, recursively).

    Args:
        xml_dir: folder of the XML files.
        img_dir: folder of the images; ``file_name`` is relative to it (``img_prefix``).
        class_names: categories ``1..K`` in this order; default the object names found,
            sorted.
        voc_offset: convert VOC's 1-based corners (see the module docstring).

    Returns:
        The COCO dict (``difficult`` objects get ``iscrowd: 1``, ignored in training as
        ``VOCDataset`` ignores them) and the warnings (images found by stem).

    Raises:
        FileNotFoundError: a folder is missing, ``xml_dir`` holds no XML or an image is
            missing (naming its XML file).
        ValueError: malformed XML, or an object whose class is not in ``class_names``
            (naming the file).
    """
    for folder, what in ((xml_dir, 'XML folder'), (img_dir, 'image folder')):
        if not osp.isdir(folder):
            raise FileNotFoundError(f'{what} not found: {folder}')
    files = sorted(osp.join(root, n) for root, _, names in os.walk(xml_dir)
                   for n in names if n.lower().endswith('.xml'))
    if not files:
        raise FileNotFoundError(f'no .xml files in {xml_dir}')
    parsed = [(path, parse_voc_xml(path)) for path in files]
    names = tuple(class_names) if class_names else tuple(sorted(
        {obj.name for _, ann in parsed for obj in ann.objects}))
    category = {name: i + 1 for i, name in enumerate(names)}
    images, annotations, warnings = [], [], []
    for image_id, (path, ann) in enumerate(parsed, start=1):
        file_name = find_image(img_dir, ann.filename, path, warnings)
        width, height = ann.size or read_image_size(osp.join(img_dir, file_name), path)
        images.append({'id': image_id, 'file_name': file_name, 'width': width,
                       'height': height})
        for i, obj in enumerate(ann.objects):
            if obj.name not in category:
                raise ValueError(f'{path}: <object> #{i} is {obj.name!r}, which is not in the '
                                 f'classes {list(names)}')
            x1, y1, x2, y2 = (legacy_voc_boxes([obj.bbox])[0].tolist() if voc_offset
                              else obj.bbox)
            record = coco_annotation(len(annotations) + 1, image_id, category[obj.name],
                                     (x1, y1, x2 - x1, y2 - y1))
            record['iscrowd'] = int(obj.difficult)
            annotations.append(record)
    coco = {'info': {'description': 'converted from Pascal VOC XML by mmssd'},
            'images': images, 'annotations': annotations,
            'categories': coco_categories(names)}
    return coco, warnings
