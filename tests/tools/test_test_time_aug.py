"""tools/test.py --eval bbox with test-time augmentation (two scales and flip) in the test
pipeline of the demo SSD, RetinaNet and Faster R-CNN configs.

The checkpoints are the session's shared short runs of each config (tests/helpers/
trained.py): this checks that TTA runs end to end through the dataset, collate, detector
merge and COCO evaluation, not what it gains (measured on the trained demo model in the
README).
"""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

from mmssd.apis import load_config
from mmssd.datasets import build_dataset
from tests.helpers.short_run import demo_data_options
from tests.helpers.tools import REPO, run_tool
from tests.helpers.trained import TrainedRun

pytestmark = pytest.mark.slow

TTA_OPTIONS = ['data.test.pipeline.1.img_scale=[(160,160),(224,224)]',
               'data.test.pipeline.1.flip=True', 'data.test_dataloader.samples_per_gpu=4',
               'data.workers_per_gpu=0']


@pytest.mark.parametrize('config, trained_run, extra', [
    ('configs/demo/ssdlite_mobilenetv2_demo.py', 'ssdlite_run', []),
    # the short run's classifier scores stay low: below the config's score_thr
    ('configs/retinanet/retinanet_r18_fpn_8e_demo.py', 'retinanet_run',
     ['model.test_cfg.score_thr=0.005']),
    ('configs/demo/faster_rcnn_r18_fpn_demo.py', 'faster_rcnn_run', []),
], indirect=['trained_run'])
def test_tools_test_with_multi_scale_flip_aug(config: str, trained_run: TrainedRun,
                                              extra: list[str], tmp_path: Path):
    options = demo_data_options(tmp_path, num_train=4, num_val=8)
    result = run_tool(['tools/test.py', config, trained_run.checkpoint, '--eval', 'bbox',
                       '--cfg-options', *options, *TTA_OPTIONS, *extra])
    output = result.stdout + result.stderr
    assert 'bbox_mAP_50' in output, output[-3000:]
    # the options make four augmentations of each test image: 160 and 224 px, each flipped
    root = tmp_path / 'demo'
    cfg = load_config(str(REPO / config), {
        'data.test.pipeline.1.img_scale': [(160, 160), (224, 224)],
        'data.test.pipeline.1.flip': True,
        'data.test.ann_file': f'{root}/annotations/instances_val.json',
        'data.test.img_prefix': f'{root}/val/'})
    sample = build_dataset(cfg.data.test)[0]
    assert [tuple(img.shape[1:]) for img in sample['img']] == [(160, 160)] * 2 + [(224, 224)] * 2
    assert [m['flip'] for m in sample['img_metas']] == [False, True] * 2
    torch.testing.assert_close(sample['img'][1], sample['img'][0].flip(-1))
