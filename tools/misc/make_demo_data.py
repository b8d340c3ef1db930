"""Make the synthetic demo detection dataset.

Usage::

    python tools/misc/make_demo_data.py --out data/demo [--num-train N --num-val N]
    python tools/misc/make_demo_data.py --layout voc --out data/demo_voc

``--layout coco`` (default) writes COCO json under ``OUT/annotations/`` and images under
``OUT/train/`` and ``OUT/val/``. ``--layout voc`` writes the same images as
``OUT/VOCdevkit/VOC2007`` (trainval: the first half of the training images, test: the
validation images) and ``OUT/VOCdevkit/VOC2012`` (trainval: the other half), in the
Pascal VOC layout. Splits already on disk with the same parameters are kept, so
re-running is cheap.
"""
from __future__ import annotations

import argparse
import time

from mmssd.datasets.demo_shapes import make_demo_dataset
from mmssd.datasets.demo_voc import make_demo_voc_dataset

DEFAULT_OUT = {'coco': 'data/demo', 'voc': 'data/demo_voc'}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Make the synthetic demo shapes dataset')
    parser.add_argument('--layout', choices=sorted(DEFAULT_OUT), default='coco',
                        help='annotation layout: COCO json or Pascal VOC folders')
    parser.add_argument('--out', default=None,
                        help='output folder (default: data/demo, or data/demo_voc for voc)')
    parser.add_argument('--num-train', type=int, default=1000,
                        help='training images (voc: split between VOC2007 and VOC2012 trainval)')
    parser.add_argument('--num-val', type=int, default=200,
                        help='validation images (voc: VOC2007 test)')
    parser.add_argument('--seed', type=int, default=0, help='random seed')
    parser.add_argument('--min-size', type=int, default=144, help='smallest image side (px)')
    parser.add_argument('--max-size', type=int, default=192, help='largest image side (px)')
    parser.add_argument('--force', action='store_true', help='regenerate even if up to date')
    args = parser.parse_args(argv)
    args.out = args.out or DEFAULT_OUT[args.layout]
    return args


def make(args: argparse.Namespace) -> tuple[list[str], dict[str, str]]:
    """Generate the chosen layout; ``(generated split names, {split name: path})``."""
    size_range = (args.min_size, args.max_size)
    if args.layout == 'voc':
        num07 = args.num_train // 2
        out = make_demo_voc_dataset(args.out, num_trainval07=num07,
                                    num_trainval12=args.num_train - num07,
                                    num_test07=args.num_val, seed=args.seed,
                                    size_range=size_range, force=args.force)
        return out['generated'], out['splits']
    out = make_demo_dataset(args.out, num_train=args.num_train, num_val=args.num_val,
                            seed=args.seed, size_range=size_range, force=args.force)
    return out['generated'], {split: out[split] for split in ('train', 'val')}


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    start = time.time()
    generated, paths = make(args)
    if generated:
        print(f'wrote {", ".join(generated)} to {args.out} in {time.time() - start:.1f}s')
    else:
        print(f'{args.out} is up to date (same parameters); nothing to do')
    for split, path in paths.items():
        print(f'  {split}: {path}')


if __name__ == '__main__':
    main()
