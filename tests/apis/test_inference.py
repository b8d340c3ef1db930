"""init_detector / inference_detector / show_result_pyplot without training."""
from __future__ import annotations

from pathlib import Path

import mmcv
import numpy as np
import pytest
import torch

from mmssd.apis import inference_detector, init_detector, show_result_pyplot

REPO = Path(__file__).resolve().parents[2]
CONFIG = str(REPO / 'configs/demo/ssdlite_mobilenetv2_demo.py')
IMAGE = str(REPO / 'demo/demo.jpg')

pytestmark = pytest.mark.usefixtures('torch_single_thread')


@pytest.fixture(scope='module')
def model():
    torch.manual_seed(0)
    # a low threshold so that the untrained model returns boxes to compare
    return init_detector(CONFIG, cfg_options={'model.test_cfg.score_thr': 0.0})


def test_model_is_ready_for_inference(model):
    assert not model.training
    assert model.CLASSES == ('circle', 'square', 'triangle', 'star', 'cross')
    assert model.cfg.model.test_cfg.score_thr == 0.0


def test_path_array_and_batched_inputs_agree(model):
    from_path = inference_detector(model, IMAGE)
    img = mmcv.imread(IMAGE)
    from_array = inference_detector(model, img)
    flipped = np.ascontiguousarray(img[:, ::-1])
    batched = inference_detector(model, [IMAGE, flipped, img], batch_size=2)
    assert len(from_path) == 5 and len(batched) == 3
    assert sum(len(r) for r in from_path) > 0
    height, width = img.shape[:2]
    # batches of one run the same computation: identical detections
    for expected, got in ((from_path, from_array), (from_path, batched[2])):
        for e, g in zip(expected, got, strict=True):
            assert g.dtype == np.float32 and g.shape[1] == 5
            np.testing.assert_allclose(g, e, atol=1e-4)
    # in a batch of two, float noise may reorder this untrained model's near-tied scores:
    # compare the sorted scores of all detections
    def all_scores(result):
        return np.sort(np.concatenate([r[:, 4] for r in result]))

    np.testing.assert_allclose(all_scores(batched[0]), all_scores(from_path), atol=1e-4)
    for dets in from_path:  # original-image pixels
        assert (dets[:, [0, 2]] <= width + 1e-3).all() and (dets[:, [1, 3]] <= height + 1e-3).all()


def test_classes_come_from_checkpoint_meta(model, tmp_path: Path):
    path = tmp_path / 'ckpt.pth'
    torch.save({'state_dict': model.state_dict(),
                'meta': {'dataset_meta': {'classes': ('a', 'b', 'c', 'd', 'e')}}}, path)
    loaded = init_detector(CONFIG, str(path))
    assert loaded.CLASSES == ('a', 'b', 'c', 'd', 'e')
    for p, q in zip(loaded.state_dict().values(), model.state_dict().values(), strict=True):
        torch.testing.assert_close(p, q)


def test_bad_inputs_are_named(model, tmp_path: Path):
    with pytest.raises(FileNotFoundError, match='no_such.jpg'):
        inference_detector(model, str(tmp_path / 'no_such.jpg'))
    with pytest.raises(ValueError, match=r'\(H, W, 3\)'):
        inference_detector(model, np.zeros((10, 10), np.uint8))
    with pytest.raises(FileNotFoundError, match='config file'):
        init_detector(str(tmp_path / 'missing.py'))
    assert inference_detector(model, []) == []


def test_show_result_pyplot_saves_the_drawing(model, tmp_path: Path):
    result = inference_detector(model, IMAGE)
    out = tmp_path / 'shown.png'
    drawn = show_result_pyplot(model, IMAGE, result, score_thr=0.0, out_file=str(out),
                               show=False)
    saved = mmcv.imread(str(out))
    np.testing.assert_array_equal(saved, drawn)
    assert (saved != mmcv.imread(IMAGE)).any()
