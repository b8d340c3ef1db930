"""Convert YOLO txt labels to one COCO json.

Usage::

    python tools/dataset_converters/yolo2coco.py IMG_DIR LABEL_DIR --classes classes.txt \
        -o annotations.json

``LABEL_DIR`` holds ``<image stem>.txt`` for the images of ``IMG_DIR`` (same sub-folders),
each line ``class cx cy w h`` (0-based class index, centre and size as fractions of the
image); ``classes.txt`` names the classes, one a line, in index order. The json's
``file_name`` entries are relative to ``IMG_DIR``: use ``img_prefix=IMG_DIR`` with
``CocoDataset``. Category ids are ``1..K`` in the order of the names.
"""
from __future__ import annotations

import argparse

from mmssd.datasets.converters import read_class_names, write_json, yolo_to_coco


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Convert YOLO labels to COCO json')
    parser.add_argument('img_dir', help='folder of the images')
    parser.add_argument('label_dir', help='folder of the YOLO .txt label files')
    parser.add_argument('--classes', required=True, help='class names file, one per line')
    parser.add_argument('-o', '--out', required=True, help='COCO json to write')
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    coco = yolo_to_coco(args.img_dir, args.label_dir, read_class_names(args.classes))
    write_json(coco, args.out)
    print(f"wrote {args.out}: {len(coco['images'])} images, {len(coco['annotations'])} "
          f"boxes, {len(coco['categories'])} classes")
    return coco


if __name__ == '__main__':
    main()
