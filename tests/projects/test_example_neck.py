"""projects/example_neck: the out-of-tree BiFPN neck builds, fuses, and trains via its config."""
from __future__ import annotations

import importlib
import json

import pytest
import torch

from mmssd.datasets.demo_shapes import make_demo_dataset
from mmssd.registry import MODELS
from tests.helpers.short_run import coco_image_sizes, group_sampler_iterations
from tests.helpers.tools import REPO, run_tool

CONFIG = REPO / 'projects/example_neck/configs/retinanet_r18_bifpn_8e_demo.py'


@pytest.fixture(scope='module')
def bifpn_module():
    # projects/ is importable from the repository root (pyproject.toml: pytest's pythonpath)
    return importlib.import_module('projects.example_neck.example_neck')


def test_bifpn_levels_and_shapes(bifpn_module):
    neck = MODELS.build({'type': 'BiFPN', 'in_channels': [8, 16, 32, 64], 'out_channels': 12,
                         'start_level': 1, 'num_outs': 5, 'num_repeats': 2}).eval()
    assert isinstance(neck, bifpn_module.BiFPN)
    feats = [torch.rand(2, c, s, s) for c, s in zip([8, 16, 32, 64], [48, 24, 12, 6])]
    with torch.no_grad():
        outs = neck(feats)
    assert [tuple(o.shape) for o in outs] == [(2, 12, s, s) for s in (24, 12, 6, 3, 2)]
    assert len(neck.lateral_convs) == 3 and neck.extra_conv is not None


def test_every_level_reaches_every_output(bifpn_module):
    """One BiFPN layer fuses top-down and bottom-up: each output depends on every input."""
    layer = bifpn_module.bifpn_layer.BiFPNLayer(4, 3, norm_cfg=None, act_cfg=None)
    feats = [torch.rand(1, 3, s, s, requires_grad=True) for s in (16, 8, 4, 2)]
    outs = layer(feats)
    for out in (outs[0], outs[-1]):
        grads = torch.autograd.grad(out.sum(), feats, retain_graph=True)
        assert all(g.abs().sum() > 0 for g in grads)


def test_weighted_fusion_is_a_normalised_non_negative_average(bifpn_module):
    fusion = bifpn_module.weighted_fusion.WeightedFusion(3, eps=0.)
    with torch.no_grad():
        fusion.weight.copy_(torch.tensor([1., 3., -2.]))  # the negative weight counts as 0
    a, b, c = torch.ones(1, 1, 2, 2), torch.full((1, 1, 2, 2), 5.), torch.full((1, 1, 2, 2), 9.)
    torch.testing.assert_close(fusion([a, b, c]), torch.full((1, 1, 2, 2), 4.))


@pytest.mark.slow
def test_project_config_trains_with_tools_train(tmp_path):
    data_root = tmp_path / 'demo'
    make_demo_dataset(data_root, num_train=16, num_val=4, seed=0)
    work_dir = tmp_path / 'work'
    run_tool(['tools/train.py', CONFIG, '--work-dir', work_dir, '--seed', '0', '--no-validate',
              '--cfg-options', 'runner.max_epochs=6', 'data.samples_per_gpu=8',
              'log_config.interval=1', 'checkpoint_config.interval=6',
              f'data.train.ann_file={data_root}/annotations/instances_train.json',
              f'data.train.img_prefix={data_root}/train/'])
    state = torch.load(work_dir / 'epoch_6.pth', weights_only=True)['state_dict']
    assert 'neck.bifpn_layers.1.bu_fusions.0.weight' in state  # BiFPN, not FPN, was trained
    log = sorted(work_dir.glob('*/vis_data/*.json'))[-1]
    losses = [json.loads(line)['loss'] for line in log.read_text().splitlines()
              if 'loss' in json.loads(line)]
    sizes = coco_image_sizes(data_root / 'annotations/instances_train.json')
    assert len(losses) == 6 * group_sampler_iterations(sizes, 8)
    assert all(torch.isfinite(torch.tensor(losses)))
    # the fusion weights start at 1: they moved, so gradients reached the BiFPN and it trained
    fusion = state['neck.bifpn_layers.1.bu_fusions.0.weight']
    assert not torch.allclose(fusion, torch.ones_like(fusion)), fusion
