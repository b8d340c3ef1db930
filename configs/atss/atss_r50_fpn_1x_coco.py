# mmdetection 2.x's atss_r50_fpn_1x_coco: ATSS, ResNet-50 (torchvision's ImageNet weights) +
# FPN (P3-P7 from C3-C5), GroupNorm head with centerness, COCO 2017, 1333x800, 12 epochs,
# SGD lr 0.01 for 8 GPUs x 2 images.
_base_ = [
    '../_base_/models/atss_r50_fpn.py', '../_base_/datasets/coco_detection.py',
    '../_base_/schedules/schedule_1x.py', '../_base_/default_runtime.py'
]
# optimizer
optimizer = dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=0.0001)
