"""get_flops.py: SSD300's multiply-adds match torchvision's published figure; the demo
models' (single- and two-stage) match a count of every layer."""
from __future__ import annotations

import pytest
import torch
from torch import nn

from mmssd.apis import init_detector
from tests.helpers.tools import REPO, load_tool

#: torchvision's table: SSD300-VGG16 (COCO, 300x300) 34.858 GFLOPS, one multiply-add = one.
TORCHVISION_SSD300_GMACS = 34.858

pytestmark = pytest.mark.usefixtures('torch_single_thread')


def conv_linear_mult_adds(model: nn.Module, img: torch.Tensor) -> int:
    """Multiply-adds of every Conv2d / Linear in one forward, counted with hooks, plus two
    per output element of each affine BatchNorm2d (scale and shift; mmengine's count)."""
    total = 0

    def count(module: nn.Module, _inputs, output: torch.Tensor) -> None:
        nonlocal total
        if isinstance(module, nn.Conv2d):
            k = module.kernel_size[0] * module.kernel_size[1]
            total += output.numel() * module.in_channels // module.groups * k
        elif isinstance(module, nn.Linear):
            total += output.numel() * module.in_features
        else:
            total += output.numel() * (2 if module.affine else 1)

    handles = [m.register_forward_hook(count) for m in model.modules()
               if isinstance(m, (nn.Conv2d, nn.Linear, nn.BatchNorm2d))]
    with torch.no_grad():
        model.forward_tensor(img)
    for handle in handles:
        handle.remove()
    return total


@pytest.mark.slow
def test_ssd300_mult_adds_match_torchvision_and_params_match_model(capsys):
    get_flops = load_tool('tools/analysis_tools/get_flops.py')
    config = str(REPO / 'configs/ssd/ssd300_coco.py')
    result = get_flops.main([config, '--shape', '300', '300'])
    printed = capsys.readouterr().out
    assert 'one multiply-add counted as one operation' in printed
    assert f"Multiply-adds: {result['mult_adds'] / 1e9:.3f} G" in printed
    assert abs(result['mult_adds'] / 1e9 / TORCHVISION_SSD300_GMACS - 1) < 0.10, result
    model = init_detector(config)
    assert result['params'] == result['model_params'] == sum(
        p.numel() for p in model.parameters())
    # convolutions are (almost) all of it: hooks on every layer agree within 1%
    hooked = conv_linear_mult_adds(model, torch.zeros(1, 3, 300, 300))
    assert result['mult_adds'] == pytest.approx(hooked, rel=0.01)


@pytest.mark.parametrize('demo', ['ssdlite_mobilenetv2_demo.py', 'faster_rcnn_r18_fpn_demo.py',
                                  'cascade_rcnn_r18_fpn_demo.py'])
def test_demo_model_square_shape_and_convention(demo, capsys):
    """The count covers every layer; a two-stage model's includes its RoI head on 1000 boxes
    (mmdetection's convention)."""
    get_flops = load_tool('tools/analysis_tools/get_flops.py')
    config = str(REPO / 'configs/demo' / demo)
    result = get_flops.main([config, '--shape', '192'])
    assert 'Input shape: (1, 3, 192, 192)' in capsys.readouterr().out
    model = init_detector(config)
    assert result['params'] == sum(p.numel() for p in model.parameters())
    assert result['mult_adds'] == pytest.approx(
        conv_linear_mult_adds(model, torch.zeros(1, 3, 192, 192)), rel=0.01)
