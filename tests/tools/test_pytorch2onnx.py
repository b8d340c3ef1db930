"""pytorch2onnx.py: the command line end to end (export, --verify on a padded batch) and
its errors (no export path, opset too low, static size off the stride).

The five reference detectors' exports are checked in ``tests/deployment``."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import nn

from mmssd.deployment import ExportError, build_onnx_model
from tests.helpers.tools import REPO, load_tool

onnx = pytest.importorskip('onnx')
pytest.importorskip('onnxruntime')

pytestmark = pytest.mark.usefixtures('torch_single_thread')


@pytest.mark.slow
def test_demo_model_dynamic_export_verifies(demo_run, tmp_path: Path, capsys):
    out = tmp_path / 'demo.onnx'
    report = load_tool('tools/deployment/pytorch2onnx.py').main(
        [str(demo_run.config), str(demo_run.checkpoint), '--output-file', str(out),
         '--input-img', str(demo_run.image), '--dynamic-export', '--verify'])
    assert set(report) == {1, 2}  # the image, then a padded batch of it and a crop
    for diffs in report.values():
        assert diffs['ok'] and diffs['num_dets'] > 0, diffs
        assert diffs['box_diff'] <= 1e-2 and diffs['score_diff'] <= 1e-4
    assert 'verified' in capsys.readouterr().out
    graph = onnx.load(str(out)).graph
    assert [i.name for i in graph.input] == ['img', 'img_shape']
    assert [o.name for o in graph.output] == ['dets', 'labels']
    dims = graph.input[0].type.tensor_type.shape.dim
    assert [d.dim_param for d in dims] == ['batch', '', 'height', 'width']
    meta = {p.key: p.value for p in onnx.load(str(out)).metadata_props}
    assert meta['max_per_img'] == '200' and meta['dynamic'] == 'true'


def test_model_without_export_path_names_the_types_that_export():
    class Other(nn.Module):
        pass

    with pytest.raises(ExportError, match=r'Other has no ONNX export path; the detector '
                                          r'types that export are: .*CascadeRCNN.*FasterRCNN'
                                          r'.*RPN.*RetinaNet.*SSD'):
        build_onnx_model(Other())


@pytest.mark.parametrize('demo, opset, message', [
    ('faster_rcnn_r18_fpn_demo.py', 15, r'--opset 15 is too low: the graph needs the ONNX '
                                        r'operator RoiAlign .*opset 16 introduced'),
    ('ssdlite_mobilenetv2_demo.py', 10, r'--opset 10 is too low: .*NonMaxSuppression, '
                                        r'which opset 11 introduced'),
])
def test_opset_too_low_names_the_operator(demo: str, opset: int, message: str,
                                          tmp_path: Path):
    with pytest.raises(SystemExit, match=message):
        load_tool('tools/deployment/pytorch2onnx.py').main(
            [str(REPO / 'configs/demo' / demo), '--output-file', str(tmp_path / 'x.onnx'),
             '--opset', str(opset)])
    assert not (tmp_path / 'x.onnx').exists()


def test_static_shape_off_the_stride_names_both(tmp_path: Path):
    with pytest.raises(SystemExit, match=r'--shape 200 250 is not divisible by the '
                                         r"model's stride 32 .*use 224 256"):
        load_tool('tools/deployment/pytorch2onnx.py').main(
            [str(REPO / 'configs/retinanet/retinanet_r50_fpn_1x_coco.py'), '--output-file',
             str(tmp_path / 'x.onnx'), '--shape', '200', '250'])


def test_static_export_has_a_fixed_input(tmp_path: Path):
    torch.manual_seed(0)
    out = tmp_path / 'static.onnx'
    load_tool('tools/deployment/pytorch2onnx.py').main(
        [str(REPO / 'configs/demo/rpn_r18_fpn_demo.py'), '--output-file', str(out),
         '--shape', '224', '224', '--verify'])
    dims = onnx.load(str(out)).graph.input[0].type.tensor_type.shape.dim
    assert [d.dim_value for d in dims] == [1, 3, 224, 224]
