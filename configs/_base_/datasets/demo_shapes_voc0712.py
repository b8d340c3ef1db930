# dataset settings: the synthetic demo shapes in the Pascal VOC layout, used like
# voc0712.py (VOC2007 + VOC2012 trainval concatenated, VOC2007 test). Make it with
#   python tools/misc/make_demo_data.py --layout voc --out data/demo_voc
# Classes, normalisation and pipelines are those of the COCO-layout demo (demo_shapes.py).
_base_ = './demo_shapes.py'
dataset_type = 'VOCDataset'
data_root = 'data/demo_voc/VOCdevkit/'
classes = {{_base_.classes}}
train_pipeline = {{_base_.train_pipeline}}
test_pipeline = {{_base_.test_pipeline}}
data = dict(
    train=dict(
        _delete_=True,
        type='RepeatDataset',
        times=1,
        dataset=dict(
            type=dataset_type,
            classes=classes,
            ann_file=[
                data_root + 'VOC2007/ImageSets/Main/trainval.txt',
                data_root + 'VOC2012/ImageSets/Main/trainval.txt'
            ],
            img_prefix=[data_root + 'VOC2007/', data_root + 'VOC2012/'],
            pipeline=train_pipeline)),
    val=dict(
        _delete_=True,
        type=dataset_type,
        classes=classes,
        ann_file=data_root + 'VOC2007/ImageSets/Main/test.txt',
        img_prefix=data_root + 'VOC2007/',
        pipeline=test_pipeline),
    test=dict(
        _delete_=True,
        type=dataset_type,
        classes=classes,
        ann_file=data_root + 'VOC2007/ImageSets/Main/test.txt',
        img_prefix=data_root + 'VOC2007/',
        pipeline=test_pipeline))
evaluation = dict(interval=1, metric='mAP')
