"""Single-stage detector: backbone -> neck -> dense head, as an mmengine ``BaseModel``."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from torch import Tensor

from mmssd.registry import MODELS

from .base import BaseDetector


@MODELS.register_module()
class SingleStageDetector(BaseDetector):
    """A detector whose head predicts boxes densely from the neck's features.

    ``train_cfg`` and ``test_cfg`` are handed to the head, as in mmdetection 2.x.

    Args:
        backbone, neck, bbox_head: configs of the parts (``MODELS``).
        train_cfg, test_cfg: training / testing settings of the head.
        pretrained, init_cfg, data_preprocessor, channels_last: see :class:`BaseDetector`.
        compile: run backbone, neck and head forward (not the loss, target assignment or
            post-processing, whose shapes depend on the data) through ``torch.compile``:
            ``True`` for its defaults, or a dict of its keyword arguments; off by default.
    """

    def __init__(self, backbone: dict, neck: dict | None = None, bbox_head: dict | None = None,
                 train_cfg: dict | None = None, test_cfg: dict | None = None,
                 pretrained: str | None = None, init_cfg: dict | list | None = None,
                 data_preprocessor: dict | None = None, channels_last: bool = False,
                 compile: bool | dict = False) -> None:  # noqa: A002 (the config key)
        super().__init__(backbone, neck, pretrained, init_cfg, data_preprocessor,
                         channels_last, compile)
        if bbox_head is None:
            raise ValueError('a single-stage detector needs a bbox_head')
        # config errors of the head name their place: model.train_cfg.assigner.pos_iou_th,
        # model.bbox_head.anchor_generator.ratios, ...
        self.bbox_head = self.build_head(
            bbox_head, 'model.bbox_head',
            {'train_cfg': 'model.train_cfg', 'test_cfg': 'model.test_cfg'},
            train_cfg=train_cfg, test_cfg=test_cfg)
        self._finish_init(train_cfg, test_cfg)

    def forward_dense(self, img: Tensor) -> tuple[list[Tensor], ...]:
        """Images ``(B, 3, H, W)`` -> the head's per-level ``(cls_scores, bbox_preds)``
        (FCOS: and ``centernesses``):
        backbone, neck and head, eagerly (what tracing, export and the ``compile`` option
        use)."""
        return self.bbox_head(self.extract_feat(img))

    def dense_outputs(self, img: Tensor) -> tuple[list[Tensor], ...]:
        """:meth:`forward_dense`, through ``torch.compile`` when the ``compile`` option is
        set."""
        return self.maybe_compiled('forward_dense')(img)

    def forward_tensor(self, img: Tensor) -> tuple[list[Tensor], ...]:
        """The head's raw outputs, ``(cls_scores, bbox_preds[, centernesses])``
        (:meth:`forward_dense`)."""
        return self.forward_dense(img)

    def loss(self, img: Tensor, img_metas: Sequence[dict], gt_bboxes: Sequence[Tensor],
             gt_labels: Sequence[Tensor] | None,
             gt_bboxes_ignore: Sequence[Tensor] | None = None) -> dict[str, Tensor]:
        """Losses of a training batch (the head's ``loss``)."""
        outs = self.dense_outputs(img)  # (cls_scores, bbox_preds[, centernesses])
        return self.bbox_head.loss(*outs, gt_bboxes, gt_labels, img_metas,
                                   gt_bboxes_ignore=gt_bboxes_ignore)

    def _predict(self, img: Tensor, img_metas: Sequence[dict],
                 rescale: bool) -> list[list[np.ndarray]]:
        """Per image, a list over classes of float32 ``(n, 5)`` ``[x1, y1, x2, y2, score]``."""
        outs = self.dense_outputs(img)
        results = self.bbox_head.get_bboxes(*outs, img_metas=img_metas, rescale=rescale)
        return self.bbox_head.results_to_numpy(results)

    def _predict_aug(self, imgs: list[Tensor], img_metas: list[Sequence[dict]],
                     rescale: bool) -> list[list[np.ndarray]]:
        """Test-time augmentation: the network on every augmentation, each one's candidates
        mapped back to the original image, one NMS (the head's ``get_bboxes_aug``)."""
        aug_outs = [self.dense_outputs(img) for img in imgs]
        results = self.bbox_head.get_bboxes_aug(aug_outs, img_metas, rescale=rescale)
        return self.bbox_head.results_to_numpy(results)


@MODELS.register_module()
class SSD(SingleStageDetector):
    """SSD (an alias of :class:`SingleStageDetector`, as in mmdetection)."""


@MODELS.register_module()
class RetinaNet(SingleStageDetector):
    """RetinaNet (an alias of :class:`SingleStageDetector`, as in mmdetection)."""


@MODELS.register_module()
class FCOS(SingleStageDetector):
    """FCOS (Tian et al. 2019), anchor-free: a :class:`SingleStageDetector` with an
    ``FCOSHead`` (registered under mmdetection's name)."""
