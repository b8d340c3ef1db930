# SSDLite-MobileNetV2 trained from scratch on the synthetic demo shapes, sized for a
# 2-core CPU: half-width backbone, 192 px input, anchors scaled to it, short cosine schedule.
_base_ = [
    '../_base_/models/ssdlite_mobilenetv2.py', '../_base_/datasets/demo_shapes.py',
    '../_base_/default_runtime.py'
]
input_size = 192
model = dict(
    backbone=dict(widen_factor=0.5),
    neck=dict(in_channels=(48, 1280), out_channels=(48, 1280, 512, 256, 256, 128)),
    bbox_head=dict(
        num_classes=5,
        in_channels=(48, 1280, 512, 256, 256, 128),
        anchor_generator=dict(
            input_size=input_size,
            strides=[16, 32, 64, 96, 192, 192],
            min_sizes=[16, 32, 64, 96, 128, 160],
            max_sizes=[32, 64, 96, 128, 160, 192])))
data = dict(workers_per_gpu=1, val_dataloader=dict(samples_per_gpu=16),
            test_dataloader=dict(samples_per_gpu=16))
optimizer = dict(type='AdamW', lr=0.003, weight_decay=0.05)
optimizer_config = dict(grad_clip=None)
lr_config = dict(
    policy='CosineAnnealing',
    warmup='linear',
    warmup_iters=100,
    warmup_ratio=0.01,
    min_lr=0)
runner = dict(type='EpochBasedRunner', max_epochs=14)
evaluation = dict(interval=7, metric='bbox', save_best='auto')
checkpoint_config = dict(interval=1, max_keep_ckpts=3)
log_config = dict(interval=20)
cudnn_benchmark = False
