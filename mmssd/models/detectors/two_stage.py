"""Two-stage detectors: backbone -> neck -> RPN head (proposals) -> RoI head (boxes)."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import Tensor

from mmssd.registry import MODELS

from ..utils import bbox2roi, check_cfg_keys
from .base import BaseDetector

#: Proposals per image that :meth:`TwoStageDetector.forward_tensor` feeds the RoI head, as
#: mmdetection's ``forward_dummy`` (FLOP counts of two-stage detectors are quoted for it).
NUM_DUMMY_PROPOSALS = 1000
#: Sections of a two-stage detector's ``model.train_cfg`` / ``model.test_cfg``.
TRAIN_CFG_SECTIONS = ('rpn', 'rpn_proposal', 'rcnn')
TEST_CFG_SECTIONS = ('rpn', 'rcnn')
#: Where the RPN head's configs sit in a detector's config (for its config errors).
RPN_CFG_ROOTS = {'train_cfg': 'model.train_cfg.rpn', 'test_cfg': 'model.test_cfg.rpn'}


def check_cfg_sections(train_cfg: dict | None,
                       test_cfg: dict | None) -> tuple[dict, dict]:
    """Refuse unknown sections of ``model.train_cfg`` (:data:`TRAIN_CFG_SECTIONS`) and
    ``model.test_cfg`` (:data:`TEST_CFG_SECTIONS`) with the closest known one
    (:class:`~mmssd.models.utils.cfg_keys.ConfigKeyError`); returns both, ``{}`` for None."""
    check_cfg_keys(train_cfg, TRAIN_CFG_SECTIONS, 'model.train_cfg')
    check_cfg_keys(test_cfg, TEST_CFG_SECTIONS, 'model.test_cfg')
    return train_cfg or {}, test_cfg or {}


@MODELS.register_module()
class TwoStageDetector(BaseDetector):
    """Faster R-CNN-style detector (mmdetection 2.x's ``TwoStageDetector``).

    The RPN head proposes boxes from the neck's features; the RoI head pools features of
    the proposals and classifies and refines them. ``train_cfg`` / ``test_cfg`` hold the
    settings of both heads: ``rpn`` (RPN training targets / RPN at test), ``rpn_proposal``
    (the proposals made for the RoI head during training; default ``test_cfg.rpn``) and
    ``rcnn`` (RoI head). The RPN head gets ``rpn_proposal`` as its ``proposal_cfg`` and
    resolves both proposal configs once, when it is built (``RPNHead.train_proposal_cfg``,
    ``test_proposal_cfg``). Losses: the RPN's ``loss_rpn_cls`` / ``loss_rpn_bbox`` and the RoI
    head's ``loss_cls`` / ``loss_bbox`` (and ``acc``, logged but not optimised).

    Args:
        backbone, neck, rpn_head, roi_head: configs of the parts (``MODELS``).
        train_cfg: ``dict(rpn=..., rpn_proposal=..., rcnn=...)``.
        test_cfg: ``dict(rpn=..., rcnn=...)``.
        pretrained, init_cfg, data_preprocessor, channels_last: see :class:`BaseDetector`.
        compile: run backbone and neck (whose shapes do not depend on the data) through
            ``torch.compile``; the heads stay eager.
    """

    def __init__(self, backbone: dict, neck: dict | None = None, rpn_head: dict | None = None,
                 roi_head: dict | None = None, train_cfg: dict | None = None,
                 test_cfg: dict | None = None, pretrained: str | None = None,
                 init_cfg: dict | list | None = None, data_preprocessor: dict | None = None,
                 channels_last: bool = False,
                 compile: bool | dict = False) -> None:  # noqa: A002 (the config key)
        super().__init__(backbone, neck, pretrained, init_cfg, data_preprocessor,
                         channels_last, compile)
        train_cfg, test_cfg = check_cfg_sections(train_cfg, test_cfg)
        if rpn_head is not None:
            # the head resolves test_cfg.rpn and train_cfg.rpn_proposal, once each
            proposal = ({} if train_cfg.get('rpn_proposal') is None
                        else {'proposal_cfg': train_cfg['rpn_proposal']})
            self.rpn_head = self.build_head(
                rpn_head, 'model.rpn_head',
                {**RPN_CFG_ROOTS, 'proposal_cfg': 'model.train_cfg.rpn_proposal'},
                train_cfg=train_cfg.get('rpn'), test_cfg=test_cfg.get('rpn'), **proposal)
        if roi_head is None:
            raise ValueError('a two-stage detector needs a roi_head (use RPN for '
                             'proposals only)')
        self.roi_head = self.build_head(
            roi_head, 'model.roi_head',
            {'train_cfg': 'model.train_cfg.rcnn', 'test_cfg': 'model.test_cfg.rcnn'},
            train_cfg=train_cfg.get('rcnn'), test_cfg=test_cfg.get('rcnn'))
        self._finish_init(train_cfg, test_cfg)

    @property
    def with_rpn(self) -> bool:
        """Whether the detector makes its own proposals."""
        return hasattr(self, 'rpn_head') and self.rpn_head is not None

    def features(self, img: Tensor) -> tuple[Tensor, ...]:
        """:meth:`extract_feat`, through ``torch.compile`` when the option is set."""
        return self.maybe_compiled('extract_feat')(img)

    def loss(self, img: Tensor, img_metas: Sequence[dict], gt_bboxes: Sequence[Tensor],
             gt_labels: Sequence[Tensor] | None,
             gt_bboxes_ignore: Sequence[Tensor] | None = None) -> dict[str, Tensor]:
        """RPN and RoI-head losses of a training batch."""
        if not self.with_rpn:
            raise ValueError('training a two-stage detector without rpn_head needs '
                             'precomputed proposals, which mmssd does not load')
        proposal_cfg = self.rpn_head.train_proposal_cfg
        if proposal_cfg is None:
            raise ValueError('training a two-stage detector needs model.train_cfg.rpn_proposal '
                             'or model.test_cfg.rpn (the proposals made for the RoI head)')
        x = self.features(img)
        losses, proposal_list = self.rpn_head.forward_train(
            x, img_metas, gt_bboxes, gt_labels=None, gt_bboxes_ignore=gt_bboxes_ignore,
            proposal_cfg=proposal_cfg)
        losses.update(self.roi_head.forward_train(x, img_metas, proposal_list, gt_bboxes,
                                                  gt_labels, gt_bboxes_ignore))
        return losses

    def _predict(self, img: Tensor, img_metas: Sequence[dict],
                 rescale: bool) -> list[list[np.ndarray]]:
        """Per image, a list over classes of float32 ``(n, 5)`` ``[x1, y1, x2, y2, score]``."""
        x = self.features(img)
        proposal_list = self.rpn_head.simple_test_rpn(x, img_metas)
        return self.roi_head.simple_test(x, proposal_list, img_metas, rescale=rescale)

    def _predict_aug(self, imgs: list[Tensor], img_metas: list[Sequence[dict]],
                     rescale: bool) -> list[list[np.ndarray]]:
        """Test-time augmentation (mmdetection 2.x): the proposals of every augmentation
        merged in the original image (``RPNHead.aug_test_rpn``), then the RoI head's boxes
        and scores of them under every augmentation averaged, one NMS
        (``roi_head.aug_test``)."""
        feats = [self.features(img) for img in imgs]
        proposal_list = self.rpn_head.aug_test_rpn(feats, img_metas)
        return self.roi_head.aug_test(feats, proposal_list, img_metas, rescale=rescale)

    def forward_tensor(self, img: Tensor) -> tuple[list[Tensor] | Tensor, ...]:
        """Raw outputs without image metas (FLOP counting, tracing), as mmdetection's
        ``forward_dummy``: the RPN's per-level ``(cls_scores, bbox_preds)``
        ``[(B, A, H_l, W_l)]``, ``[(B, 4A, H_l, W_l)]``, then the RoI head's
        :meth:`~mmssd.models.roi_heads.BaseRoIHead.forward_tensor` of 1000 fixed boxes per
        image (spread over the image, so the RoI cost does not depend on the weights):
        ``cls_score (B * 1000, C + 1)`` and ``bbox_pred (B * 1000, 4 or 4C)``, for every
        stage of a cascade."""
        x = self.extract_feat(img)
        rpn_cls, rpn_reg = self.rpn_head(x) if self.with_rpn else ([], [])
        boxes = dummy_proposals(img.shape[-2:], NUM_DUMMY_PROPOSALS, img.device)
        rois = bbox2roi([boxes] * img.size(0))
        return (rpn_cls, rpn_reg, *self.roi_head.forward_tensor(x, rois))


def dummy_proposals(size: Sequence[int], num: int, device: torch.device | str) -> Tensor:
    """``(num, 4)`` boxes of a fixed pseudo-random layout inside an ``(H, W)`` image."""
    g = torch.Generator().manual_seed(0)
    h, w = float(size[0]), float(size[1])
    xy = torch.rand(num, 2, generator=g) * torch.tensor([w, h]) * 0.8
    wh = (torch.rand(num, 2, generator=g) * 0.2 + 0.02) * torch.tensor([w, h])
    return torch.cat([xy, xy + wh], dim=1).to(device)


@MODELS.register_module()
class FasterRCNN(TwoStageDetector):
    """Faster R-CNN (Ren et al. 2015): a :class:`TwoStageDetector` with an RPN head and a
    ``StandardRoIHead``, as in mmdetection."""
