"""tools/deployment/test.py: the demo Faster and Cascade R-CNN runs, exported to ONNX and
evaluated through onnxruntime, score the checkpoint's bbox_mAP within 0.002.

The checkpoint's figures are the run's validation after its last epoch: the same runner
test loop, metric code, pipeline and images as ``tools/test.py CONFIG CHECKPOINT --eval
bbox`` with the run's options (which printed the same figures for these runs, README
"Deployment"), without a second PyTorch evaluation in the suite."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers.tools import load_tool
from tests.helpers.trained import TrainedRun

pytest.importorskip('onnxruntime')


@pytest.mark.slow
@pytest.mark.usefixtures('torch_single_thread')
@pytest.mark.parametrize('trained_run, show', [('faster_rcnn_run', False),
                                               ('cascade_rcnn_run', True)],
                         indirect=['trained_run'])
def test_onnx_model_scores_as_the_checkpoint(trained_run: TrainedRun, show: bool,
                                             tmp_path: Path, capsys):
    onnx_file = tmp_path / 'model.onnx'
    load_tool('tools/deployment/pytorch2onnx.py').main(
        [str(trained_run.config), str(trained_run.checkpoint), '--output-file',
         str(onnx_file), '--dynamic-export'])
    show_dir = tmp_path / 'show'
    capsys.readouterr()
    metrics = load_tool('tools/deployment/test.py').main(
        [str(trained_run.config), str(onnx_file), '--eval', 'bbox', '--work-dir',
         str(tmp_path / 'onnx'), *(['--show-dir', str(show_dir)] if show else []),
         '--cfg-options', *trained_run.options])
    expected = trained_run.val[-1]
    assert expected['step'] == trained_run.epochs and expected['bbox_mAP'] > 0.1
    for key in ('bbox_mAP', 'bbox_mAP_50'):
        assert abs(metrics[key] - expected[key]) <= 0.002, (metrics, expected)
    assert f"bbox_mAP: {metrics['bbox_mAP']}" in capsys.readouterr().out
    if show:  # every test image drawn, as tools/test.py --show-dir does
        ann = json.loads((trained_run.data_root / 'annotations/instances_val.json').read_text())
        assert len(list(show_dir.glob('*.png'))) == len(ann['images']) > 0
