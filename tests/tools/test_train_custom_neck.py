"""A brand-new neck, written in the user's own package outside mmssd, trains inside SSD.

The test writes ``my_ssd_ext/tiny_neck.py`` into a temporary folder, registers the class
there with ``@MODELS.register_module()``, names the module in a config's
``custom_imports`` (the config inherits the shipped SSDLite demo config and swaps the neck),
and runs ``tools/train.py`` from that folder: the loss must fall.
"""
from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
import torch

from mmssd.datasets.demo_shapes import make_demo_dataset
from tests.helpers.short_run import coco_image_sizes, group_sampler_iterations
from tests.helpers.tools import REPO, run_tool

pytestmark = pytest.mark.slow

NECK_MODULE = '''
"""A user's neck: keep the backbone maps, append stride-2 conv levels."""
from collections.abc import Sequence

from torch import Tensor, nn

from mmssd.registry import MODELS


@MODELS.register_module()
class TinyPyramidNeck(nn.Module):
    """Backbone maps ``[(B, in_channels[i], H_i, W_i)]`` -> those maps plus one
    ``(B, c, H / 2, W / 2)`` level per extra entry ``c`` of ``out_channels``."""

    def __init__(self, in_channels: Sequence[int], out_channels: Sequence[int]) -> None:
        super().__init__()
        self.extra = nn.ModuleList()
        previous = in_channels[-1]
        for channels in out_channels[len(in_channels):]:
            self.extra.append(nn.Sequential(
                nn.Conv2d(previous, channels, 3, stride=2, padding=1),
                nn.BatchNorm2d(channels), nn.ReLU(inplace=True)))
            previous = channels

    def forward(self, inputs: Sequence[Tensor]) -> tuple[Tensor, ...]:
        outs = list(inputs)
        for layer in self.extra:
            outs.append(layer(outs[-1]))
        return tuple(outs)
'''

EXPERIMENT = '''
_base_ = ['{repo}/configs/demo/ssdlite_mobilenetv2_demo.py']
custom_imports = dict(imports=['my_ssd_ext.tiny_neck'], allow_failed_imports=False)
model = dict(
    neck=dict(
        _delete_=True,
        type='TinyPyramidNeck',
        in_channels=(48, 1280),
        out_channels=(48, 1280, 512, 256, 256, 128)))
# eight images, a full batch of each aspect-ratio group per epoch: the model should fit them
# quickly
data = dict(samples_per_gpu=8, workers_per_gpu=0)
optimizer = dict(lr=0.01)
runner = dict(max_epochs=18)
lr_config = dict(warmup_iters=1)
checkpoint_config = dict(interval=18)
log_config = dict(interval=1)
'''


def data_options(root: Path) -> list[str]:
    return [f'data.train.ann_file={root}/annotations/instances_train.json',
            f'data.train.img_prefix={root}/train/']


def test_user_neck_from_custom_imports_trains_ssd(tmp_path: Path):
    workspace = tmp_path / 'workspace'  # the user's folder: not mmssd, not on sys.path
    (workspace / 'my_ssd_ext').mkdir(parents=True)
    (workspace / 'my_ssd_ext/__init__.py').write_text('')
    (workspace / 'my_ssd_ext/tiny_neck.py').write_text(NECK_MODULE)
    config = workspace / 'ssdlite_tinyneck_demo.py'
    config.write_text(textwrap.dedent(EXPERIMENT.format(repo=REPO)))
    data_root = tmp_path / 'demo'
    make_demo_dataset(data_root, num_train=8, num_val=4, seed=0)
    work_dir = tmp_path / 'work'

    run_tool([REPO / 'tools/train.py', config, '--work-dir', work_dir, '--seed', '0',
              '--no-validate', '--cfg-options', *data_options(data_root)], cwd=workspace)

    state = torch.load(work_dir / 'epoch_18.pth', weights_only=True)['state_dict']
    assert 'neck.extra.3.0.weight' in state  # the user's layers were trained and saved
    assert not any(key.startswith('neck.extra_layers') for key in state)  # SSDNeck is gone
    log = sorted(work_dir.glob('*/vis_data/*.json'))[-1]
    losses = [json.loads(line)['loss'] for line in log.read_text().splitlines()
              if 'loss' in json.loads(line)]
    sizes = coco_image_sizes(data_root / 'annotations/instances_train.json')
    assert len(losses) == 18 * group_sampler_iterations(sizes, 8)
    # logged losses are running means over up to 10 iterations (mmengine's log window)
    assert losses[-1] < 0.8 * losses[0], losses
    assert sum(losses[-5:]) < sum(losses[:5]), losses
