# Cascade R-CNN (ResNet-18 + FPN) trained from scratch on the synthetic demo shapes, sized for
# a 2-core CPU as the Faster R-CNN demo: half-width ResNet-18 (base_channels=32), thin FPN
# (64 channels), RPN anchors half mmdetection's side (the shapes are 10-96 px in 192 px
# images), fewer proposals, three small box heads (IoU 0.5 / 0.6 / 0.7) on 64 sampled RoIs per
# image each: on CPU the RoIAlign backward of every stage dominates a step (1.3 s per batch
# of 16 with 64 RoIs, 2.0 s with the Faster R-CNN demo's 128).
_base_ = [
    '../_base_/models/cascade_rcnn_r50_fpn.py', '../_base_/datasets/demo_shapes.py',
    '../_base_/schedules/demo_14e.py', '../_base_/default_runtime.py'
]


def _stage_head(target_stds):
    """One stage's box head: the base config's, at the demo's width and classes."""
    return dict(
        type='Shared2FCBBoxHead',
        in_channels=64,
        fc_out_channels=256,
        roi_feat_size=7,
        num_classes=5,
        bbox_coder=dict(
            type='DeltaXYWHBBoxCoder',
            target_means=[0., 0., 0., 0.],
            target_stds=target_stds),
        reg_class_agnostic=True,
        loss_cls=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0),
        loss_bbox=dict(type='SmoothL1Loss', beta=1.0, loss_weight=1.0))


def _stage_train_cfg(iou):
    """One stage's R-CNN training settings at IoU threshold ``iou``, 64 RoIs per image."""
    return dict(
        assigner=dict(
            type='MaxIoUAssigner',
            pos_iou_thr=iou,
            neg_iou_thr=iou,
            min_pos_iou=iou,
            match_low_quality=False,
            ignore_iof_thr=-1),
        sampler=dict(
            type='RandomSampler',
            num=64,
            pos_fraction=0.25,
            neg_pos_ub=-1,
            add_gt_as_proposals=True),
        pos_weight=-1,
        debug=False)


model = dict(
    backbone=dict(
        depth=18,
        base_channels=32,  # 64 is the published ResNet-18 (the one checkpoints fit)
        frozen_stages=-1,  # from scratch: train every stage and its BatchNorms
        norm_eval=False,
        init_cfg=None),
    neck=dict(in_channels=[32, 64, 128, 256], out_channels=64),
    rpn_head=dict(
        in_channels=64,
        feat_channels=64,
        anchor_generator=dict(scales=[4])),
    roi_head=dict(
        bbox_roi_extractor=dict(out_channels=64, finest_scale=28),
        bbox_head=[
            _stage_head([0.1, 0.1, 0.2, 0.2]),
            _stage_head([0.05, 0.05, 0.1, 0.1]),
            _stage_head([0.033, 0.033, 0.067, 0.067]),
        ]),
    train_cfg=dict(
        rpn_proposal=dict(nms_pre=1000, max_per_img=300),
        rcnn=[_stage_train_cfg(0.5), _stage_train_cfg(0.6), _stage_train_cfg(0.7)]),
    test_cfg=dict(rpn=dict(nms_pre=500, max_per_img=100)))
runner = dict(max_epochs=8)
data = dict(workers_per_gpu=1, val_dataloader=dict(samples_per_gpu=16),
            test_dataloader=dict(samples_per_gpu=16))
evaluation = dict(interval=8, metric='bbox', save_best='auto')
checkpoint_config = dict(interval=1, max_keep_ckpts=3)
log_config = dict(interval=20)
