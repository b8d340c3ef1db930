# GFL (ResNet-18 + FPN) trained from scratch on the synthetic demo shapes, sized for a 2-core
# CPU like the RetinaNet demo: half-width ResNet-18 (base_channels=32), thin FPN and head
# (64 channels, 2 GroupNorm tower convs of 16 groups), 192 px input, anchors half GFL's side
# (the shapes are 10-96 px), AdamW with the demo's short cosine schedule cut to 8 epochs.
_base_ = [
    '../_base_/models/gfl_r50_fpn.py', '../_base_/datasets/demo_shapes.py',
    '../_base_/schedules/demo_14e.py', '../_base_/default_runtime.py'
]
model = dict(
    backbone=dict(
        depth=18,
        base_channels=32,  # 64 is the published ResNet-18 (the one checkpoints fit)
        frozen_stages=-1,  # from scratch: train every stage and its BatchNorms
        norm_eval=False,
        init_cfg=None),  # from scratch: no torchvision://resnet50 weights (random init)
    neck=dict(in_channels=[32, 64, 128, 256], out_channels=64),
    bbox_head=dict(
        num_classes=5,
        in_channels=64,
        feat_channels=64,
        stacked_convs=2,
        norm_cfg=dict(type='GN', num_groups=16, requires_grad=True),
        anchor_generator=dict(octave_base_scale=4)))
runner = dict(max_epochs=8)
data = dict(workers_per_gpu=1, val_dataloader=dict(samples_per_gpu=16),
            test_dataloader=dict(samples_per_gpu=16))
evaluation = dict(interval=8, metric='bbox', save_best='auto')
checkpoint_config = dict(interval=1, max_keep_ckpts=3)
log_config = dict(interval=20)
