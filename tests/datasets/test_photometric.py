"""PhotoMetricDistortion: the float path is mmdetection's arithmetic bit for bit; the uint8
path draws the same values and differs from it by rounding only where nothing clips."""
from __future__ import annotations

import mmcv
import numpy as np
import pytest

from mmssd.datasets.pipelines.photometric import (
    Distortion,
    PhotoMetricDistortion,
    apply_distortion_float,
    apply_distortion_uint8,
    rotate_hue,
    scale_saturation,
)


def natural_image(seed: int, h: int = 40, w: int = 50, spread: int = 255) -> np.ndarray:
    """Smooth colour patches plus noise; channel values within ``spread`` of each other."""
    rng = np.random.default_rng(seed)
    base = rng.uniform(0, 255 - spread, (4, 5, 1)) + rng.uniform(0, spread, (4, 5, 3))
    img = np.kron(base, np.ones((h // 4, w // 5, 1)))
    return np.clip(img + rng.normal(0, 3, img.shape), 0, 255).astype(np.uint8)


def mmdet_distortion(img: np.ndarray, d: Distortion) -> np.ndarray:
    """mmdetection 2.x's PhotoMetricDistortion arithmetic, written out plainly."""
    img = img.astype(np.float32)
    if d.brightness is not None:
        img += d.brightness
    if d.contrast_first and d.contrast is not None:
        img *= d.contrast
    img = mmcv.bgr2hsv(img)
    if d.saturation is not None:
        img[..., 1] *= d.saturation
    if d.hue is not None:
        img[..., 0] += d.hue
        img[..., 0][img[..., 0] > 360] -= 360
        img[..., 0][img[..., 0] < 0] += 360
    img = mmcv.hsv2bgr(img)
    if not d.contrast_first and d.contrast is not None:
        img *= d.contrast
    if d.permutation is not None:
        img = img[..., d.permutation]
    return img


@pytest.mark.parametrize('dtype', [np.uint8, np.float32])
def test_float_path_is_mmdetection_bit_for_bit(dtype):
    transform = PhotoMetricDistortion()
    for seed in range(60):
        img = natural_image(seed).astype(dtype)
        np.random.seed(seed)
        d = transform.sample()
        out = apply_distortion_float(img, d)
        assert out.dtype == np.float32
        np.testing.assert_array_equal(out, mmdet_distortion(img, d))
        np.random.seed(seed)
        np.testing.assert_array_equal(transform({'img': img})['img'], out)
    # large hue shifts take both wraps, as mmdetection does
    for hue in (-400.0, -360.0, 359.0, 400.0):
        d = Distortion(None, True, None, None, hue, None)
        np.testing.assert_array_equal(apply_distortion_float(img, d), mmdet_distortion(img, d))


def run(transform: PhotoMetricDistortion, img: np.ndarray, seed: int) -> tuple[np.ndarray, float]:
    """Output image and the next random draw after the transform (to compare RNG use)."""
    np.random.seed(seed)
    out = transform({'img': img.copy()})['img']
    return out, np.random.random_sample()


@pytest.mark.parametrize('seed', range(40))
def test_uint8_path_draws_the_same_and_differs_by_rounding(seed):
    """Low-saturation mid-grey images and milder ranges, so no step leaves [0, 255]."""
    img = np.clip(natural_image(seed, spread=30), 90, 150)
    kwargs = {'brightness_delta': 16, 'contrast_range': (0.8, 1.2),
              'saturation_range': (0.5, 1.5), 'hue_delta': 18}
    fast, next_fast = run(PhotoMetricDistortion(**kwargs, impl='uint8'), img, seed)
    slow, next_slow = run(PhotoMetricDistortion(**kwargs), img, seed)
    assert next_fast == next_slow  # same number of draws
    assert fast.dtype == np.uint8 and slow.dtype == np.float32 and fast.shape == img.shape
    assert slow.min() >= 0 and slow.max() <= 255
    diff = np.abs(fast.astype(np.float32) - slow)
    assert diff.max() < 3 and diff.mean() < 0.6, (diff.max(), diff.mean())


def test_both_paths_sample_the_same_choices():
    transform = PhotoMetricDistortion()
    seen = []
    for seed in range(200):
        np.random.seed(seed)
        d = transform.sample()
        seen.append([d.brightness is not None, d.contrast_first, d.contrast is not None,
                     d.saturation is not None, d.hue is not None, d.permutation is not None])
        assert d.brightness is None or -32 <= d.brightness <= 32
        assert d.contrast is None or 0.5 <= d.contrast <= 1.5
        assert d.saturation is None or 0.5 <= d.saturation <= 1.5
        assert d.hue is None or -18 <= d.hue <= 18
    np.testing.assert_allclose(np.mean(seen, axis=0), 0.5, atol=0.1)


def test_clipping_is_the_only_large_difference():
    """On full-range images the paths differ where the float path leaves [0, 255]."""
    img = natural_image(0)
    d = Distortion(brightness=30.0, contrast_first=True, contrast=1.4, saturation=1.3,
                   hue=10.0, permutation=None)
    fast = apply_distortion_uint8(img, d)
    slow = apply_distortion_float(img, d)
    assert fast.dtype == np.uint8 and (slow > 255).any()
    np.testing.assert_array_equal(fast[(slow > 300).all(axis=2)], 255)


@pytest.mark.parametrize('factor', [0.5, 0.9, 1.2, 1.5])
def test_scale_saturation_is_hsv_saturation(factor):
    img = natural_image(1)
    hsv = mmcv.bgr2hsv(img.astype(np.float32))
    hsv[..., 1] *= factor
    expected = np.clip(mmcv.hsv2bgr(hsv), 0, 255)
    np.testing.assert_allclose(scale_saturation(img, factor), expected, atol=0.51)


@pytest.mark.parametrize('degrees', [-18.0, -7.3, 0.4, 12.5, 18.0])
def test_rotate_hue_is_float_hsv_rotation(degrees):
    img = natural_image(2)
    expected = apply_distortion_float(img, Distortion(None, True, None, None, degrees, None))
    out = rotate_hue(img, degrees)
    assert out.dtype == np.uint8
    np.testing.assert_allclose(out, np.clip(expected, 0, 255), atol=0.51)


def test_channel_permutation_and_dtypes():
    img = natural_image(3)
    d = Distortion(None, True, None, None, None, np.array([2, 0, 1]))
    np.testing.assert_array_equal(apply_distortion_uint8(img, d), img[..., [2, 0, 1]])
    out, _ = run(PhotoMetricDistortion(impl='uint8'), img.astype(np.float32), 0)
    expected, _ = run(PhotoMetricDistortion(), img, 0)  # non-uint8 input: the float path
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, expected)
    with pytest.raises(ValueError, match='impl'):
        PhotoMetricDistortion(impl='lut')
