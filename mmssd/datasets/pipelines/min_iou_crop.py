"""``MinIoURandomCrop``: SSD's random crop with a minimum IoU against every box."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy import random

from mmssd.registry import TRANSFORMS
from mmssd.structures.bbox import bbox_overlaps_np

from .common import BBOX2LABEL, check_single_img_field
from .virtual_canvas import as_array, crop_pixels

#: Relative margin of the area bound (far above float32 rounding, see ``PatchTest``).
_BOUND_MARGIN = 1e-4


def _uniform_by_sample(low: float, high: float = 1.0) -> float:
    """``random.uniform(low, high)`` as numpy computes it (``low + (high - low) * u``),
    from one ``random_sample()`` draw: 6x cheaper than the ``uniform`` call."""
    return low + (high - low) * random.random_sample()


def _uniform_by_sample_is_exact() -> bool:
    """Whether ``_uniform_by_sample`` reproduces ``random.uniform`` bit for bit here
    (a numpy build that fused numpy's ``low + range * u`` into an FMA would not)."""
    pairs = [(0.3 * w, float(w)) for w in range(1, 400, 7)] + [(w - 0.7 * w, 1.0)
                                                                for w in range(1, 400, 7)]
    reference, fast = random.RandomState(0), random.RandomState(0)
    return all(reference.uniform(lo, hi) == lo + (hi - lo) * fast.random_sample()
               for lo, hi in pairs)


#: ``random.uniform`` or its exact, cheaper equivalent (the crop loop draws ~400 per image)
uniform = _uniform_by_sample if _uniform_by_sample_is_exact() else random.uniform


def centers_in_patch(boxes: np.ndarray, patch: np.ndarray) -> np.ndarray:
    """(N,) bool: whether the centre of each box (N, 4) lies strictly inside ``patch``
    (4,) xyxy."""
    center = (boxes[:, :2] + boxes[:, 2:]) / 2
    return ((center[:, 0] > patch[0]) & (center[:, 1] > patch[1])
            & (center[:, 0] < patch[2]) & (center[:, 1] < patch[3]))


class PatchTest:
    """Whether a candidate crop passes MinIoURandomCrop's tests for the boxes of one image:
    IoU >= ``min_iou`` with every box and at least one box centre inside.

    The decision is mmdetection's (float32 ``bbox_overlaps``, compared with the float64
    ``min_iou``). Most failing patches are rejected first by :meth:`area_cutoff`'s exact
    bound: ``IoU(patch, box) <= min(a, p) / max(a, p)`` for box area ``a`` and patch area
    ``p``, and over all boxes that bound is smallest at the smallest or the largest box.

    Args:
        boxes: (N, 4) float32 xyxy, all the boxes of the image.
    """

    def __init__(self, boxes: np.ndarray):
        self.boxes = boxes
        self.area_min = self.area_max = 0.0
        if len(boxes):
            b = boxes.astype(np.float64)  # exact: differences and products of float32
            areas = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
            self.area_min, self.area_max = float(areas.min()), float(areas.max())

    def area_cutoff(self, min_iou: float) -> float | None:
        """Reject a patch early when its area bound is below this (None: no early test).

        The bound must be below ``min_iou`` by a relative margin of ``1e-4``, far more than
        the float32 rounding of the IoU, so no decision differs from the exact test.
        """
        if not len(self.boxes) or min_iou <= 0:
            return None
        return min_iou * (1 - _BOUND_MARGIN)

    def passes(self, patch: tuple[int, int, int, int], min_iou: np.float64) -> bool:
        """The exact test; ``patch``: integer xyxy with positive width and height."""
        if not len(self.boxes):
            return True
        patch_array = np.array(patch)
        overlaps = bbox_overlaps_np(patch_array.reshape(-1, 4), self.boxes).reshape(-1)
        if overlaps.min() < min_iou:
            return False
        return bool(centers_in_patch(self.boxes, patch_array).any())


@TRANSFORMS.register_module()
class MinIoURandomCrop:
    """SSD random crop (mmdetection 2.x semantics).

    Pick a mode from ``(1, *min_ious, 0)`` (1 = keep the image); otherwise try 50 patches
    (sides uniform in [``min_crop_size``, 1] of the image's, aspect h/w in [0.5, 2]) and
    take the first whose IoU with every box (of all ``bbox_fields``) is >= the mode and
    that holds at least one box centre; after 50 failures pick a mode again. Boxes whose
    centre is outside the patch are dropped with their labels; the others are clipped to
    it (``bbox_clip_border``) and shifted.

    Random draws (numpy global RNG, in order), per mode: ``randint(len(modes))`` (the
    draws of ``random.choice(modes)``), then per try ``uniform`` for ``new_w``, ``new_h``
    and, when the aspect is accepted, ``left``, ``top``.

    Accepts a :class:`VirtualCanvas` from ``Expand`` and builds only the crop (or the
    whole canvas when the mode is 1).
    """

    accepts_virtual_canvas = True

    def __init__(self, min_ious: Sequence[float] = (0.1, 0.3, 0.5, 0.7, 0.9),
                 min_crop_size: float = 0.3, bbox_clip_border: bool = True):
        self.min_ious = tuple(min_ious)
        self.sample_mode = (1, *self.min_ious, 0)
        self._modes = np.array(self.sample_mode)  # what random.choice indexes
        self.min_crop_size = min_crop_size
        self.bbox_clip_border = bbox_clip_border

    def _sample_mode(self) -> np.float64:
        # the same draw as `random.choice(self.sample_mode)`, without its validation
        return self._modes[random.randint(len(self._modes))]

    def _search(self, h: int, w: int, test: PatchTest,
                min_iou: np.float64) -> tuple[int, int, int, int] | None:
        """Up to 50 tries (mmdetection's draws and tests) for an integer xyxy patch of an
        (h, w) image that passes ``test`` at ``min_iou``; None when all fail."""
        min_w, min_h = self.min_crop_size * w, self.min_crop_size * h
        cutoff = test.area_cutoff(min_iou)
        a_min, a_max = test.area_min, test.area_max
        for _ in range(50):
            new_w = uniform(min_w, w)
            new_h = uniform(min_h, h)
            if new_h / new_w < 0.5 or new_h / new_w > 2:
                continue
            # as mmdetection 2.x: uniform(low=w - new_w, high=1)
            left = uniform(w - new_w)
            top = uniform(h - new_h)
            patch = (int(left), int(top), int(left + new_w), int(top + new_h))
            if patch[2] == patch[0] or patch[3] == patch[1]:
                continue  # a line or a point
            if cutoff is not None:
                area = (patch[2] - patch[0]) * (patch[3] - patch[1])
                if (min(a_min, area) / max(a_min, area) < cutoff
                        or min(a_max, area) / max(a_max, area) < cutoff):
                    continue
            if test.passes(patch, min_iou):
                return patch
        return None

    def _crop(self, results: dict, patch: tuple[int, int, int, int]) -> dict:
        patch_array = np.array(patch)
        shift = np.array(patch[:2] * 2)
        for key in results.get('bbox_fields', []):
            boxes = results[key]
            mask = centers_in_patch(boxes, patch_array)
            boxes = boxes[mask]
            if self.bbox_clip_border:
                boxes[:, 2:] = boxes[:, 2:].clip(max=patch_array[2:])
                boxes[:, :2] = boxes[:, :2].clip(min=patch_array[:2])
            results[key] = (boxes - shift).astype(np.float32)
            label_key = BBOX2LABEL.get(key)
            if label_key in results:
                results[label_key] = results[label_key][mask]
        img = crop_pixels(results['img'], *patch)
        results['img'] = img
        results['img_shape'] = img.shape
        return results

    def __call__(self, results: dict) -> dict:
        check_single_img_field(results, 'MinIoURandomCrop')
        if 'bbox_fields' not in results:
            raise KeyError('MinIoURandomCrop needs `bbox_fields`; put LoadAnnotations before it')
        boxes = [results[key] for key in results['bbox_fields']]
        boxes = np.concatenate(boxes, 0) if boxes else np.zeros((0, 4), np.float32)
        test = PatchTest(boxes)
        h, w = results['img'].shape[:2]
        while True:
            mode = self._sample_mode()
            if mode == 1:
                results['img'] = as_array(results['img'])
                return results
            patch = self._search(h, w, test, mode)
            if patch is not None:
                return self._crop(results, patch)

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(min_ious={self.min_ious}, '
                f'min_crop_size={self.min_crop_size}, bbox_clip_border={self.bbox_clip_border})')
