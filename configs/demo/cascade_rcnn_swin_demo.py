# Cascade R-CNN with a small Swin Transformer trained from scratch on the synthetic demo
# shapes: the Cascade R-CNN demo (thin FPN, three small box stages, 64 RoIs per stage) with
# a Swin of 32 channels (32, 64, 128, 256 at strides 4 to 32, as the half-width ResNet-18),
# windows of 6 tokens (the 48x48 stride-4 grid of a 192 px image splits into whole
# windows), AdamW without weight decay on the position tables and norms, as the shipped
# Swin configs.
_base_ = './cascade_rcnn_r18_fpn_demo.py'
model = dict(
    backbone=dict(
        _delete_=True,
        type='SwinTransformer',
        embed_dims=32,
        depths=[2, 2, 2, 2],
        num_heads=[1, 2, 4, 8],
        window_size=6,
        mlp_ratio=4,
        qkv_bias=True,
        qk_scale=None,
        drop_rate=0.,
        attn_drop_rate=0.,
        drop_path_rate=0.1,
        patch_norm=True,
        out_indices=(0, 1, 2, 3),
        with_cp=False,
        convert_weights=False,
        init_cfg=None),
    neck=dict(in_channels=[32, 64, 128, 256]))
optimizer = dict(
    _delete_=True,
    type='AdamW',
    lr=0.002,
    betas=(0.9, 0.999),
    weight_decay=0.05,
    paramwise_cfg=dict(
        custom_keys={
            'absolute_pos_embed': dict(decay_mult=0.),
            'relative_position_bias_table': dict(decay_mult=0.),
            'norm': dict(decay_mult=0.)
        }))
optimizer_config = dict(_delete_=True, grad_clip=dict(max_norm=10, norm_type=2))
