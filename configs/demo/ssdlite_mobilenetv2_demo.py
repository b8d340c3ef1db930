# SSDLite-MobileNetV2 trained from scratch on the synthetic demo shapes (COCO layout),
# sized for a 2-core CPU: half-width backbone, 192 px input, short cosine schedule.
_base_ = [
    '../_base_/models/ssdlite_mobilenetv2_demo.py', '../_base_/datasets/demo_shapes.py',
    '../_base_/schedules/demo_14e.py', '../_base_/default_runtime.py'
]
data = dict(workers_per_gpu=1, val_dataloader=dict(samples_per_gpu=16),
            test_dataloader=dict(samples_per_gpu=16))
evaluation = dict(interval=7, metric='bbox', save_best='auto')
checkpoint_config = dict(interval=1, max_keep_ckpts=3)
log_config = dict(interval=20)
cudnn_benchmark = False
