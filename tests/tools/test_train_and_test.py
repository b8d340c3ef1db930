"""End to end: tools/train.py and tools/test.py on the generated demo data.

One shortened training run (module-scoped) feeds the checks: the loss falls, the mAP is
well above chance, test.py agrees with pycocotools run directly on its json output, and
``--resume-from`` continues at the next epoch.
"""
from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from mmssd.datasets.demo_shapes import make_demo_dataset

REPO = Path(__file__).resolve().parents[2]
CONFIG = REPO / 'configs/demo/ssdlite_mobilenetv2_demo.py'

pytestmark = pytest.mark.slow

# A short schedule on a small slice of the demo data: enough to learn the easy shapes.
SHORT_RUN = dict(epochs=10, num_train=480, num_val=60)


def run_tool(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    result = subprocess.run([sys.executable, *args], cwd=cwd, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-5000:]
    return result


def data_options(data_root: Path) -> list[str]:
    return [f'data_root={data_root}/',
            f'data.train.ann_file={data_root}/annotations/instances_train.json',
            f'data.train.img_prefix={data_root}/train/',
            f'data.val.ann_file={data_root}/annotations/instances_val.json',
            f'data.val.img_prefix={data_root}/val/',
            f'data.test.ann_file={data_root}/annotations/instances_val.json',
            f'data.test.img_prefix={data_root}/val/']


@pytest.fixture(scope='module')
def demo_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp('demo')
    make_demo_dataset(root, num_train=SHORT_RUN['num_train'], num_val=SHORT_RUN['num_val'],
                      seed=0)
    return root


@pytest.fixture(scope='module')
def trained(demo_root: Path, tmp_path_factory) -> Path:
    work_dir = tmp_path_factory.mktemp('work')
    run_tool('tools/train.py', str(CONFIG), '--work-dir', str(work_dir), '--seed', '0',
             '--cfg-options', f"runner.max_epochs={SHORT_RUN['epochs']}",
             'evaluation.interval=100', 'checkpoint_config.max_keep_ckpts=-1',
             *data_options(demo_root), cwd=REPO)
    return work_dir


def train_losses(work_dir: Path) -> list[float]:
    logs = sorted(work_dir.glob('*/vis_data/*.json'))
    assert logs, f'no json log in {work_dir}'
    records = [json.loads(line) for line in logs[-1].read_text().splitlines()]
    return [r['loss'] for r in records if 'loss' in r]


def test_work_dir_holds_config_logs_and_checkpoints(trained: Path):
    assert (trained / CONFIG.name).is_file()
    assert list(trained.glob('*/*.log'))
    epochs = SHORT_RUN['epochs']
    assert (trained / f'epoch_{epochs}.pth').is_file()
    assert (trained / 'latest.pth').resolve() == (trained / f'epoch_{epochs}.pth').resolve()


def test_loss_falls(trained: Path):
    losses = train_losses(trained)
    assert len(losses) >= 6
    first, last = sum(losses[:3]) / 3, sum(losses[-3:]) / 3
    assert last < 0.6 * first, losses


def test_test_tool_matches_pycocotools(trained: Path, demo_root: Path):
    prefix = trained / 'results'
    result = run_tool('tools/test.py', str(CONFIG), str(trained / 'latest.pth'),
                      '--eval', 'bbox', '--eval-options', f'jsonfile_prefix={prefix}',
                      '--cfg-options', *data_options(demo_root), cwd=REPO)
    reported = {line.split(': ')[0]: float(line.split(': ')[1])
                for line in result.stdout.splitlines() if line.startswith('bbox_mAP')}
    assert reported['bbox_mAP_50'] >= 0.3, result.stdout  # well above chance after 300 iterations

    gt = COCO(str(demo_root / 'annotations/instances_val.json'))
    evaluator = COCOeval(gt, gt.loadRes(str(prefix) + '.bbox.json'), 'bbox')
    evaluator.evaluate()
    evaluator.accumulate()
    evaluator.summarize()
    assert round(evaluator.stats[1], 3) == pytest.approx(reported['bbox_mAP_50'], abs=1e-3)
    assert round(evaluator.stats[0], 3) == pytest.approx(reported['bbox_mAP'], abs=1e-3)


def test_resume_continues_at_next_epoch(trained: Path, demo_root: Path, tmp_path: Path):
    result = run_tool('tools/train.py', str(CONFIG), '--work-dir', str(tmp_path),
                      '--resume-from', str(trained / 'epoch_2.pth'), '--no-validate',
                      '--cfg-options', 'runner.max_epochs=3', *data_options(demo_root),
                      cwd=REPO)
    log = result.stdout + result.stderr
    assert 'resumed epoch: 2' in log
    assert re.search(r'Epoch\(train\)\s+\[3\]', log)
    assert not re.search(r'Epoch\(train\)\s+\[[12]\]', log)
    assert (tmp_path / 'epoch_3.pth').is_file() and not (tmp_path / 'epoch_1.pth').exists()


def test_misspelt_type_names_registry_and_suggestion(demo_root: Path, tmp_path: Path):
    result = subprocess.run(
        [sys.executable, 'tools/train.py', str(CONFIG), '--work-dir', str(tmp_path),
         '--cfg-options', 'model.backbone.type=MobileNetV3', *data_options(demo_root)],
        cwd=REPO, capture_output=True, text=True)
    assert result.returncode != 0
    assert "'MobileNetV3' is not in the mmssd::model registry" in result.stderr
    assert "Did you mean 'MobileNetV2'" in result.stderr


def test_missing_ann_file_is_named(demo_root: Path, tmp_path: Path):
    missing = tmp_path / 'no_such_annotations.json'
    result = subprocess.run(
        [sys.executable, 'tools/train.py', str(CONFIG), '--work-dir', str(tmp_path),
         '--cfg-options', *data_options(demo_root), f'data.train.ann_file={missing}'],
        cwd=REPO, capture_output=True, text=True)
    assert result.returncode != 0
    assert str(missing) in result.stderr
