"""``detection_collate``: batch pipeline outputs (see docs/architecture.md, step 4)."""
from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F

from mmssd.registry import FUNCTIONS


def pad_and_stack(imgs: Sequence[torch.Tensor]) -> torch.Tensor:
    """(C, H_i, W_i) tensors -> (B, C, H, W), zero-padded at the bottom/right to the
    largest H and W."""
    if any(img.dim() != 3 for img in imgs):
        raise ValueError(f'images must be (C, H, W) tensors; got shapes '
                         f'{[tuple(img.shape) for img in imgs]}')
    max_h = max(img.shape[1] for img in imgs)
    max_w = max(img.shape[2] for img in imgs)
    padded = [F.pad(img, (0, max_w - img.shape[2], 0, max_h - img.shape[1]), value=0)
              for img in imgs]
    return torch.stack(padded, 0)


def _collate_one(samples: Sequence[dict]) -> dict:
    """Batch B single-augmentation samples: stacked ``img``, per-sample lists otherwise."""
    img = pad_and_stack([s['img'] for s in samples])
    batch_input_shape = (int(img.shape[2]), int(img.shape[3]))
    out: dict = {'img': img}
    for key in samples[0]:
        if key == 'img':
            continue
        if key == 'img_metas':
            out[key] = [dict(s[key], batch_input_shape=batch_input_shape) for s in samples]
        else:
            out[key] = [s[key] for s in samples]
    return out


@FUNCTIONS.register_module()
def detection_collate(batch: Sequence[dict]) -> dict:
    """Collate a list of pipeline outputs into a batch.

    Train samples ``{'img': Tensor(3, H, W), 'img_metas': dict, 'gt_bboxes': Tensor(N, 4),
    'gt_labels': Tensor(N,)}`` become ``{'img': Tensor(B, 3, H, W), 'img_metas': [dict]*B,
    'gt_bboxes': [Tensor]*B, 'gt_labels': [Tensor]*B}`` (each meta gains
    ``batch_input_shape=(H, W)``). Test samples, whose values are lists over
    augmentations, become ``{'img': [Tensor(B, 3, H, W)] per aug, 'img_metas': [[dict]*B]
    per aug}``.
    """
    if len(batch) == 0:
        raise ValueError('detection_collate got an empty batch')
    if 'img' not in batch[0]:
        raise KeyError(f"detection_collate: samples need an 'img' key; got {sorted(batch[0])}")
    if not isinstance(batch[0]['img'], (list, tuple)):
        return _collate_one(batch)
    num_augs = len(batch[0]['img'])
    per_aug = [_collate_one([{k: v[a] for k, v in s.items()} for s in batch])
               for a in range(num_augs)]
    return {key: [aug[key] for aug in per_aug] for key in per_aug[0]}
