"""Shortened training runs of the demo configs through ``tools/train.py``: a small demo
dataset, a constant learning rate after a short warm-up, one thread per process, and the
records they log."""
from __future__ import annotations

import json
import math
import textwrap
from pathlib import Path

from mmssd.datasets.demo_shapes import make_demo_dataset
from tests.helpers.tools import run_tool

SHORT_RUN = '''
_base_ = ['{config}']
data = dict(samples_per_gpu=8)
lr_config = dict(_delete_=True, policy='fixed', warmup='linear', warmup_iters=10,
                 warmup_ratio=0.1)
runner = dict(max_epochs={epochs})
evaluation = dict(interval={epochs})
checkpoint_config = dict(interval={epochs})
log_config = dict(interval=10)
'''


def make_demo_data(root: Path, num_train: int = 240, num_val: int = 48,
                   seed: int = 0) -> Path:
    """A demo dataset (COCO layout) under ``root``; returns ``root``."""
    make_demo_dataset(root, num_train=num_train, num_val=num_val, seed=seed)
    return root


def data_options(root: Path) -> list[str]:
    """``--cfg-options`` pointing every split at the demo dataset under ``root``
    (training on its train split, validation and test on its val split)."""
    options = [f'data.train.ann_file={root}/annotations/instances_train.json',
               f'data.train.img_prefix={root}/train/']
    for split in ('val', 'test'):
        options += [f'data.{split}.ann_file={root}/annotations/instances_val.json',
                    f'data.{split}.img_prefix={root}/val/']
    return options


def demo_data_options(tmp_path: Path, num_train: int = 240, num_val: int = 48) -> list[str]:
    """Make a small demo dataset at ``tmp_path/demo``; :func:`data_options` for it."""
    return data_options(make_demo_data(tmp_path / 'demo', num_train, num_val))


def read_records(work_dir: Path) -> list[dict]:
    """The records of the newest JSON-lines log (``<timestamp>/vis_data/*.json``) of a
    training run in ``work_dir``: training iterations (with ``loss``) and validations."""
    logs = sorted(work_dir.glob('*/vis_data/*.json'))
    assert logs, f'no json log in {work_dir}'
    return [json.loads(line) for line in logs[-1].read_text().splitlines()]


def train_short(config: Path, folder: Path, epochs: int,
                options: list[str]) -> tuple[Path, Path, list[dict]]:
    """Train ``config`` shortened to ``epochs`` epochs (batch 8, logged every 10
    iterations, validated and saved after the last epoch) in ``folder``.

    Returns:
        The short config, the work dir (``folder/work``) and the JSON-lines log records.
    """
    short = folder / f'{config.stem}_short.py'
    short.write_text(textwrap.dedent(SHORT_RUN.format(config=config, epochs=epochs)))
    work_dir = folder / 'work'
    run_tool(['tools/train.py', short, '--work-dir', work_dir, '--seed', '0',
              '--cfg-options', *options])
    return short, work_dir, read_records(work_dir)


def group_sampler_iterations(sizes: list[tuple[int, int]], samples_per_gpu: int) -> int:
    """Batches per epoch of the default training sampler (mmdetection 2.x's GroupSampler),
    computed from the image sizes ``(width, height)``: images wider than tall form one group
    and the others another, and each group is filled up to a multiple of
    ``samples_per_gpu`` by repeating its images."""
    wide = sum(w > h for w, h in sizes)
    return sum(math.ceil(n / samples_per_gpu) for n in (wide, len(sizes) - wide))


def coco_image_sizes(ann_file: Path) -> list[tuple[int, int]]:
    """``(width, height)`` of every image of a COCO annotation file."""
    images = json.loads(Path(ann_file).read_text())['images']
    return [(img['width'], img['height']) for img in images]
