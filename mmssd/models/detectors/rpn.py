"""Region Proposal Network alone: a detector whose output is class-agnostic proposals."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from torch import Tensor, nn

from mmssd.registry import MODELS

from .base import BaseDetector
from .two_stage import RPN_CFG_ROOTS, check_cfg_sections


@MODELS.register_module()
class RPN(BaseDetector):
    """RPN (mmdetection's ``RPN`` detector): backbone -> neck -> ``RPNHead``.

    The head is configured as ``rpn_head`` and held as ``bbox_head`` (mmdetection 3.x's
    name, so its checkpoints load; 2.x checkpoints' ``rpn_head.*`` keys are renamed on
    loading).

    Training optimises the RPN losses (``loss_rpn_cls``, ``loss_rpn_bbox``); testing
    returns, per image, one float32 ``(n, 5)`` array ``[x1, y1, x2, y2, objectness]`` of
    proposals in original image pixels, best first (evaluated with
    ``metric='proposal_fast'``: average recall at 100/300/1000 proposals).

    Args:
        backbone, neck, rpn_head: configs of the parts (``MODELS``).
        train_cfg: ``dict(rpn=...)``, the RPN's training settings.
        test_cfg: ``dict(rpn=...)``, its proposal settings.
        pretrained, init_cfg, data_preprocessor, channels_last: see :class:`BaseDetector`.
        compile: run backbone, neck and RPN head forward through ``torch.compile``.
    """

    needs_gt_labels = False

    def __init__(self, backbone: dict, neck: dict | None = None, rpn_head: dict | None = None,
                 train_cfg: dict | None = None, test_cfg: dict | None = None,
                 pretrained: str | None = None, init_cfg: dict | list | None = None,
                 data_preprocessor: dict | None = None, channels_last: bool = False,
                 compile: bool | dict = False) -> None:  # noqa: A002 (the config key)
        super().__init__(backbone, neck, pretrained, init_cfg, data_preprocessor,
                         channels_last, compile)
        # mmdetection's RPN configs keep rpn_proposal/rcnn keys from their Faster R-CNN base
        train_cfg, test_cfg = check_cfg_sections(train_cfg, test_cfg)
        if rpn_head is None:
            raise ValueError('an RPN detector needs an rpn_head')
        self.bbox_head = self.build_head(rpn_head, 'model.rpn_head', RPN_CFG_ROOTS,
                                         train_cfg=train_cfg.get('rpn'),
                                         test_cfg=test_cfg.get('rpn'))
        self._finish_init(train_cfg, test_cfg)

    @property
    def rpn_head(self) -> nn.Module:
        """The RPN head (held as ``bbox_head``, the name of its weights)."""
        return self.bbox_head

    @staticmethod
    def upgrade_state_dict(state_dict: dict, prefix: str = '') -> dict:
        """Rename, in place, the ``rpn_head.*`` weights of mmdetection 2.x RPN checkpoints
        and of two-stage checkpoints (Faster R-CNN's RPN) to this detector's
        ``bbox_head.*``; returns ``state_dict``. Used when loading and by the checkpoint
        check (``mmssd.engine.checkpoint.model_match``), so both see the same keys."""
        for key in [k for k in state_dict if k.startswith(prefix + 'rpn_head.')]:
            new_key = prefix + 'bbox_head.' + key[len(prefix + 'rpn_head.'):]
            if new_key not in state_dict:
                state_dict[new_key] = state_dict.pop(key)
        return state_dict

    def _load_from_state_dict(self, state_dict: dict, prefix: str, *args, **kwargs) -> None:
        """Read checkpoints whose RPN head weights are ``rpn_head.*``
        (:meth:`upgrade_state_dict`)."""
        self.upgrade_state_dict(state_dict, prefix)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def forward_dense(self, img: Tensor) -> tuple[list[Tensor], list[Tensor]]:
        """Images -> the RPN head's per-level ``(cls_scores, bbox_preds)``, eagerly."""
        return self.rpn_head(self.extract_feat(img))

    def forward_tensor(self, img: Tensor) -> tuple[list[Tensor], list[Tensor]]:
        """The RPN head's raw per-level ``(cls_scores, bbox_preds)``, eagerly."""
        return self.forward_dense(img)

    def dense_outputs(self, img: Tensor) -> tuple[list[Tensor], list[Tensor]]:
        """:meth:`forward_dense`, through ``torch.compile`` when the option is set."""
        return self.maybe_compiled('forward_dense')(img)

    def loss(self, img: Tensor, img_metas: Sequence[dict], gt_bboxes: Sequence[Tensor],
             gt_labels: Sequence[Tensor] | None = None,
             gt_bboxes_ignore: Sequence[Tensor] | None = None) -> dict[str, Tensor]:
        """RPN losses of a training batch (the labels are not used: objectness only)."""
        cls_scores, bbox_preds = self.dense_outputs(img)
        return self.rpn_head.loss(cls_scores, bbox_preds, gt_bboxes, None, img_metas,
                                  gt_bboxes_ignore=gt_bboxes_ignore)

    def _predict(self, img: Tensor, img_metas: Sequence[dict],
                 rescale: bool) -> list[np.ndarray]:
        """Per image, float32 ``(n, 5)`` proposals (original image pixels with ``rescale``)."""
        cls_scores, bbox_preds = self.dense_outputs(img)
        proposals = self.rpn_head.get_proposals(cls_scores, bbox_preds, img_metas,
                                                rescale=rescale)
        return self.rpn_head.results_to_numpy(proposals)

    def _predict_aug(self, imgs: list[Tensor], img_metas: list[Sequence[dict]],
                     rescale: bool) -> list[np.ndarray]:
        """Test-time augmentation: every augmentation's proposals mapped back to the
        original image and merged by one NMS (``RPNHead.aug_test``)."""
        feats = [self.maybe_compiled('extract_feat')(img) for img in imgs]
        return self.rpn_head.results_to_numpy(
            self.rpn_head.aug_test(feats, img_metas, rescale=rescale))
