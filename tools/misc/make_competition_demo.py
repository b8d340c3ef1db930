"""Write the demo dataset in a detection competition's layout, as a stand-in for one.

Usage::

    python tools/misc/make_competition_demo.py --demo data/demo --out data/trash

reads the demo dataset made by ``tools/misc/make_demo_data.py`` and writes

- ``OUT/train.json`` with the demo's training images under ``OUT/train/``,
- ``OUT/test.json`` with its validation images under ``OUT/test/`` and no annotations
  (a competition's hidden test set: only ``images`` and ``categories``),

with image, annotation and category ids starting at 0 and ``file_name`` relative to
``OUT`` (``train/000000.jpg``), as many competition datasets have them. The ten
categories are the ten classes of the team-workflow tutorial: each demo shape is split
into a small (longer box side < 32 px) and a large class, so all ten can be learnt.
"""
from __future__ import annotations

import argparse
import json
import os
import os.path as osp
import shutil

from mmssd.datasets.annotation_files import load_json
from mmssd.datasets.demo_shapes import DEMO_CLASSES, ann_path

#: The ten class names of the tutorial, in category-id order (ids 0..9).
CLASSES = ('General trash', 'Paper', 'Paper pack', 'Metal', 'Glass', 'Plastic', 'Styrofoam',
           'Plastic bag', 'Battery', 'Clothing')
#: Objects whose longer box side is at least this (px) go to the "large" class of a shape.
LARGE_SIDE = 32


def competition_json(demo: dict, split: str, with_annotations: bool) -> dict:
    """The demo split ``demo`` renumbered from 0, file names under ``split/``."""
    img_index = {img['id']: i for i, img in enumerate(demo['images'])}
    images = [dict(img, id=img_index[img['id']], file_name=f"{split}/{img['file_name']}")
              for img in demo['images']]
    out = {'images': images,
           'categories': [{'id': i, 'name': name} for i, name in enumerate(CLASSES)]}
    if with_annotations:
        out['annotations'] = [
            dict(ann, id=i, image_id=img_index[ann['image_id']],
                 category_id=2 * (ann['category_id'] - 1) + int(max(ann['bbox'][2:]) >= LARGE_SIDE))
            for i, ann in enumerate(demo['annotations'])]
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--demo', default='data/demo', help='demo dataset folder')
    parser.add_argument('--out', default='data/trash', help='output folder')
    args = parser.parse_args(argv)
    if len(CLASSES) != 2 * len(DEMO_CLASSES):
        raise RuntimeError('CLASSES must hold a small and a large class per demo shape')
    for demo_split, split, with_annotations in (('train', 'train', True),
                                                ('val', 'test', False)):
        src = ann_path(args.demo, demo_split)
        if not osp.isfile(src):
            raise SystemExit(f'{src} not found: make the demo data first '
                             f'(python tools/misc/make_demo_data.py --out {args.demo})')
        demo = load_json(src)
        os.makedirs(osp.join(args.out, split), exist_ok=True)
        for img in demo['images']:
            shutil.copyfile(osp.join(args.demo, demo_split, img['file_name']),
                            osp.join(args.out, split, img['file_name']))
        path = osp.join(args.out, f'{split}.json')
        with open(path, 'w', encoding='utf-8') as f:
            json.dump(competition_json(demo, split, with_annotations), f)
        print(f"wrote {path} ({len(demo['images'])} images under {args.out}/{split}/"
              f"{'' if with_annotations else ', no annotations'})")


if __name__ == '__main__':
    main()
