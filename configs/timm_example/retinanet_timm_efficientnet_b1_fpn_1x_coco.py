# mmdetection 2.x's retinanet_timm_efficientnet_b1_fpn_1x_coco: RetinaNet with timm's
# EfficientNet-B1 features (ImageNet weights through timm) + FPN.
# mmdetection 2.x reached timm through mmcls (custom_imports=['mmcls.models']); mmssd
# registers TIMMBackbone under both names, so no custom_imports is needed.
_base_ = [
    '../_base_/models/retinanet_r50_fpn.py',
    '../_base_/datasets/coco_detection.py',
    '../_base_/schedules/schedule_1x.py', '../_base_/default_runtime.py'
]
model = dict(
    backbone=dict(
        _delete_=True,
        type='mmcls.TIMMBackbone',
        model_name='efficientnet_b1',
        features_only=True,
        pretrained=True,
        out_indices=(1, 2, 3, 4)),
    neck=dict(in_channels=[24, 40, 112, 320]))

# optimizer
optimizer = dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=0.0001)
