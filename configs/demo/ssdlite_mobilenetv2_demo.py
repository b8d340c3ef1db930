# SSDLite-MobileNetV2 trained from scratch on the synthetic demo shapes, sized for CPU:
# a 192 px input, anchors scaled to it, and a short cosine schedule.
_base_ = [
    '../_base_/models/ssdlite_mobilenetv2.py', '../_base_/datasets/demo_shapes.py',
    '../_base_/default_runtime.py'
]
input_size = 192
model = dict(
    bbox_head=dict(
        num_classes=5,
        anchor_generator=dict(
            input_size=input_size,
            strides=[16, 32, 64, 96, 192, 192],
            min_sizes=[16, 32, 64, 96, 128, 160],
            max_sizes=[32, 64, 96, 128, 160, 192])))
optimizer = dict(type='SGD', lr=0.04, momentum=0.9, weight_decay=4.0e-5)
optimizer_config = dict(grad_clip=None)
lr_config = dict(
    policy='CosineAnnealing',
    warmup='linear',
    warmup_iters=100,
    warmup_ratio=0.01,
    min_lr=0)
runner = dict(type='EpochBasedRunner', max_epochs=20)
evaluation = dict(interval=5, metric='bbox', save_best='auto')
checkpoint_config = dict(interval=1, max_keep_ckpts=3)
log_config = dict(interval=20)
cudnn_benchmark = False
