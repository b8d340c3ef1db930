"""End to end: tools/train.py and tools/test.py on the generated demo data.

The shared ``ssdlite_run`` (the demo SSDLite shortened to 10 epochs on 480 demo images in
the Pascal VOC layout, trained once per session: tests/helpers/trained.py; the COCO layout
of the same images beside it) feeds the checks: the loss falls, the mAP on the COCO layout
is well above chance, test.py agrees with pycocotools run directly on its json output, and
``--resume-from`` continues at the next epoch with the COCO-layout config.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from tests.helpers.short_run import demo_data_options
from tests.helpers.tools import run_tool
from tests.helpers.trained import DEMO_CONFIG as CONFIG
from tests.helpers.trained import TrainedRun

pytestmark = pytest.mark.slow


def test_work_dir_holds_config_logs_and_checkpoints(ssdlite_run: TrainedRun):
    trained = ssdlite_run.work_dir
    assert (trained / ssdlite_run.config.name).is_file()
    assert list(trained.glob('*/*.log'))
    epochs = ssdlite_run.epochs
    assert (trained / f'epoch_{epochs}.pth').is_file()
    assert (trained / 'latest.pth').resolve() == (trained / f'epoch_{epochs}.pth').resolve()


def test_loss_falls(ssdlite_run: TrainedRun):
    losses = [r['loss'] for r in ssdlite_run.train]
    assert len(losses) >= 6
    first, last = sum(losses[:3]) / 3, sum(losses[-3:]) / 3
    assert last < 0.6 * first, losses


def test_test_tool_matches_pycocotools(ssdlite_run: TrainedRun, tmp_path: Path):
    prefix = tmp_path / 'results'
    result = run_tool(['tools/test.py', CONFIG, ssdlite_run.work_dir / 'latest.pth',
                       '--eval', 'bbox', '--eval-options', f'jsonfile_prefix={prefix}',
                       '--cfg-options', *ssdlite_run.options])
    reported = {line.split(': ')[0]: float(line.split(': ')[1])
                for line in result.stdout.splitlines() if line.startswith('bbox_mAP')}
    assert reported['bbox_mAP_50'] >= 0.3, result.stdout  # well above chance after 300 iterations

    gt = COCO(str(ssdlite_run.data_root / 'annotations/instances_val.json'))
    evaluator = COCOeval(gt, gt.loadRes(str(prefix) + '.bbox.json'), 'bbox')
    evaluator.evaluate()
    evaluator.accumulate()
    evaluator.summarize()
    assert round(evaluator.stats[1], 3) == pytest.approx(reported['bbox_mAP_50'], abs=1e-3)
    assert round(evaluator.stats[0], 3) == pytest.approx(reported['bbox_mAP'], abs=1e-3)


def test_resume_continues_at_next_epoch(ssdlite_run: TrainedRun, tmp_path: Path):
    # the resumed epoch runs over the 60 val images (4 steps), not the 480 trained on (30)
    root = ssdlite_run.data_root
    result = run_tool(['tools/train.py', CONFIG, '--work-dir', tmp_path,
                       '--resume-from', ssdlite_run.work_dir / 'epoch_2.pth', '--no-validate',
                       '--cfg-options', 'runner.max_epochs=3', *ssdlite_run.options,
                       f'data.train.ann_file={root}/annotations/instances_val.json',
                       f'data.train.img_prefix={root}/val/'])
    log = result.stdout + result.stderr
    assert 'resumed epoch: 2' in log
    assert re.search(r'Epoch\(train\)\s+\[3\]', log)
    assert not re.search(r'Epoch\(train\)\s+\[[12]\]', log)
    assert (tmp_path / 'epoch_3.pth').is_file() and not (tmp_path / 'epoch_1.pth').exists()


def test_misspelt_type_names_registry_and_suggestion(tmp_path: Path):
    result = run_tool(['tools/train.py', CONFIG, '--work-dir', tmp_path, '--cfg-options',
                       'model.backbone.type=MobileNetV3', *demo_data_options(tmp_path, 4, 2)],
                      check=False)
    assert result.returncode != 0
    assert "'MobileNetV3' is not in the mmssd::model registry" in result.stderr
    assert "Did you mean 'MobileNetV2'" in result.stderr


def test_missing_ann_file_is_named(tmp_path: Path):
    missing = tmp_path / 'no_such_annotations.json'
    result = run_tool(['tools/train.py', CONFIG, '--work-dir', tmp_path, '--cfg-options',
                       *demo_data_options(tmp_path, 4, 2), f'data.train.ann_file={missing}'],
                      check=False)
    assert result.returncode != 0
    assert str(missing) in result.stderr
