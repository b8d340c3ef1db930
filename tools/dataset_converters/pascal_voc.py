"""Convert a Pascal VOC devkit to COCO-format json (mmdetection's converter naming).

Usage::

    python tools/dataset_converters/pascal_voc.py DEVKIT_PATH [-o OUT_DIR]
        [--years 2007 2012] [--classes NAME ... | --classes names.txt]

For every year and every split file present in ``VOC<year>/ImageSets/Main/`` among
``train``, ``val``, ``trainval`` and ``test``, writes ``voc07_<split>.json`` /
``voc12_<split>.json``; with both years, splits present in both also get a combined
``voc0712_<split>.json``. ``OUT_DIR`` defaults to ``DEVKIT_PATH``.

The XML files are read by ``VOCDataset`` itself (test mode: every image kept), so the
json holds exactly what training on the VOC layout sees:

- ``file_name`` is relative to the devkit (``VOC2007/JPEGImages/000005.jpg``): use
  ``img_prefix=DEVKIT_PATH`` with ``CocoDataset``;
- boxes are mmdetection 2.x's legacy VOC boxes (1 subtracted from each written corner,
  clipped by the shared box sanity) as ``[x1, y1, x2 - x1, y2 - y1]``, so
  ``CocoDataset`` gives back the same ``x1, y1, x2, y2``;
- ``difficult`` objects (and nothing else) get ``"iscrowd": 1``, which ``CocoDataset``
  turns into ignored boxes, as ``VOCDataset`` does with them;
- category ids are ``1..K`` in the order of the classes (VOC's 20 by default); image
  ids are ``1..N`` in split-file order (years in the given order).
"""
from __future__ import annotations

import argparse
import json
import os
import os.path as osp

from mmssd.datasets import VOC_CLASSES, VOCDataset

SPLITS = ('train', 'val', 'trainval', 'test')
YEAR_PREFIX = {'2007': 'voc07', '2012': 'voc12'}


def split_file(devkit: str, year: str, split: str) -> str:
    return osp.join(devkit, f'VOC{year}', 'ImageSets', 'Main', f'{split}.txt')


def available_splits(devkit: str, year: str) -> list[str]:
    """The splits of ``SPLITS`` whose image list exists for ``year``."""
    return [s for s in SPLITS if osp.isfile(split_file(devkit, year, s))]


def load_split(devkit: str, year: str, split: str, classes: tuple[str, ...]) -> VOCDataset:
    """Every image of one split, parsed by ``VOCDataset`` (test mode, no pipeline)."""
    return VOCDataset(ann_file=split_file(devkit, year, split),
                      img_prefix=osp.join(devkit, f'VOC{year}') + os.sep,
                      classes=classes, pipeline=[], test_mode=True)


def _annotation(ann_id: int, image_id: int, box, label: int, crowd: int) -> dict:
    x1, y1, x2, y2 = (float(v) for v in box)
    w, h = x2 - x1, y2 - y1
    return {'id': ann_id, 'image_id': image_id, 'category_id': int(label) + 1,
            'bbox': [x1, y1, w, h], 'area': w * h, 'iscrowd': crowd,
            'segmentation': [[x1, y1, x1, y2, x2, y2, x2, y1]]}


def to_coco(datasets: list[tuple[str, VOCDataset]], classes: tuple[str, ...]) -> dict:
    """COCO dict of the images of ``(year, dataset)`` pairs, in order."""
    images, annotations = [], []
    for year, dataset in datasets:
        for idx, info in enumerate(dataset.data_infos):
            image_id = len(images) + 1
            images.append({'id': image_id, 'file_name': f"VOC{year}/{info['filename']}",
                           'width': int(info['width']), 'height': int(info['height'])})
            ann = dataset.get_ann_info(idx)
            for boxes, labels, crowd in ((ann['bboxes'], ann['labels'], 0),
                                         (ann['bboxes_ignore'], ann['labels_ignore'], 1)):
                for box, label in zip(boxes, labels):
                    annotations.append(_annotation(len(annotations) + 1, image_id, box, label,
                                                   crowd))
    categories = [{'id': i + 1, 'name': name, 'supercategory': 'none'}
                  for i, name in enumerate(classes)]
    return {'info': {'description': 'converted from Pascal VOC by mmssd'},
            'images': images, 'annotations': annotations, 'categories': categories}


def _write(coco: dict, path: str) -> None:
    tmp = path + '.tmp'
    with open(tmp, 'w') as f:
        json.dump(coco, f)
    os.replace(tmp, path)


def convert(devkit: str, out_dir: str, years: list[str],
            classes: tuple[str, ...] = VOC_CLASSES) -> list[str]:
    """Write the json files (see the module docstring); returns their paths.

    Raises:
        FileNotFoundError: a year's folder is missing or has no split file.
    """
    loaded: dict[tuple[str, str], VOCDataset] = {}
    for year in years:
        if not osp.isdir(osp.join(devkit, f'VOC{year}')):
            raise FileNotFoundError(f'--years {year}: {osp.join(devkit, f"VOC{year}")} is not '
                                    'a folder')
        splits = available_splits(devkit, year)
        if not splits:
            raise FileNotFoundError(f'--years {year}: no split file among {list(SPLITS)} in '
                                    f'{osp.dirname(split_file(devkit, year, "x"))}')
        for split in splits:
            loaded[(year, split)] = load_split(devkit, year, split, classes)
    os.makedirs(out_dir, exist_ok=True)
    written = []
    for (year, split), dataset in loaded.items():
        written.append(osp.join(out_dir, f'{YEAR_PREFIX[year]}_{split}.json'))
        _write(to_coco([(year, dataset)], classes), written[-1])
    if {'2007', '2012'} <= set(years):
        for split in SPLITS:
            if ('2007', split) in loaded and ('2012', split) in loaded:
                pairs = [(y, loaded[(y, split)]) for y in ('2007', '2012')]
                written.append(osp.join(out_dir, f'voc0712_{split}.json'))
                _write(to_coco(pairs, classes), written[-1])
    return written


def read_classes(values: list[str] | None) -> tuple[str, ...]:
    """``--classes``: names, or one text file with a name per line; VOC's 20 by default."""
    if not values:
        return VOC_CLASSES
    if len(values) == 1 and osp.isfile(values[0]):
        with open(values[0]) as f:
            return tuple(line.strip() for line in f if line.strip())
    return tuple(values)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Convert Pascal VOC annotations to COCO json')
    parser.add_argument('devkit_path', help='the VOCdevkit folder (holding VOC2007/, VOC2012/)')
    parser.add_argument('-o', '--out-dir', help='output folder (default: devkit_path)')
    parser.add_argument('--years', nargs='+', choices=sorted(YEAR_PREFIX),
                        help='years to convert (default: those present in devkit_path)')
    parser.add_argument('--classes', nargs='+',
                        help='class names (or a file with one per line); default: VOC classes')
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> list[str]:
    args = parse_args(argv)
    years = args.years or [y for y in sorted(YEAR_PREFIX)
                           if osp.isdir(osp.join(args.devkit_path, f'VOC{y}'))]
    if not years:
        raise FileNotFoundError(f'no VOC2007/ or VOC2012/ folder in {args.devkit_path}')
    written = convert(args.devkit_path, args.out_dir or args.devkit_path, years,
                      read_classes(args.classes))
    for path in written:
        print(f'wrote {path}')
    return written


if __name__ == '__main__':
    main()
