"""The synthetic demo shapes in the Pascal VOC layout (for the ``voc0712``-style configs).

Layout under ``out_dir``::

    VOCdevkit/VOC2007/{JPEGImages,Annotations}/, ImageSets/Main/{trainval,test}.txt
    VOCdevkit/VOC2012/{JPEGImages,Annotations}/, ImageSets/Main/trainval.txt

The images are those of the COCO layout (:mod:`mmssd.datasets.demo_shapes`, same
generator and seeds): VOC2007 trainval is COCO ``train`` images ``0..n07-1``, VOC2012
trainval is ``train`` images ``n07..n07+n12-1`` and VOC2007 test is ``val`` images
``0..n_test-1``. Image ids: ``'000000'``... for VOC2007 trainval,
``'{TEST_ID_OFFSET + k:06d}'`` for VOC2007 test (so both share JPEGImages/), and
``'2012_000000'``... for VOC2012.

XML boxes are VOC's 1-based inclusive pixel indices of the COCO box ``(x, y, w, h)``:
``xmin = x + 1, ymin = y + 1, xmax = x + w, ymax = y + h``. Objects whose box is
smaller than :data:`DIFFICULT_BELOW` px on its longer side are marked ``difficult``.

Each split is regenerated only when its parameters (recorded in
``VOC<year>/demo_params_<split>.json``, written last) or any of its files changed.
"""
from __future__ import annotations

import json
import os
import os.path as osp
import xml.etree.ElementTree as ET

import cv2

from .demo_shapes import DEMO_CLASSES, GENERATOR_VERSION, DrawnObject, render_indexed

#: Objects whose box's longer side is below this (px) are marked difficult.
DIFFICULT_BELOW = 14
#: First image number of the VOC2007 test split (keeps its ids apart from trainval's).
TEST_ID_OFFSET = 500000
#: Bump when the XML or id scheme changes, so old data on disk is regenerated.
VOC_LAYOUT_VERSION = 1


def voc_xml(folder: str, file_name: str, width: int, height: int,
            objects: list[DrawnObject]) -> bytes:
    """The annotation XML of one image (VOC 1-based inclusive box corners)."""
    root = ET.Element('annotation')
    ET.SubElement(root, 'folder').text = folder
    ET.SubElement(root, 'filename').text = file_name
    ET.SubElement(ET.SubElement(root, 'source'), 'database').text = 'mmssd demo shapes'
    size = ET.SubElement(root, 'size')
    for tag, value in (('width', width), ('height', height), ('depth', 3)):
        ET.SubElement(size, tag).text = str(value)
    ET.SubElement(root, 'segmented').text = '0'
    for obj in objects:
        x, y, w, h = obj.box
        node = ET.SubElement(root, 'object')
        ET.SubElement(node, 'name').text = DEMO_CLASSES[obj.label]
        ET.SubElement(node, 'pose').text = 'Unspecified'
        ET.SubElement(node, 'truncated').text = '0'
        ET.SubElement(node, 'difficult').text = str(int(max(w, h) < DIFFICULT_BELOW))
        box = ET.SubElement(node, 'bndbox')
        for tag, value in (('xmin', x + 1), ('ymin', y + 1), ('xmax', x + w), ('ymax', y + h)):
            ET.SubElement(box, tag).text = str(value)
    ET.indent(root)
    return ET.tostring(root, encoding='utf-8') + b'\n'


def _split_plan(num_trainval07: int, num_trainval12: int,
                num_test07: int) -> list[tuple[str, str, str, int, list[str]]]:
    """``(year, split, demo split, first demo index, image ids)`` of each VOC split."""
    if num_trainval07 >= TEST_ID_OFFSET:
        raise ValueError(f'num_trainval07 must be < {TEST_ID_OFFSET}; got {num_trainval07}')
    return [
        ('2007', 'trainval', 'train', 0, [f'{k:06d}' for k in range(num_trainval07)]),
        ('2007', 'test', 'val', 0, [f'{TEST_ID_OFFSET + k:06d}' for k in range(num_test07)]),
        ('2012', 'trainval', 'train', num_trainval07,
         [f'2012_{k:06d}' for k in range(num_trainval12)]),
    ]


def _params(year: str, split: str, source: str, start: int, num: int, seed: int,
            size_range: tuple[int, int]) -> dict:
    return {'generator': 'mmssd.datasets.demo_voc', 'version': GENERATOR_VERSION,
            'layout_version': VOC_LAYOUT_VERSION, 'year': year, 'split': split,
            'source_split': source, 'first_index': start, 'num_images': num, 'seed': int(seed),
            'size_range': [int(size_range[0]), int(size_range[1])]}


def _params_path(year_dir: str, split: str) -> str:
    return osp.join(year_dir, f'demo_params_{split}.json')


def _split_is_current(year_dir: str, split: str, ids: list[str], params: dict) -> bool:
    try:
        with open(_params_path(year_dir, split)) as f:
            if json.load(f) != params:
                return False
        with open(osp.join(year_dir, 'ImageSets', 'Main', f'{split}.txt')) as f:
            if f.read().split() != ids:
                return False
    except (OSError, ValueError):
        return False
    return all(osp.isfile(osp.join(year_dir, 'JPEGImages', f'{i}.jpg'))
               and osp.isfile(osp.join(year_dir, 'Annotations', f'{i}.xml')) for i in ids)


def _write_split(year_dir: str, year: str, split: str, source: str, start: int,
                 ids: list[str], seed: int, size_range: tuple[int, int]) -> None:
    """Render the images and XML files of one split, then its image list."""
    if osp.exists(_params_path(year_dir, split)):  # not current until rewritten at the end
        os.remove(_params_path(year_dir, split))
    for sub in ('JPEGImages', 'Annotations', osp.join('ImageSets', 'Main')):
        os.makedirs(osp.join(year_dir, sub), exist_ok=True)
    for k, img_id in enumerate(ids):
        img, objects = render_indexed(seed, source, start + k, size_range)
        cv2.imwrite(osp.join(year_dir, 'JPEGImages', f'{img_id}.jpg'), img,
                    [cv2.IMWRITE_JPEG_QUALITY, 95])
        xml = voc_xml(f'VOC{year}', f'{img_id}.jpg', img.shape[1], img.shape[0], objects)
        with open(osp.join(year_dir, 'Annotations', f'{img_id}.xml'), 'wb') as f:
            f.write(xml)
    with open(osp.join(year_dir, 'ImageSets', 'Main', f'{split}.txt'), 'w') as f:
        f.write(''.join(f'{i}\n' for i in ids))


def make_demo_voc_dataset(out_dir: str, num_trainval07: int = 500, num_trainval12: int = 500,
                          num_test07: int = 200, seed: int = 0,
                          size_range: tuple[int, int] = (144, 192),
                          force: bool = False) -> dict:
    """Write the demo shapes as ``out_dir/VOCdevkit`` (splits already up to date are kept).

    Args:
        out_dir: folder that receives ``VOCdevkit/``.
        num_trainval07, num_trainval12, num_test07: images per split.
        seed, size_range: as :func:`~mmssd.datasets.demo_shapes.make_demo_dataset`.
        force: regenerate even if the files on disk match the parameters.

    Returns:
        ``{'devkit': path, 'classes': DEMO_CLASSES, 'splits': {'VOC2007/trainval': split
        file, ...}, 'generated': ['VOC2007/trainval', ...]}``.
    """
    if size_range[0] < 32 or size_range[1] < size_range[0]:
        raise ValueError(f'size_range must be (min, max) with 32 <= min <= max; got {size_range}')
    devkit = osp.join(out_dir, 'VOCdevkit')
    out: dict = {'devkit': devkit, 'classes': DEMO_CLASSES, 'splits': {}, 'generated': []}
    for year, split, source, start, ids in _split_plan(num_trainval07, num_trainval12,
                                                       num_test07):
        year_dir = osp.join(devkit, f'VOC{year}')
        name = f'VOC{year}/{split}'
        out['splits'][name] = osp.join(year_dir, 'ImageSets', 'Main', f'{split}.txt')
        params = _params(year, split, source, start, len(ids), seed, size_range)
        if not force and _split_is_current(year_dir, split, ids, params):
            continue
        _write_split(year_dir, year, split, source, start, ids, seed, size_range)
        tmp = _params_path(year_dir, split) + '.tmp'
        with open(tmp, 'w') as f:
            json.dump(params, f, indent=1)
        os.replace(tmp, _params_path(year_dir, split))
        out['generated'].append(name)
    return out
