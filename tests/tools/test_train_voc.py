"""End to end on the Pascal VOC layout: the voc0712-style demo config trains on
VOC2007 + VOC2012 trainval (concatenated from the ``ann_file`` list) and is scored on
VOC2007 test with the 11-point VOC mAP, by tools/train.py and tools/test.py."""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from mmssd.datasets import make_demo_voc_dataset
from tests.helpers.short_run import group_sampler_iterations
from tests.helpers.tools import REPO, run_tool

CONFIG = REPO / 'configs/pascal_voc/ssdlite_mobilenetv2_demo_voc0712.py'
EPOCHS = 10  # 300 iterations
# AP50 after them on the reference machine: 0.49 to 0.81 (seeds 0-3, one or two threads;
# the trajectory moves with float rounding as much as with the seed). An untrained or broken
# model scores about 0.
MIN_AP50 = 0.35

pytestmark = pytest.mark.slow


def run_in(workspace: Path, *args: str) -> str:
    """Run a tool (``args``) in ``workspace``; its stdout and stderr."""
    result = run_tool(args, cwd=workspace)
    return result.stdout + result.stderr


@pytest.fixture(scope='module')
def workspace(tmp_path_factory) -> Path:
    """A folder with ``data/demo_voc/VOCdevkit``, where the tools run (relative data_root)."""
    root = tmp_path_factory.mktemp('voc_e2e')
    make_demo_voc_dataset(str(root / 'data/demo_voc'), num_trainval07=240,
                          num_trainval12=240, num_test07=60)
    return root


def voc_trainval_sizes(workspace: Path) -> list[tuple[int, int]]:
    """``(width, height)`` of the trainval images of both VOC years, from their XML files."""
    sizes = []
    for year in ('VOC2007', 'VOC2012'):
        root = workspace / 'data/demo_voc/VOCdevkit' / year
        for img_id in (root / 'ImageSets/Main/trainval.txt').read_text().split():
            size = ET.parse(root / 'Annotations' / f'{img_id}.xml').find('size')
            sizes.append((int(size.find('width').text), int(size.find('height').text)))
    return sizes


@pytest.fixture(scope='module')
def train_log(workspace: Path) -> str:
    return run_in(workspace, str(REPO / 'tools/train.py'), str(CONFIG), '--work-dir', 'work',
                  '--seed', '0', '--cfg-options', f'runner.max_epochs={EPOCHS}',
                  f'evaluation.interval={EPOCHS}')


def test_trains_on_concatenated_trainval(workspace: Path, train_log: str):
    # 480 images in two VOC years at 16 per batch, each aspect-ratio group filled up to a
    # multiple of 16: 30 or 31 iterations an epoch
    iterations = group_sampler_iterations(voc_trainval_sizes(workspace), 16)
    assert iterations in (30, 31)
    assert re.search(rf'Epoch\(train\)\s+\[1\]\[20/{iterations}\]', train_log)
    losses = [float(x) for x in re.findall(r'\sloss: ([\d.]+)', train_log)]
    assert len(losses) >= 6 and sum(losses[-3:]) < 0.7 * sum(losses[:3]), losses


def test_test_tool_reports_voc07_map(workspace: Path, train_log: str):
    out = run_in(workspace, str(REPO / 'tools/test.py'), str(CONFIG), f'work/epoch_{EPOCHS}.pth',
                 '--eval', 'mAP')
    for name in ('circle', 'square', 'triangle', 'star', 'cross'):
        assert re.search(rf'\|\s*{name}\s*\|\s*\d+\s*\|\s*\d+\s*\|', out), out[-3000:]
    ap50 = float(re.search(r'^AP50: ([\d.]+)', out, re.M).group(1))
    assert ap50 >= MIN_AP50, out[-3000:]
    # the validation at the last epoch of training scored the same checkpoint the same way
    val = re.findall(r'Epoch\(val\).*?mAP: ([\d.]+)', train_log)
    assert val and float(val[-1]) == pytest.approx(ap50, abs=1e-3)
