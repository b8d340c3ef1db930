"""Make the synthetic demo detection dataset.

Usage: ``python tools/misc/make_demo_data.py --out data/demo [--num-train N --num-val N]``.

Writes COCO json under ``OUT/annotations/`` and images under ``OUT/train/`` and ``OUT/val/``.
Splits already on disk with the same parameters are kept, so re-running is cheap.
"""
from __future__ import annotations

import argparse
import time

from mmssd.datasets.demo_shapes import make_demo_dataset


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Make the synthetic demo shapes dataset')
    parser.add_argument('--out', default='data/demo', help='output folder')
    parser.add_argument('--num-train', type=int, default=1000, help='training images')
    parser.add_argument('--num-val', type=int, default=200, help='validation images')
    parser.add_argument('--seed', type=int, default=0, help='random seed')
    parser.add_argument('--min-size', type=int, default=144, help='smallest image side (px)')
    parser.add_argument('--max-size', type=int, default=192, help='largest image side (px)')
    parser.add_argument('--force', action='store_true', help='regenerate even if up to date')
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    start = time.time()
    out = make_demo_dataset(args.out, num_train=args.num_train, num_val=args.num_val,
                            seed=args.seed, size_range=(args.min_size, args.max_size),
                            force=args.force)
    if out['generated']:
        print(f'wrote {", ".join(out["generated"])} to {args.out} '
              f'in {time.time() - start:.1f}s')
    else:
        print(f'{args.out} is up to date (same parameters); nothing to do')
    for split in ('train', 'val'):
        print(f'  {split}: {out[split]}')


if __name__ == '__main__':
    main()
