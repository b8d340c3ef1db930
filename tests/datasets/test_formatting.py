"""Normalize writes channel-first in one pass (bit-identical to mmcv); the format steps
then hand the tensor over without copying."""
from __future__ import annotations

import mmcv
import numpy as np
import pytest

from mmssd.datasets.pipelines import Compose
from mmssd.registry import TRANSFORMS

NORMS = [([123.675, 116.28, 103.53], [58.395, 57.12, 57.375]), ([1, 2, 3], [1, 1, 1]),
         ([0.5, 0.7, 0.1], [3, 7, 0.3])]


@pytest.mark.parametrize('dtype', [np.uint8, np.float32, np.float64])
@pytest.mark.parametrize('mean, std', NORMS)
@pytest.mark.parametrize('to_rgb', [True, False])
def test_normalize_is_bit_identical_to_mmcv(dtype, mean, std, to_rgb):
    img = np.random.default_rng(0).uniform(-20, 300, (37, 41, 3)).astype(dtype)
    norm = TRANSFORMS.build({'type': 'Normalize', 'mean': mean, 'std': std, 'to_rgb': to_rgb})
    out = norm({'img': img.copy()})['img']
    expected = mmcv.imnormalize(img, np.array(mean, np.float32), np.array(std, np.float32),
                                to_rgb)
    assert out.shape == img.shape and out.dtype == np.float32
    np.testing.assert_array_equal(out, expected)
    assert out.transpose(2, 0, 1).flags.c_contiguous  # channel-first underneath


def test_normalize_flipped_and_strided_inputs():
    img = np.random.default_rng(1).integers(0, 256, (20, 30, 3)).astype(np.uint8)
    norm = TRANSFORMS.build({'type': 'Normalize', 'mean': [1, 2, 3], 'std': [2, 2, 2]})
    for view in (img[:, ::-1], img[::2, 3:17], img[..., [2, 0, 1]]):
        np.testing.assert_array_equal(
            norm({'img': view})['img'],
            mmcv.imnormalize(np.ascontiguousarray(view), norm.mean, norm.std, True))


def test_format_bundle_takes_the_normalized_array_without_a_copy():
    img = np.random.default_rng(2).integers(0, 256, (24, 32, 3)).astype(np.uint8)
    norm = TRANSFORMS.build({'type': 'Normalize', 'mean': [1, 2, 3], 'std': [1, 1, 1]})
    results = norm({'img': img, 'gt_bboxes': np.zeros((1, 4), np.float32),
                    'gt_labels': np.zeros(1, np.int64)})
    chw = results['img'].transpose(2, 0, 1)
    out = TRANSFORMS.build({'type': 'DefaultFormatBundle'})(results)
    assert tuple(out['img'].shape) == (3, 24, 32)
    assert out['img'].data_ptr() == chw.ctypes.data
    tensor = TRANSFORMS.build({'type': 'ImageToTensor', 'keys': ['img']})(
        norm({'img': img}))['img']
    np.testing.assert_array_equal(tensor.numpy(), out['img'].numpy())


def test_format_bundle_casts_uint8_in_one_pass():
    img = np.random.default_rng(3).integers(0, 256, (5, 6, 3)).astype(np.uint8)
    out = TRANSFORMS.build({'type': 'DefaultFormatBundle'})({'img': img[:, ::-1]})
    np.testing.assert_array_equal(out['img'].numpy(),
                                  img[:, ::-1].transpose(2, 0, 1).astype(np.float32))
    out = TRANSFORMS.build({'type': 'DefaultFormatBundle', 'img_to_float': False})({'img': img})
    assert out['img'].dtype.is_floating_point is False


def test_pad_after_normalize():
    img = np.random.default_rng(4).integers(0, 256, (30, 41, 3)).astype(np.uint8)
    out = Compose([{'type': 'Normalize', 'mean': [1, 2, 3], 'std': [1, 1, 1]},
                   {'type': 'Pad', 'size_divisor': 16},
                   {'type': 'ImageToTensor', 'keys': ['img']}])({'img': img})
    expected = np.zeros((3, 32, 48), np.float32)
    expected[:, :30, :41] = img[..., ::-1].transpose(2, 0, 1) - np.array([1, 2, 3])[:, None, None]
    np.testing.assert_array_equal(out['img'].numpy(), expected)
