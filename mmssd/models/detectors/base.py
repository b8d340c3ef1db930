"""What every detector shares: backbone -> neck features, the three ``forward`` modes, the
``channels_last`` and ``compile`` options, and the dispatch of test batches to one pass or
to test-time augmentation."""
from __future__ import annotations

import functools
import weakref
from collections.abc import Callable, Mapping, Sequence

import torch
from mmengine.model import BaseModel
from torch import Tensor, nn

from mmssd.registry import MODELS
from mmssd.utils.config_error import ConfigError

from ..utils.cfg_keys import cfg_path


def check_neck_channels(backbone: nn.Module, neck: nn.Module) -> None:
    """The neck's ``in_channels`` must be the backbone's ``out_channels`` (where both
    declare them: ResNet, ResNeXt, SwinTransformer, TIMMBackbone and FPN do).

    Raises:
        ConfigError: naming both lists and the fix.
    """
    produced = getattr(backbone, 'out_channels', None)
    expected = getattr(neck, 'in_channels', None)
    if not (isinstance(produced, tuple) and isinstance(expected, (tuple, list))):
        return
    if tuple(produced) != tuple(expected):
        raise ConfigError(
            f'model.neck.in_channels={list(expected)} but the backbone '
            f'({type(backbone).__name__}) gives {len(produced)} feature maps with channels '
            f'{list(produced)}; set model.neck.in_channels={list(produced)} (or change the '
            "backbone's out_indices)")


class BaseDetector(BaseModel):
    """Base of :class:`SingleStageDetector`, :class:`TwoStageDetector` and :class:`RPN`.

    Entry points: :meth:`forward` (``mode='loss' | 'predict' | 'tensor'``),
    :meth:`extract_feat`, :meth:`loss` and :meth:`predict` (one augmentation, or lists over
    test-time augmentations merged); mmdetection 2.x's ``forward_train``, ``simple_test``
    and ``aug_test`` are aliases of them. A subclass builds its heads after calling this
    constructor (:meth:`build_head`), then calls :meth:`_finish_init` (which keeps the
    configs and applies ``channels_last`` to every weight), and implements :meth:`loss`,
    :meth:`forward_tensor` (the raw network outputs, for tracing tools), ``_predict`` (one
    augmentation) and ``_predict_aug`` (several).

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
            check_neck_channels(self.backbone, self.neck)
        if not isinstance(compile, (bool, dict)):
            raise TypeError(f'model.compile must be a bool or a dict of torch.compile '
                            f'arguments, got {compile!r}')
        self.compile_options = (dict(compile) if isinstance(compile, dict)
                                else {} if compile else None)
        self.channels_last = channels_last

    def build_head(self, cfg: dict, where: str, roots: Mapping[str, str],
                   **cfgs: dict | None) -> nn.Module:
        """``cfg`` built (``MODELS``) with ``cfgs`` merged in (``train_cfg=...``,
        ``test_cfg=...``). A config error inside names its place: under ``where``
        (``'model.bbox_head'``), or for a key of ``roots`` where that key really sits
        (``{'train_cfg': 'model.train_cfg'}``; :func:`~mmssd.models.utils.cfg_keys.cfg_path`).

        Raises:
            ConfigError: ``cfg`` sets one of ``cfgs`` itself (``rpn_head=dict(proposal_cfg=
                ...)``): the detector would override it without a word, so it must sit where
                the detector reads it (``roots``).
        """
        for key in cfgs:
            if key in cfg:
                raise ConfigError(
                    f'{where}.{key}: the detector sets this from {roots.get(key, key)}, so a '
                    f'value here would be overridden; move it to {roots.get(key, key)}')
        with cfg_path(where, roots=roots):
            return MODELS.build(dict(cfg, **cfgs))

    def _finish_init(self, train_cfg: dict | None, test_cfg: dict | None) -> None:
        """Called by subclasses once every part is built: keeps ``train_cfg`` and
        ``test_cfg`` and applies ``channels_last``."""
        self.train_cfg = train_cfg
        self.test_cfg = test_cfg
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

        * ``'loss'``: :meth:`loss` of ``img (B, 3, H, W)`` with per image
          ``gt_bboxes (G, 4)`` and ``gt_labels (G,)`` -> a dict of loss tensors.
        * ``'predict'``: :meth:`predict` of ``img (B, 3, H, W)`` with ``img_metas`` a list
          of B dicts, or of lists over test-time augmentations (``[Tensor]``, ``[[dict]]``)
          -> per image, the predictions in original image pixels.
        * ``'tensor'``: the raw network outputs of ``img (B, 3, H, W)``
          (:meth:`forward_tensor`, compiled with the ``compile`` option).
        """
        if mode == 'loss':
            if gt_bboxes is None or (gt_labels is None and self.needs_gt_labels):
                raise ValueError(f"mode='loss' of {type(self).__name__} needs gt_bboxes"
                                 f"{' and gt_labels' if self.needs_gt_labels else ''}")
            return self.loss(img, img_metas, gt_bboxes, gt_labels, gt_bboxes_ignore)
        if mode == 'predict':
            return self.predict(img, img_metas)
        if mode == 'tensor':
            if not isinstance(img, Tensor):
                raise TypeError("mode='tensor' takes one (B, 3, H, W) batch, not lists over "
                                'test-time augmentations')
            return self.maybe_compiled('forward_tensor')(img)
        raise ValueError(f"mode must be 'loss', 'predict' or 'tensor', got {mode!r}")

    def loss(self, img: Tensor, img_metas: Sequence[dict], gt_bboxes: Sequence[Tensor],
             gt_labels: Sequence[Tensor] | None,
             gt_bboxes_ignore: Sequence[Tensor] | None = None) -> dict[str, Tensor]:
        """Losses of a training batch ``img (B, 3, H, W)``: a dict of scalar tensors."""
        raise NotImplementedError

    def forward_tensor(self, img: Tensor):
        """The raw network outputs of ``img (B, 3, H, W)``, without image metas, eagerly
        (what tracing, export and FLOP counting use)."""
        raise NotImplementedError

    def predict(self, img: Tensor | Sequence[Tensor], img_metas: Sequence,
                rescale: bool = True) -> list:
        """Predictions of a test batch, without gradients.

        ``img (B, 3, H, W)`` with ``img_metas`` B dicts: one pass of the network. Lists
        over ``A`` test-time augmentations (``img [Tensor(B, 3, H_a, W_a)]``,
        ``img_metas [[dict] * B]``, what ``detection_collate`` makes of a
        ``MultiScaleFlipAug`` with several augmentations): one pass per augmentation, the
        predictions mapped back to the original image and merged (mmdetection 2.x's
        ``aug_test``; a list of one augmentation also goes this way).

        Returns, per image, a list over classes of float32 ``(n, 5)`` arrays ``[x1, y1,
        x2, y2, score]`` (:class:`RPN`: one ``(n, 5)`` array of proposals), in original
        image pixels with ``rescale`` (else in the network input's, for augmentations the
        first one's scale).
        """
        with torch.no_grad():
            if isinstance(img, Tensor):
                return self._predict(img, img_metas, rescale)
            imgs, aug_metas = list(img), list(img_metas)
            if not imgs or len(imgs) != len(aug_metas):
                raise ValueError(f'test-time augmentation needs as many img_metas lists as '
                                 f'images, one per augmentation; got {len(imgs)} and '
                                 f'{len(aug_metas)}')
            for a, (aug_img, metas) in enumerate(zip(imgs, aug_metas, strict=True)):
                if not isinstance(aug_img, Tensor) or not isinstance(metas, (list, tuple)) \
                        or len(metas) != aug_img.size(0):
                    raise ValueError(
                        f'augmentation {a}: expected a (B, 3, H, W) tensor and a list of B '
                        f'meta dicts, got {type(aug_img).__name__} '
                        f'{tuple(getattr(aug_img, "shape", ()))} and '
                        f'{type(metas).__name__} of {len(metas)}')
            return self._predict_aug(imgs, aug_metas, rescale)

    def _predict(self, img: Tensor, img_metas: Sequence[dict], rescale: bool) -> list:
        """:meth:`predict` of one augmentation (subclasses)."""
        raise NotImplementedError

    def _predict_aug(self, imgs: list[Tensor], img_metas: list[Sequence[dict]],
                     rescale: bool) -> list:
        """:meth:`predict` of a list over test-time augmentations (subclasses)."""
        raise NotImplementedError(f'{type(self).__name__} has no test-time augmentation')

    # mmdetection 2.x names, kept as aliases of the entry points above
    def forward_train(self, img: Tensor, img_metas: Sequence[dict], gt_bboxes: Sequence[Tensor],
                      gt_labels: Sequence[Tensor] | None = None,
                      gt_bboxes_ignore: Sequence[Tensor] | None = None) -> dict[str, Tensor]:
        """mmdetection 2.x's name of :meth:`loss`."""
        return self.loss(img, img_metas, gt_bboxes, gt_labels, gt_bboxes_ignore)

    def simple_test(self, img: Tensor, img_metas: Sequence[dict], rescale: bool = True) -> list:
        """mmdetection 2.x's name of :meth:`predict` for one augmentation
        (``img (B, 3, H, W)``, B meta dicts)."""
        if not isinstance(img, Tensor):
            raise TypeError('simple_test takes one (B, 3, H, W) batch; use aug_test for lists '
                            'over test-time augmentations')
        return self.predict(img, img_metas, rescale)

    def aug_test(self, imgs: Sequence[Tensor], img_metas: Sequence[Sequence[dict]],
                 rescale: bool = True) -> list:
        """mmdetection 2.x's name of :meth:`predict` for lists over test-time
        augmentations."""
        if isinstance(imgs, Tensor):
            raise TypeError('aug_test takes lists over test-time augmentations; use '
                            'simple_test for one (B, 3, H, W) batch')
        return self.predict(imgs, img_metas, rescale)


#: detector -> {method name: compiled function}; outside the module, so that a deepcopy
#: (EMA) compiles its own instead of calling the original's weights
_COMPILED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
