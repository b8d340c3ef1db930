"""End to end on the Pascal VOC layout: the voc0712-style demo config trains on
VOC2007 + VOC2012 trainval (concatenated from the ``ann_file`` list) and is scored on
VOC2007 test with the 11-point VOC mAP, by tools/train.py and tools/test.py.

The training is the session's shared ``ssdlite_run`` (tests/helpers/trained.py), which
trains this config; the COCO-layout tools' tests use the same run on the same images."""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests.helpers.short_run import group_sampler_iterations
from tests.helpers.tools import REPO, run_tool
from tests.helpers.trained import VOC_CONFIG, VOC_DATA, TrainedRun

# AP50 after the shared run's 300 iterations on the reference machine: 0.49 to 0.81 (seeds
# 0-3, one or two threads; the trajectory moves with float rounding as much as with the
# seed). An untrained or broken model scores about 0.
MIN_AP50 = 0.35

pytestmark = pytest.mark.slow


def run_in(workspace: Path, *args: str) -> str:
    """Run a tool (``args``) in ``workspace``; its stdout and stderr."""
    result = run_tool(args, cwd=workspace)
    return result.stdout + result.stderr


@pytest.fixture(scope='module')
def workspace(ssdlite_run: TrainedRun) -> Path:
    """The folder the shared run trained in, with ``data/demo_voc/VOCdevkit`` (the VOC
    config's relative ``data_root``), where the tools run."""
    assert ssdlite_run.config == VOC_CONFIG
    return ssdlite_run.work_dir.parent


def voc_trainval_sizes(workspace: Path) -> list[tuple[int, int]]:
    """``(width, height)`` of the trainval images of both VOC years, from their XML files."""
    sizes = []
    for year in ('VOC2007', 'VOC2012'):
        root = workspace / VOC_DATA / 'VOCdevkit' / year
        for img_id in (root / 'ImageSets/Main/trainval.txt').read_text().split():
            size = ET.parse(root / 'Annotations' / f'{img_id}.xml').find('size')
            sizes.append((int(size.find('width').text), int(size.find('height').text)))
    return sizes


@pytest.fixture(scope='module')
def train_log(ssdlite_run: TrainedRun) -> str:
    """The text log of the shared run's training (``<timestamp>/<timestamp>.log``)."""
    logs = sorted(ssdlite_run.work_dir.glob('*/*.log'))
    assert logs, f'no text log in {ssdlite_run.work_dir}'
    return logs[-1].read_text()


def test_trains_on_concatenated_trainval(workspace: Path, train_log: str):
    # 480 images in two VOC years at 16 per batch, each aspect-ratio group filled up to a
    # multiple of 16: 30 or 31 iterations an epoch
    iterations = group_sampler_iterations(voc_trainval_sizes(workspace), 16)
    assert iterations in (30, 31)
    assert re.search(rf'Epoch\(train\)\s+\[1\]\[20/{iterations}\]', train_log)
    losses = [float(x) for x in re.findall(r'\sloss: ([\d.]+)', train_log)]
    assert len(losses) >= 6 and sum(losses[-3:]) < 0.7 * sum(losses[:3]), losses


def test_test_tool_reports_voc07_map(workspace: Path, train_log: str,
                                     ssdlite_run: TrainedRun):
    out = run_in(workspace, str(REPO / 'tools/test.py'), str(VOC_CONFIG),
                 str(ssdlite_run.checkpoint), '--eval', 'mAP')
    for name in ('circle', 'square', 'triangle', 'star', 'cross'):
        assert re.search(rf'\|\s*{name}\s*\|\s*\d+\s*\|\s*\d+\s*\|', out), out[-3000:]
    ap50 = float(re.search(r'^AP50: ([\d.]+)', out, re.M).group(1))
    assert ap50 >= MIN_AP50, out[-3000:]
    # the validation at the last epoch of training scored the same checkpoint the same way
    val = re.findall(r'Epoch\(val\).*?mAP: ([\d.]+)', train_log)
    assert val and float(val[-1]) == pytest.approx(ap50, abs=1e-3)
