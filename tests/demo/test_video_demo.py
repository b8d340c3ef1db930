"""demo/video_demo.py on a video generated through OpenCV (the demo image sliding a few
pixels per frame), with the trained demo checkpoint of the ``demo_run`` fixture; and the
demo-shapes video writer (mmssd.datasets.demo_video, demo/make_demo_video.py)."""
from __future__ import annotations

import json
import runpy
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from torchvision.ops import box_iou

from mmssd.apis import inference_detector, init_detector
from mmssd.datasets.demo_video import render_demo_video
from mmssd.visualization import draw_result

REPO = Path(__file__).resolve().parents[2]
SHIFTS = [(0, 0), (2, 1), (4, 2), (6, 3), (4, -2), (2, -4), (-2, -3), (-4, 0), (-6, 2)]


def read_frames(path: Path) -> list[np.ndarray]:
    capture = cv2.VideoCapture(str(path))
    frames = []
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        frames.append(frame)
    capture.release()
    return frames


def sliding_video(path: Path) -> list[np.ndarray]:
    """Write the demo image shifted by :data:`SHIFTS` (edges replicated) as an mp4;
    returns the ground-truth boxes (3, 4) of each frame."""
    img = cv2.imread(str(REPO / 'demo/demo.jpg'))
    ann = json.loads((REPO / 'demo/demo.json').read_text())
    boxes = np.array([[x, y, x + w, y + h] for x, y, w, h in
                      (a['bbox'] for a in ann['annotations'])], np.float32)
    height, width = img.shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*'mp4v'), 10, (width, height))
    truth = []
    for dx, dy in SHIFTS:
        shift = np.float32([[1, 0, dx], [0, 1, dy]])
        writer.write(cv2.warpAffine(img, shift, (width, height),
                                    borderMode=cv2.BORDER_REPLICATE))
        truth.append(boxes + np.float32([dx, dy, dx, dy]))
    writer.release()
    return truth


@pytest.mark.slow
@pytest.mark.usefixtures('torch_single_thread')
def test_video_in_video_with_boxes_out(demo_run, tmp_path: Path, capsys):
    truth = sliding_video(tmp_path / 'in.mp4')
    labels = [a['category_id'] - 1 for a in
              json.loads((REPO / 'demo/demo.json').read_text())['annotations']]
    out, snapshot = tmp_path / 'out/result.mp4', tmp_path / 'frame3.png'
    results = runpy.run_path(str(REPO / 'demo/video_demo.py'), run_name='video_demo')['main'](
        [str(tmp_path / 'in.mp4'), str(demo_run.config), str(demo_run.checkpoint), '--out',
         str(out), '--score-thr', '0.5', '--batch-size', '4', '--snapshot', str(snapshot),
         '--snapshot-frame', '3'])
    captured = capsys.readouterr()
    assert f'{len(SHIFTS)} frames' in captured.out and 'frames: 100%' in captured.err
    assert len(results) == len(SHIFTS)
    inputs, outputs = read_frames(tmp_path / 'in.mp4'), read_frames(out)
    # frame by frame, the video demo's batched results are the model's on the decoded frame
    model = init_detector(str(demo_run.config), str(demo_run.checkpoint))
    for frame, frame_result in zip(inputs, results, strict=True):
        for got, want in zip(frame_result, inference_detector(model, frame), strict=True):
            np.testing.assert_allclose(got, want, rtol=0, atol=1e-3)
    # on the unshifted frame (the image the fixture's model learnt by heart) the two larger
    # objects (55 and 43 px) are found; how far its detections follow the shifted frames
    # is the over-fit model's, not the demo's, and moves with the OpenCV build's codec
    for box, label in list(zip(truth[0], labels, strict=True))[1:]:
        dets = results[0][label][results[0][label][:, 4] >= 0.5]
        assert len(dets) and box_iou(torch.from_numpy(box[None]),
                                     torch.from_numpy(dets[:, :4])).max() >= 0.6, (box, label)
    assert len(outputs) == len(SHIFTS) and outputs[0].shape == inputs[0].shape
    # the boxes are drawn: outline pixels differ strongly from the input frame
    diff = np.abs(outputs[0].astype(int) - inputs[0].astype(int)).max(axis=2)
    x1, y1, x2, _ = truth[0][1].round().astype(int)
    assert (diff[y1, x1 + 2:x2 - 2] > 60).mean() > 0.5
    # the snapshot is frame 3 as decoded, drawn by the project's drawing code
    np.testing.assert_array_equal(cv2.imread(str(snapshot)),
                                  draw_result(inputs[3], results[3], model.CLASSES, 0.5))


def test_demo_video_writer(tmp_path: Path, capsys):
    runpy.run_path(str(REPO / 'demo/make_demo_video.py'), run_name='make_demo_video')['main'](
        [str(tmp_path / 'shapes.mp4'), '--frames', '6', '--size', '160', '120'])
    assert 'wrote' in capsys.readouterr().out
    frames = read_frames(tmp_path / 'shapes.mp4')
    assert len(frames) == 6 and frames[0].shape == (120, 160, 3)
    truth = render_demo_video(str(tmp_path / 'again.mp4'), 6, 160, 120)
    for boxes in truth:  # every shape stays inside the frame
        for _, (x1, y1, x2, y2) in boxes:
            assert 0 <= x1 < x2 <= 159 and 0 <= y1 < y2 <= 119
    assert truth[0] != truth[-1]  # and they move
    with pytest.raises(ValueError, match='at least 64x64'):
        render_demo_video(str(tmp_path / 'x.mp4'), 3, 32, 32)
