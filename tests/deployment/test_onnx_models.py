"""The reference detectors and the dense heads of issue 24 exported with dynamic batch,
height and width: onnxruntime gives PyTorch's detections on a padded batch of two image
sizes, with standard operators only.

Random (seeded, PyTorch-default) weights, small inputs and, for the R50 models, a smaller
``nms_pre`` keep the exports fast (the softmax heads' ``score_thr`` is lowered below
``1 / (C + 1)``, where random weights score); the comparison is the ``--verify`` one (labels equal,
boxes within 1e-2 px, scores within 1e-4, ties at the ``max_per_img`` cut tolerated).
"""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

from mmssd.apis import init_detector
from mmssd.deployment.export import export_onnx, graph_op_types
from mmssd.deployment.verify import verify_onnx

pytest.importorskip('onnx')
pytest.importorskip('onnxruntime')

REPO = Path(__file__).resolve().parents[2]

#: name -> (config, options, traced (H, W), tested padded (H, W), the two images' (h, w))
MODELS = {
    'ssd300': ('configs/ssd/ssd300_coco.py', {}, (300, 300), (320, 320),
               [(320, 300), (300, 288)]),
    'ssdlite': ('configs/ssd/ssdlite_mobilenetv2_scratch_600e_coco.py',
                {'model.test_cfg.score_thr': 0.01}, (320, 320),
                (352, 320), [(352, 320), (320, 300)]),
    'retinanet_r50': ('configs/retinanet/retinanet_r50_fpn_1x_coco.py',
                      {'model.test_cfg.nms_pre': 200}, (128, 160), (160, 192),
                      [(160, 170), (130, 192)]),
    'faster_rcnn_r50': ('configs/faster_rcnn/faster_rcnn_r50_fpn_1x_coco.py',
                        {'model.test_cfg.rpn.nms_pre': 200,
                         'model.test_cfg.rpn.max_per_img': 100,
                         'model.test_cfg.rcnn.score_thr': 0.01}, (128, 160), (160, 192),
                        [(160, 170), (130, 192)]),
    'cascade_rcnn_r50': ('configs/cascade_rcnn/cascade_rcnn_r50_fpn_1x_coco.py',
                         {'model.test_cfg.rpn.nms_pre': 200,
                          'model.test_cfg.rpn.max_per_img': 100,
                         'model.test_cfg.rcnn.score_thr': 0.01}, (128, 160), (160, 192),
                         [(160, 170), (130, 192)]),
    # the dense heads of issue 24 at demo size (the same export path as RetinaNet's)
    'fcos_r18': ('configs/demo/fcos_r18_fpn_demo.py',
                 {'model.test_cfg.nms_pre': 200, 'model.test_cfg.score_thr': 0.001},
                 (128, 160), (160, 192), [(160, 170), (130, 192)]),
    'atss_r18': ('configs/demo/atss_r18_fpn_demo.py',
                 {'model.test_cfg.nms_pre': 200, 'model.test_cfg.score_thr': 0.001},
                 (128, 160), (160, 192), [(160, 170), (130, 192)]),
    'gfl_r18': ('configs/demo/gfl_r18_fpn_demo.py',
                {'model.test_cfg.nms_pre': 200, 'model.test_cfg.score_thr': 0.001},
                (128, 160), (160, 192), [(160, 170), (130, 192)]),
    # and YOLOX (issue 25; its test_cfg, as mmdetection's, sets no max_per_img, which the
    # export's fixed-size outputs need: the error says so; random weights score ~1e-4)
    'yolox_tiny': ('configs/demo/yolox_tiny_demo.py',
                   {'model.test_cfg.score_thr': 1e-5, 'model.test_cfg.max_per_img': 100},
                   (128, 160), (160, 192), [(160, 170), (130, 192)]),
}


@pytest.fixture(scope='module', params=list(MODELS))
def exported(request, tmp_path_factory):
    """``(name, detector, onnx path)``: the model exported with ``--dynamic-export``'s axes,
    traced at another size and batch than it is tested on."""
    name = request.param
    config, options, traced, _, _ = MODELS[name]
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    model = init_detector(str(REPO / config), None, cfg_options=options)
    path = tmp_path_factory.mktemp('onnx') / f'{name}.onnx'
    img = torch.randn(1, 3, *traced)
    export_onnx(model, img, torch.tensor([list(map(float, traced))]), str(path), dynamic=True,
                metadata=dict(classes=list(model.CLASSES)))
    torch.set_num_threads(previous)
    return name, model, path


@pytest.mark.usefixtures('torch_single_thread')
def test_onnxruntime_detections_equal_pytorch(exported):
    name, model, path = exported
    _, _, _, padded, sizes = MODELS[name]
    torch.manual_seed(1)
    img = torch.randn(2, 3, *padded)
    for i, (h, w) in enumerate(sizes):  # zero padding outside each image, as collate pads
        img[i, :, h:], img[i, :, :, w:] = 0, 0
    metas = [dict(img_shape=(h, w, 3), scale_factor=[1.25, 1.5, 1.25, 1.5] if i else 1.0)
             for i, (h, w) in enumerate(sizes)]
    report = verify_onnx(model, str(path), img, metas)
    assert report['ok'], [(r['unpaired_expected'][:3], r['unpaired_actual'][:3])
                          for r in report['images']]
    # the detections pair one to one, but for ties at the max_per_img cut (random weights
    # score many candidates alike there: SSDLite leaves about a quarter unpaired)
    assert report['num_dets'] >= 50 and report['paired'] >= 0.5 * report['num_dets']
    assert report['box_diff'] <= 1e-2 and report['score_diff'] <= 1e-4


def test_graphs_hold_standard_operators_only(exported):
    name, _, path = exported
    ops = graph_op_types(str(path))
    assert set(ops) == {''}, f'{name}: operators outside the standard domain: {ops}'
    listed = sorted(ops[''])
    assert 'NonMaxSuppression' in listed and 'TopK' in listed, listed
    assert ('RoiAlign' in listed) == ('rcnn' in name), listed
    assert {'ScatterND', 'Conv'} <= set(listed)
