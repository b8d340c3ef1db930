"""Save the training images with their ground truth, as the train pipeline delivers them.

``python tools/misc/browse_dataset.py CONFIG --output-dir DIR [--max-images N]``

The pipeline runs without the steps that turn images into tensors (``--skip-type``,
default ``DefaultFormatBundle Normalize Collect``), so what is saved is what the model
would see, before normalisation: augmentations included. A ``MultiImageMixDataset`` (Mosaic,
RandomAffine, MixUp) is shown mixed: its pipeline runs, each saved image a mixed sample with
the boxes the mixing kept.
"""
from __future__ import annotations

import argparse
import os
import os.path as osp
from collections.abc import Sequence

import mmcv
import numpy as np
import torch
from tqdm import tqdm

from mmssd.apis import load_config
from mmssd.datasets.builder import build_dataset
from mmssd.utils import register_all_modules
from mmssd.utils.cfg_options import CfgOptionsAction
from mmssd.visualization import draw_boxes

DEFAULT_SKIP = ('DefaultFormatBundle', 'Normalize', 'Collect')


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Save training images with drawn ground truth')
    parser.add_argument('config', help='config file path')
    parser.add_argument('--output-dir', required=True, help='folder for the drawn images')
    parser.add_argument('--skip-type', nargs='+', default=list(DEFAULT_SKIP),
                        help='pipeline steps to leave out')
    parser.add_argument('--max-images', type=int, default=None,
                        help='stop after this many images (default: the whole dataset)')
    parser.add_argument('--cfg-options', nargs='+', action=CfgOptionsAction,
                        help='override config settings, e.g. data.train.times=1')
    return parser.parse_args(argv)


def without_steps(dataset_cfg: dict, skip: Sequence[str]) -> dict:
    """``dataset_cfg`` with the ``skip`` pipeline steps removed, wrappers included."""
    cfg = dict(dataset_cfg)
    if 'pipeline' in cfg:
        cfg['pipeline'] = [step for step in cfg['pipeline'] if step['type'] not in skip]
    if 'dataset' in cfg:
        cfg['dataset'] = without_steps(cfg['dataset'], skip)
    if 'datasets' in cfg:
        cfg['datasets'] = [without_steps(d, skip) for d in cfg['datasets']]
    return cfg


def to_uint8_bgr(img: np.ndarray | torch.Tensor) -> np.ndarray:
    """(H, W, 3) image of any dtype, or the (3, H, W) tensor of ``DefaultFormatBundle`` (when
    ``--skip-type`` keeps it), as uint8 (H, W, 3) for saving."""
    if isinstance(img, torch.Tensor):
        img = img.permute(1, 2, 0).numpy()
    return np.clip(np.asarray(img), 0, 255).astype(np.uint8)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    register_all_modules()
    cfg = load_config(args.config, args.cfg_options)
    dataset = build_dataset(without_steps(cfg.data.train.to_dict(), args.skip_type))
    os.makedirs(args.output_dir, exist_ok=True)
    total = len(dataset) if args.max_images is None else min(args.max_images, len(dataset))
    names = dataset.metainfo['classes']
    for i in tqdm(range(total), desc='browse'):
        item = dataset[i]
        if 'img' not in item or 'gt_bboxes' not in item:
            raise SystemExit(f'pipeline output has no img/gt_bboxes (keys: {sorted(item)}); '
                             'skip the steps that pack them with --skip-type')
        drawn = draw_boxes(to_uint8_bgr(item['img']), np.asarray(item['gt_bboxes']),
                           np.asarray(item['gt_labels']), names)
        stem = osp.splitext(osp.basename(item.get('ori_filename', f'{i}.png')))[0]
        mmcv.imwrite(drawn, osp.join(args.output_dir, f'{i:06d}_{stem}.png'))
    print(f'saved {total} images to {args.output_dir}')


if __name__ == '__main__':
    main()
