"""tools/misc/make_submission.py and mmssd.evaluation.submission: a CSV written from a
result json reads back to the same detections, one row per test image."""
from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from mmssd.evaluation.submission import read_submission
from tests.helpers.tools import load_tool

# category ids out of order: labels follow the file's order (5 -> 0, 2 -> 1, 9 -> 2)
ANN = {'images': [{'id': 10, 'file_name': 'test/0000.jpg', 'width': 640, 'height': 480},
                  {'id': 3, 'file_name': 'test/0001.jpg', 'width': 640, 'height': 480},
                  {'id': 7, 'file_name': 'test/0002.jpg', 'width': 300, 'height': 200}],
       'categories': [{'id': 5, 'name': 'Paper'}, {'id': 2, 'name': 'Metal'},
                      {'id': 9, 'name': 'Glass'}]}


def random_detections(seed: int = 0) -> list[dict]:
    """Detections inside images 10 and 7 (none on image 3), scores down to 1e-4."""
    rng = np.random.default_rng(seed)
    dets = []
    for img_id, count in ((10, 40), (7, 25)):
        for _ in range(count):
            x, y = rng.uniform(0, 140, 2)
            w, h = rng.uniform(0.5, 50, 2)
            dets.append({'image_id': img_id, 'category_id': int(rng.choice([5, 2, 9])),
                         'bbox': [float(x), float(y), float(w), float(h)],
                         'score': float(rng.uniform(1e-4, 1))})
    return dets


def make_files(tmp_path: Path) -> tuple[Path, Path, list[dict]]:
    dets = random_detections()
    result, ann = tmp_path / 'result.bbox.json', tmp_path / 'test.json'
    result.write_text(json.dumps(dets))
    ann.write_text(json.dumps(ANN))
    return result, ann, dets


def key(det: dict) -> tuple:
    return det['image_id'], -det['score']


def test_csv_reads_back_to_the_detections(tmp_path: Path, capsys):
    result, ann, dets = make_files(tmp_path)
    out = tmp_path / 'submission.csv'
    load_tool('tools/misc/make_submission.py').main([str(result), '--ann', str(ann),
                                                     '--out', str(out)])
    assert f'3 images (1 without detections), 65 boxes: {out}' in capsys.readouterr().out
    with open(out, newline='') as f:
        rows = list(csv.reader(f))
    assert rows[0] == ['PredictionString', 'image_id']
    assert [r[1] for r in rows[1:]] == ['test/0000.jpg', 'test/0001.jpg', 'test/0002.jpg']
    assert rows[2][0] == ''  # the image without detections keeps its row
    first = max((d for d in dets if d['image_id'] == 10), key=lambda d: d['score'])
    label = [5, 2, 9].index(first['category_id'])
    assert rows[1][0].split()[:2] == [str(label), f"{first['score']:.8g}"]
    back = read_submission(str(out), ANN)
    assert len(back) == len(dets)
    for got, want in zip(sorted(back, key=key), sorted(dets, key=key), strict=True):
        assert got['image_id'] == want['image_id']
        assert got['category_id'] == want['category_id']
        assert got['score'] == pytest.approx(want['score'], abs=1e-6)
        np.testing.assert_allclose(got['bbox'][:2], want['bbox'][:2], atol=1e-3)
        corner = np.add(want['bbox'][:2], want['bbox'][2:])
        np.testing.assert_allclose(np.add(got['bbox'][:2], got['bbox'][2:]), corner, atol=1e-3)


def test_fuse_results_reads_submission_csvs(tmp_path: Path):
    result, ann, dets = make_files(tmp_path)
    csv_file = tmp_path / 'a.csv'
    load_tool('tools/misc/make_submission.py').main([str(result), '--ann', str(ann),
                                                     '--out', str(csv_file)])
    fused = load_tool('tools/analysis_tools/fuse_results.py').main(
        [str(csv_file), str(result), '--ann-file', str(ann), '-o', str(tmp_path / 'f.json'),
         '--method', 'nms', '--iou-thr', '0.99', '--max-per-img', '0'])
    # each box meets its own copy; NMS keeps one of the two at half the score
    assert len(fused) == len(dets)
    assert sorted(d['score'] for d in fused) == pytest.approx(
        sorted(d['score'] / 2 for d in dets), abs=1e-6)


@pytest.mark.parametrize('text, message', [
    ('image_id,PredictionString\n', 'expected the columns PredictionString,image_id'),
    ('PredictionString,image_id\n0 0.5 1 2 3 4,test/9.jpg\n', "line 2: image 'test/9.jpg'"),
    ('PredictionString,image_id\n0 0.5 1 2 3,test/0000.jpg\n', 'line 2: 5 values'),
    ('PredictionString,image_id\n3 0.5 1 2 3 4,test/0000.jpg\n', r'label 3 is not in \[0, 3\)'),
    ('PredictionString,image_id\n0 high 1 2 3 4,test/0000.jpg\n', 'line 2: could not convert'),
])
def test_bad_csv_names_file_and_line(tmp_path: Path, text: str, message: str):
    path = tmp_path / 'bad.csv'
    path.write_text(text)
    with pytest.raises(ValueError, match=message):
        read_submission(str(path), ANN)


def test_detection_of_an_unknown_image_is_refused(tmp_path: Path):
    result, ann, _ = make_files(tmp_path)
    result.write_text(json.dumps([{'image_id': 99, 'category_id': 5, 'bbox': [0, 0, 1, 1],
                                   'score': 0.5}]))
    with pytest.raises(SystemExit, match='image_id 99 is not an image'):
        load_tool('tools/misc/make_submission.py').main(
            [str(result), '--ann', str(ann), '--out', str(tmp_path / 's.csv')])
