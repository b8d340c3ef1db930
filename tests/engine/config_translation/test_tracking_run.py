"""A short ``tools/train.py`` run logging to TensorBoard, W&B (offline) and MLflow (a
``file:`` store) at once; each store is read back with its own library and compared with
mmssd's JSON log."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tests.helpers.short_run import demo_data_options
from tests.helpers.tools import REPO, run_tool
from tests.helpers.wandb_run_files import artifacts, config, history, read_records

pytestmark = pytest.mark.slow

CONFIG = '''
_base_ = ['{repo}/configs/demo/ssdlite_mobilenetv2_demo.py']
data = dict(samples_per_gpu=4, workers_per_gpu=0)
runner = dict(max_epochs=2)
evaluation = dict(interval=1, metric='bbox')
checkpoint_config = dict(interval=1)
log_config = dict(interval=1, hooks=[
    dict(type='TextLoggerHook'),
    dict(type='TensorboardLoggerHook'),
    dict(type='MMDetWandbHook', init_kwargs=dict(project='mmssd-demo'), interval=1,
         log_checkpoint=True, log_checkpoint_metadata=True, num_eval_images=3,
         bbox_score_thr=0.0),
    dict(type='MlflowLoggerHook', exp_name='demo', tags=dict(team='det'),
         tracking_uri='file://{mlruns}'),
])
'''


@pytest.fixture(scope='module')
def tracked_run(tmp_path_factory) -> dict:
    """Train 2 short epochs (batches of 4) with validation after each; the work dir and
    the JSON log's training and validation records."""
    tmp = tmp_path_factory.mktemp('tracking')
    config = tmp / 'tracked.py'
    config.write_text(CONFIG.format(repo=REPO, mlruns=tmp / 'mlruns'))
    work_dir = tmp / 'work'
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv('WANDB_MODE', 'offline')
        mp.setenv('MLFLOW_ALLOW_FILE_STORE', 'true')  # mlflow 3 asks for it with file: URIs
        run_tool(['tools/train.py', str(config), '--work-dir', str(work_dir), '--seed', '0',
                  '--cfg-options', *demo_data_options(tmp, num_train=8, num_val=4)])
    log = sorted(work_dir.glob('*/vis_data/*.json'))[-1]
    records = [json.loads(line) for line in log.read_text().splitlines()]
    return dict(work_dir=work_dir, mlruns=tmp / 'mlruns',
                train=[r for r in records if 'loss' in r],
                val=[r for r in records if 'bbox_mAP' in r])


def test_json_log_has_losses_and_metrics(tracked_run):
    assert len(tracked_run['train']) >= 2 and len(tracked_run['val']) == 2
    assert [r['step'] for r in tracked_run['val']] == [1, 2]  # validation: step = epoch


def test_tensorboard_event_file(tracked_run):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    event_dir = next(tracked_run['work_dir'].glob('*/vis_data/events.out.tfevents.*')).parent
    events = EventAccumulator(str(event_dir), size_guidance={'scalars': 0, 'tensors': 0})
    events.Reload()
    for key in ('loss', 'loss_cls', 'loss_bbox', 'lr'):
        logged = [(e.step, e.value) for e in events.Scalars(key)]
        expected = [(r['step'], r[key]) for r in tracked_run['train']]
        np.testing.assert_allclose(logged, expected, rtol=1e-5)
    maps = [e.value for e in events.Scalars('bbox_mAP')]
    np.testing.assert_allclose(maps, [r['bbox_mAP'] for r in tracked_run['val']], rtol=1e-5)
    assert 'config/text_summary' in events.Tags()['tensors']


def test_wandb_offline_run_directory(tracked_run):
    run_dir = next(tracked_run['work_dir'].glob('*/vis_data/wandb/offline-run-*'))
    records = read_records(next(run_dir.glob('run-*.wandb')))
    cfg = config(records)
    assert cfg['model']['type'] == 'SingleStageDetector' and cfg['runner']['max_epochs'] == 2
    rows = history(records)
    losses = [row['loss'] for row in rows if 'loss' in row]
    np.testing.assert_allclose(losses, [r['loss'] for r in tracked_run['train']], rtol=1e-5)
    assert [row['lr'] for row in rows if 'lr' in row] == [r['lr'] for r in tracked_run['train']]
    maps = [row['bbox_mAP'] for row in rows if 'bbox_mAP' in row]
    assert maps == [r['bbox_mAP'] for r in tracked_run['val']]
    # MMDetWandbHook: 3 evaluation images with predicted and ground-truth boxes, twice
    image_rows = [row for row in rows if 'val/predictions/_type' in row]
    assert len(image_rows) == 2 and all(row['val/predictions/count'] == 3 for row in image_rows)
    box_files = sorted(run_dir.glob('files/media/metadata/boxes2D/**/*.boxes2D.json'))
    assert len(box_files) == 2 * 3 * 2  # per validation, image and layer
    layers = [json.loads(f.read_text()) for f in box_files]
    predicted = [b for layer in layers for b in layer['box_data'] if 'scores' in b]
    truth = [b for layer in layers for b in layer['box_data'] if 'scores' not in b]
    assert predicted and truth and all(b['domain'] == 'pixel' for b in predicted + truth)
    assert len(sorted(run_dir.glob('files/media/images/**/*.png'))) == 2 * 3
    # log_checkpoint: each epoch's checkpoint as a model artifact, with the metrics
    models = [a for a in artifacts(records) if a.type == 'model']
    assert [sorted(a.aliases) for a in models] == [['epoch_1', 'latest'], ['epoch_2', 'latest']]
    assert json.loads(models[-1].metadata)['bbox_mAP'] == tracked_run['val'][-1]['bbox_mAP']
    assert not list(run_dir.glob('files/code')) and not list(run_dir.glob('tmp/code/*'))


def test_mlflow_file_store(tracked_run, monkeypatch):
    from mlflow.tracking import MlflowClient
    monkeypatch.setenv('MLFLOW_ALLOW_FILE_STORE', 'true')
    client = MlflowClient(tracking_uri=f"file://{tracked_run['mlruns']}")
    experiment = client.get_experiment_by_name('demo')
    (run,) = client.search_runs([experiment.experiment_id])
    assert run.data.tags['team'] == 'det'
    assert run.data.params['model.type'] == 'SingleStageDetector'
    assert run.data.params['runner.max_epochs'] == '2'
    for key in ('loss', 'lr'):
        history_ = client.get_metric_history(run.info.run_id, key)
        np.testing.assert_allclose([(m.step, m.value) for m in history_],
                                   [(r['step'], r[key]) for r in tracked_run['train']],
                                   rtol=1e-6)
    maps = [m.value for m in client.get_metric_history(run.info.run_id, 'bbox_mAP')]
    assert maps == [r['bbox_mAP'] for r in tracked_run['val']]
    # log_model (2.x's default): the final checkpoint under models/
    models = [Path(a.path).name for a in client.list_artifacts(run.info.run_id, 'models')]
    assert models == ['epoch_2.pth']
    assert run.info.status == 'FINISHED'
