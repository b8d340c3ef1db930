"""analyze_logs.py on the log of a real training run (the ``demo_run`` fixture)."""
from __future__ import annotations

from pathlib import Path

import matplotlib.image as mpimg
import numpy as np
import pytest

from tests.helpers.tools import load_tool

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures('torch_single_thread')]


def test_plot_curve_writes_png_of_loss_and_map(demo_run, tmp_path: Path, capsys):
    out = tmp_path / 'curve.png'
    load_tool('tools/analysis_tools/analyze_logs.py').main(
        ['plot_curve', str(demo_run.scalars_log), '--keys', 'loss', 'bbox_mAP',
         '--out', str(out)])
    assert f'saved {out}' in capsys.readouterr().out
    img = mpimg.imread(str(out))
    assert img.shape[0] > 500 and img.shape[1] > 500  # two stacked panels
    # not blank: the curve's colour (matplotlib's first, C0 blue) is drawn in both panels
    blue = (np.abs(img[..., :3] - np.array([0.12, 0.47, 0.71])).max(-1) < 0.05)
    half = img.shape[0] // 2
    assert blue[:half].sum() > 100 and blue[half:].sum() > 20


def test_plot_curve_names_missing_key(demo_run, tmp_path: Path):
    with pytest.raises(KeyError, match="'no_such_key' is in none of the logs"):
        load_tool('tools/analysis_tools/analyze_logs.py').main(
            ['plot_curve', str(demo_run.scalars_log), '--keys', 'no_such_key',
             '--out', str(tmp_path / 'x.png')])


def test_cal_train_time_summarises_every_epoch(demo_run, capsys):
    (summary,) = load_tool('tools/analysis_tools/analyze_logs.py').main(
        ['cal_train_time', str(demo_run.scalars_log), '--include-outliers'])
    assert sorted(summary['epoch_times']) == list(range(1, demo_run.epochs + 1))
    assert 0 < summary['fastest'][1] <= summary['average'] <= summary['slowest'][1]
    assert 'average iter time' in capsys.readouterr().out
