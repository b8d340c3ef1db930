"""tools/analysis_tools/eval_metric.py: the metrics of a results pickle and of a COCO result
json equal pycocotools' on the same detections."""
from __future__ import annotations

import contextlib
import io
import json
import pickle
from pathlib import Path

import matplotlib.image as mpimg
import numpy as np
import pytest
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from mmssd.evaluation.json2results import json2results
from tests.helpers.detections import demo_split, noisy_detections
from tests.helpers.tools import REPO, load_tool, run_tool

CONFIG = str(REPO / 'configs/demo/ssdlite_mobilenetv2_demo.py')


@pytest.fixture(scope='module')
def split(tmp_path_factory) -> tuple[Path, Path]:
    return demo_split(tmp_path_factory.mktemp('eval_metric') / 'demo')


def options(ann_file: Path, img_prefix: Path) -> list[str]:
    return ['--cfg-options', f'data.test.ann_file={ann_file}',
            f'data.test.img_prefix={img_prefix}/']


def pycocotools_stats(ann_file: Path, dets: list[dict]) -> np.ndarray:
    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO(str(ann_file))
        evaluator = COCOeval(gt, gt.loadRes(dets), 'bbox')
        evaluator.evaluate()
        evaluator.accumulate()
        evaluator.summarize()
    return evaluator.stats


def test_pickle_and_json_match_pycocotools(split, tmp_path: Path):
    ann_file, img_prefix = split
    dets = noisy_detections(ann_file, keep=0.8, jitter=3.0)
    json_path = tmp_path / 'dets.bbox.json'
    json_path.write_text(json.dumps(dets))
    coco = json.loads(ann_file.read_text())
    per_image = json2results(dets, [im['id'] for im in coco['images']], [1, 2, 3, 4, 5])
    pkl = tmp_path / 'results.pkl'
    pkl.write_bytes(pickle.dumps(per_image))
    tool = load_tool('tools/analysis_tools/eval_metric.py')
    from_pkl = tool.main([CONFIG, str(pkl), '--eval', 'bbox', *options(ann_file, img_prefix)])
    from_json = tool.main([CONFIG, str(json_path), '--eval', 'bbox',
                           *options(ann_file, img_prefix)])
    assert from_pkl == from_json
    stats = pycocotools_stats(ann_file, dets)
    assert 0.3 < stats[0] < 0.95  # a partial detector, not a trivial score
    for i, key in enumerate(['bbox_mAP', 'bbox_mAP_50', 'bbox_mAP_75']):
        assert from_json[key] == pytest.approx(round(stats[i], 3), abs=1e-3)


def test_wrong_results_are_named(split, tmp_path: Path):
    ann_file, img_prefix = split
    tool = load_tool('tools/analysis_tools/eval_metric.py')
    pkl = tmp_path / 'short.pkl'
    pkl.write_bytes(pickle.dumps([[np.zeros((0, 5), np.float32)] * 5]))
    with pytest.raises(ValueError, match='short.pkl holds 1 results but the test set has 8'):
        tool.main([CONFIG, str(pkl), '--eval', 'bbox', *options(ann_file, img_prefix)])
    other = tmp_path / 'other.json'
    other.write_text(json.dumps([{'image_id': 12345, 'category_id': 1, 'bbox': [0, 0, 4, 4],
                                  'score': 0.5}]))
    with pytest.raises(ValueError, match='image_id 12345 is not an image of the dataset'):
        tool.main([CONFIG, str(other), '--eval', 'bbox', *options(ann_file, img_prefix)])


@pytest.mark.slow
def test_test_tool_pr_curves_and_eval_metric_agree(demo_run, tmp_path: Path):
    """tools/test.py --eval bbox --pr-curve-dir writes the curves of its evaluation, and
    eval_metric.py on its --out pickle prints the same metrics."""
    out = run_tool(['tools/test.py', str(demo_run.config), str(demo_run.checkpoint), '--eval',
                    'bbox', '--out', str(tmp_path / 'res.pkl'), '--pr-curve-dir',
                    str(tmp_path / 'pr')]).stdout
    reported = {line.split(': ')[0]: float(line.split(': ')[1])
                for line in out.splitlines() if line.startswith('bbox_')}
    assert reported['bbox_mAP_50'] >= 0.9, out
    png = mpimg.imread(str(tmp_path / 'pr/pr_curves.png'))
    assert png.shape[:2] == (600, 1280) and png[..., :3].std() > 0.05  # 5 classes: 2 rows of 4
    again = load_tool('tools/analysis_tools/eval_metric.py').main(
        [str(demo_run.config), str(tmp_path / 'res.pkl'), '--eval', 'bbox'])
    assert again == reported
