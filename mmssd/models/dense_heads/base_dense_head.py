"""What every dense head's test path shares: priors per level (cached), the per-level
top-k and decoding of post-processing, NMS, test-time augmentation and numpy results.

Shapes: ``B`` images, ``L`` levels of ``(H_l, W_l)`` cells, ``K = cls_out_channels``,
``C`` classes, ``n`` candidates per image.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any

import numpy as np
import torch
from mmengine.model import BaseModule
from torch import Tensor, nn

from ..test_time_augs.aug_test import dense_aug_bboxes
from ..utils import bbox2result, img_shapes_tensor
from ..utils.cfg_keys import check_cfg_keys, check_nms_cfg
from ..utils.mlvl_outputs import level_topk, levels_to_batch, take_rows
from ..utils.multiclass_nms import dense_detections


class BaseDenseHead(BaseModule):
    """Base of the dense heads (``AnchorHead``, ``AnchorFreeHead``, ``YOLOXHead``).

    A subclass sets ``num_classes``, ``cls_out_channels``, ``use_sigmoid_cls``,
    ``prior_generator``, ``bbox_coder`` and ``test_cfg``, and defines ``forward(feats)``
    (a tuple of per-level output lists, ``(cls_scores, bbox_preds[, score_factors])``).
    This class owns the test path: :meth:`mlvl_priors`, :meth:`mlvl_topk_decode` (the
    per-level loop; a head supplies only what differs: :meth:`level_score_factors` and
    :meth:`decode_level`), :meth:`get_bboxes` (NMS), the one-pass test, test-time
    augmentation and the numpy results.

    The constructor checks ``train_cfg`` / ``test_cfg`` (:meth:`check_cfgs`) and sets the
    attributes every dense head has.

    Args:
        num_classes: foreground classes ``C``.
        in_channels: channels of the input levels.
        feat_channels: channels of hidden convs.
        train_cfg: keys :attr:`TRAIN_CFG_KEYS`.
        test_cfg: keys :attr:`TEST_CFG_KEYS`.
        init_cfg: mmengine init config.
    """

    cls_out_channels: int
    use_sigmoid_cls: bool
    #: Regression outputs per prior (ATSS adds centerness, GFL predicts distributions).
    reg_out_channels: int = 4
    #: More keyword arguments of ``prior_generator.grid_priors`` (YOLOX: ``with_stride``).
    grid_priors_kwargs: Mapping[str, Any] = MappingProxyType({})
    #: Keys of ``train_cfg`` this head reads (``debug`` is accepted and ignored).
    TRAIN_CFG_KEYS: tuple[str, ...] = ()
    #: Keys of ``test_cfg`` this head reads.
    TEST_CFG_KEYS: tuple[str, ...] = ('nms_pre', 'nms', 'score_thr', 'max_per_img',
                                      'min_bbox_size')

    def __init__(self, num_classes: int, in_channels: int | Sequence[int],
                 feat_channels: int = 256, train_cfg: dict | None = None,
                 test_cfg: dict | None = None, init_cfg: dict | list | None = None) -> None:
        super().__init__(init_cfg)
        self.check_cfgs(train_cfg, test_cfg)
        self.num_classes = num_classes
        self.in_channels = in_channels
        self.feat_channels = feat_channels
        self.train_cfg = train_cfg
        self.test_cfg = test_cfg
        self._mlvl_priors_cache: tuple[tuple, list[Tensor]] | None = None

    def check_cfgs(self, train_cfg: dict | None, test_cfg: dict | None) -> None:
        """Refuse unknown keys of ``train_cfg`` / ``test_cfg`` and a bad ``test_cfg.nms``
        (:class:`~mmssd.models.utils.cfg_keys.ConfigKeyError`, paths relative to the head)."""
        check_cfg_keys(train_cfg, self.TRAIN_CFG_KEYS, 'train_cfg')
        check_cfg_keys(test_cfg, self.TEST_CFG_KEYS, 'test_cfg')
        if test_cfg and 'nms' in test_cfg:
            check_nms_cfg(test_cfg['nms'], 'test_cfg.nms')

    # ----------------------------------------------------------------------------- priors
    def mlvl_priors(self, featmap_sizes: Sequence[tuple[int, int]],
                    device: torch.device | str = 'cpu',
                    dtype: torch.dtype = torch.float32) -> list[Tensor]:
        """Per level the priors of ``prior_generator`` (anchors ``(H_l * W_l * A_l, 4)``,
        points ``(H_l * W_l, 2)``, or with strides ``(H_l * W_l, 4)``), shared by all images
        (cached; not while tracing, where the sizes are tensors of the traced input's
        shape)."""
        if torch.jit.is_tracing():
            return self.prior_generator.grid_priors(featmap_sizes, dtype=dtype, device=device,
                                                    **self.grid_priors_kwargs)
        key = (tuple(tuple(int(s) for s in size) for size in featmap_sizes), str(device), dtype)
        if self._mlvl_priors_cache is None or self._mlvl_priors_cache[0] != key:
            priors = self.prior_generator.grid_priors(key[0], dtype=dtype, device=device,
                                                      **self.grid_priors_kwargs)
            self._mlvl_priors_cache = (key, priors)
        return self._mlvl_priors_cache[1]

    # ----------------------------------------------------------------------------- testing
    def cls_probabilities(self, cls_logits: Tensor) -> Tensor:
        """Logits ``(B, n, K)`` -> class probabilities ``(B, n, C + 1)``, background last:
        a softmax over the ``C + 1`` outputs, or sigmoids with a zero background column
        appended (the layout :func:`multiclass_nms` reads)."""
        if self.use_sigmoid_cls:
            return nn.functional.pad(cls_logits.sigmoid(), (0, 1))
        return cls_logits.softmax(-1)

    def level_score_factors(self, reg: Tensor, score_factor: Tensor | None) -> Tensor | None:
        """Factors ``(B, n)`` of one level's candidates' scores from their regression
        outputs ``reg (B, n, reg_out_channels)`` and score-factor logits ``score_factor
        (B, n)`` (FCOS: the centerness), or None: here the logits' sigmoid, if any."""
        return None if score_factor is None else score_factor.sigmoid()

    def decode_level(self, level: int, priors: Tensor, reg: Tensor, img_shapes: Tensor) -> Tensor:
        """Boxes ``(B, n, 4)`` of candidates of ``level``: ``priors (B, n, 4 or 2)``, their
        regression outputs ``(B, n, reg_out_channels)``, clipped to ``img_shapes (B, 2)``."""
        return self.bbox_coder.decode(priors, reg, max_shape=img_shapes)

    def mlvl_topk_decode(self, cls_scores: Sequence[Tensor], bbox_preds: Sequence[Tensor],
                         img_metas: Sequence[dict], nms_pre: int = -1,
                         score_factors: Sequence[Tensor] | None = None) -> tuple[Tensor, ...]:
        """Per level the ``nms_pre`` priors of highest foreground score (times the score
        factor, if any) of every image (all with ``nms_pre <= 0``), decoded and clipped;
        pure tensor operations.

        Args:
            cls_scores: per level ``(B, A * K, H_l, W_l)``.
            bbox_preds: per level ``(B, A * reg_out_channels, H_l, W_l)``.
            img_metas: ``B`` meta dicts with ``img_shape``.
            nms_pre: candidates kept per level and image.
            score_factors: per level ``(B, A, H_l, W_l)`` score-factor logits, or None.

        Returns ``bboxes (B, n, 4)`` (:meth:`decode_level`), ``scores (B, n, C + 1)``
        (:meth:`cls_probabilities`), each candidate's level ``level_ids (n,)`` and, for a
        head with :meth:`level_score_factors`, the factors ``(B, n)``.
        """
        batch_size = cls_scores[0].size(0)
        featmap_sizes = [score.shape[-2:] for score in cls_scores]
        mlvl_priors = self.mlvl_priors(featmap_sizes, cls_scores[0].device)
        img_shapes = img_shapes_tensor(img_metas, mlvl_priors[0])
        mlvl_bboxes, mlvl_scores, mlvl_factors, level_ids = [], [], [], []
        for level, (cls_score, bbox_pred, priors) in enumerate(
                zip(cls_scores, bbox_preds, mlvl_priors, strict=True)):
            reg = levels_to_batch([bbox_pred], self.reg_out_channels).float()
            scores = self.cls_probabilities(
                levels_to_batch([cls_score], self.cls_out_channels).float())
            factor_logits = (None if score_factors is None else
                             levels_to_batch([score_factors[level]], 1).float()[..., 0])
            factors = self.level_score_factors(reg, factor_logits)
            level_priors = priors[None].expand(batch_size, -1, -1)
            topk_inds = level_topk(scores if factors is None else scores * factors[..., None],
                                   nms_pre)
            if topk_inds is not None:
                scores, reg = take_rows(scores, topk_inds), take_rows(reg, topk_inds)
                factors = None if factors is None else take_rows(factors, topk_inds)
                level_priors = priors[topk_inds]
            mlvl_bboxes.append(self.decode_level(level, level_priors, reg, img_shapes))
            mlvl_scores.append(scores)
            mlvl_factors += [] if factors is None else [factors]
            level_ids.append(torch.full((scores.size(1),), level, dtype=torch.long,
                                        device=scores.device))
        decoded = torch.cat(mlvl_bboxes, dim=1), torch.cat(mlvl_scores, dim=1), torch.cat(level_ids)
        return decoded + (torch.cat(mlvl_factors, dim=1),) if mlvl_factors else decoded

    def detections(self, outs: Sequence[Sequence[Tensor]], img_metas: Sequence[dict],
                   cfg: dict | None = None, rescale: bool = True) -> list[tuple[Tensor, Tensor]]:
        """Detections of each image ``(det_bboxes (n, 5), det_labels (n,))`` from the
        outputs ``outs`` of :meth:`forward`: :meth:`mlvl_topk_decode` with ``nms_pre``,
        then :func:`dense_detections` (with ``rescale`` boxes divided by ``scale_factor``;
        per-class NMS keeps at most ``max_per_img`` detections above ``score_thr`` whose
        sides are at least ``min_bbox_size``; scores times the score factors, if any)."""
        cfg = self.test_cfg if cfg is None else cfg
        if cfg is None:
            raise RuntimeError(f'{type(self).__name__} needs test_cfg to post-process '
                               'detections')
        decoded = self.mlvl_topk_decode(*outs, img_metas, cfg.get('nms_pre', -1))
        return dense_detections(decoded[0], decoded[1], img_metas, cfg, rescale,
                                decoded[3] if len(decoded) > 3 else None)

    def get_bboxes(self, cls_scores: Sequence[Tensor], bbox_preds: Sequence[Tensor],
                   img_metas: Sequence[dict], cfg: dict | None = None,
                   rescale: bool = True) -> list[tuple[Tensor, Tensor]]:
        """Detections of each image ``(det_bboxes (n, 5), det_labels (n,))``
        (:meth:`detections`); heads with a third output override the signature."""
        return self.detections((cls_scores, bbox_preds), img_metas, cfg, rescale)

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
