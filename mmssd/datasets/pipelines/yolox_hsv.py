"""``YOLOXHSVRandomAug``: YOLOX's colour jitter in HSV (mmdetection 2.x)."""
from __future__ import annotations

import cv2
import numpy as np

from mmssd.registry import TRANSFORMS

_LEVELS = np.arange(256, dtype=np.int16)


@TRANSFORMS.register_module()
class YOLOXHSVRandomAug:
    """Shift hue, saturation and value of a uint8 BGR image (mmdetection 2.x).

    The gains ``uniform(-1, 1, 3) * (hue_delta, saturation_delta, value_delta)``, each
    kept or zeroed by ``randint(0, 2, 3)``, truncated to integers, are added in OpenCV's
    HSV: hue modulo 180, saturation and value clipped to [0, 255]. Done with one
    ``cv2.LUT`` of a ``(256, 1, 3)`` table (a column per channel) on the HSV image, in place
    (on the one changed channel when the other gains are 0), the same values as
    mmdetection's int16 arithmetic; with all gains 0 the image still goes to HSV and back,
    which changes some pixels, as in mmdetection.

    Random draws (numpy global RNG, in order): ``uniform(-1, 1, 3)``, ``randint(0, 2, 3)``.
    """

    def __init__(self, hue_delta: int = 5, saturation_delta: int = 30,
                 value_delta: int = 30) -> None:
        self.hue_delta = hue_delta
        self.saturation_delta = saturation_delta
        self.value_delta = value_delta

    def __call__(self, results: dict) -> dict:
        gains = np.random.uniform(-1, 1, 3) * [self.hue_delta, self.saturation_delta,
                                               self.value_delta]
        gains = (gains * np.random.randint(0, 2, 3)).astype(np.int16)
        img = results['img']
        if img.dtype != np.uint8:
            raise TypeError(f'YOLOXHSVRandomAug expects a uint8 BGR image; got {img.dtype} '
                            '(put it before Normalize, without to_float32)')
        hsv = cv2.cvtColor(img, cv2.COLOR_BGR2HSV)
        table = np.empty((256, 1, 3), np.uint8)
        table[:, 0, 0] = (_LEVELS + gains[0]) % 180
        table[:, 0, 1] = np.clip(_LEVELS + gains[1], 0, 255)
        table[:, 0, 2] = np.clip(_LEVELS + gains[2], 0, 255)
        changed = np.flatnonzero(gains)
        if len(changed) == 1:  # the other two tables are the identity (8-bit hue < 180)
            channel = int(changed[0])
            plane = cv2.extractChannel(hsv, channel)
            cv2.LUT(plane, np.ascontiguousarray(table[:, :, channel]), dst=plane)
            cv2.insertChannel(plane, hsv, channel)
        elif len(changed) > 1:
            cv2.LUT(hsv, table, dst=hsv)
        # no gain: the round trip alone, as in mmdetection (it changes some pixels)
        results['img'] = cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR)
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(hue_delta={self.hue_delta}, saturation_delta='
                f'{self.saturation_delta}, value_delta={self.value_delta})')
