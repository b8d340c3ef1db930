"""``benchmarks/bench_two_stage.py --quick`` runs and prints sane figures (no speed asserted),
and the weights it copies make torchvision's Faster R-CNN compute what mmssd's does."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from torchvision.ops import roi_align

from tests.helpers.benchmarks import BENCHMARKS, load_benchmark

tsm = load_benchmark('two_stage_models')


def test_quick_run(tmp_path: Path):
    # OpenMP threads that sleep when idle: the shared test machine stays usable
    env = {**os.environ, 'OMP_WAIT_POLICY': 'PASSIVE'}
    proc = subprocess.run([sys.executable, str(BENCHMARKS / 'bench_two_stage.py'), '--quick'],
                          capture_output=True, text=True, timeout=300, cwd=tmp_path, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = proc.stdout
    # the timed step-by-step paths were checked against the models' forward()
    assert "phased training and inference paths equal the models' forward()" in out
    rows = [line.split() for line in out.splitlines()
            if line.split()[:1] in (['mmssd'], ['torchvision']) and line.split()[1][0].isdigit()]
    assert [r[0] for r in rows] == ['mmssd', 'torchvision'] * 2  # training, then inference
    for cells, num_phases in zip(rows, (5, 5, 3, 3), strict=True):
        total = float(cells[1])
        phases = [float(c) for c in cells[3:]]
        assert len(phases) == num_phases and all(t >= 0 for t in phases)
        assert total > 0 and abs(sum(phases) - total) < 0.01 * total + 0.005, cells
    ratios = [line for line in out.splitlines() if line.startswith('mmssd / torchvision:')]
    assert len(ratios) == 2 and all(float(r.split()[3]) > 0 for r in ratios)
    # same weights, same batch: about the same work (test-time proposals differ a little:
    # torchvision rounds its anchors, so NMS keeps slightly different sets)
    workloads = {}
    for line in out.splitlines():
        if line.startswith(('mmssd:', 'torchvision:')):
            name, rest = line.split(': ', 1)
            items = rest.split('; losses')[0].split('; ')
            workloads[name] = {item.rsplit(' [', 1)[0]: json.loads('[' + item.rsplit(' [', 1)[1])
                               for item in items}
    mm, tv = workloads['mmssd'], workloads['torchvision']
    assert mm['proposals (train)'] == tv['proposals (train)'] == [1000, 1000]
    assert mm['detections'] == tv['detections'] == [100, 100]
    for a, b in zip(mm['proposals (test)'], tv['proposals (test)'], strict=True):
        assert abs(a - b) <= 0.05 * b


@pytest.fixture(scope='module')
def models() -> tuple[torch.nn.Module, torch.nn.Module]:
    mm = tsm.build_mmssd().eval()
    tsm.boost_classes(mm)
    tv = tsm.build_torchvision().eval()
    tsm.copy_weights(mm, tv)
    return mm, tv


@torch.no_grad()
def test_copied_weights_give_the_same_features_and_rpn_outputs(models):
    mm, tv = models
    img = torch.randn(1, 3, 96, 128, generator=torch.Generator().manual_seed(0))
    mm_feats = mm.extract_feat(img)
    tv_feats = list(tv.backbone(img).values())  # '0'..'3', 'pool'
    assert len(mm_feats) == len(tv_feats) == 5
    for a, b in zip(mm_feats, tv_feats, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-4)
    mm_cls, mm_reg = mm.rpn_head(mm_feats)
    tv_cls, tv_reg = tv.rpn.head(tv_feats)
    for a, b in zip(mm_cls + mm_reg, tv_cls + tv_reg, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-4)


@torch.no_grad()
def test_copied_weights_give_the_same_box_head_outputs(models):
    mm, tv = models
    feat = torch.randn(1, 256, 24, 32, generator=torch.Generator().manual_seed(1))
    rois = torch.tensor([[0., 4., 4., 60., 50.], [0., 10., 20., 120., 90.]])
    pooled = roi_align(feat, rois, 7, spatial_scale=0.25, sampling_ratio=2)
    mm_cls, mm_reg = mm.roi_head.bbox_head(pooled)
    tv_cls, tv_reg = tv.roi_heads.box_predictor(tv.roi_heads.box_head(pooled))
    # torchvision's background is class 0 (and has 4 regression outputs), mmssd's is last
    torch.testing.assert_close(tv_cls[:, 1:], mm_cls[:, :-1])
    torch.testing.assert_close(tv_cls[:, 0], mm_cls[:, -1])
    torch.testing.assert_close(tv_reg[:, 4:], mm_reg)
    # the boosted classes score ~e^3 / (4 e^3 + 77) ~ 0.13 > score_thr 0.05 in both
    scores = mm_cls.softmax(-1)[:, :-1]
    assert ((scores > 0.05).sum(-1) == 4).all()


def test_unknown_key_and_shape_mismatch_raise(models):
    mm, _ = models
    with pytest.raises(KeyError, match='roi_head.mask_head.conv'):
        tsm.torchvision_key('roi_head.mask_head.conv.weight')
    tv_voc = tsm.build_torchvision()
    tv_voc.roi_heads.box_predictor.cls_score = torch.nn.Linear(1024, 21)
    with pytest.raises(ValueError, match='fc_cls.weight'):
        tsm.copy_weights(mm, tv_voc)


def test_parts_run_and_agree(models):
    two_stage_parts = load_benchmark('two_stage_parts')
    mm, tv = models
    batch = tsm.synthetic_batch(2, 96, 128, max_boxes=4)
    parts = two_stage_parts.make_parts(mm, tv, batch)
    assert len(parts) == 7
    # (not the RoIAlign backward: ~1 s for 1024 RoIs on CPU, whatever the image size)
    out = {name: (mm_fn(), tv_fn()) for name, mm_fn, tv_fn in parts
           if not name.startswith('RoIAlign fwd+bwd')}
    # the same proposals up to torchvision's rounded anchors: about as many per image
    for mm_p, tv_p in zip(*out['RPN after the head, test'], strict=True):
        assert mm_p.shape[1] == 5 and tv_p.shape[1] == 4
        assert abs(len(mm_p) - len(tv_p)) <= 0.05 * len(tv_p)
    # pooled features of the same proposals: same shape (the sampling differs)
    name = next(n for n in out if n.startswith('RoIAlign,'))
    assert out[name][0].shape == out[name][1].shape
    # 100 detections per image in both (4 boosted classes, ~1000 proposals each)
    mm_dets, (tv_boxes, _, _) = out['RoI post-processing, test']
    assert [sum(len(a) for a in r) for r in mm_dets] == [len(b) for b in tv_boxes] == [100, 100]
