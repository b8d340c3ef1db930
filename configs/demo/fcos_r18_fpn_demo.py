# FCOS (ResNet-18 + FPN) trained from scratch on the synthetic demo shapes, sized for a
# 2-core CPU like the RetinaNet demo it inherits: half-width ResNet-18, thin FPN (P3-P7,
# extra levels from P5) and head (64 channels, 2 GN tower convs), 192 px input, regress
# ranges half FCOS's (the shapes are 10-96 px), and FCOS's improvements (centre sampling,
# norm_on_bbox, centerness on the regression tower). Not a published recipe; its accuracy
# on the demo data has not been measured.
_base_ = ['../retinanet/retinanet_r18_fpn_8e_demo.py']
model = dict(
    type='FCOS',
    neck=dict(add_extra_convs='on_output', relu_before_extra_convs=True),
    bbox_head=dict(
        _delete_=True,
        type='FCOSHead',
        num_classes=5,
        in_channels=64,
        feat_channels=64,
        stacked_convs=2,
        strides=[8, 16, 32, 64, 128],
        regress_ranges=((-1, 32), (32, 64), (64, 128), (128, 256), (256, 1e8)),
        norm_cfg=dict(type='GN', num_groups=16, requires_grad=True),
        center_sampling=True,
        center_sample_radius=1.5,
        norm_on_bbox=True,
        centerness_on_reg=True,
        loss_cls=dict(
            type='FocalLoss',
            use_sigmoid=True,
            gamma=2.0,
            alpha=0.25,
            loss_weight=1.0),
        loss_bbox=dict(type='IoULoss', loss_weight=1.0),
        loss_centerness=dict(
            type='CrossEntropyLoss', use_sigmoid=True, loss_weight=1.0)),
    train_cfg=dict(_delete_=True),
    test_cfg=dict(
        nms_pre=1000,
        min_bbox_size=0,
        score_thr=0.05,
        nms=dict(type='nms', iou_threshold=0.5),
        max_per_img=100))
