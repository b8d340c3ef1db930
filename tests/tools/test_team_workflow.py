"""The user notes' team workflow end to end (issue 15): a personal config folder beside a
copy of ``configs/``, the notes' Cascade R-CNN base and dataset copy verbatim, 10 classes
with ids from 0, folds from ``tools/misc/split_coco_folds.py``, a ``test.json`` without
annotations; train, evaluate on ``val0.json``, write the submission json."""
from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from mmssd.datasets.demo_shapes import make_demo_dataset
from tests.helpers.tools import REPO, load_tool, run_tool

NOTES = Path(__file__).parent / 'team_workflow'
CLASSES = ('General trash', 'Paper', 'Paper pack', 'Metal', 'Glass', 'Plastic', 'Styrofoam',
           'Plastic bag', 'Battery', 'Clothing')
# small images and one data process keep a ResNet-50 short ...
SCALE = ['data.train.pipeline.2.img_scale=(224,224)', 'data.val.pipeline.1.img_scale=(224,224)',
         'data.test.pipeline.1.img_scale=(224,224)', 'data.workers_per_gpu=0',
         # ... and so do fewer RoIs: each costs a 12544 x 1024 FC per stage
         'model.test_cfg.rpn.max_per_img=100']
TRAIN = ['model.backbone.init_cfg=None', 'runner.max_epochs=2',
         'model.train_cfg.rpn_proposal.max_per_img=300',
         *[f'model.train_cfg.rcnn.{stage}.sampler.num=64' for stage in range(3)]]

pytestmark = pytest.mark.slow


def make_setup(root: Path) -> Path:
    """The notes' layout under ``root``; returns the experiment config."""
    shutil.copytree(REPO / 'configs', root / 'configs')
    data = root / 'data/trash'
    # square images: one aspect-ratio group, so one batch holds the whole fold
    make_demo_dataset(root / 'demo', num_train=10, num_val=3, seed=0, size_range=(160, 160))
    run_tool(['tools/misc/make_competition_demo.py', '--demo', str(root / 'demo'),
              '--out', str(data)])
    run_tool(['tools/misc/split_coco_folds.py', str(data / 'train.json'), '--num-folds', '3'])
    personal = root / 'configs/_name_'
    for sub in ('_base_/models', '_base_/datasets', 'cascade_rcnn'):
        (personal / sub).mkdir(parents=True)
    shutil.copy(NOTES / 'cascade_rcnn_r50_fpn.py', personal / '_base_/models')
    dataset = (NOTES / 'coco_detection.py').read_text()
    (personal / '_base_/datasets/coco_detection.py').write_text(
        dataset.replace("'/opt/ml/detection/dataset/'", repr(f'{data}/')))
    config = personal / 'cascade_rcnn/cascade_rcnn_r50_fpn_1x_trash.py'
    shutil.copy(NOTES / config.name, config)
    return config


def test_notes_workflow(tmp_path: Path, capsys):
    config = make_setup(tmp_path)
    data = tmp_path / 'data/trash'
    val0 = json.loads((data / 'val0.json').read_text())
    assert [c['id'] for c in val0['categories']] == list(range(10))
    train0 = json.loads((data / 'train0.json').read_text())
    batch = f"data.samples_per_gpu={len(train0['images'])}"  # one iteration per epoch
    work = tmp_path / 'work'
    run_tool(['tools/train.py', str(config), '--work-dir', str(work), '--seed', '0',
              '--deterministic', '--cfg-options', *TRAIN, batch, *SCALE])
    log = next(work.glob('*/*.log')).read_text()
    for name in CLASSES:  # the classwise table of each validation
        assert len(re.findall(rf'\| {re.escape(name)} +\| (?:[01]\.\d{{3}}|n/a)', log)) == 2, name
    best = sorted(work.glob('best_bbox_mAP_50_epoch_*.pth'))
    assert len(best) == 1, sorted(p.name for p in work.iterdir())
    records = [json.loads(line) for line in next(work.glob('*/vis_data/*.json')).open()]
    logged = {r['step']: r['bbox_mAP_50'] for r in records if 'bbox_mAP_50' in r}  # per epoch
    best_epoch = int(best[0].stem.rsplit('_', 1)[1])
    assert logged[best_epoch] == max(logged.values())

    # tools/test.py (in this process: no second start-up of torch) on the fold's
    # validation file reproduces the logged validation
    test_tool = load_tool('tools/test.py')
    capsys.readouterr()
    test_tool.main([str(config), str(best[0]), '--eval', 'bbox', '--work-dir',
                    str(tmp_path / 'test_val0'), '--cfg-options',
                    f'data.test.ann_file={data}/val0.json', *SCALE])
    assert f'bbox_mAP_50: {logged[best_epoch]}\n' in capsys.readouterr().out

    # the submission: --format-only on test.json, the file's own ids (from 0)
    prefix = tmp_path / 'submission'
    test_tool.main([str(config), str(best[0]), '--format-only', '--work-dir',
                    str(tmp_path / 'test_submission'), '--eval-options',
                    f'jsonfile_prefix={prefix}', '--cfg-options', *SCALE])
    dets = json.loads(Path(f'{prefix}.bbox.json').read_text())
    test = json.loads((data / 'test.json').read_text())
    assert {d['image_id'] for d in dets} == {im['id'] for im in test['images']} == {0, 1, 2}
    assert {d['category_id'] for d in dets} <= set(range(10))

    # --eval on test.json says there is no ground truth, before any inference
    with pytest.raises(SystemExit, match='test.json has no ground truth: no annotations for '
                                         'the 3 evaluated images'):
        test_tool.main([str(config), str(best[0]), '--eval', 'bbox'])
