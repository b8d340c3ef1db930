"""The trained demo models the end-to-end tests share, each trained once per test session.

Every function here trains into a folder it is given (:func:`tests.helpers.shared.
once_per_session` makes that folder once for all xdist workers); ``tests/conftest.py``
turns each into a fixture. What each run is for:

- :func:`train_demo_overfit` (fixture ``demo_run``): the demo SSDLite overfit on the
  shipped ``demo/demo.jpg``, so that it finds the image's three objects with high scores:
  for the tools and demos that draw, export or evaluate a model's detections.
- :func:`train_ssdlite_short` (``ssdlite_run``), :func:`train_faster_rcnn_short`
  (``faster_rcnn_run``), :func:`train_cascade_rcnn_short` (``cascade_rcnn_run``),
  :func:`train_retinanet_short` (``retinanet_run``), :func:`train_fcos_short`
  (``fcos_run``): shortened runs of the demo configs
  on generated demo data (``ssdlite_run`` on its Pascal VOC layout, with the COCO layout
  of the same images beside it), whose tests check that each architecture learns and then
  use the checkpoint through the tools.
- :func:`train_atss_overfit` (``atss_run``), :func:`train_gfl_overfit` (``gfl_run``): the
  ATSS and GFL demo configs fit to 8 demo images (:data:`DENSE_OVERFIT`): they learn.
- :func:`train_yolox_overfit` (``yolox_run``): the YOLOX demo config, with Mosaic, fit to
  8 demo images (:data:`YOLOX_OVERFIT`); :func:`train_faster_rcnn_mosaic_short`
  (``faster_rcnn_mosaic_run``): the Mosaic/MixUp Faster R-CNN demo, shortened.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from mmssd.datasets import make_demo_voc_dataset
from tests.helpers.short_run import data_options, make_demo_data, read_records, train_short
from tests.helpers.tools import REPO, run_tool

DEMO_CONFIG = REPO / 'configs/demo/ssdlite_mobilenetv2_demo.py'
DEMO_IMAGE = REPO / 'demo/demo.jpg'
DEMO_ANN = REPO / 'demo/demo.json'
DEMO_EPOCHS = 80

#: ``demo_run``: the demo SSDLite on ``demo/demo.jpg`` alone, without augmentation, for
#: 80 iterations (~20 s on 2 cores, one OpenMP thread). Its batch-norm layers use a faster
#: running-average momentum (0.5 instead of 0.03): with so few iterations the slow default
#: would leave the running statistics far from the batch statistics and spoil eval-mode
#: predictions. The run validates twice (half-way and at the end), so its logs hold
#: ``loss`` and ``bbox_mAP`` records.
OVERFIT_CONFIG = """\
_base_ = {base!r}
img_norm_cfg = dict(mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375], to_rgb=True)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', img_scale=(192, 192), keep_ratio=False),
    dict(type='RandomFlip', flip_ratio=0.0),
    dict(type='Normalize', **img_norm_cfg),
    dict(type='DefaultFormatBundle'),
    dict(type='Collect', keys=['img', 'gt_bboxes', 'gt_labels']),
]
demo_set = dict(type='CocoDataset', classes=('circle', 'square', 'triangle', 'star', 'cross'),
                ann_file={ann!r}, img_prefix={prefix!r})
data = dict(samples_per_gpu=2, workers_per_gpu=0,
            train=dict(_delete_=True, type='RepeatDataset', times=2,
                       dataset=dict(demo_set, pipeline=train_pipeline)),
            val=dict(ann_file={ann!r}, img_prefix={prefix!r}),
            test=dict(ann_file={ann!r}, img_prefix={prefix!r}),
            val_dataloader=dict(samples_per_gpu=1), test_dataloader=dict(samples_per_gpu=1))
optimizer = dict(lr=0.01)
lr_config = dict(warmup_iters=5)
runner = dict(max_epochs={epochs})
evaluation = dict(interval={epochs} // 2, save_best=None)
checkpoint_config = dict(interval={epochs})
log_config = dict(interval=1)
fast_bn = dict(type='BN', eps=0.001, momentum=0.5)
model = dict(backbone=dict(norm_cfg=fast_bn), neck=dict(norm_cfg=fast_bn),
             bbox_head=dict(norm_cfg=fast_bn))
"""


@dataclass(frozen=True)
class DemoRun:
    """Paths of the ``demo_run`` training (:func:`train_demo_overfit`)."""

    config: Path  # the training config (inherits the demo config)
    checkpoint: Path  # weights after the last epoch
    work_dir: Path
    scalars_log: Path  # work_dir/<timestamp>/vis_data/scalars.json (JSON lines)
    image: Path  # the image it was trained on (demo/demo.jpg)
    ann_file: Path  # its COCO ground truth (demo/demo.json)
    epochs: int  # epochs trained (one iteration each)


def train_demo_overfit(folder: Path) -> None:
    """Train the ``demo_run`` model (:data:`OVERFIT_CONFIG`) in ``folder``."""
    config = folder / 'demo_overfit.py'
    config.write_text(OVERFIT_CONFIG.format(base=str(DEMO_CONFIG), ann=str(DEMO_ANN),
                                            prefix=str(DEMO_IMAGE.parent) + '/',
                                            epochs=DEMO_EPOCHS))
    work_dir = folder / 'work'
    run_tool(['tools/train.py', config, '--work-dir', work_dir, '--seed', '0'])
    records = read_records(work_dir)
    assert any('bbox_mAP' in r for r in records), 'the run logged no validation'


def demo_run_in(folder: Path) -> DemoRun:
    """The :class:`DemoRun` that :func:`train_demo_overfit` left in ``folder``."""
    work_dir = folder / 'work'
    return DemoRun(config=folder / 'demo_overfit.py',
                   checkpoint=work_dir / f'epoch_{DEMO_EPOCHS}.pth', work_dir=work_dir,
                   scalars_log=sorted(work_dir.glob('*/vis_data/scalars.json'))[-1],
                   image=DEMO_IMAGE, ann_file=DEMO_ANN, epochs=DEMO_EPOCHS)


@dataclass(frozen=True)
class TrainedRun:
    """A shortened training run of a demo config on generated demo data."""

    config: Path  # the config trained (the shipped one, or its shortened copy)
    work_dir: Path
    epochs: int
    data_root: Path  # the demo dataset: train on its train split, validated on val
    records: list[dict] = field(repr=False)  # the JSON-lines log's records

    @property
    def checkpoint(self) -> Path:
        """The weights after the last epoch."""
        return self.work_dir / f'epoch_{self.epochs}.pth'

    @property
    def options(self) -> list[str]:
        """``--cfg-options`` pointing every split at :attr:`data_root`."""
        return data_options(self.data_root)

    @property
    def train(self) -> list[dict]:
        """The logged training records (those with a ``loss``)."""
        return [r for r in self.records if 'loss' in r]

    @property
    def val(self) -> list[dict]:
        """The logged validation records (those with a ``bbox_mAP_50``)."""
        return [r for r in self.records if 'bbox_mAP_50' in r]


RUN_FILE = 'run.json'


def save_run(run: TrainedRun, folder: Path) -> None:
    """Write what :func:`load_run` reads back: the run's paths and epochs."""
    (folder / RUN_FILE).write_text(json.dumps(
        dict(config=str(run.config), work_dir=str(run.work_dir), epochs=run.epochs,
             data_root=str(run.data_root))))


def load_run(folder: Path) -> TrainedRun:
    """The :class:`TrainedRun` saved in ``folder`` (its log records read afresh)."""
    saved = json.loads((folder / RUN_FILE).read_text())
    work_dir = Path(saved['work_dir'])
    return TrainedRun(config=Path(saved['config']), work_dir=work_dir,
                      epochs=saved['epochs'], data_root=Path(saved['data_root']),
                      records=read_records(work_dir))


#: ``ssdlite_run``: the demo SSDLite on the Pascal VOC layout of the demo data, as
#: ``configs/pascal_voc/ssdlite_mobilenetv2_demo_voc0712.py`` trains it (VOC2007 + VOC2012
#: trainval concatenated from its ``ann_file`` list, 240 images each, batch 16), its
#: schedule shortened to 10 epochs (~300 iterations), a checkpoint after every epoch (all
#: kept), validated on VOC2007 test (60 images) with VOC's mAP after the last epoch. The
#: same images in the COCO layout (``train``: the 480 trainval images, ``val``: the 60 test
#: images; :mod:`mmssd.datasets.demo_voc`) serve the tests of the COCO-layout tools, so one
#: training feeds both layouts' tests.
SSDLITE_SHORT = dict(epochs=10, num_trainval07=240, num_trainval12=240, num_test07=60)
VOC_CONFIG = REPO / 'configs/pascal_voc/ssdlite_mobilenetv2_demo_voc0712.py'
#: Where the VOC config finds its data (its relative ``data_root``), under the run's folder.
VOC_DATA = 'data/demo_voc'


def train_ssdlite_short(folder: Path) -> None:
    """Train the ``ssdlite_run`` model (:data:`SSDLITE_SHORT`) in ``folder``, the working
    directory of the run (the VOC data at ``folder/data/demo_voc``, the COCO layout of the
    same images at ``folder/demo``)."""
    epochs = SSDLITE_SHORT['epochs']
    num07, num12, num_test = (SSDLITE_SHORT[k] for k in
                              ('num_trainval07', 'num_trainval12', 'num_test07'))
    make_demo_voc_dataset(str(folder / VOC_DATA), num_trainval07=num07,
                          num_trainval12=num12, num_test07=num_test)
    root = make_demo_data(folder / 'demo', num07 + num12, num_test)
    work_dir = folder / 'work'
    run_tool([REPO / 'tools/train.py', VOC_CONFIG,
              '--work-dir', work_dir, '--seed', '0', '--cfg-options',
              f'runner.max_epochs={epochs}', f'evaluation.interval={epochs}',
              'checkpoint_config.max_keep_ckpts=-1'], cwd=folder)
    save_run(TrainedRun(VOC_CONFIG, work_dir, epochs, root, []), folder)


def _train_short(folder: Path, config: Path, epochs: int, num_train: int,
                 num_val: int) -> None:
    """:func:`~tests.helpers.short_run.train_short` on demo data made in ``folder``."""
    root = make_demo_data(folder / 'demo', num_train, num_val)
    short, work_dir, _ = train_short(config, folder, epochs, data_options(root))
    save_run(TrainedRun(short, work_dir, epochs, root, []), folder)


def train_faster_rcnn_short(folder: Path) -> None:
    """``faster_rcnn_run``: Faster R-CNN (ResNet-18 + FPN), 240 images, batch 8, 4 epochs
    (120 iterations), validated on 48 images at the end."""
    _train_short(folder, REPO / 'configs/demo/faster_rcnn_r18_fpn_demo.py', 4, 240, 48)


def train_cascade_rcnn_short(folder: Path) -> None:
    """``cascade_rcnn_run``: Cascade R-CNN (ResNet-18 + FPN, three box stages), 240 images,
    batch 8, 3 epochs (90 iterations), validated on 24 images at the end."""
    _train_short(folder, REPO / 'configs/demo/cascade_rcnn_r18_fpn_demo.py', 3, 240, 24)


def train_retinanet_short(folder: Path) -> None:
    """``retinanet_run``: RetinaNet (ResNet-18 + FPN), 240 images, batch 8, 6 epochs (180
    iterations), validated on 48 images at the end."""
    _train_short(folder, REPO / 'configs/retinanet/retinanet_r18_fpn_8e_demo.py', 6, 240, 48)


def train_fcos_short(folder: Path) -> None:
    """``fcos_run``: the FCOS demo config (ResNet-18 + FPN + FCOSHead), 8 images, batch 8,
    2 epochs (2 iterations each: GroupSampler), validated on 4 images at the end: enough
    to see the loss fall, within the test-time budget (about 9 s on 2 loaded cores)."""
    _train_short(folder, REPO / 'configs/demo/fcos_r18_fpn_demo.py', 2, 8, 4)


#: ``atss_run`` / ``gfl_run``: the ATSS or GFL demo config (ResNet-18 + FPN, from scratch)
#: fit to 8 demo images at 128 px without augmentation, batch 4, constant learning rate
#: after a 5-iteration warm-up, 12 epochs (36 iterations); validated on the same 8 images
#: after the last epoch: a short check that the head, its targets and its decoding learn
#: together (the full demo schedule is measured in the README).
DENSE_OVERFIT = """\
_base_ = {base!r}
img_norm_cfg = dict(mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375], to_rgb=True)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', img_scale=(128, 128), keep_ratio=False),
    dict(type='RandomFlip', flip_ratio=0.0),
    dict(type='Normalize', **img_norm_cfg),
    dict(type='DefaultFormatBundle'),
    dict(type='Collect', keys=['img', 'gt_bboxes', 'gt_labels']),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='MultiScaleFlipAug', img_scale=(128, 128), flip=False, transforms=[
        dict(type='Resize', keep_ratio=False), dict(type='RandomFlip'),
        dict(type='Normalize', **img_norm_cfg), dict(type='ImageToTensor', keys=['img']),
        dict(type='Collect', keys=['img'])]),
]
split = dict(ann_file={ann!r}, img_prefix={prefix!r})
data = dict(samples_per_gpu=4, workers_per_gpu=0,
            train=dict(split, pipeline=train_pipeline),
            val=dict(split, pipeline=test_pipeline), test=dict(split, pipeline=test_pipeline),
            val_dataloader=dict(samples_per_gpu=8), test_dataloader=dict(samples_per_gpu=8))
lr_config = dict(_delete_=True, policy='fixed', warmup='linear', warmup_iters=5,
                 warmup_ratio=0.1)
runner = dict(max_epochs={epochs})
evaluation = dict(interval={epochs}, save_best=None)
checkpoint_config = dict(interval={epochs})
log_config = dict(interval=3)
"""
DENSE_OVERFIT_EPOCHS = 12


def _train_dense_overfit(folder: Path, config: Path) -> None:
    """:data:`DENSE_OVERFIT` of ``config`` in ``folder`` (8 demo images made there)."""
    root = make_demo_data(folder / 'demo', 8, 1)
    short = folder / f'{config.stem}_overfit.py'
    short.write_text(DENSE_OVERFIT.format(
        base=str(config), ann=str(root / 'annotations/instances_train.json'),
        prefix=str(root / 'train') + '/', epochs=DENSE_OVERFIT_EPOCHS))
    work_dir = folder / 'work'
    run_tool(['tools/train.py', short, '--work-dir', work_dir, '--seed', '0'])
    save_run(TrainedRun(short, work_dir, DENSE_OVERFIT_EPOCHS, root, []), folder)


def train_atss_overfit(folder: Path) -> None:
    """``atss_run``: :data:`DENSE_OVERFIT` of ``configs/demo/atss_r18_fpn_demo.py``."""
    _train_dense_overfit(folder, REPO / 'configs/demo/atss_r18_fpn_demo.py')


def train_gfl_overfit(folder: Path) -> None:
    """``gfl_run``: :data:`DENSE_OVERFIT` of ``configs/demo/gfl_r18_fpn_demo.py``."""
    _train_dense_overfit(folder, REPO / 'configs/demo/gfl_r18_fpn_demo.py')


#: ``yolox_run``: the YOLOX demo config (CSPDarknet + YOLOXPAFPN + YOLOXHead, from
#: scratch) fit to 8 demo images at 128 px: ``MultiImageMixDataset`` with Mosaic and a mild
#: RandomAffine, the batch-synchronised multi-scale resize (96..160 px), plain images and
#: the L1 loss for the last epochs (``YOLOXModeSwitchHook`` in a persistent loader worker),
#: EMA weights, the YOLOX lr policy; batch 8 (one iteration an epoch); validated on the
#: same 8 images (plain, 128 px) after the last epoch.
YOLOX_OVERFIT = """\
_base_ = {base!r}
img_scale = (128, 128)
model = dict(input_size=img_scale, random_size_range=(3, 5), random_size_interval=1)
train_pipeline = [
    dict(type='Mosaic', img_scale=img_scale, pad_val=114.0),
    dict(type='RandomAffine', scaling_ratio_range=(0.75, 1.25), border=(-64, -64)),
    dict(type='RandomFlip', flip_ratio=0.5),
    dict(type='Resize', img_scale=img_scale, keep_ratio=True),
    dict(type='Pad', pad_to_square=True, pad_val=dict(img=(114.0, 114.0, 114.0))),
    dict(type='FilterAnnotations', min_gt_bbox_wh=(1, 1), keep_empty=False),
    dict(type='DefaultFormatBundle'),
    dict(type='Collect', keys=['img', 'gt_bboxes', 'gt_labels']),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='MultiScaleFlipAug', img_scale=img_scale, flip=False, transforms=[
        dict(type='Resize', keep_ratio=True), dict(type='RandomFlip'),
        dict(type='Pad', pad_to_square=True, pad_val=dict(img=(114.0, 114.0, 114.0))),
        dict(type='DefaultFormatBundle'), dict(type='Collect', keys=['img'])]),
]
split = dict(ann_file={ann!r}, img_prefix={prefix!r})
data = dict(samples_per_gpu=8,
            train=dict(dataset=split, pipeline=train_pipeline),
            val=dict(split, pipeline=test_pipeline), test=dict(split, pipeline=test_pipeline),
            val_dataloader=dict(samples_per_gpu=8), test_dataloader=dict(samples_per_gpu=8))
optimizer = dict(lr={lr})
lr_config = dict(warmup_iters=1, num_last_epochs={last})
runner = dict(max_epochs={epochs})
custom_hooks = [
    dict(type='YOLOXModeSwitchHook', num_last_epochs={last}, priority=48),
    dict(type='SyncNormHook', num_last_epochs={last}, interval=1, priority=48),
    dict(type='ExpMomentumEMAHook', resume_from=None, momentum=0.0001, priority=49),
]
evaluation = dict(interval={epochs}, save_best=None)
checkpoint_config = dict(interval={epochs})
log_config = dict(interval=1)
"""
YOLOX_OVERFIT_ARGS = dict(epochs=60, last=15, lr=0.003)


def train_yolox_overfit(folder: Path) -> None:
    """``yolox_run``: :data:`YOLOX_OVERFIT` of ``configs/demo/yolox_tiny_demo.py``."""
    root = make_demo_data(folder / 'demo', 8, 1)
    short = folder / 'yolox_tiny_demo_overfit.py'
    short.write_text(YOLOX_OVERFIT.format(
        base=str(REPO / 'configs/demo/yolox_tiny_demo.py'),
        ann=str(root / 'annotations/instances_train.json'),
        prefix=str(root / 'train') + '/', **YOLOX_OVERFIT_ARGS))
    work_dir = folder / 'work'
    run_tool(['tools/train.py', short, '--work-dir', work_dir, '--seed', '0'])
    save_run(TrainedRun(short, work_dir, YOLOX_OVERFIT_ARGS['epochs'], root, []), folder)


def train_faster_rcnn_mosaic_short(folder: Path) -> None:
    """``faster_rcnn_mosaic_run``: the Mosaic + RandomAffine + MixUp Faster R-CNN demo
    (``MultiImageMixDataset`` around the demo's CocoDataset), 16 images, batch 8, 3 epochs
    (3 iterations each: GroupSampler), mixed samples in the first epoch and plain images in
    the last two (``YOLOXModeSwitchHook(num_last_epochs=1)`` switches before the epoch
    ``max_epochs - num_last_epochs``, as mmdetection's does), validated on 8 images."""
    root = make_demo_data(folder / 'demo', 16, 8)
    options = [f'data.train.dataset.ann_file={root}/annotations/instances_train.json',
               f'data.train.dataset.img_prefix={root}/train/',
               'custom_hooks.0.num_last_epochs=1', *data_options(root)[2:]]
    config = REPO / 'configs/demo/faster_rcnn_r18_fpn_mosaic_demo.py'
    short, work_dir, _ = train_short(config, folder, 3, options)
    save_run(TrainedRun(short, work_dir, 3, root, []), folder)
