# The demo Faster R-CNN's proposal network alone (ResNet-18 + FPN + RPNHead), evaluated by
# average recall of its proposals (`--eval proposal_fast`). A Faster R-CNN checkpoint of
# configs/demo/faster_rcnn_r18_fpn_demo.py loads into it: its `rpn_head.*` weights are the
# RPN's head (the RoI head's are not used).
_base_ = [
    '../_base_/models/rpn_r50_fpn.py', '../_base_/datasets/demo_shapes.py',
    '../_base_/schedules/demo_14e.py', '../_base_/default_runtime.py'
]
model = dict(
    backbone=dict(
        depth=18,
        base_channels=32,
        frozen_stages=-1,
        norm_eval=False,
        init_cfg=None),
    neck=dict(in_channels=[32, 64, 128, 256], out_channels=64),
    rpn_head=dict(
        in_channels=64,
        feat_channels=64,
        anchor_generator=dict(scales=[4])),
    test_cfg=dict(rpn=dict(nms_pre=500, max_per_img=100)))
img_norm_cfg = dict(
    mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375], to_rgb=True)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True, with_label=False),
    dict(
        type='MinIoURandomCrop',
        min_ious=(0.3, 0.5, 0.7, 0.9),
        min_crop_size=0.5),
    dict(type='Resize', img_scale=(192, 192), keep_ratio=False),
    dict(type='RandomFlip', flip_ratio=0.5),
    dict(type='Normalize', **img_norm_cfg),
    dict(type='DefaultFormatBundle'),
    dict(type='Collect', keys=['img', 'gt_bboxes']),
]
runner = dict(max_epochs=8)
data = dict(workers_per_gpu=1, train=dict(pipeline=train_pipeline),
            val_dataloader=dict(samples_per_gpu=16), test_dataloader=dict(samples_per_gpu=16))
evaluation = dict(interval=8, metric='proposal_fast', proposal_nums=(10, 50, 100),
                  save_best='AR@100')
checkpoint_config = dict(interval=1, max_keep_ckpts=3)
log_config = dict(interval=20)
