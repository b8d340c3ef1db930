"""benchmark.py: images per second over timed batches; conv+BN fusion keeps the outputs."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch
from mmcv.cnn import fuse_conv_bn

from mmssd.apis import init_detector
from mmssd.datasets.demo_shapes import make_demo_dataset
from tests.helpers.tools import REPO, load_tool

CONFIG = str(REPO / 'configs/demo/ssdlite_mobilenetv2_demo.py')

pytestmark = pytest.mark.usefixtures('torch_single_thread')


@pytest.mark.parametrize('config', [CONFIG, *(str(REPO / 'configs/demo' / name) for name in (
    'faster_rcnn_r18_fpn_demo.py', 'cascade_rcnn_r18_fpn_demo.py'))])
def test_benchmark_times_batches_after_warmup(config: str, tmp_path: Path, capsys):
    make_demo_dataset(str(tmp_path), num_train=0, num_val=4, seed=0)
    runs = load_tool('tools/analysis_tools/benchmark.py').main(
        [config, '--batch-size', '2', '--num-warmup', '1', '--max-iter', '5',
         '--fuse-conv-bn', '--cfg-options',
         f'data.test.ann_file={tmp_path}/annotations/instances_val.json',
         f'data.test.img_prefix={tmp_path}/val/'])
    (run,) = runs
    assert run['images'] == 2  # 4 images in batches of 2, the first batch is warm-up
    assert run['fps'] > 0 and run['fps'] == run['images'] / run['seconds']
    captured = capsys.readouterr()
    assert 'img/s' in captured.out and 'conv+bn fused' in captured.out
    assert 'benchmark' in captured.err  # the progress bar


def test_fused_conv_bn_gives_the_same_outputs():
    torch.manual_seed(0)
    model = init_detector(CONFIG)
    for module in model.modules():  # non-trivial statistics, so fusing has work to do
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.uniform_(-0.5, 0.5)
            module.running_var.uniform_(0.5, 2.0)
    img = torch.rand(1, 3, 192, 192)
    with torch.no_grad():
        cls_before, reg_before = model.bbox_head(model.extract_feat(img))
        fused = fuse_conv_bn(model)
        assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in fused.modules())
        cls_after, reg_after = fused.bbox_head(fused.extract_feat(img))
    for before, after in zip([*cls_before, *reg_before], [*cls_after, *reg_after], strict=True):
        torch.testing.assert_close(after, before, atol=1e-3, rtol=1e-3)
