"""Convert a folder of LabelMe json annotations to one COCO json.

Usage::

    python tools/dataset_converters/labelme2coco.py INPUT_DIR -o annotations.json \
        [--classes classes.txt]

Every ``*.json`` under ``INPUT_DIR`` is read; rectangles, polygons and circles become
boxes (polygons keep their outline as the segmentation), lines and points are left out
and counted. ``file_name`` is each image's path relative to ``INPUT_DIR`` (use it as
``img_prefix``). Categories are the names of ``--classes`` in order (a label outside
them stops the conversion, naming the file), else the labels found, sorted.
"""
from __future__ import annotations

import argparse

from mmssd.datasets.converters import labelme_to_coco, read_class_names, write_json


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Convert LabelMe json files to COCO json')
    parser.add_argument('input_dir', help='folder of LabelMe .json files (and images)')
    parser.add_argument('-o', '--out', required=True, help='COCO json to write')
    parser.add_argument('--classes', help='class names file, one per line (default: the '
                                          'labels found, sorted)')
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    names = read_class_names(args.classes) if args.classes else None
    coco, skipped = labelme_to_coco(args.input_dir, names)
    write_json(coco, args.out)
    print(f"wrote {args.out}: {len(coco['images'])} images, {len(coco['annotations'])} "
          f"boxes, {len(coco['categories'])} classes")
    for kind, count in sorted(skipped.items()):
        print(f'left out: {count} {kind} shapes (no box)')
    return coco


if __name__ == '__main__':
    main()
