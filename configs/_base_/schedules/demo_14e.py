# A short schedule for training the demo model from scratch on CPU: AdamW, linear warm-up,
# cosine decay over 14 epochs.
optimizer = dict(type='AdamW', lr=0.003, weight_decay=0.05)
optimizer_config = dict(grad_clip=None)
lr_config = dict(
    policy='CosineAnnealing',
    warmup='linear',
    warmup_iters=100,
    warmup_ratio=0.01,
    min_lr=0)
runner = dict(type='EpochBasedRunner', max_epochs=14)
