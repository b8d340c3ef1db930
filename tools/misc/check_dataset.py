"""Check a detection dataset before training: defects, statistics, one figure.

Usage::

    python tools/misc/check_dataset.py CONFIG [--splits train val test] [--out-dir DIR]
    python tools/misc/check_dataset.py ANN_FILE --img-prefix DIR [--out-dir DIR]

With a config, every COCO-format dataset of the listed ``data`` splits is checked (each
annotation file once) with the config's ``classes``, and images shared between the
training and the evaluation splits are reported. Prints the report (also written to
``OUT_DIR/dataset_check.txt``) and saves ``OUT_DIR/dataset_check.png``: boxes per
class, box sizes, image sizes and boxes per image. Exits with status 1 when there is an
error, a defect that breaks or silently biases training (see
:mod:`mmssd.datasets.dataset_check`), 0 otherwise.
"""
from __future__ import annotations

import argparse
import os
import os.path as osp
import sys

from mmssd.apis import load_config
from mmssd.datasets import CocoDataset
from mmssd.datasets.builder import expand_dataset_config, leaf_dataset_configs
from mmssd.datasets.dataset_check import (
    ERROR,
    DatasetReport,
    Finding,
    check_coco_dataset,
    shared_images,
)
from mmssd.registry import DATASETS
from mmssd.utils import register_all_modules
from mmssd.utils.cfg_options import CfgOptionsAction
from mmssd.visualization.dataset_figure import plot_dataset_report


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Check a detection dataset')
    parser.add_argument('target', help='a config file (.py) or a COCO annotation json')
    parser.add_argument('--img-prefix', default='', help='image folder of an annotation json')
    parser.add_argument('--splits', nargs='+', default=['train', 'val', 'test'],
                        help='config data splits to check')
    parser.add_argument('--out-dir', default='dataset_check',
                        help='folder for dataset_check.txt and dataset_check.png')
    parser.add_argument('--no-images', action='store_true',
                        help='do not open the images (json checks and statistics only)')
    parser.add_argument('--cfg-options', nargs='+', action=CfgOptionsAction,
                        help='override config settings')
    return parser.parse_args(argv)


def _join(root: str | None, path: str | None) -> str:
    if not path:
        return root or ''
    return path if root is None or osp.isabs(path) else osp.join(root, path)


def config_datasets(config: str, splits: list[str], cfg_options: dict | None
                    ) -> list[tuple[str, str, str, tuple[str, ...] | None]]:
    """``(split, ann_file, img_prefix, classes)`` of each COCO-format dataset in ``splits``,
    each ``(ann_file, img_prefix)`` once (its splits joined, e.g. ``'val+test'``)."""
    register_all_modules()
    cfg = load_config(config, cfg_options)
    found: dict[tuple[str, str], list] = {}
    for split in splits:
        if split not in cfg.data:
            raise SystemExit(f'{config}: data.{split} is not in the config (splits: '
                             f"{[k for k in ('train', 'val', 'test') if k in cfg.data]})")
        for leaf in leaf_dataset_configs(expand_dataset_config(cfg.data[split])):
            dataset_cls = DATASETS.get(leaf['type'])
            if dataset_cls is None or not issubclass(dataset_cls, CocoDataset):
                raise SystemExit(f"data.{split}: type {leaf['type']!r} is not a COCO-format "
                                 'dataset; convert it to COCO json first (tools/'
                                 'dataset_converters/) or check the json with --img-prefix')
            root = leaf.get('data_root')
            key = (_join(root, leaf['ann_file']), _join(root, leaf.get('img_prefix')))
            classes = leaf.get('classes')
            if classes is not None:
                classes = CocoDataset.get_classes(classes)
            if key in found:
                found[key][0] += f'+{split}'
            else:
                found[key] = [split, classes]
    return [(split, ann, prefix, classes) for (ann, prefix), (split, classes) in found.items()]


def add_leakage(reports: list[DatasetReport]) -> None:
    """An error on each evaluation split holding images of a training split."""
    train = [r for r in reports if 'train' in r.name.split('+')]
    for report in reports:
        if report in train:
            continue
        for source in train:
            pairs = shared_images(source, report)
            if pairs:
                report.findings.insert(0, Finding(
                    ERROR, f'images also in {source.name} ({source.ann_file}): evaluation '
                    'on training images', len(pairs), [f'{a} = {b}' for a, b in pairs[:5]]))


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.target.endswith('.py'):
        datasets = config_datasets(args.target, args.splits, args.cfg_options)
    else:
        datasets = [(osp.splitext(osp.basename(args.target))[0], args.target,
                     args.img_prefix, None)]
    reports = [check_coco_dataset(ann, prefix, classes, read_images=not args.no_images,
                                  name=name) for name, ann, prefix, classes in datasets]
    add_leakage(reports)
    os.makedirs(args.out_dir, exist_ok=True)
    text = '\n\n'.join(r.text() for r in reports)
    failed = any(r.has_errors for r in reports)
    text += ('\n\nerrors found: training on this data would fail or be biased' if failed
             else '\n\nno errors')
    with open(osp.join(args.out_dir, 'dataset_check.txt'), 'w') as f:
        f.write(text + '\n')
    figure = osp.join(args.out_dir, 'dataset_check.png')
    plot_dataset_report(reports, figure)
    print(text)
    print(f'saved {figure}')
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
