"""tools/deployment/test.py: the demo Faster and Cascade R-CNN runs, exported to ONNX and
evaluated through onnxruntime, score tools/test.py's bbox_mAP within 0.002."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.helpers.tools import load_tool, run_tool
from tests.helpers.trained import TrainedRun

pytest.importorskip('onnxruntime')


def metric(output: str, name: str) -> float:
    """The value of ``name: value`` printed by a test tool."""
    found = re.findall(rf'^{name}: ([0-9.]+)$', output, flags=re.MULTILINE)
    assert found, output[-3000:]
    return float(found[-1])


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
    pytorch = run_tool(['tools/test.py', trained_run.config, trained_run.checkpoint, '--eval',
                        'bbox', '--work-dir', tmp_path / 'pt', '--cfg-options',
                        *trained_run.options])
    show_dir = tmp_path / 'show'
    capsys.readouterr()
    metrics = load_tool('tools/deployment/test.py').main(
        [str(trained_run.config), str(onnx_file), '--eval', 'bbox', '--work-dir',
         str(tmp_path / 'onnx'), *(['--show-dir', str(show_dir)] if show else []),
         '--cfg-options', *trained_run.options])
    expected = metric(pytorch.stdout, 'bbox_mAP')
    assert expected > 0.1  # a trained model: a real comparison
    assert abs(metrics['bbox_mAP'] - expected) <= 0.002, (metrics, expected)
    assert abs(metrics['bbox_mAP_50'] - metric(pytorch.stdout, 'bbox_mAP_50')) <= 0.002
    assert f"bbox_mAP: {metrics['bbox_mAP']}" in capsys.readouterr().out
    if show:  # every test image drawn, as tools/test.py --show-dir does
        ann = json.loads((trained_run.data_root / 'annotations/instances_val.json').read_text())
        assert len(list(show_dir.glob('*.png'))) == len(ann['images']) > 0
