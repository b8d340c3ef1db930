# The demo RetinaNet with its FPN swapped for the BiFPN of this project. Run from the
# repository root (which `custom_imports` needs on sys.path; tools add the working dir):
#   python tools/train.py projects/example_neck/configs/retinanet_r18_bifpn_8e_demo.py
_base_ = ['../../../configs/retinanet/retinanet_r18_fpn_8e_demo.py']
custom_imports = dict(imports=['projects.example_neck.example_neck'], allow_failed_imports=False)
model = dict(
    neck=dict(
        _delete_=True,  # drop FPN's own keys (add_extra_convs, ...) instead of merging
        type='BiFPN',
        in_channels=[32, 64, 128, 256],
        out_channels={{_base_.model.neck.out_channels}},
        start_level=1,
        num_outs=5,
        num_repeats=2))
