# The demo model on the demo shapes in the Pascal VOC layout: VOC2007 + VOC2012 trainval
# (concatenated from the `ann_file` list), evaluated on VOC2007 test with VOC's 11-point
# mAP, as configs/pascal_voc/ssd300_voc0712.py does on the real data. Make the data with
#   python tools/misc/make_demo_data.py --layout voc
_base_ = [
    '../_base_/models/ssdlite_mobilenetv2_demo.py', '../_base_/datasets/demo_shapes_voc0712.py',
    '../_base_/schedules/demo_14e.py', '../_base_/default_runtime.py'
]
data = dict(workers_per_gpu=1, val_dataloader=dict(samples_per_gpu=16),
            test_dataloader=dict(samples_per_gpu=16))
evaluation = dict(interval=7, metric='mAP', save_best='auto')
checkpoint_config = dict(interval=1, max_keep_ckpts=3)
log_config = dict(interval=20)
cudnn_benchmark = False
