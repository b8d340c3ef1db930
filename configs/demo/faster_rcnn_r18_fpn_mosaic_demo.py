# The Faster R-CNN demo (ResNet-18 + FPN from scratch on the demo shapes) trained on
# Mosaic + RandomAffine + MixUp samples, as competition teams mixed them into two-stage
# models: MultiImageMixDataset around the demo's CocoDataset, plain images from epoch
# 8 - 2 = 6 on (YOLOXModeSwitchHook(num_last_epochs=2) switches as mmdetection's does, before
# epoch max_epochs - num_last_epochs; a two-stage model has no L1 loss to switch on).
_base_ = './faster_rcnn_r18_fpn_demo.py'

img_scale = (192, 192)  # height, width
data_root = 'data/demo/'
classes = ('circle', 'square', 'triangle', 'star', 'cross')
img_norm_cfg = dict(
    mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375], to_rgb=True)
train_pipeline = [
    dict(type='Mosaic', img_scale=img_scale, pad_val=114.0),
    dict(
        type='RandomAffine',
        scaling_ratio_range=(0.5, 1.5),
        border=(-img_scale[0] // 2, -img_scale[1] // 2)),
    dict(
        type='MixUp',
        img_scale=img_scale,
        ratio_range=(0.8, 1.6),
        pad_val=114.0),
    dict(type='RandomFlip', flip_ratio=0.5),
    dict(type='Resize', img_scale=img_scale, keep_ratio=False),
    dict(type='FilterAnnotations', min_gt_bbox_wh=(1, 1), keep_empty=False),
    dict(type='Normalize', **img_norm_cfg),
    dict(type='DefaultFormatBundle'),
    dict(type='Collect', keys=['img', 'gt_bboxes', 'gt_labels'])
]
data = dict(
    persistent_workers=True,
    train=dict(
        _delete_=True,
        type='MultiImageMixDataset',
        dataset=dict(
            type='CocoDataset',
            classes=classes,
            ann_file=data_root + 'annotations/instances_train.json',
            img_prefix=data_root + 'train/',
            pipeline=[
                dict(type='LoadImageFromFile'),
                dict(type='LoadAnnotations', with_bbox=True)
            ],
            filter_empty_gt=False),
        pipeline=train_pipeline))
custom_hooks = [dict(type='YOLOXModeSwitchHook', num_last_epochs=2, priority=48)]
