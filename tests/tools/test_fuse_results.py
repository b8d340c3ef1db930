"""tools/analysis_tools/fuse_results.py and mmssd.evaluation.box_fusion with ensemble-boxes:
fused coordinates computed by hand, NMS keeping the best, and two models that each miss
half the objects fused into a better one, scored by eval_metric.py."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from mmssd.evaluation.box_fusion import fuse_detections
from tests.helpers.detections import demo_split, noisy_detections
from tests.helpers.tools import REPO, load_tool

SIZES = {1: (100.0, 80.0)}


def det(box, score, cat=1, img=1) -> dict:
    x1, y1, x2, y2 = box
    return {'image_id': img, 'category_id': cat, 'bbox': [x1, y1, x2 - x1, y2 - y1],
            'score': score}


def test_wbf_averages_by_score_and_weight():
    a = [det([10, 10, 50, 50], 0.9), det([60, 10, 90, 40], 0.8, cat=2)]
    b = [det([14, 14, 54, 54], 0.6)]
    fused = fuse_detections([a, b], SIZES, weights=[2, 1], method='wbf', iou_thr=0.5)
    by_cat = {d['category_id']: d for d in fused}
    # coordinates weighted by score * weight: (1.8 * a + 0.6 * b) / 2.4 = a + 1
    np.testing.assert_allclose(by_cat[1]['bbox'], [11, 11, 40, 40], atol=1e-4)
    # score: mean of score * weight over the cluster, scaled by 2 boxes / 3 total weight
    assert by_cat[1]['score'] == pytest.approx((1.8 + 0.6) / 2 * 2 / 3)
    # a box only model A found: its score is down-weighted by A's share of the weights
    np.testing.assert_allclose(by_cat[2]['bbox'], [60, 10, 30, 30], atol=1e-4)
    assert by_cat[2]['score'] == pytest.approx(0.8 * 2 / 3)


def test_nms_keeps_the_best_weighted_box():
    a = [det([10, 10, 50, 50], 0.9)]
    b = [det([12, 12, 52, 52], 0.7)]
    fused = fuse_detections([a, b], SIZES, weights=[1, 3], method='nms', iou_thr=0.5)
    assert len(fused) == 1
    np.testing.assert_allclose(fused[0]['bbox'], [12, 12, 40, 40], atol=1e-4)  # 0.7*3 > 0.9
    assert fused[0]['score'] == pytest.approx(0.7 * 3 / 4)


@pytest.mark.parametrize('soft', [dict(method='linear'), dict(method='gaussian', sigma=0.5)])
def test_soft_nms_decays_the_overlapping_box(soft):
    a = [det([10, 10, 50, 50], 0.9), det([60, 10, 90, 40], 0.8)]
    b = [det([20, 10, 60, 50], 0.6)]  # IoU with a's first box: 30 * 40 / (2 * 1600 - 1200)
    fused = fuse_detections([a, b], SIZES, method='soft_nms', iou_thr=0.5, soft_nms=soft)
    overlap = 1200 / 2000
    decay = 1 - overlap if soft['method'] == 'linear' else np.exp(-overlap ** 2 / 0.5)
    # scores halved (two models of weight 1); b's box kept with its decayed score
    assert [d['score'] for d in fused] == pytest.approx([0.45, 0.4, 0.3 * decay])
    np.testing.assert_allclose(fused[2]['bbox'], [20, 10, 40, 40], atol=1e-4)


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match='3 weights for 2 result files'):
        fuse_detections([[], []], SIZES, weights=[1, 2, 3])
    with pytest.raises(ValueError, match="fusion method 'vote' is not one of"):
        fuse_detections([[], []], SIZES, method='vote')
    with pytest.raises(ValueError, match=r'image ids \[7\]'):
        fuse_detections([[det([0, 0, 5, 5], 0.5, img=7)], []], SIZES)


def test_two_half_models_fuse_into_a_better_one(tmp_path: Path, capsys):
    ann_file, img_prefix = demo_split(tmp_path / 'demo')
    num = len(json.loads(ann_file.read_text())['annotations'])
    half = np.arange(num) % 2 == 0
    files = []
    for name, mask, seed in (('a', half, 1), ('b', ~half, 2)):
        files.append(tmp_path / f'{name}.bbox.json')
        files[-1].write_text(json.dumps(noisy_detections(ann_file, drop_mask=mask, seed=seed)))
    fused = tmp_path / 'fused.bbox.json'
    load_tool('tools/analysis_tools/fuse_results.py').main(
        [*map(str, files), '--ann-file', str(ann_file), '-o', str(fused), '--weights', '1', '1'])
    assert 'by wbf into' in capsys.readouterr().out
    evaluate = load_tool('tools/analysis_tools/eval_metric.py').main
    options = ['--eval', 'bbox', '--cfg-options', f'data.test.ann_file={ann_file}',
               f'data.test.img_prefix={img_prefix}/']
    config = str(REPO / 'configs/demo/ssdlite_mobilenetv2_demo.py')
    single = [evaluate([config, str(f), *options])['bbox_mAP_50'] for f in files]
    combined = evaluate([config, str(fused), *options])['bbox_mAP_50']
    assert max(single) < 0.6 and combined > max(single) + 0.3, (single, combined)
