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
    augmentations (``MultiScaleFlipAug``), are unwrapped here, the one place that does it:
    with one augmentation they become the same ``{'img': Tensor(B, 3, H, W),
    'img_metas': [dict]*B}`` as a plain batch; with ``A > 1`` (test-time augmentation)
    ``{'img': [Tensor(B, 3, H_a, W_a)] * A, 'img_metas': [[dict] * B] * A}``, which the
    detectors' ``predict`` merges.
    """
    if len(batch) == 0:
        raise ValueError('detection_collate got an empty batch')
    if 'img' not in batch[0]:
        raise KeyError(f"detection_collate: samples need an 'img' key; got {sorted(batch[0])}")
    if not isinstance(batch[0]['img'], (list, tuple)):
        return _collate_one(batch)
    num_augs = {len(s['img']) for s in batch}
    if len(num_augs) != 1 or 0 in num_augs:
        raise ValueError(f'detection_collate: every test sample needs the same (non-zero) '
                         f'number of augmentations; got {sorted(len(s["img"]) for s in batch)}')
    per_aug = [_collate_one([{k: v[a] for k, v in s.items()} for s in batch])
               for a in range(num_augs.pop())]
    if len(per_aug) == 1:
        return per_aug[0]
    return {key: [aug[key] for aug in per_aug] for key in per_aug[0]}
