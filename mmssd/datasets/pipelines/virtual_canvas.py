"""``VirtualCanvas``: an image placed on a larger constant-colour canvas, not built yet.

``Expand`` zooms out by pasting the image at ``(left, top)`` of a canvas up to 4 times
larger in each side. When a crop follows, most of that canvas is thrown away, so
``Expand`` can hand the crop a ``VirtualCanvas`` instead (see ``Expand.bind_next``), and
the crop builds only the pixels it keeps. Every pixel read through a ``VirtualCanvas`` is
the pixel of the materialised canvas, so the output is identical to the eager path.
"""
from __future__ import annotations

import cv2
import numpy as np

# dtypes and channel counts cv2.copyMakeBorder handles (its fill value is a 4-Scalar)
_CV2_DTYPES = (np.uint8, np.int8, np.uint16, np.int16, np.int32, np.float32, np.float64)
_CV2_MAX_CHANNELS = 4


class VirtualCanvas:
    """A ``(height, width, C)`` canvas filled with ``fill``, with ``image`` (h, w, C) at
    ``[top:top + h, left:left + w]``.

    Args:
        image: (h, w, C) array; the canvas has its dtype and channels.
        height, width: canvas size, with ``top + h <= height`` and ``left + w <= width``.
        left, top: position of the image's top-left pixel on the canvas.
        fill: (C,) fill value per channel, already of ``image.dtype``.
    """

    __slots__ = ('image', 'height', 'width', 'left', 'top', 'fill')

    def __init__(self, image: np.ndarray, height: int, width: int, left: int, top: int,
                 fill: np.ndarray):
        h, w = image.shape[:2]
        if image.ndim != 3:
            raise ValueError(f'VirtualCanvas needs an (h, w, C) image; got shape {image.shape}')
        if not (0 <= left <= width - w and 0 <= top <= height - h):
            raise ValueError(f'image {image.shape[:2]} at (left={left}, top={top}) does not '
                             f'fit a {height}x{width} canvas')
        self.image = image
        self.height, self.width = int(height), int(width)
        self.left, self.top = int(left), int(top)
        self.fill = np.asarray(fill, image.dtype).reshape(image.shape[2])

    @property
    def shape(self) -> tuple[int, int, int]:
        return (self.height, self.width, self.image.shape[2])

    @property
    def dtype(self) -> np.dtype:
        return self.image.dtype

    @property
    def ndim(self) -> int:
        return 3

    def crop(self, x1: int, y1: int, x2: int, y2: int) -> np.ndarray:
        """Canvas pixels ``[y1:y2, x1:x2]`` -> (y2 - y1, x2 - x1, C), bounds clamped to the
        canvas as numpy slicing does. A view of ``image`` when the region lies inside it."""
        if min(x1, y1, x2, y2) < 0:
            raise ValueError(f'VirtualCanvas.crop needs non-negative bounds; got '
                             f'{(x1, y1, x2, y2)}')
        x1, x2 = min(x1, self.width), min(x2, self.width)
        y1, y2 = min(y1, self.height), min(y2, self.height)
        x2, y2 = max(x1, x2), max(y1, y2)
        h, w = self.image.shape[:2]
        ix1, ix2 = max(x1, self.left), min(x2, self.left + w)
        iy1, iy2 = max(y1, self.top), min(y2, self.top + h)
        if ix1 >= ix2 or iy1 >= iy2:  # only fill
            return filled((y2 - y1, x2 - x1), self.fill)
        inner = self.image[iy1 - self.top:iy2 - self.top, ix1 - self.left:ix2 - self.left]
        pads = (iy1 - y1, y2 - iy2, ix1 - x1, x2 - ix2)  # top, bottom, left, right
        if not any(pads):
            return inner
        return pad_constant(inner, pads, self.fill)

    def materialize(self) -> np.ndarray:
        """The whole canvas as an (height, width, C) array."""
        return self.crop(0, 0, self.width, self.height)

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        array = self.materialize()
        return array if dtype is None else array.astype(dtype)

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(shape={self.shape}, image={self.image.shape}, '
                f'left={self.left}, top={self.top}, fill={self.fill.tolist()})')


def as_array(img: np.ndarray | VirtualCanvas) -> np.ndarray:
    """``img`` itself, or the materialised canvas of a ``VirtualCanvas``."""
    return img.materialize() if isinstance(img, VirtualCanvas) else img


def crop_pixels(img: np.ndarray | VirtualCanvas, x1: int, y1: int, x2: int,
                y2: int) -> np.ndarray:
    """``img[y1:y2, x1:x2]`` (a view for arrays) for an array or a ``VirtualCanvas``."""
    if isinstance(img, VirtualCanvas):
        return img.crop(x1, y1, x2, y2)
    return img[y1:y2, x1:x2]


def filled(hw: tuple[int, int], fill: np.ndarray) -> np.ndarray:
    """(h, w, C) array of ``fill`` (C,), built row by row (a per-pixel numpy broadcast
    of a 3-vector is ~30x slower)."""
    h, w = hw
    out = np.empty((h, w, len(fill)), fill.dtype)
    if out.size:
        out.reshape(h, -1)[:] = np.tile(fill, w)
    return out


def pad_constant(img: np.ndarray, pads: tuple[int, int, int, int],
                 fill: np.ndarray) -> np.ndarray:
    """``img`` (h, w, C) with ``pads`` = (top, bottom, left, right) rows/columns of
    ``fill`` (C,) around it -> (h + top + bottom, w + left + right, C)."""
    top, bottom, left, right = pads
    if img.dtype in _CV2_DTYPES and img.shape[2] <= _CV2_MAX_CHANNELS:
        out = cv2.copyMakeBorder(img, top, bottom, left, right, cv2.BORDER_CONSTANT,
                                 value=fill.tolist())
        return out.reshape(out.shape[0], out.shape[1], img.shape[2])  # cv2 drops C == 1
    h, w = img.shape[:2]
    out = filled((h + top + bottom, w + left + right), fill)
    out[top:top + h, left:left + w] = img
    return out
