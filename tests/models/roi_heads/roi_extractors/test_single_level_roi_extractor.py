"""SingleRoIExtractor against torchvision's roi_align / roi_pool applied RoI by RoI on the
level a hand computation picks (mmdetection's map_roi_levels)."""
from __future__ import annotations

import math

import pytest
import torch
from torchvision.ops import roi_align, roi_pool

from mmssd.models.roi_heads import SingleRoIExtractor
from mmssd.utils.config_error import ConfigError

STRIDES = [4, 8, 16, 32]


def hand_level(roi: list[float], num_levels: int, finest_scale: float = 56) -> int:
    scale = math.sqrt((roi[3] - roi[1]) * (roi[4] - roi[2]))
    return min(max(math.floor(math.log2(scale / finest_scale + 1e-6)), 0), num_levels - 1)


def pyramid(batch: int = 2, channels: int = 3, size: int = 128, extra: bool = True):
    generator = torch.Generator().manual_seed(0)
    feats = [torch.randn(batch, channels, size // s, size // s, generator=generator)
             for s in STRIDES]
    if extra:  # a P6-like level the extractor must ignore
        feats.append(torch.randn(batch, channels, size // 64, size // 64, generator=generator))
    return feats


def random_rois(num: int, batch: int = 2, size: float = 128) -> torch.Tensor:
    generator = torch.Generator().manual_seed(1)
    # sizes spread over all levels (a few px to beyond the image)
    wh = torch.exp(torch.rand(num, 2, generator=generator) * math.log(600 / 4)) * 4
    xy = torch.rand(num, 2, generator=generator) * size - wh / 4
    img = torch.randint(0, batch, (num, 1), generator=generator).float()
    return torch.cat([img, xy, xy + wh], dim=1)


def test_map_roi_levels_matches_hand_computation():
    extractor = SingleRoIExtractor(dict(type='RoIAlign', output_size=7), 3, STRIDES)
    sides = [20., 111.9, 112.1, 223., 225., 447., 449., 1000.]
    rois = torch.tensor([[0., 0., 0., s, s] for s in sides])
    assert extractor.map_roi_levels(rois, 4).tolist() == [0, 0, 1, 1, 2, 2, 3, 3]
    rois = random_rois(50)
    expected = [hand_level(r, 4) for r in rois.tolist()]
    assert extractor.map_roi_levels(rois, 4).tolist() == expected
    assert len(set(expected)) == 4  # every level is exercised


@pytest.mark.parametrize('sampling_ratio,aligned', [(0, True), (2, False)])
def test_roi_align_equals_torchvision_level_by_level(sampling_ratio, aligned):
    feats = pyramid()
    rois = random_rois(40)
    extractor = SingleRoIExtractor(
        dict(type='RoIAlign', output_size=7, sampling_ratio=sampling_ratio, aligned=aligned),
        out_channels=3, featmap_strides=STRIDES)
    out = extractor(feats, rois)
    assert out.shape == (40, 3, 7, 7)
    for k, roi in enumerate(rois.tolist()):
        level = hand_level(roi, 4)
        expected = roi_align(feats[level], torch.tensor([roi]), output_size=7,
                             spatial_scale=1 / STRIDES[level], sampling_ratio=sampling_ratio,
                             aligned=aligned)
        torch.testing.assert_close(out[k:k + 1], expected, rtol=0, atol=0)


def test_roi_pool_equals_torchvision_level_by_level():
    feats = pyramid()
    rois = random_rois(30)
    extractor = SingleRoIExtractor(dict(type='RoIPool', output_size=(3, 5)), 3, STRIDES)
    out = extractor(feats, rois)
    assert out.shape == (30, 3, 3, 5)
    for k, roi in enumerate(rois.tolist()):
        level = hand_level(roi, 4)
        expected = roi_pool(feats[level], torch.tensor([roi]), output_size=(3, 5),
                            spatial_scale=1 / STRIDES[level])
        torch.testing.assert_close(out[k:k + 1], expected, rtol=0, atol=0)


def test_single_level_empty_rois_and_gradient():
    feats = [f.requires_grad_() for f in pyramid(extra=False)]
    extractor = SingleRoIExtractor(dict(type='RoIAlign', output_size=7), 3, [4])
    rois = random_rois(10)
    out = extractor(feats, rois)  # one level: every RoI is read from level 0
    expected = roi_align(feats[0], rois, 7, spatial_scale=0.25, sampling_ratio=0, aligned=True)
    torch.testing.assert_close(out, expected, rtol=0, atol=0)
    out.sum().backward()
    assert feats[0].grad.abs().sum() > 0
    empty = SingleRoIExtractor(dict(type='RoIAlign', output_size=7), 3, STRIDES)(
        feats, rois[:0])
    assert empty.shape == (0, 3, 7, 7)


def test_roi_scale_factor_enlarges_about_the_centre_and_keeps_the_level():
    feats = pyramid()
    rois = random_rois(12)
    extractor = SingleRoIExtractor(dict(type='RoIAlign', output_size=7), 3, STRIDES)
    out = extractor(feats, rois, roi_scale_factor=1.5)
    for k, roi in enumerate(rois.tolist()):
        level = hand_level(roi, 4)  # chosen from the original RoI
        cx, cy = (roi[1] + roi[3]) / 2, (roi[2] + roi[4]) / 2
        hw, hh = (roi[3] - roi[1]) * 0.75, (roi[4] - roi[2]) * 0.75
        scaled = torch.tensor([[roi[0], cx - hw, cy - hh, cx + hw, cy + hh]])
        expected = roi_align(feats[level], scaled, 7, 1 / STRIDES[level], 0, True)
        torch.testing.assert_close(out[k:k + 1], expected)


@pytest.mark.parametrize('roi_layer,error,words', [
    (dict(type='RoIAlignRotated', output_size=7), KeyError, ['RoIAlignRotated', 'RoIPool']),
    (dict(type='RoIAlign', output_size=7, pool_mode='max'), ValueError, ['pool_mode', 'max']),
    (dict(type='RoIAlign', output_size=7, spatial_scale=0.5), ConfigError,
     ['`roi_layer.spatial_scale`']),
    (dict(type='RoIPool', output_size=7, sampling_ratio=2), ConfigError,
     ['`roi_layer.sampling_ratio`']),
    (dict(type='RoIAlign', output_size=7, align=True), ConfigError,
     ['`roi_layer.align`', "did you mean 'aligned'"]),
    (dict(type='RoIAlign'), ConfigError, ['`roi_layer.output_size` is missing']),
])
def test_bad_roi_layer_configs_raise_naming_the_key(roi_layer, error, words):
    with pytest.raises(error) as info:
        SingleRoIExtractor(roi_layer, 3, STRIDES)
    assert all(word in str(info.value) for word in words)


def test_mmcv_only_options_are_accepted():
    layer = dict(type='RoIAlign', output_size=7, sampling_ratio=0, aligned=True,
                 pool_mode='avg', use_torchvision=False)
    assert SingleRoIExtractor(layer, 3, STRIDES).num_inputs == 4


def test_bad_strides_and_inputs_raise():
    layer = dict(type='RoIAlign', output_size=7)
    with pytest.raises(ValueError, match='featmap_strides'):
        SingleRoIExtractor(layer, 3, [])
    with pytest.raises(ValueError, match='featmap_strides'):
        SingleRoIExtractor(layer, 3, [4, 0])
    feats = pyramid(extra=False)
    with pytest.raises(ValueError, match=r'5 featmap_strides .* got 4 feature maps'):
        SingleRoIExtractor(layer, 3, STRIDES + [64])(feats, random_rois(3))
    with pytest.raises(ValueError, match='3 channels, out_channels is 8'):
        SingleRoIExtractor(layer, 8, STRIDES)(feats, random_rois(3))
    with pytest.raises(ValueError, match=r'\(K, 5\)'):
        SingleRoIExtractor(layer, 3, STRIDES)(feats, random_rois(3)[:, 1:])


def test_autocast_keeps_float32_rois():
    """Under autocast the RoIs stay float32 (bfloat16 would move x=301.7 by a pixel)."""
    feats = pyramid(batch=1, size=512)
    rois = torch.tensor([[0., 301.7, 211.3, 305.9, 214.6], [0., 20.2, 30.7, 161.3, 150.9]])
    extractor = SingleRoIExtractor(dict(type='RoIAlign', output_size=7), 3, STRIDES)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        low = [f.to(torch.bfloat16) for f in feats]
        out = extractor(low, rois)
    assert out.dtype == torch.bfloat16
    expected = extractor([f.float() for f in low], rois)
    torch.testing.assert_close(out.float(), expected, rtol=0, atol=0.02)
