"""detection_collate: padding, metas, test-time augmentation lists."""
from __future__ import annotations

import pytest
import torch

from mmssd.registry import FUNCTIONS


def sample(h: int, w: int, n: int, img_id: int) -> dict:
    return {'img': torch.ones(3, h, w), 'img_metas': {'img_id': img_id, 'img_shape': (h, w, 3)},
            'gt_bboxes': torch.zeros(n, 4), 'gt_labels': torch.zeros(n, dtype=torch.long)}


def test_train_batch_padded_at_bottom_right():
    collate = FUNCTIONS.get('detection_collate')
    batch = collate([sample(4, 6, 2, 1), sample(5, 3, 0, 2)])
    assert batch['img'].shape == (2, 3, 5, 6)
    assert batch['img'][0, :, :4, :6].eq(1).all() and batch['img'][0, :, 4:].eq(0).all()
    assert batch['img'][1, :, :, 3:].eq(0).all() and batch['img'][1, :, :, :3].eq(1).all()
    assert [m['batch_input_shape'] for m in batch['img_metas']] == [(5, 6), (5, 6)]
    assert [m['img_id'] for m in batch['img_metas']] == [1, 2]
    assert [b.shape[0] for b in batch['gt_bboxes']] == [2, 0]
    assert len(batch['gt_labels']) == 2


def test_test_batch_lists_over_augs():
    collate = FUNCTIONS.get('detection_collate')
    def aug_sample(img_id):
        return {'img': [torch.ones(3, 4, 4), torch.ones(3, 8, 8)],
                'img_metas': [{'img_id': img_id}, {'img_id': img_id}]}
    batch = collate([aug_sample(1), aug_sample(2), aug_sample(3)])
    assert [t.shape for t in batch['img']] == [(3, 3, 4, 4), (3, 3, 8, 8)]
    assert [[m['img_id'] for m in metas] for metas in batch['img_metas']] == [[1, 2, 3]] * 2
    assert batch['img_metas'][1][0]['batch_input_shape'] == (8, 8)


def test_one_augmentation_is_unwrapped_into_a_plain_batch():
    collate = FUNCTIONS.get('detection_collate')
    one_aug = [{'img': [torch.ones(3, 4, 6)], 'img_metas': [{'img_id': i}]} for i in (1, 2)]
    batch = collate(one_aug)
    assert isinstance(batch['img'], torch.Tensor) and batch['img'].shape == (2, 3, 4, 6)
    assert [m['img_id'] for m in batch['img_metas']] == [1, 2]
    assert batch['img_metas'][0]['batch_input_shape'] == (4, 6)


def test_different_augmentation_counts_are_an_error():
    collate = FUNCTIONS.get('detection_collate')
    samples = [{'img': [torch.ones(3, 4, 4)] * n, 'img_metas': [{}] * n} for n in (1, 2)]
    with pytest.raises(ValueError, match='same \\(non-zero\\) number of augmentations'):
        collate(samples)
