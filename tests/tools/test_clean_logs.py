"""A short SSDLite demo run (``tools/train.py`` then ``tools/test.py``) prints none of the
messages a user cannot act on (issue 22, item 7), and its environment header is truthful."""
from __future__ import annotations

import json

import pytest
import torch

from tests.helpers.short_run import demo_data_options
from tests.helpers.tools import run_tool

pytestmark = pytest.mark.slow

CONFIG = 'configs/demo/ssdlite_mobilenetv2_demo.py'
#: One epoch of two batches, evaluated and checkpointed once.
SHORT = ['runner.max_epochs=1', 'evaluation.interval=1', 'checkpoint_config.interval=1',
         'data.samples_per_gpu=8', 'log_config.interval=1']
#: The lines of issue 22's item 7 (the path after ``from path:`` varies).
UNWANTED = ('The prefix is not set in metric class',
            '"FileClient" will be deprecated',
            '"HardDiskBackend" is the alias of "LocalBackend"',
            'Loads checkpoint by local backend from path:')


@pytest.fixture(scope='module')
def demo_run(tmp_path_factory) -> dict:
    """Train one epoch on 16 demo images, evaluate on 8 (``--eval bbox --out``); the
    combined stdout and stderr of both, and the training's JSON log records."""
    tmp = tmp_path_factory.mktemp('clean_logs')
    options = demo_data_options(tmp, num_train=16, num_val=8)
    work = tmp / 'work'
    # new interpreters (fresh=True): what importing prints counts too
    train = run_tool(['tools/train.py', CONFIG, '--work-dir', str(work), '--seed', '0',
                      '--cfg-options', *options, *SHORT], fresh=True)
    test = run_tool(['tools/test.py', CONFIG, str(work / 'latest.pth'), '--eval', 'bbox',
                     '--out', str(tmp / 'results.pkl'), '--cfg-options', *options, *SHORT],
                    fresh=True)
    log = sorted(work.glob('*/vis_data/*.json'))[-1]
    return dict(output=train.stdout + train.stderr + test.stdout + test.stderr,
                test_stdout=test.stdout,
                records=[json.loads(line) for line in log.read_text().splitlines()])


@pytest.mark.parametrize('message', UNWANTED)
def test_message_is_not_printed(demo_run, message):
    lines = [line for line in demo_run['output'].splitlines() if message in line]
    assert lines == []


def test_environment_header_counts_gpus_truthfully(demo_run):
    cuda = torch.cuda.is_available()
    output = demo_run['output']
    assert output.count(f'CUDA available: {cuda}') == 2  # one header per tool
    assert output.count('World size: 1') == 2
    assert output.count(f'GPU number: {1 if cuda else 0}') == 2
    assert 'GPU number: 1' not in output or cuda


def test_metrics_keep_their_2x_names(demo_run):
    """The metrics' empty prefix changes no name: ``bbox_mAP``, not ``coco/bbox_mAP``."""
    val = [r for r in demo_run['records'] if 'bbox_mAP' in r]
    assert len(val) == 1 and not any('/' in key for key in val[0])
    assert 'bbox_mAP: ' in demo_run['test_stdout']
