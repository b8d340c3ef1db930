"""Decode image bytes, with errors that name the file (truncated JPEG, corrupt data).

EXIF orientation: by default the pixels are decoded as stored, whatever the file's
EXIF ``Orientation`` tag says (mmcv's ``color`` flag would turn them): annotation tools
usually draw boxes on the stored pixels, so the boxes stay on the objects.
``apply_exif_orientation=True`` turns the pixels as the tag says, for annotations made on
the turned view. See ``docs/tutorials/customize_datasets.md``.
"""
from __future__ import annotations

import io

import mmcv
import numpy as np
from PIL import Image, UnidentifiedImageError

_JPEG_SOI = b'\xff\xd8'  # start of image
_JPEG_EOI = b'\xff\xd9'  # end of image
_JPEG_SOS = b'\xff\xda'  # start of scan
_EXIF_ORIENTATION_TAG = 0x0112
#: EXIF orientations that turn the image by 90 or 270 degrees (width and height swap)
TRANSPOSING_ORIENTATIONS = (5, 6, 7, 8)


class ImageDecodeError(OSError):
    """An image file that exists but cannot be decoded (corrupt or truncated)."""


def jpeg_is_truncated(data: bytes) -> bool:
    """Whether ``data`` is a JPEG whose last scan has no end-of-image marker after it.

    In entropy-coded data a 0xFF byte is always followed by 0x00 or a restart marker, so
    0xFFD9 (EOI) and 0xFFDA (SOS) appear only as markers. A complete file has an EOI after
    its last SOS, possibly followed by padding or a trailer; a truncated one does not (an
    EXIF thumbnail's EOI comes before the main image's SOS). Non-JPEG data -> False.
    Cost: a backwards search that stops at the EOI, normally in the last bytes.
    """
    if not data.startswith(_JPEG_SOI):
        return False
    eoi = data.rfind(_JPEG_EOI)
    return eoi < 0 or data.find(_JPEG_SOS, eoi + 2) >= 0


def exif_orientation(data: bytes) -> int:
    """The EXIF ``Orientation`` tag of JPEG bytes (1..8); 1 (as stored) when absent,
    unreadable, or not a JPEG. Reads the header only."""
    if not data.startswith(_JPEG_SOI):
        return 1
    try:
        with Image.open(io.BytesIO(data)) as img:
            value = img.getexif().get(_EXIF_ORIENTATION_TAG, 1)
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        return 1
    return int(value) if isinstance(value, int) and 1 <= value <= 8 else 1


def decode_image(data: bytes, filename: str, flag: str = 'color',
                 channel_order: str = 'bgr', apply_exif_orientation: bool = False) -> np.ndarray:
    """``mmcv.imfrombytes`` that raises :class:`ImageDecodeError` naming ``filename``
    instead of returning ``None`` or a half-grey image.

    ``flag='color'`` gives (H, W, 3) uint8 for 8- or 16-bit, grey, RGB or RGBA files
    (alpha dropped, 16-bit values divided by 256); ``'unchanged'`` keeps the file's
    channels and dtype (e.g. (H, W, 4) RGBA, (H, W) grey, uint16). The pixels are
    returned as stored unless ``apply_exif_orientation`` (module docstring).
    """
    if not apply_exif_orientation and flag in ('color', 'grayscale'):
        flag = f'{flag}_ignore_orientation'
    # mmcv's cv2 path converts to RGB only for its plain 'color' flag: convert here
    to_rgb = flag == 'color_ignore_orientation' and channel_order == 'rgb'

    if jpeg_is_truncated(data):
        raise ImageDecodeError(f'truncated JPEG file {filename} ({len(data)} bytes, no '
                               'end-of-image marker after the last scan); re-download or '
                               're-encode it')
    img = None
    if data:
        try:
            img = mmcv.imfrombytes(data, flag=flag,
                                   channel_order='bgr' if to_rgb else channel_order)
        except Exception as e:  # pillow / turbojpeg backends raise instead of returning None
            raise ImageDecodeError(f'cannot decode image file {filename}: {e}') from e
    if img is None:
        raise ImageDecodeError(f'cannot decode image file {filename} ({len(data)} bytes; '
                               'corrupt or not an image)')
    return mmcv.bgr2rgb(img) if to_rgb else img


def read_image(path: str, apply_exif_orientation: bool = False) -> np.ndarray:
    """(H, W, 3) uint8 BGR pixels of the image file ``path``, decoded as the training
    pipeline's loading step decodes them (as stored unless ``apply_exif_orientation``), so
    inference and drawing see the pixels the boxes were annotated on."""
    with open(path, 'rb') as f:
        data = f.read()
    return decode_image(data, path, apply_exif_orientation=apply_exif_orientation)
