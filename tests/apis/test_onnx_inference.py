"""``init_onnx_detector`` (and ``init_detector`` given an ``.onnx`` file): inference, sliced
inference and the image and video demos run the exported demo model on onnxruntime, with
PyTorch's detections and drawing formats."""
from __future__ import annotations

import runpy
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from mmssd.apis import (
    inference_detector,
    inference_detector_sliced,
    init_detector,
    init_onnx_detector,
)
from mmssd.deployment.compare import compare_detections
from mmssd.deployment.export import export_onnx
from mmssd.deployment.ort_detector import ONNXRuntimeModel

pytest.importorskip('onnxruntime')

REPO = Path(__file__).resolve().parents[2]


def assert_same(expected: list, actual: list) -> None:
    report = compare_detections(expected, actual, max_per_img=200)
    assert report['ok'] and report['paired'] > 0, report


@pytest.mark.slow
@pytest.mark.usefixtures('torch_single_thread')
def test_onnx_model_runs_inference_and_demos(demo_run, tmp_path: Path):
    model = init_detector(str(demo_run.config), str(demo_run.checkpoint))
    onnx_file = tmp_path / 'demo.onnx'
    export_onnx(model, torch.zeros(1, 3, 192, 192), torch.tensor([[192.0, 192.0]]),
                str(onnx_file), dynamic=True, metadata=dict(classes=list(model.CLASSES)))
    onnx_model = init_detector(str(demo_run.config), str(onnx_file))
    assert isinstance(onnx_model, ONNXRuntimeModel)
    assert onnx_model.CLASSES == model.CLASSES and onnx_model.cfg.model == model.cfg.model
    image = cv2.imread(str(demo_run.image))
    flipped = np.ascontiguousarray(image[:, ::-1])
    assert_same(inference_detector(model, [image, flipped]),
                inference_detector(onnx_model, [image, flipped]))
    # sliced: tiles of several sizes, in padded batches
    assert_same([inference_detector_sliced(model, image, 128, 0.25, batch_size=4)],
                [inference_detector_sliced(onnx_model, image, 128, 0.25, batch_size=4)])
    out_file = tmp_path / 'result.png'
    runpy.run_path(str(REPO / 'demo/image_demo.py'), run_name='image_demo')['main'](
        [str(demo_run.image), str(demo_run.config), str(onnx_file), '--out-file',
         str(out_file), '--score-thr', '0.5'])
    drawn = cv2.imread(str(out_file))
    assert drawn.shape == image.shape and np.abs(drawn.astype(int) - image).max() > 60
    # the video demo: two frames, the detections of PyTorch on each
    video = tmp_path / 'in.mp4'
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*'mp4v'), 10,
                             image.shape[1::-1])
    for frame in (image, flipped):
        writer.write(frame)
    writer.release()
    results = runpy.run_path(str(REPO / 'demo/video_demo.py'), run_name='video_demo')['main'](
        [str(video), str(demo_run.config), str(onnx_file), '--out',
         str(tmp_path / 'out.mp4'), '--batch-size', '2'])
    capture, frames = cv2.VideoCapture(str(video)), []
    while (read := capture.read())[0]:
        frames.append(read[1])
    assert len(results) == len(frames) == 2
    assert_same(inference_detector(model, frames), results)


def test_onnx_models_run_on_the_cpu_only(tmp_path: Path):
    with pytest.raises(ValueError, match="onnxruntime's CPU provider; got device 'cuda:0'"):
        init_onnx_detector(str(REPO / 'configs/demo/ssdlite_mobilenetv2_demo.py'),
                           str(tmp_path / 'x.onnx'), device='cuda:0')
    with pytest.raises(FileNotFoundError, match='x.onnx does not exist'):
        init_detector(str(REPO / 'configs/demo/ssdlite_mobilenetv2_demo.py'),
                      str(tmp_path / 'x.onnx'))
