"""Shortened training runs of a demo config through the tools, shared by the end-to-end
tests: a small demo dataset, a constant learning rate after a short warm-up, one thread
per process, and the logged records."""
from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from mmssd.datasets.demo_shapes import make_demo_dataset

REPO = Path(__file__).resolve().parents[2]

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


def run_tool(args: list[str]) -> subprocess.CompletedProcess:
    """``python ARGS`` in the repository; fails the test with the output's tail."""
    # one thread per process: on a small shared machine OpenMP threads contending with
    # other processes slow small convolutions down many times
    env = dict(os.environ, OMP_NUM_THREADS='1')
    result = subprocess.run([sys.executable, *args], cwd=REPO, env=env, capture_output=True,
                            text=True)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-5000:]
    return result


def demo_data_options(tmp_path: Path, num_train: int = 240, num_val: int = 48) -> list[str]:
    """Make a small demo dataset under ``tmp_path``; ``--cfg-options`` pointing every split
    at it (validation and test on its val split)."""
    root = tmp_path / 'demo'
    make_demo_dataset(root, num_train=num_train, num_val=num_val, seed=0)
    options = [f'data.train.ann_file={root}/annotations/instances_train.json',
               f'data.train.img_prefix={root}/train/']
    for split in ('val', 'test'):
        options += [f'data.{split}.ann_file={root}/annotations/instances_val.json',
                    f'data.{split}.img_prefix={root}/val/']
    return options


def train_short(config: Path, tmp_path: Path, epochs: int,
                options: list[str]) -> tuple[Path, Path, list[dict]]:
    """Train ``config`` shortened to ``epochs`` epochs (batch 8, logged every 10
    iterations); returns the short config, the work dir and the JSON-lines log records."""
    short = tmp_path / f'{config.stem}_short.py'
    short.write_text(textwrap.dedent(SHORT_RUN.format(config=config, epochs=epochs)))
    work_dir = tmp_path / 'work'
    run_tool(['tools/train.py', str(short), '--work-dir', str(work_dir), '--seed', '0',
              '--cfg-options', *options])
    log = sorted(work_dir.glob('*/vis_data/*.json'))[-1]
    records = [json.loads(line) for line in log.read_text().splitlines()]
    return short, work_dir, records


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
