# A team member's Cascade R-CNN experiment in their personal folder, configs/_name_/:
# the personal model base (the notes' copy) and dataset copy, the shipped schedule and
# runtime, ten classes in each of the three stages' box heads, the notes' checkpoint limit.
_base_ = [
    '../_base_/models/cascade_rcnn_r50_fpn.py',
    '../_base_/datasets/coco_detection.py',
    '../../_base_/schedules/schedule_1x.py', '../../_base_/default_runtime.py'
]
# bbox_head is a list: a child config restates it whole (one head per stage, each with
# its own target_stds as in the base)
model = dict(roi_head=dict(bbox_head=[
    dict(type='Shared2FCBBoxHead', in_channels=256, fc_out_channels=1024, roi_feat_size=7,
         num_classes=10,
         bbox_coder=dict(type='DeltaXYWHBBoxCoder', target_means=[0., 0., 0., 0.],
                         target_stds=stds),
         reg_class_agnostic=True,
         loss_cls=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0),
         loss_bbox=dict(type='SmoothL1Loss', beta=1.0, loss_weight=1.0))
    for stds in ([0.1, 0.1, 0.2, 0.2], [0.05, 0.05, 0.1, 0.1], [0.033, 0.033, 0.067, 0.067])
]))
checkpoint_config = dict(max_keep_ckpts=3, interval=1)  # max number of saving checkpoints
