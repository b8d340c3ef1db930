"""Convert a folder of Pascal VOC XML files (labelImg, CVAT, ...) to a COCO json.

Usage::

    python tools/dataset_converters/voc_xml2coco.py XML_DIR --img-dir DIR --out ann.json \
        [--classes A B ...] [--no-voc-offset]

For annotation-tool exports: one ``<name>.xml`` per image, beside the images or in a
folder of their own, without the ``VOCdevkit`` layout that ``pascal_voc.py`` reads.
``file_name`` is relative to ``--img-dir`` (use it as ``img_prefix``); an XML naming
``a.tif`` while ``a.png`` is shipped is matched by its stem, with a warning naming both.
Categories are ``--classes`` in order, else the object names found, sorted (printed).
Boxes follow mmdetection 2.x's VOC convention (1-based corners: 1 subtracted, as
``XMLDataset`` does); ``--no-voc-offset`` keeps the corners as written (tools that write
0-based or sub-pixel corners). ``difficult`` objects get ``iscrowd: 1`` (ignored in
training). Check the result with ``tools/misc/check_dataset.py ann.json --img-prefix DIR``.
"""
from __future__ import annotations

import argparse

from mmssd.datasets.converters import voc_xml_to_coco, write_json


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Convert loose VOC XML files to COCO json')
    parser.add_argument('xml_dir', help='folder of the .xml files (searched recursively)')
    parser.add_argument('--img-dir', required=True, help='folder of the images')
    parser.add_argument('--out', required=True, help='COCO json to write')
    parser.add_argument('--classes', nargs='+', help='class names in label order (default: '
                                                     'the names found, sorted)')
    parser.add_argument('--no-voc-offset', action='store_true',
                        help="keep the corners as written (no 1-based VOC conversion)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    try:
        coco, warnings = voc_xml_to_coco(args.xml_dir, args.img_dir, args.classes,
                                         voc_offset=not args.no_voc_offset)
    except (FileNotFoundError, ValueError) as error:
        raise SystemExit(str(error)) from None
    for warning in warnings:
        print(f'warning: {warning}')
    names = [c['name'] for c in coco['categories']]
    source = 'given' if args.classes else 'found, sorted'
    print(f'classes ({source}): {names}')
    write_json(coco, args.out)
    print(f"wrote {args.out}: {len(coco['images'])} images, {len(coco['annotations'])} "
          f"boxes, {len(names)} classes")
    return coco


if __name__ == '__main__':
    main()
