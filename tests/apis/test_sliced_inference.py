"""Sliced inference (mmssd.apis.sliced_inference, demo/image_demo.py --slice): tiles that
cover the image, boxes shifted back and merged across tiles by NMS, and a large generated
image whose small objects a trained demo detector finds only tile by tile."""
from __future__ import annotations

import json
import runpy
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config
from torchvision.ops import box_iou

from mmssd.apis import inference_detector, inference_detector_sliced, init_detector
from mmssd.apis.sliced_inference import merge_tile_detections, slice_windows

REPO = Path(__file__).resolve().parents[2]
GRID = (3, 4)  # rows, columns of the large image's 192 px cells


def test_slice_windows_cover_the_image():
    windows = slice_windows(1000, 600, 512, 0.2)  # stride round(409.6) = 410
    np.testing.assert_array_equal(windows, [[0, 0, 512, 512], [410, 0, 922, 512],
                                            [488, 0, 1000, 512], [0, 88, 512, 600],
                                            [410, 88, 922, 600], [488, 88, 1000, 600]])
    np.testing.assert_array_equal(slice_windows(300, 200, 512, 0.2), [[0, 0, 300, 200]])
    np.testing.assert_array_equal(slice_windows(768, 192, 192, 0.0)[:, 0], [0, 192, 384, 576])
    with pytest.raises(ValueError, match=r'overlap must be in \[0, 1\), got 1.0'):
        slice_windows(100, 100, 50, 1.0)
    with pytest.raises(ValueError, match='positive number of pixels, got 0'):
        slice_windows(100, 100, 0, 0.2)


def test_merge_shifts_and_suppresses_across_tiles():
    empty = np.zeros((0, 5), np.float32)
    # one object seen by two overlapping tiles (origins x=0 and x=80), and one other class
    tile_a = [np.array([[90, 10, 110, 30, 0.9]], np.float32), empty]
    tile_b = [np.array([[11, 10, 31, 30, 0.8]], np.float32),
              np.array([[50, 50, 60, 60, 0.7]], np.float32)]
    nms = dict(type='nms', iou_threshold=0.5)
    merged = merge_tile_detections([tile_a, tile_b], np.array([[0, 0], [80, 0]]), nms, 100)
    np.testing.assert_allclose(merged[0], [[90, 10, 110, 30, 0.9]])
    np.testing.assert_allclose(merged[1], [[130, 50, 140, 60, 0.7]])
    only_best = merge_tile_detections([tile_a, tile_b], np.array([[0, 0], [80, 0]]), nms, 1)
    assert [len(d) for d in only_best] == [1, 0]


def large_image(tmp_path: Path) -> tuple[Path, np.ndarray, np.ndarray]:
    """The demo image at the model's 192 px training view, repeated over a 768 x 576
    canvas: 36 objects of 10-60 px that shrink four times when the whole is resized to
    192 px. Returns the PNG, ground-truth boxes (n, 4) and labels (n,)."""
    demo = cv2.imread(str(REPO / 'demo/demo.jpg'))
    ann = json.loads((REPO / 'demo/demo.json').read_text())
    sx, sy = 192 / demo.shape[1], 192 / demo.shape[0]
    canvas = np.tile(cv2.resize(demo, (192, 192)), (*GRID, 1))
    boxes, labels = [], []
    for row in range(GRID[0]):
        for col in range(GRID[1]):
            for obj in ann['annotations']:
                x, y, w, h = obj['bbox']
                boxes.append([x * sx + 192 * col, y * sy + 192 * row,
                              (x + w) * sx + 192 * col, (y + h) * sy + 192 * row])
                labels.append(obj['category_id'] - 1)
    path = tmp_path / 'large.png'
    cv2.imwrite(str(path), canvas)
    return path, np.array(boxes, np.float32), np.array(labels)


def matches(result, gt: np.ndarray, labels: np.ndarray, score_thr: float = 0.5
            ) -> tuple[np.ndarray, int]:
    """Detections of the right class at IoU >= 0.5 per ground-truth box, and the number of
    detections that match none."""
    per_gt = np.zeros(len(gt), np.int64)
    unmatched = 0
    for label, dets in enumerate(result):
        dets = dets[dets[:, 4] >= score_thr]
        mask = labels == label
        if not len(dets):
            continue
        if not mask.any():
            unmatched += len(dets)
            continue
        hit = (box_iou(torch.from_numpy(gt[mask]), torch.from_numpy(dets[:, :4])) >= 0.5).numpy()
        per_gt[mask] = hit.sum(axis=1)
        unmatched += int((~hit.any(axis=0)).sum())
    return per_gt, unmatched


@pytest.mark.slow
@pytest.mark.usefixtures('torch_single_thread')
def test_small_objects_found_only_with_slicing(demo_run, tmp_path: Path, capsys):
    path, gt, labels = large_image(tmp_path)
    model = init_detector(str(demo_run.config), str(demo_run.checkpoint))
    whole, _ = matches(inference_detector(model, str(path)), gt, labels)
    assert whole.sum() <= 2, whole  # resized to 192 px, the objects are lost
    tiled, stray = matches(inference_detector_sliced(model, str(path), 192, 0.0), gt, labels)
    np.testing.assert_array_equal(tiled, 1)  # every object once, of its class
    assert stray == 0
    # overlapping tiles see objects several times: NMS leaves one box per object
    overlapping, _ = matches(inference_detector_sliced(model, str(path), 192, 0.5), gt, labels)
    np.testing.assert_array_equal(overlapping, 1)
    # the demo script, through the same function
    out = tmp_path / 'sliced.png'
    result = runpy.run_path(str(REPO / 'demo/image_demo.py'), run_name='image_demo')['main'](
        [str(path), str(demo_run.config), str(demo_run.checkpoint), '--slice', '192',
         '--overlap', '0', '--score-thr', '0.5', '--out-file', str(out)])
    np.testing.assert_array_equal(matches(result, gt, labels)[0], 1)
    assert '36 detections with score >= 0.5' in capsys.readouterr().out
    assert cv2.imread(str(out)).shape == (576, 768, 3)


class ComponentDetector(torch.nn.Module):
    """A stand-in detector for dense scenes: every bright connected component of a tile is
    an object (red: class 0, green: class 1), scored 0.9, or 0.3 when cut by the tile's
    border; each tile keeps its best ``max_per_img`` (100, the two-stage bases' test_cfg).
    Images reach it through the real test pipeline and collation."""

    def __init__(self):
        super().__init__()
        self.anchor = torch.nn.Parameter(torch.zeros(1))  # a device for inference_detector
        self.cfg = Config(dict(
            model=dict(test_cfg=dict(rcnn=dict(score_thr=0.05, max_per_img=100,
                                               nms=dict(type='nms', iou_threshold=0.5)))),
            data=dict(test=dict(pipeline=[dict(type='LoadImageFromFile'),
                                          dict(type='ImageToTensor', keys=['img']),
                                          dict(type='Collect', keys=['img'],
                                               meta_keys=['img_shape'])]))))

    def forward(self, img, img_metas, mode='predict'):
        results = []
        for tile in img:
            bgr = tile.permute(1, 2, 0).numpy().astype(np.uint8)
            per_class = []
            for channel in (2, 1):  # red, green
                count, _, stats, _ = cv2.connectedComponentsWithStats(
                    (bgr[..., channel] > 127).astype(np.uint8))
                dets = []
                for x, y, w, h, _ in stats[1:count]:
                    cut = x == 0 or y == 0 or x + w == bgr.shape[1] or y + h == bgr.shape[0]
                    dets.append([x, y, x + w, y + h, 0.3 if cut else 0.9])
                per_class.append(np.array(dets, np.float32).reshape(-1, 5))
            scores = np.concatenate([d[:, 4] for d in per_class])
            if len(scores) > 100:  # the per-tile cap
                floor = np.sort(scores)[-100]
                per_class = [d[d[:, 4] >= floor] for d in per_class]
            results.append(per_class)
        return results


def dense_scene(seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A 1200 x 1000 px image with 300 small squares (8-20 px) in cells of a 20 x 15 grid:
    the BGR image, boxes (300, 4) and labels (300,)."""
    rng = np.random.default_rng(seed)
    image = np.zeros((1000, 1200, 3), np.uint8)
    boxes, labels = [], []
    for row in range(15):
        for col in range(20):
            side = int(rng.integers(8, 21))
            x = col * 60 + int(rng.integers(5, 60 - side - 5))
            y = row * 66 + int(rng.integers(5, 66 - side - 5))
            label = int(rng.integers(2))
            image[y:y + side, x:x + side, 2 - label] = 255
            boxes.append([x, y, x + side, y + side])
            labels.append(label)
    return image, np.array(boxes, np.float32), np.array(labels)


def test_dense_scene_is_not_capped_at_the_per_tile_limit(tmp_path: Path):
    """279 annotated objects and a whole-image cap of 100 held recall at 36%; the whole
    image now keeps every merged box unless max_per_img says otherwise."""
    image, gt, labels = dense_scene()
    path = tmp_path / 'dense.png'
    cv2.imwrite(str(path), image)
    model = ComponentDetector()
    result = inference_detector_sliced(model, str(path), 512, 0.2)
    found, _ = matches(result, gt, labels, score_thr=0.5)
    assert sum(len(r) for r in result) > 100
    assert (found > 0).mean() >= 0.9, (found > 0).mean()
    capped = inference_detector_sliced(model, str(path), 512, 0.2, max_per_img=100)
    assert sum(len(r) for r in capped) == 100
    assert (matches(capped, gt, labels)[0] > 0).sum() <= 100
