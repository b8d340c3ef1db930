"""The exported graph plus its post-step reproduce the detector's own predictions."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from mmssd.apis import init_detector
from mmssd.deployment import SSDOnnxModel, postprocess_detections
from mmssd.models.utils import bbox2result

DEMO_CONFIG = str(Path(__file__).resolve().parents[2] / 'configs/demo/ssdlite_mobilenetv2_demo.py')

pytestmark = pytest.mark.usefixtures('torch_single_thread')


@pytest.fixture(scope='module')
def demo_model():
    torch.manual_seed(0)
    return init_detector(DEMO_CONFIG, None, cfg_options={'model.test_cfg.score_thr': 0.0})


def test_outputs_cover_every_anchor(demo_model):
    wrapper = SSDOnnxModel(demo_model, (192, 192))
    boxes, scores = wrapper(torch.rand(2, 3, 192, 192))
    n = sum(wrapper.num_level_anchors)
    assert boxes.shape == (2, n, 4) and scores.shape == (2, n, 6)
    assert torch.allclose(scores.sum(-1), torch.ones(2, n), atol=1e-5)
    assert boxes.min() >= 0 and boxes.max() <= 192


def test_post_step_equals_head_get_bboxes(demo_model):
    torch.manual_seed(1)
    img = torch.randn(2, 3, 192, 192)
    scale = np.array([[192 / 187, 192 / 150, 192 / 187, 192 / 150],
                      [192 / 160, 192 / 170, 192 / 160, 192 / 170]], np.float32)
    metas = [dict(img_shape=(192, 192, 3), scale_factor=s) for s in scale]
    wrapper = SSDOnnxModel(demo_model, (192, 192)).eval()
    head = demo_model.bbox_head
    with torch.no_grad():
        boxes, scores = wrapper(img)
        expected = head.get_bboxes(*head(demo_model.extract_feat(img)), metas, rescale=True)
    actual = postprocess_detections(boxes.numpy(), scores.numpy(), wrapper.num_level_anchors,
                                    head.test_cfg, scale)
    for (dets, labels), got in zip(expected, actual, strict=True):
        want = bbox2result(dets, labels, head.num_classes)
        assert sum(len(w) for w in want) > 0
        for w, g in zip(want, got, strict=True):
            np.testing.assert_allclose(g, w, atol=1e-4)


def test_post_step_rejects_wrong_level_counts(demo_model):
    with pytest.raises(ValueError, match='anchors'):
        postprocess_detections(np.zeros((1, 10, 4)), np.zeros((1, 10, 6)), [4, 5],
                               demo_model.bbox_head.test_cfg)
