"""Single-stage detector: backbone -> neck -> dense head, as an mmengine ``BaseModel``."""
from __future__ import annotations

import weakref
from collections.abc import Sequence

import numpy as np
import torch
from mmengine.model import BaseModel
from torch import Tensor

from mmssd.registry import MODELS


@MODELS.register_module()
class SingleStageDetector(BaseModel):
    """A detector whose head predicts boxes densely from the neck's features.

    ``train_cfg`` and ``test_cfg`` are handed to the head, as in mmdetection 2.x.

    Args:
        backbone, neck, bbox_head: configs of the parts (``MODELS``).
        train_cfg, test_cfg: training / testing settings of the head.
        pretrained: deprecated checkpoint path of the backbone; use its ``init_cfg``.
        init_cfg: mmengine init config of the whole detector.
        data_preprocessor: mmengine data preprocessor config (default only moves data to
            the model's device; normalization happens in the data pipeline).
        channels_last: keep the 4-d weights and the input images in
            ``torch.channels_last`` (NHWC) memory format; off by default. Same results up to
            float rounding; faster convolutions on CPU (``docs/benchmarks.md``).
        compile: run backbone, neck and head forward (not the loss, target assignment or
            post-processing, whose shapes depend on the data) through ``torch.compile``:
            ``True`` for its defaults, or a dict of its keyword arguments; off by default.
            The first training step and the first test batch compile (minutes on a small
            CPU; ``docs/benchmarks.md``).
    """

    def __init__(self, backbone: dict, neck: dict | None = None, bbox_head: dict | None = None,
                 train_cfg: dict | None = None, test_cfg: dict | None = None,
                 pretrained: str | None = None, init_cfg: dict | list | None = None,
                 data_preprocessor: dict | None = None, channels_last: bool = False,
                 compile: bool | dict = False) -> None:  # noqa: A002 (the config key)
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        if pretrained:
            backbone = dict(backbone, pretrained=pretrained)
        self.backbone = MODELS.build(backbone)
        if neck is not None:
            self.neck = MODELS.build(neck)
        if bbox_head is None:
            raise ValueError('a single-stage detector needs a bbox_head')
        self.bbox_head = MODELS.build(dict(bbox_head, train_cfg=train_cfg, test_cfg=test_cfg))
        self.train_cfg = train_cfg
        self.test_cfg = test_cfg
        self.channels_last = channels_last
        if channels_last:
            self.to(memory_format=torch.channels_last)
        if not isinstance(compile, (bool, dict)):
            raise TypeError(f'model.compile must be a bool or a dict of torch.compile '
                            f'arguments, got {compile!r}')
        self.compile_options = (dict(compile) if isinstance(compile, dict)
                                else {} if compile else None)

    @property
    def with_neck(self) -> bool:
        """Whether the detector has a neck."""
        return hasattr(self, 'neck') and self.neck is not None

    def extract_feat(self, img: Tensor) -> tuple[Tensor, ...]:
        """Images ``(B, 3, H, W)`` -> multi-level features ``[(B, C_l, H_l, W_l)]``."""
        if self.channels_last:
            img = img.contiguous(memory_format=torch.channels_last)
        x = self.backbone(img)
        if isinstance(x, Tensor):
            x = (x,)
        if self.with_neck:
            x = self.neck(x)
        return tuple(x)

    def forward_dense(self, img: Tensor) -> tuple[list[Tensor], list[Tensor]]:
        """Images ``(B, 3, H, W)`` -> the head's per-level ``(cls_scores, bbox_preds)``:
        backbone, neck and head, eagerly (what tracing, export and the ``compile`` option
        use)."""
        return self.bbox_head(self.extract_feat(img))

    def dense_outputs(self, img: Tensor) -> tuple[list[Tensor], list[Tensor]]:
        """:meth:`forward_dense`, through ``torch.compile`` when the ``compile`` option is
        set."""
        if self.compile_options is None:
            return self.forward_dense(img)
        compiled = _COMPILED.get(self)
        if compiled is None:  # one per detector; kept outside the module (deepcopy, pickle)
            compiled = _COMPILED[self] = torch.compile(type(self).forward_dense,
                                                       **self.compile_options)
        return compiled(self, img)

    def forward(self, img: Tensor | Sequence[Tensor], img_metas: Sequence,
                gt_bboxes: Sequence[Tensor] | None = None,
                gt_labels: Sequence[Tensor] | None = None,
                gt_bboxes_ignore: Sequence[Tensor] | None = None,
                mode: str = 'tensor'):
        """Run in one of three modes (see ``docs/architecture.md``).

        * ``'loss'``: ``img (B, 3, H, W)``, per image ``gt_bboxes (G, 4)`` and
          ``gt_labels (G,)`` -> ``dict(loss_cls=..., loss_bbox=...)``.
        * ``'predict'``: ``img (B, 3, H, W)`` with ``img_metas`` a list of dicts, or lists
          over test-time augmentations (``[Tensor]``, ``[[dict]]``) -> per image, a list
          over classes of float32 ``(n, 5)`` arrays in original image pixels.
        * ``'tensor'``: the head's raw ``(cls_scores, bbox_preds)``.
        """
        if mode == 'loss':
            if gt_bboxes is None or gt_labels is None:
                raise ValueError("mode='loss' needs gt_bboxes and gt_labels")
            return self.forward_train(img, img_metas, gt_bboxes, gt_labels, gt_bboxes_ignore)
        if mode == 'predict':
            return self.forward_test(img, img_metas)
        if mode == 'tensor':
            img, _ = self._single_augmentation(img, img_metas)
            return self.dense_outputs(img)
        raise ValueError(f"mode must be 'loss', 'predict' or 'tensor', got {mode!r}")

    def forward_train(self, img: Tensor, img_metas: Sequence[dict], gt_bboxes: Sequence[Tensor],
                      gt_labels: Sequence[Tensor],
                      gt_bboxes_ignore: Sequence[Tensor] | None = None) -> dict[str, Tensor]:
        """Losses of a training batch."""
        cls_scores, bbox_preds = self.dense_outputs(img)
        return self.bbox_head.loss(cls_scores, bbox_preds, gt_bboxes, gt_labels, img_metas,
                                   gt_bboxes_ignore=gt_bboxes_ignore)

    def forward_test(self, img: Tensor | Sequence[Tensor],
                     img_metas: Sequence) -> list[list[np.ndarray]]:
        """Predictions of a test batch (one augmentation only for now)."""
        img, img_metas = self._single_augmentation(img, img_metas)
        return self.simple_test(img, img_metas, rescale=True)

    @staticmethod
    def _single_augmentation(img: Tensor | Sequence[Tensor],
                             img_metas: Sequence) -> tuple[Tensor, Sequence[dict]]:
        """Unwrap ``[Tensor]`` / ``[[dict]]`` test batches with a single augmentation."""
        if isinstance(img, Tensor):
            return img, img_metas
        if len(img) != 1:
            raise NotImplementedError(
                f'test-time augmentation with {len(img)} augmentations is not supported yet')
        metas = img_metas[0] if img_metas and isinstance(img_metas[0], (list, tuple)) \
            else img_metas
        return img[0], metas

    def simple_test(self, img: Tensor, img_metas: Sequence[dict],
                    rescale: bool = True) -> list[list[np.ndarray]]:
        """Per image, a list over classes of float32 ``(n, 5)`` ``[x1, y1, x2, y2, score]``."""
        with torch.no_grad():
            cls_scores, bbox_preds = self.dense_outputs(img)
            results = self.bbox_head.get_bboxes(cls_scores, bbox_preds, img_metas,
                                                rescale=rescale)
        return self.bbox_head.results_to_numpy(results)


#: detector -> its compiled :meth:`SingleStageDetector.forward_dense`; outside the module,
#: so that a deepcopy (EMA) compiles its own instead of calling the original's weights
_COMPILED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


@MODELS.register_module()
class SSD(SingleStageDetector):
    """SSD (an alias of :class:`SingleStageDetector`, as in mmdetection)."""


@MODELS.register_module()
class RetinaNet(SingleStageDetector):
    """RetinaNet (an alias of :class:`SingleStageDetector`, as in mmdetection)."""
