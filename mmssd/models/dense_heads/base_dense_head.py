"""What every dense head's test path shares once ``get_bboxes`` is defined."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from mmengine.model import BaseModule
from torch import Tensor

from ..test_time_augs.aug_test import dense_aug_bboxes
from ..utils import bbox2result


class BaseDenseHead(BaseModule):
    """Base of the dense heads (``AnchorHead``, ``AnchorFreeHead``, ``YOLOXHead``).

    A subclass defines ``forward(feats)`` (a tuple of per-level output lists, e.g.
    ``(cls_scores, bbox_preds[, centernesses])``), ``mlvl_topk_decode`` and
    ``get_bboxes(*outs, img_metas, cfg=None, rescale=True)``; this class adds the
    one-pass test, test-time augmentation and the numpy results from them.
    """

    num_classes: int

    def simple_test(self, feats: Sequence[Tensor], img_metas: Sequence[dict],
                    rescale: bool = True) -> list:
        """Forward and post-process (``get_bboxes``) a batch of features."""
        return self.get_bboxes(*self(feats), img_metas=img_metas, rescale=rescale)

    def get_bboxes_aug(self, aug_outs: Sequence[Sequence[Sequence[Tensor]]],
                       img_metas: Sequence[Sequence[dict]], cfg: dict | None = None,
                       rescale: bool = True) -> list[tuple[Tensor, Tensor]]:
        """``get_bboxes`` of test-time augmentations (lists over augmentations of outputs
        and of metas): :func:`~mmssd.models.test_time_augs.dense_aug_bboxes`."""
        return dense_aug_bboxes(self, aug_outs, img_metas, cfg, rescale)

    def results_to_numpy(self, results: Sequence[tuple[Tensor, Tensor]]) -> list[list[np.ndarray]]:
        """Per image, per class float32 ``(k, 5)`` arrays (:func:`bbox2result`)."""
        return [bbox2result(bboxes, labels, self.num_classes) for bboxes, labels in results]
