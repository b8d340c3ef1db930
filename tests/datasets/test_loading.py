"""LoadImageFromFile on bad input: missing, truncated, corrupt, grey, RGBA and 16-bit files."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from mmssd.datasets.pipelines import ImageDecodeError, jpeg_is_truncated
from mmssd.registry import TRANSFORMS


def load(root: Path, name: str, **kwargs) -> np.ndarray:
    transform = TRANSFORMS.build({'type': 'LoadImageFromFile', **kwargs})
    results = transform({'img_prefix': str(root), 'img_info': {'filename': name}})
    assert results['img_shape'] == results['ori_shape'] == results['img'].shape
    assert results['filename'] == str(root / name) and results['ori_filename'] == name
    return results['img']


def jpeg_bytes(h: int = 48, w: int = 64, seed: int = 0) -> bytes:
    rng = np.random.default_rng(seed)
    img = cv2.resize(rng.integers(0, 256, (6, 8, 3)).astype(np.uint8), (w, h))
    img = np.clip(img + rng.normal(0, 8, img.shape), 0, 255).astype(np.uint8)
    return cv2.imencode('.jpg', img, [cv2.IMWRITE_JPEG_QUALITY, 90])[1].tobytes()


def with_thumbnail(main: bytes, thumbnail: bytes) -> bytes:
    """``main`` with ``thumbnail`` (a whole JPEG, EOI included) in an APP1 segment, as EXIF
    thumbnails are stored."""
    payload = b'Exif\x00\x00' + thumbnail
    segment = b'\xff\xe1' + (len(payload) + 2).to_bytes(2, 'big') + payload
    return main[:2] + segment + main[2:]


def test_missing_file_names_the_path(tmp_path: Path):
    with pytest.raises(FileNotFoundError, match='missing.jpg') as info:
        load(tmp_path, 'missing.jpg')
    assert str(tmp_path / 'missing.jpg') in str(info.value)


@pytest.mark.parametrize('keep', [0.3, 0.6, 0.95, -2, -1])
def test_truncated_jpeg_is_an_error_naming_the_file(tmp_path: Path, keep: float):
    data = jpeg_bytes()
    cut = int(len(data) * keep) if keep > 0 else len(data) + keep
    (tmp_path / 'cut.jpg').write_bytes(data[:cut])
    with pytest.raises(ImageDecodeError, match='truncated') as info:
        load(tmp_path, 'cut.jpg')
    assert str(tmp_path / 'cut.jpg') in str(info.value)
    assert isinstance(info.value, OSError)


def test_jpeg_end_marker_check():
    data = jpeg_bytes()
    assert not jpeg_is_truncated(data)
    assert not jpeg_is_truncated(data + b'\x00' * 100)  # padding after the end marker
    assert not jpeg_is_truncated(data + b'vendor trailer ' * 50)
    assert jpeg_is_truncated(data[:-2]) and jpeg_is_truncated(data[:len(data) // 2])
    assert not jpeg_is_truncated(b'\x89PNG\r\n\x1a\n' + b'\x00' * 10)  # not a JPEG
    # an EXIF thumbnail's end marker does not make a truncated main image pass
    full = with_thumbnail(jpeg_bytes(), jpeg_bytes(8, 8, seed=1))
    assert cv2.imdecode(np.frombuffer(full, np.uint8), cv2.IMREAD_COLOR).shape == (48, 64, 3)
    assert not jpeg_is_truncated(full)
    assert jpeg_is_truncated(full[:-100])


def test_jpeg_with_trailing_padding_loads(tmp_path: Path):
    (tmp_path / 'padded.jpg').write_bytes(jpeg_bytes() + b'\x00' * 64)
    assert load(tmp_path, 'padded.jpg').shape == (48, 64, 3)


@pytest.mark.parametrize('content', [b'not an image', b'', b'\xff\xd8\xff\xd9',
                                     b'\x89PNG\r\n\x1a\n' + bytes(range(256)) * 4])
def test_corrupt_bytes_are_an_error_naming_the_file(tmp_path: Path, content: bytes):
    (tmp_path / 'bad.png').write_bytes(content)
    with pytest.raises(OSError, match='bad.png') as info:
        load(tmp_path, 'bad.png')
    assert str(tmp_path / 'bad.png') in str(info.value)


def test_truncated_png_is_an_error(tmp_path: Path):
    img = np.random.default_rng(0).integers(0, 256, (30, 40, 3)).astype(np.uint8)
    data = cv2.imencode('.png', img)[1].tobytes()
    (tmp_path / 'cut.png').write_bytes(data[:len(data) // 2])
    with pytest.raises(ImageDecodeError, match='cut.png'):
        load(tmp_path, 'cut.png')


def test_grayscale_png(tmp_path: Path):
    grey = np.arange(12 * 10, dtype=np.uint8).reshape(12, 10)
    cv2.imwrite(str(tmp_path / 'grey.png'), grey)
    color = load(tmp_path, 'grey.png')
    assert color.shape == (12, 10, 3) and color.dtype == np.uint8
    for c in range(3):
        np.testing.assert_array_equal(color[..., c], grey)
    np.testing.assert_array_equal(load(tmp_path, 'grey.png', color_type='unchanged'), grey)
    np.testing.assert_array_equal(load(tmp_path, 'grey.png', color_type='grayscale'), grey)


def test_rgba_png(tmp_path: Path):
    bgra = np.zeros((5, 7, 4), np.uint8)
    bgra[...] = (10, 20, 30, 0)  # fully transparent: the colour is still kept
    bgra[0, 0] = (1, 2, 3, 255)
    cv2.imwrite(str(tmp_path / 'rgba.png'), bgra)
    color = load(tmp_path, 'rgba.png')
    assert color.shape == (5, 7, 3) and color.dtype == np.uint8
    np.testing.assert_array_equal(color, bgra[..., :3])
    np.testing.assert_array_equal(load(tmp_path, 'rgba.png', channel_order='rgb'),
                                  bgra[..., 2::-1])
    np.testing.assert_array_equal(load(tmp_path, 'rgba.png', color_type='unchanged'), bgra)


def test_16bit_png(tmp_path: Path):
    """'color' gives uint8 (the high byte, value // 256), 'unchanged' the uint16 values."""
    bgr16 = (np.arange(4 * 6 * 3, dtype=np.uint16).reshape(4, 6, 3) * 900 + 77)
    cv2.imwrite(str(tmp_path / 'deep.png'), bgr16)
    color = load(tmp_path, 'deep.png')
    assert color.dtype == np.uint8 and color.shape == (4, 6, 3)
    np.testing.assert_array_equal(color, bgr16 // 256)
    unchanged = load(tmp_path, 'deep.png', color_type='unchanged')
    assert unchanged.dtype == np.uint16
    np.testing.assert_array_equal(unchanged, bgr16)
    as_float = load(tmp_path, 'deep.png', color_type='unchanged', to_float32=True)
    assert as_float.dtype == np.float32
    np.testing.assert_array_equal(as_float, bgr16.astype(np.float32))
    grey16 = np.array([[0, 1000], [40000, 65535]], np.uint16)
    cv2.imwrite(str(tmp_path / 'grey16.png'), grey16)
    np.testing.assert_array_equal(load(tmp_path, 'grey16.png')[..., 1], grey16 // 256)


def test_good_jpeg_loads_like_cv2(tmp_path: Path):
    data = jpeg_bytes()
    (tmp_path / 'ok.jpg').write_bytes(data)
    img = load(tmp_path, 'ok.jpg', to_float32=True)
    assert img.dtype == np.float32
    np.testing.assert_array_equal(img, cv2.imdecode(np.frombuffer(data, np.uint8), 1))


def test_truncated_jpeg_caught_before_decoding(tmp_path: Path, monkeypatch):
    """cv2 4.x decodes a truncated JPEG into a half-grey image without an error; the end
    marker check does not depend on the decoder."""
    import mmssd.datasets.pipelines.image_decoding as decoding
    monkeypatch.setattr(decoding.mmcv, 'imfrombytes',
                        lambda *args, **kwargs: np.full((48, 64, 3), 128, np.uint8))
    (tmp_path / 'cut.jpg').write_bytes(jpeg_bytes()[:-300])
    with pytest.raises(ImageDecodeError, match='truncated JPEG file .*cut.jpg'):
        load(tmp_path, 'cut.jpg')
