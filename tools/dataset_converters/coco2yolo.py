"""Convert a COCO json to YOLO txt labels.

Usage::

    python tools/dataset_converters/coco2yolo.py ANN_FILE -o LABEL_DIR

Writes ``LABEL_DIR/<file_name stem>.txt`` for every image (sub-folders of ``file_name``
kept; empty for an image without objects), lines ``class cx cy w h`` (0-based class in
sorted category-id order, centre and size as fractions of the image), and
``LABEL_DIR/classes.txt`` with the names in that order. Boxes are clipped to the image;
crowd annotations (ignore regions, which YOLO cannot express) are left out and counted.
"""
from __future__ import annotations

import argparse
import json
import os.path as osp

from mmssd.datasets.converters import coco_to_yolo


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Convert COCO json to YOLO labels')
    parser.add_argument('ann_file', help='COCO annotation json')
    parser.add_argument('-o', '--out-dir', required=True, help='folder for the .txt labels')
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> tuple[str, ...]:
    args = parse_args(argv)
    if not osp.isfile(args.ann_file):
        raise SystemExit(f'annotation file not found: {args.ann_file}')
    with open(args.ann_file) as f:
        coco = json.load(f)
    names, skipped = coco_to_yolo(coco, args.out_dir)
    print(f"wrote {len(coco.get('images', []))} label files and classes.txt "
          f'({len(names)} classes) to {args.out_dir}')
    for what, count in sorted(skipped.items()):
        print(f'left out: {count} {what}')
    return names


if __name__ == '__main__':
    main()
