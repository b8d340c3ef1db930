"""tools/test.py --show-dir / --show-gt, with --out and --format-only, on the demo model."""
from __future__ import annotations

import json
import pickle
from pathlib import Path

import mmcv
import numpy as np
import pytest

from mmssd.datasets.demo_shapes import make_demo_dataset
from mmssd.visualization import GT_COLOUR
from tests.helpers.tools import run_tool

NUM_IMAGES = 4

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures('torch_single_thread')]


def run_test_tool(demo_run, data_root: Path, work_dir: Path, *extra: str) -> str:
    result = run_tool(['tools/test.py', demo_run.config, demo_run.checkpoint, '--work-dir',
                       work_dir, *extra, '--cfg-options',
                       f'data.test.ann_file={data_root}/annotations/instances_val.json',
                       f'data.test.img_prefix={data_root}/val/'])
    return result.stdout + result.stderr


def test_show_dir_saves_every_image_with_predictions_and_gt(demo_run, tmp_path: Path):
    data_root = tmp_path / 'data'
    make_demo_dataset(str(data_root), num_train=0, num_val=NUM_IMAGES, seed=0)
    with_gt, without_gt = tmp_path / 'with_gt', tmp_path / 'without_gt'
    prefix = tmp_path / 'formatted'
    log = run_test_tool(demo_run, data_root, tmp_path / 'w1', '--show-dir', str(with_gt),
                        '--show-gt', '--show-score-thr', '0.5', '--out',
                        str(tmp_path / 'results.pkl'), '--format-only', '--eval-options',
                        f'jsonfile_prefix={prefix}')
    assert 'test:' in log and 'batch/s' in log  # the progress bar
    run_test_tool(demo_run, data_root, tmp_path / 'w2', '--show-dir', str(without_gt),
                  '--show-score-thr', '0.5')

    ann = json.loads((data_root / 'annotations/instances_val.json').read_text())
    assert sorted(p.name for p in with_gt.iterdir()) == sorted(
        Path(im['file_name']).stem + '.png' for im in ann['images'])
    for im in ann['images']:
        source = mmcv.imread(str(data_root / 'val' / im['file_name']))
        a = mmcv.imread(str(with_gt / (Path(im['file_name']).stem + '.png')))
        b = mmcv.imread(str(without_gt / (Path(im['file_name']).stem + '.png')))
        assert a.shape == b.shape == source.shape
        # the two differ only on ground-truth outlines, drawn in the GT colour
        outlines = np.zeros(a.shape[:2], bool)
        for obj in ann['annotations']:
            if obj['image_id'] != im['id']:
                continue
            x, y, w, h = (int(round(v)) for v in obj['bbox'])
            outline = np.zeros_like(outlines)
            outline[y:y + h + 1, x:x + w + 1] = True
            outline[y + 1:y + h, x + 1:x + w] = False
            outlines |= outline
        differ = (a != b).any(-1)
        assert differ.any() and not (differ & ~outlines).any()
        assert (a[differ] == GT_COLOUR).all()

    results = pickle.loads((tmp_path / 'results.pkl').read_bytes())
    assert len(results) == NUM_IMAGES and all(len(r) == 5 for r in results)
    detections = json.loads(Path(f'{prefix}.bbox.json').read_text())
    assert {d['image_id'] for d in detections} <= {im['id'] for im in ann['images']}
    assert 'bbox_mAP' not in log  # --format-only: no evaluation
