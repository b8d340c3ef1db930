"""``YOLOX``: a single-stage detector with batch-synchronised multi-scale training."""
from __future__ import annotations

import random
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

from mmssd.registry import MODELS

from ..utils.reduce_mean import broadcast_from_rank0
from .single_stage import SingleStageDetector


@MODELS.register_module()
class YOLOX(SingleStageDetector):
    """YOLOX (Ge et al. 2021; mmdetection 2.x's ``YOLOX``).

    Multi-scale training: every training batch is resized (bilinear) from ``input_size``
    to the current size, its boxes scaled alike; every ``random_size_interval`` iterations
    a new size ``size_multiplier * randint(*random_size_range)`` (height; the width keeps
    ``input_size``'s aspect ratio) is drawn by process 0 (Python's ``random``, seeded by the
    run) and broadcast, so all processes of a distributed run use the same size. As in
    mmdetection the scale is taken relative to ``input_size``, the size the pipeline
    pads to. Testing runs on the images as given.

    Args:
        input_size: ``(h, w)`` of the training batches from the pipeline.
        size_multiplier: sizes are multiples of it.
        random_size_range: range (inclusive) of the size, in multiples.
        random_size_interval: iterations between two draws.
        backbone, neck, bbox_head, train_cfg, test_cfg, ...: see
            :class:`SingleStageDetector`.
    """

    def __init__(self, backbone: dict, neck: dict | None = None, bbox_head: dict | None = None,
                 train_cfg: dict | None = None, test_cfg: dict | None = None,
                 pretrained: str | None = None, input_size: tuple[int, int] = (640, 640),
                 size_multiplier: int = 32, random_size_range: tuple[int, int] = (15, 25),
                 random_size_interval: int = 10, init_cfg: dict | list | None = None,
                 data_preprocessor: dict | None = None, channels_last: bool = False,
                 compile: bool | dict = False) -> None:  # noqa: A002 (the config key)
        super().__init__(backbone, neck, bbox_head, train_cfg, test_cfg, pretrained, init_cfg,
                         data_preprocessor, channels_last, compile)
        if len(input_size) != 2 or len(random_size_range) != 2:
            raise ValueError(f'YOLOX: `input_size` and `random_size_range` must be pairs; got '
                             f'{input_size!r}, {random_size_range!r}')
        if random_size_interval < 1:
            raise ValueError(f'YOLOX: `random_size_interval` must be >= 1; got '
                             f'{random_size_interval!r}')
        self._default_input_size = tuple(input_size)
        self._input_size = tuple(input_size)
        self._random_size_range = tuple(random_size_range)
        self._random_size_interval = random_size_interval
        self._size_multiplier = size_multiplier
        self._progress_in_iter = 0

    @property
    def input_size(self) -> tuple[int, int]:
        """``(h, w)`` the next training batch is resized to."""
        return self._input_size

    def loss(self, img: Tensor, img_metas: Sequence[dict], gt_bboxes: Sequence[Tensor],
             gt_labels: Sequence[Tensor] | None,
             gt_bboxes_ignore: Sequence[Tensor] | None = None) -> dict[str, Tensor]:
        """Losses at the current size; every ``random_size_interval`` calls, a new size."""
        img, gt_bboxes = self.resize_batch(img, gt_bboxes)
        losses = super().loss(img, img_metas, gt_bboxes, gt_labels, gt_bboxes_ignore)
        if (self._progress_in_iter + 1) % self._random_size_interval == 0:
            self._input_size = self.random_size(img.device)
        self._progress_in_iter += 1
        return losses

    def resize_batch(self, img: Tensor, gt_bboxes: Sequence[Tensor]
                     ) -> tuple[Tensor, list[Tensor]]:
        """``img (B, 3, H, W)`` and boxes scaled by current / default input size."""
        scale_y = self._input_size[0] / self._default_input_size[0]
        scale_x = self._input_size[1] / self._default_input_size[1]
        if scale_x == 1 and scale_y == 1:
            return img, list(gt_bboxes)
        img = F.interpolate(img, size=self._input_size, mode='bilinear', align_corners=False)
        factor = img.new_tensor([scale_x, scale_y, scale_x, scale_y])
        return img, [boxes * factor for boxes in gt_bboxes]

    def random_size(self, device: torch.device) -> tuple[int, int]:
        """A new ``(h, w)``, drawn by process 0 and the same in every process."""
        size = torch.zeros(2, dtype=torch.long, device=device)
        if not (torch.distributed.is_available() and torch.distributed.is_initialized()) or \
                torch.distributed.get_rank() == 0:
            multiple = random.randint(*self._random_size_range)
            aspect = self._default_input_size[1] / self._default_input_size[0]
            size[0] = self._size_multiplier * multiple
            size[1] = self._size_multiplier * int(aspect * multiple)
        size = broadcast_from_rank0(size)
        return int(size[0]), int(size[1])
