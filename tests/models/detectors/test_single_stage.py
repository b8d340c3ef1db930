"""SingleStageDetector: the three modes, prediction format, and overfitting a tiny batch."""
from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pytest
import torch
from mmengine.config import Config

from mmssd.registry import MODELS

SSDLITE = Path(__file__).parents[3] / 'configs' / '_base_' / 'models' / 'ssdlite_mobilenetv2.py'
NUM_CLASSES = 3
SIZE = 128


def tiny_ssdlite_cfg() -> dict:
    """The SSDLite config at 128 px input with 3 classes (anchors scaled by 128 / 320)."""
    model = copy.deepcopy(Config.fromfile(str(SSDLITE)).model.to_dict())
    model['bbox_head']['num_classes'] = NUM_CLASSES
    model['bbox_head']['anchor_generator'].update(
        strides=[16, 32, 64, 128, 128, 128], min_sizes=[19, 40, 60, 81, 101, 122],
        max_sizes=[40, 60, 81, 101, 122, 128])
    return model


@pytest.fixture(scope='module')
def batch():
    g = torch.Generator().manual_seed(0)
    img = torch.rand(2, 3, SIZE, SIZE, generator=g) - 0.5
    img[0, :, 20:70, 30:100] += 1.0  # make the objects visible
    img[1, :, 60:120, 10:60] -= 1.0
    metas = [{'img_shape': (SIZE, SIZE, 3), 'ori_shape': (2 * SIZE, 2 * SIZE, 3),
              'pad_shape': (SIZE, SIZE, 3), 'batch_input_shape': (SIZE, SIZE),
              'scale_factor': np.full(4, 0.5, dtype=np.float32), 'img_id': i} for i in range(2)]
    gt_bboxes = [torch.tensor([[30., 20., 100., 70.]]), torch.tensor([[10., 60., 60., 120.]])]
    gt_labels = [torch.tensor([1]), torch.tensor([2])]
    return img, metas, gt_bboxes, gt_labels


def build_model() -> torch.nn.Module:
    torch.manual_seed(0)
    model = MODELS.build(tiny_ssdlite_cfg())
    model.init_weights()
    return model


def test_ssd_alias_is_registered():
    assert issubclass(MODELS.get('SSD'), MODELS.get('SingleStageDetector'))


def test_tensor_mode_shapes(batch):
    img, metas, *_ = batch
    model = build_model().eval()
    with torch.no_grad():
        cls_scores, bbox_preds = model(img, metas, mode='tensor')
    sizes = [(8, 8), (4, 4), (2, 2), (1, 1), (1, 1), (1, 1)]
    assert [tuple(s.shape) for s in cls_scores] == [(2, 6 * (NUM_CLASSES + 1), *hw)
                                                    for hw in sizes]
    assert [tuple(b.shape) for b in bbox_preds] == [(2, 24, *hw) for hw in sizes]


def test_predict_format_and_tta_inputs(batch):
    img, metas, *_ = batch
    model = build_model().eval()
    results = model(img, metas, mode='predict')
    assert len(results) == 2
    for per_image in results:
        assert len(per_image) == NUM_CLASSES
        for dets in per_image:
            assert isinstance(dets, np.ndarray) and dets.dtype == np.float32
            assert dets.ndim == 2 and dets.shape[1] == 5
        all_dets = np.concatenate(per_image)
        assert len(all_dets) <= 200
        # boxes are in original pixels: img_shape / scale_factor = 256
        assert all_dets[:, :4].min() >= 0 and all_dets[:, :4].max() <= 2 * SIZE
    with pytest.raises(ValueError, match='mode'):
        model(img, metas, mode='nonsense')


def test_test_time_augmentation(batch):
    """Lists over augmentations are merged (tests/models/test_time_augs checks the merge
    itself on a flip-equivariant model): a list of one augmentation gives the plain
    predictions; flips and a second scale give detections in original pixels."""
    img, metas, *_ = batch
    model = build_model().eval()
    plain = [dict(m, flip=False, flip_direction=None) for m in metas]
    results = model(img, metas, mode='predict')
    merged = model([img], [plain], mode='predict')
    for per_image, merged_per_image in zip(results, merged, strict=True):
        for dets, merged_dets in zip(per_image, merged_per_image, strict=True):
            np.testing.assert_array_equal(dets, merged_dets)
    small = torch.nn.functional.interpolate(img, size=(96, 96), mode='bilinear')
    small_metas = [dict(m, img_shape=(96, 96, 3), pad_shape=(96, 96, 3),
                        scale_factor=np.full(4, 0.375, np.float32)) for m in plain]
    flipped = [dict(m, flip=True, flip_direction='horizontal') for m in plain]
    tta = model.aug_test([img, img.flip(-1), small], [plain, flipped, small_metas])
    assert len(tta) == 2 and all(len(per_image) == NUM_CLASSES for per_image in tta)
    all_dets = np.concatenate([np.concatenate(per_image) for per_image in tta])
    assert 0 < len(all_dets) <= 400
    assert all_dets[:, :4].min() >= 0 and all_dets[:, :4].max() <= 2 * SIZE
    with pytest.raises(ValueError, match='as many img_metas lists as images'):
        model([img, img], [plain], mode='predict')
    with pytest.raises(TypeError, match='lists over test-time augmentations'):
        model([img], [plain], mode='tensor')
    with pytest.raises(KeyError, match="missing \\['flip'\\]"):
        model([img], [metas], mode='predict')


def test_loss_decreases_when_overfitting(batch):
    img, metas, gt_bboxes, gt_labels = batch
    model = build_model().train()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    history = []
    for _ in range(30):
        losses = model(img, metas, gt_bboxes=gt_bboxes, gt_labels=gt_labels, mode='loss')
        assert set(losses) == {'loss_cls', 'loss_bbox'}
        loss = sum(losses.values())
        assert torch.isfinite(loss)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        history.append(loss.item())
    assert history[-1] < 0.5 * history[0], history
