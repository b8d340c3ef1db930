# SSDLite-MobileNetV2 sized for the synthetic demo shapes on a 2-core CPU: half-width
# backbone, 192 px input, anchors scaled to it, 5 classes.
_base_ = './ssdlite_mobilenetv2.py'
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
