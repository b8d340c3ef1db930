# Faster R-CNN (ResNet-18 + FPN) trained from scratch on the synthetic demo shapes, sized for
# a 2-core CPU: half-width ResNet-18 (base_channels=32), thin FPN (64 channels), RPN anchors
# half mmdetection's side (the shapes are 10-96 px in 192 px images), fewer proposals and a
# small box head, AdamW with the demo's short cosine schedule.
_base_ = [
    '../_base_/models/faster_rcnn_r50_fpn.py', '../_base_/datasets/demo_shapes.py',
    '../_base_/schedules/demo_14e.py', '../_base_/default_runtime.py'
]
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
        bbox_head=dict(in_channels=64, fc_out_channels=256, num_classes=5)),
    train_cfg=dict(
        rpn_proposal=dict(nms_pre=1000, max_per_img=300),
        rcnn=dict(sampler=dict(num=128))),
    test_cfg=dict(rpn=dict(nms_pre=500, max_per_img=100)))
runner = dict(max_epochs=8)
data = dict(workers_per_gpu=1, val_dataloader=dict(samples_per_gpu=16),
            test_dataloader=dict(samples_per_gpu=16))
evaluation = dict(interval=8, metric='bbox', save_best='auto')
checkpoint_config = dict(interval=1, max_keep_ckpts=3)
log_config = dict(interval=20)
