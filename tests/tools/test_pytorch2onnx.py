"""pytorch2onnx.py: SSD300 and the demo model, checked with onnxruntime to 1e-3."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from tests.helpers.tools import REPO, load_tool

onnx = pytest.importorskip('onnx')
pytest.importorskip('onnxruntime')

ATOL = 1e-3

pytestmark = pytest.mark.usefixtures('torch_single_thread')


def metadata(path: Path) -> dict:
    return {p.key: json.loads(p.value) for p in onnx.load(str(path)).metadata_props}


def check_report(diffs: dict) -> None:
    assert diffs['same_counts']
    assert diffs['num_dets'] > 0, 'nothing to compare after NMS'
    for key in ('raw_boxes', 'raw_scores', 'det_boxes', 'det_scores'):
        assert diffs[key] <= ATOL, diffs


@pytest.mark.slow
def test_ssd300_export_matches_pytorch(tmp_path: Path, capsys):
    torch.manual_seed(0)  # no checkpoint: PyTorch's default initialisation, seeded
    out = tmp_path / 'ssd300.onnx'
    report = load_tool('tools/deployment/pytorch2onnx.py').main(
        [str(REPO / 'configs/ssd/ssd300_coco.py'), '--output-file', str(out),
         '--shape', '300', '300', '--verify'])
    check_report(report[1])
    assert 'verified' in capsys.readouterr().out
    meta = metadata(out)
    assert sum(meta['num_level_anchors']) == 8732 and meta['input_shape'] == [300, 300]
    assert len(meta['classes']) == 80 and meta['test_cfg']['nms']['iou_threshold'] == 0.45
    graph_inputs = onnx.load(str(out)).graph.input
    assert [d.dim_value for d in graph_inputs[0].type.tensor_type.shape.dim] == [1, 3, 300, 300]


@pytest.mark.slow
def test_demo_model_dynamic_export_matches_pytorch(demo_run, tmp_path: Path):
    out = tmp_path / 'demo.onnx'
    report = load_tool('tools/deployment/pytorch2onnx.py').main(
        [str(demo_run.config), str(demo_run.checkpoint), '--output-file', str(out),
         '--input-img', str(demo_run.image), '--dynamic-export', '--verify'])
    assert set(report) == {1, 2}
    for diffs in report.values():
        check_report(diffs)
    dims = onnx.load(str(out)).graph.input[0].type.tensor_type.shape.dim
    assert dims[0].dim_param == 'batch' and [d.dim_value for d in dims[1:]] == [3, 192, 192]


def test_shape_other_than_the_pipeline_is_refused(tmp_path: Path):
    with pytest.raises(SystemExit, match='differs from the test pipeline'):
        load_tool('tools/deployment/pytorch2onnx.py').main(
            [str(REPO / 'configs/demo/ssdlite_mobilenetv2_demo.py'), '--output-file',
             str(tmp_path / 'x.onnx'), '--shape', '300', '300'])


@pytest.mark.parametrize('demo', ['faster_rcnn_r18_fpn_demo.py', 'cascade_rcnn_r18_fpn_demo.py'])
def test_two_stage_models_are_refused_with_what_is_supported(demo: str, tmp_path: Path):
    with pytest.raises(SystemExit, match='supports single-stage detectors .*builds a '
                                         '(FasterRCNN|CascadeRCNN)'):
        load_tool('tools/deployment/pytorch2onnx.py').main(
            [str(REPO / 'configs/demo' / demo), '--output-file', str(tmp_path / 'x.onnx')])
    assert not (tmp_path / 'x.onnx').exists()
