"""Split one COCO json into k stratified folds for cross-validation.

Usage::

    python tools/misc/split_coco_folds.py data/trash/train.json --num-folds 5 --seed 0 \
        [--out-dir data/trash]

writes ``train0.json`` / ``val0.json`` ... ``train{k-1}.json`` / ``val{k-1}.json`` into
``--out-dir`` (default: the folder of the input). Every image is in exactly one validation
fold; the per-class annotation counts are balanced across folds (scikit-learn's
``StratifiedGroupKFold`` over annotations grouped by image); images without annotations
are spread evenly. Each file keeps the full ``categories`` list. The class balance of the
validation folds is printed, and classes missing from a validation fold are named (their
AP cannot be scored on that fold).
"""
from __future__ import annotations

import argparse
import json
import os
import os.path as osp

from mmssd.datasets.annotation_files import load_json
from mmssd.datasets.coco import check_coco_dict
from mmssd.datasets.coco_folds import class_balance, fold_files, stratified_image_folds


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Split a COCO json into stratified k folds')
    parser.add_argument('ann_file', help='COCO detection json to split')
    parser.add_argument('--num-folds', type=int, default=5, help='number of folds k')
    parser.add_argument('--seed', type=int, default=0, help='seed of the split')
    parser.add_argument('--out-dir', default=None,
                        help='where train{k}.json / val{k}.json go (default: next to ann_file)')
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    data = load_json(args.ann_file)
    check_coco_dict(data, args.ann_file)
    try:
        folds = stratified_image_folds(data, args.num_folds, args.seed, args.ann_file)
    except ValueError as e:
        raise SystemExit(f'split_coco_folds: {e}') from e
    out_dir = args.out_dir or osp.dirname(osp.abspath(args.ann_file))
    os.makedirs(out_dir, exist_ok=True)
    for name, content in fold_files(data, folds).items():
        path = osp.join(out_dir, f'{name}.json')
        with open(path, 'w', encoding='utf-8') as f:
            json.dump(content, f)
        print(f"wrote {path}: {len(content['images'])} images, "
              f"{len(content['annotations'])} annotations")
    table, missing = class_balance(data, folds)
    print(f'Annotations per class in each validation fold (seed {args.seed}):\n{table}')
    if missing:
        print(f'warning: {missing} are absent from at least one validation fold; their AP '
              'cannot be scored there (the classwise table says n/a)')


if __name__ == '__main__':
    main()
