"""YOLO txt labels <-> COCO json.

YOLO (darknet / ultralytics) labels: one ``<image stem>.txt`` per image, one object a line,
``class cx cy w h`` with the class a 0-based index into a class-names file and the box
centre and size as fractions of the image width and height. An image without a label
file has no objects. COCO category ids are ``1..K`` in the order of the names file.
"""
from __future__ import annotations

import os
import os.path as osp
from collections import Counter

from .coco_json import (
    IMAGE_EXTENSIONS,
    coco_annotation,
    coco_categories,
    image_size,
)


def list_images(img_dir: str) -> list[str]:
    """Image files under ``img_dir`` (recursively), relative to it, sorted."""
    if not osp.isdir(img_dir):
        raise FileNotFoundError(f'image folder not found: {img_dir}')
    found = []
    for root, _, files in os.walk(img_dir):
        for name in files:
            if name.lower().endswith(IMAGE_EXTENSIONS):
                found.append(osp.relpath(osp.join(root, name), img_dir))
    return sorted(found)


def parse_yolo_line(line: str, where: str, num_classes: int) -> tuple[int, list[float]]:
    """``(class index, [cx, cy, w, h])`` of one label line; ``where`` names it in errors."""
    fields = line.split()
    if len(fields) != 5:
        raise ValueError(f'{where}: expected 5 fields "class cx cy w h", got {line.strip()!r}')
    try:
        label = int(fields[0])
        values = [float(v) for v in fields[1:]]
    except ValueError:
        raise ValueError(f'{where}: expected an integer class and 4 numbers, got '
                         f'{line.strip()!r}') from None
    if not 0 <= label < num_classes:
        raise ValueError(f'{where}: class index {label} is outside the {num_classes} names of '
                         f'the class names file (0..{num_classes - 1})')
    return label, values


def yolo_to_coco(img_dir: str, label_dir: str, class_names: tuple[str, ...]) -> dict:
    """A COCO dict of the images under ``img_dir`` and their labels under ``label_dir``.

    ``label_dir`` mirrors ``img_dir``'s sub-folders (``a/b.jpg`` -> ``a/b.txt``);
    ``file_name`` is the image path relative to ``img_dir`` (use it as ``img_prefix``).
    Image ids are ``1..N`` in sorted path order.

    Raises:
        FileNotFoundError: a folder is missing.
        ValueError: an unreadable image, a malformed line or an unknown class index
            (naming the file and line), or label files without an image.
    """
    if not osp.isdir(label_dir):
        raise FileNotFoundError(f'label folder not found: {label_dir}')
    images, annotations = [], []
    used_labels = set()
    for image_id, rel in enumerate(list_images(img_dir), start=1):
        width, height = image_size(osp.join(img_dir, rel))
        images.append({'id': image_id, 'file_name': rel, 'width': width, 'height': height})
        label_rel = osp.splitext(rel)[0] + '.txt'
        used_labels.add(label_rel)
        label_path = osp.join(label_dir, label_rel)
        if not osp.isfile(label_path):
            continue
        with open(label_path) as f:
            lines = f.readlines()
        for line_no, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            label, (cx, cy, w, h) = parse_yolo_line(line, f'{label_path}:{line_no}',
                                                    len(class_names))
            box = ((cx - w / 2) * width, (cy - h / 2) * height, w * width, h * height)
            annotations.append(coco_annotation(len(annotations) + 1, image_id, label + 1, box))
    orphans = sorted(
        osp.relpath(osp.join(root, name), label_dir)
        for root, _, files in os.walk(label_dir) for name in files
        if name.endswith('.txt'))
    orphans = [o for o in orphans if o not in used_labels and osp.basename(o) != 'classes.txt']
    if orphans:
        raise ValueError(f'{len(orphans)} label files in {label_dir} have no image in '
                         f'{img_dir}, e.g. {orphans[:3]}')
    return {'info': {'description': 'converted from YOLO labels by mmssd'}, 'images': images,
            'annotations': annotations, 'categories': coco_categories(class_names)}


def coco_to_yolo(coco: dict, out_dir: str) -> tuple[tuple[str, ...], Counter]:
    """Write YOLO label files for a COCO dict under ``out_dir`` and ``classes.txt``.

    Category ids are sorted and numbered ``0..K-1``. Boxes are clipped to the image first
    (YOLO centres and sizes are fractions of it); crowd annotations (COCO's ignore
    regions, which YOLO cannot express) and boxes with no area inside the image are left
    out and counted. Every image gets a file, empty when it has no object.

    Returns:
        The class names in index order and a ``Counter`` of what was left out.

    Raises:
        ValueError: an annotation names an unknown image or category, or two images
            would write the same label file.
    """
    categories = sorted(coco.get('categories', []), key=lambda c: c['id'])
    if not categories:
        raise ValueError('the COCO json has no categories')
    index = {c['id']: i for i, c in enumerate(categories)}
    images = {img['id']: img for img in coco.get('images', [])}
    lines: dict[int, list[str]] = {img_id: [] for img_id in images}
    skipped: Counter = Counter()
    for ann in coco.get('annotations', []):
        if ann['image_id'] not in images:
            raise ValueError(f"annotation {ann.get('id')}: image_id {ann['image_id']} is not "
                             'in images')
        if ann['category_id'] not in index:
            raise ValueError(f"annotation {ann.get('id')}: category_id {ann['category_id']} "
                             f'is not in categories {sorted(index)}')
        if ann.get('iscrowd', 0):
            skipped['crowd annotations'] += 1
            continue
        img = images[ann['image_id']]
        width, height = float(img['width']), float(img['height'])
        x, y, w, h = (float(v) for v in ann['bbox'])
        x1, y1 = min(max(x, 0.0), width), min(max(y, 0.0), height)
        x2, y2 = min(max(x + w, 0.0), width), min(max(y + h, 0.0), height)
        if x2 <= x1 or y2 <= y1:
            skipped['boxes without area inside the image'] += 1
            continue
        lines[ann['image_id']].append(
            f"{index[ann['category_id']]} {(x1 + x2) / 2 / width:.6f} "
            f'{(y1 + y2) / 2 / height:.6f} {(x2 - x1) / width:.6f} {(y2 - y1) / height:.6f}')
    targets: dict[str, str] = {}
    for img_id, img in images.items():
        target = osp.splitext(img['file_name'])[0] + '.txt'
        if target in targets:
            raise ValueError(f"images {targets[target]!r} and {img['file_name']!r} would both "
                             f'write {target}')
        targets[target] = img['file_name']
        path = osp.join(out_dir, target)
        os.makedirs(osp.dirname(path), exist_ok=True)
        with open(path, 'w') as f:
            f.write(''.join(line + '\n' for line in lines[img_id]))
    names = tuple(c['name'] for c in categories)
    with open(osp.join(out_dir, 'classes.txt'), 'w') as f:
        f.write(''.join(name + '\n' for name in names))
    return names, skipped
