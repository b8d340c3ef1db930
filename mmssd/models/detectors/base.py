"""What every detector shares: backbone -> neck features, the three ``forward`` modes, the
``channels_last`` and ``compile`` options, and the unwrapping of test batches."""
from __future__ import annotations

import functools
import weakref
from collections.abc import Callable, Sequence

import torch
from mmengine.model import BaseModel
from torch import Tensor

from mmssd.registry import MODELS


class BaseDetector(BaseModel):
    """Base of :class:`SingleStageDetector`, :class:`TwoStageDetector` and :class:`RPN`.

    A subclass builds its heads after calling this constructor, then calls
    :meth:`_finish_init` (which applies ``channels_last`` to every weight). It implements
    :meth:`forward_train` (losses), :meth:`simple_test` (predictions) and
    :meth:`forward_tensor` (the raw network outputs, for tracing tools).

    Args:
        backbone, neck: configs of the parts (``MODELS``).
        pretrained: deprecated checkpoint of the backbone; use the backbone's ``init_cfg``.
        init_cfg: mmengine init config of the whole detector.
        data_preprocessor: mmengine data preprocessor config (default only moves data to
            the model's device; normalization happens in the data pipeline).
        channels_last: keep the 4-d weights and the input images in
            ``torch.channels_last`` (NHWC) memory format; off by default. Same results up to
            float rounding; faster convolutions on CPU (``docs/benchmarks.md``).
        compile: run the network part that has data-independent shapes (see the subclass)
            through ``torch.compile``: ``True`` for its defaults, or a dict of its keyword
            arguments; off by default. The first training step and the first test batch
            compile (minutes on a small CPU; ``docs/benchmarks.md``).
    """

    #: whether training needs ``gt_labels`` (not for class-agnostic proposals)
    needs_gt_labels = True

    def __init__(self, backbone: dict, neck: dict | None = None, pretrained: str | None = None,
                 init_cfg: dict | list | None = None, data_preprocessor: dict | None = None,
                 channels_last: bool = False,
                 compile: bool | dict = False) -> None:  # noqa: A002 (the config key)
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        if pretrained:
            backbone = dict(backbone, pretrained=pretrained)
        self.backbone = MODELS.build(backbone)
        if neck is not None:
            self.neck = MODELS.build(neck)
        if not isinstance(compile, (bool, dict)):
            raise TypeError(f'model.compile must be a bool or a dict of torch.compile '
                            f'arguments, got {compile!r}')
        self.compile_options = (dict(compile) if isinstance(compile, dict)
                                else {} if compile else None)
        self.channels_last = channels_last

    def _finish_init(self) -> None:
        """Called by subclasses once every part is built."""
        if self.channels_last:
            self.to(memory_format=torch.channels_last)

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

    def maybe_compiled(self, method: str) -> Callable:
        """The bound method ``method``, through ``torch.compile`` when the ``compile`` option
        is set (compiled once per detector and method, and kept outside the module so that a
        deepcopy, such as an EMA model, compiles its own)."""
        if self.compile_options is None:
            return getattr(self, method)
        compiled = _COMPILED.setdefault(self, {})
        if method not in compiled:
            compiled[method] = torch.compile(getattr(type(self), method),
                                             **self.compile_options)
        return functools.partial(compiled[method], self)

    def forward(self, img: Tensor | Sequence[Tensor], img_metas: Sequence,
                gt_bboxes: Sequence[Tensor] | None = None,
                gt_labels: Sequence[Tensor] | None = None,
                gt_bboxes_ignore: Sequence[Tensor] | None = None,
                mode: str = 'tensor'):
        """Run in one of three modes (see ``docs/architecture.md``).

        * ``'loss'``: ``img (B, 3, H, W)``, per image ``gt_bboxes (G, 4)`` and
          ``gt_labels (G,)`` -> a dict of loss tensors.
        * ``'predict'``: ``img (B, 3, H, W)`` with ``img_metas`` a list of dicts, or lists
          over test-time augmentations (``[Tensor]``, ``[[dict]]``) -> per image, the
          predictions in original image pixels (detectors: a list over classes of float32
          ``(n, 5)`` arrays; :class:`RPN`: one ``(n, 5)`` array of proposals).
        * ``'tensor'``: the raw network outputs (:meth:`forward_tensor`, compiled with the
          ``compile`` option).
        """
        if mode == 'loss':
            if gt_bboxes is None or (gt_labels is None and self.needs_gt_labels):
                raise ValueError(f"mode='loss' of {type(self).__name__} needs gt_bboxes"
                                 f"{' and gt_labels' if self.needs_gt_labels else ''}")
            return self.forward_train(img, img_metas, gt_bboxes, gt_labels, gt_bboxes_ignore)
        if mode == 'predict':
            return self.forward_test(img, img_metas)
        if mode == 'tensor':
            img, _ = self._single_augmentation(img, img_metas)
            return self.maybe_compiled('forward_tensor')(img)
        raise ValueError(f"mode must be 'loss', 'predict' or 'tensor', got {mode!r}")

    def forward_train(self, img: Tensor, img_metas: Sequence[dict], gt_bboxes: Sequence[Tensor],
                      gt_labels: Sequence[Tensor],
                      gt_bboxes_ignore: Sequence[Tensor] | None = None) -> dict[str, Tensor]:
        """Losses of a training batch."""
        raise NotImplementedError

    def forward_tensor(self, img: Tensor):
        """The raw network outputs of ``img (B, 3, H, W)``, without image metas, eagerly
        (what tracing, export and FLOP counting use)."""
        raise NotImplementedError

    def simple_test(self, img: Tensor, img_metas: Sequence[dict],
                    rescale: bool = True) -> list:
        """Predictions of one augmentation of a test batch."""
        raise NotImplementedError

    def forward_test(self, img: Tensor | Sequence[Tensor], img_metas: Sequence) -> list:
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


#: detector -> {method name: compiled function}; outside the module, so that a deepcopy
#: (EMA) compiles its own instead of calling the original's weights
_COMPILED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
