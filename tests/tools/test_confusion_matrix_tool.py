"""confusion_matrix.py: counts from a results pickle against the demo image's ground truth."""
from __future__ import annotations

import json
import pickle
from pathlib import Path

import matplotlib.image as mpimg
import numpy as np

from tests.helpers.tools import REPO, load_tool


def test_confusion_matrix_png_and_counts(tmp_path: Path, capsys):
    ann = json.loads((REPO / 'demo/demo.json').read_text())
    result = [np.zeros((0, 5), np.float32) for _ in range(5)]
    for obj in ann['annotations']:
        x, y, w, h = obj['bbox']
        label = obj['category_id'] - 1
        result[label] = np.vstack([result[label], [[x, y, x + w, y + h, 0.9]]]).astype(
            np.float32)
    result[0] = np.array([[0, 0, 20, 20, 0.8]], np.float32)  # a circle where nothing is
    pkl = tmp_path / 'results.pkl'
    pkl.write_bytes(pickle.dumps([result]))
    matrix = load_tool('tools/analysis_tools/confusion_matrix.py').main(
        [str(REPO / 'configs/demo/ssdlite_mobilenetv2_demo.py'), str(pkl), str(tmp_path / 'cm'),
         '--cfg-options', f"data.test.ann_file={REPO / 'demo/demo.json'}",
         f"data.test.img_prefix={REPO / 'demo'}/"])
    expected = np.zeros((6, 6), np.int64)
    expected[2, 2] = expected[3, 3] = expected[4, 4] = 1  # triangle, star, cross found
    expected[5, 0] = 1  # the stray circle
    np.testing.assert_array_equal(matrix, expected)
    png = tmp_path / 'cm/confusion_matrix.png'
    assert f'saved {png}' in capsys.readouterr().out
    img = mpimg.imread(str(png))
    assert img.shape[0] > 300 and img.shape[1] > 300 and img[..., :3].std() > 0.05
