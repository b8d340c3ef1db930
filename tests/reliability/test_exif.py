"""JPEGs with an EXIF orientation tag: the boxes stay on the pixels the model sees.

mmssd decodes the stored pixels (the frame annotation tools usually draw in); with
``apply_exif_orientation=True`` it turns them, for boxes drawn on the turned view. A
90-degree tag whose turned size is the annotated one, under the wrong setting, is an
error naming the file.
"""
from __future__ import annotations

import io
import json

import numpy as np
import pytest
from PIL import Image

from mmssd.datasets import CocoDataset

STORED_W, STORED_H = 80, 48
#: the object in the stored pixels, COCO [x, y, w, h]
STORED_BOX = [10, 8, 24, 16]
OBJECT = (250, 20, 20)  # RGB

PIPELINE = [dict(type='LoadImageFromFile'), dict(type='LoadAnnotations', with_bbox=True),
            dict(type='Resize', img_scale=(160, 160), keep_ratio=True)]


def stored_pixels() -> np.ndarray:
    """(H, W, 3) RGB: grey with the red object at ``STORED_BOX``."""
    img = np.full((STORED_H, STORED_W, 3), 90, np.uint8)
    x, y, w, h = STORED_BOX
    img[y:y + h, x:x + w] = OBJECT
    return img


def write(root, orientation: int, box: list[float], size: tuple[int, int]):
    """One JPEG of :func:`stored_pixels` tagged ``orientation``, annotated with ``box``
    in an image of ``size`` (width, height)."""
    (root / 'imgs').mkdir(parents=True, exist_ok=True)
    exif = Image.Exif()
    exif[0x0112] = orientation
    buf = io.BytesIO()
    Image.fromarray(stored_pixels()).save(buf, 'JPEG', quality=95, exif=exif.tobytes())
    (root / 'imgs/turned.jpg').write_bytes(buf.getvalue())
    ann = {'images': [{'id': 1, 'file_name': 'turned.jpg', 'width': size[0],
                       'height': size[1]}],
           'annotations': [{'id': 1, 'image_id': 1, 'category_id': 1, 'bbox': box,
                            'area': box[2] * box[3], 'iscrowd': 0}],
           'categories': [{'id': 1, 'name': 'obj'}]}
    (root / 'ann.json').write_text(json.dumps(ann))


def load(root, **load_args) -> dict:
    pipeline = [dict(PIPELINE[0], **load_args), *PIPELINE[1:]]
    dataset = CocoDataset(ann_file=str(root / 'ann.json'), img_prefix=str(root / 'imgs'),
                          pipeline=pipeline, classes=('obj',))
    return dataset[0]


def assert_box_on_object(results: dict) -> None:
    """The (resized) box covers the red pixels and nothing but them, to a pixel."""
    img = results['img']  # BGR
    red = (img[..., 2] > 180) & (img[..., 1] < 90)
    ys, xs = np.nonzero(red)
    found = np.array([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1], np.float32)
    np.testing.assert_allclose(results['gt_bboxes'][0], found, atol=2.0)


@pytest.mark.parametrize('orientation', [3, 6, 8])
def test_stored_pixels_by_default(tmp_path, orientation):
    write(tmp_path, orientation, STORED_BOX, (STORED_W, STORED_H))
    results = load(tmp_path)
    assert results['ori_shape'][:2] == (STORED_H, STORED_W)
    assert_box_on_object(results)


def test_turned_view_with_apply_exif_orientation(tmp_path):
    # orientation 6: the viewer turns the stored pixels 90 degrees clockwise, so a
    # stored (x, y) shows at (STORED_H - 1 - y, x)
    x, y, w, h = STORED_BOX
    turned_box = [STORED_H - y - h, x, h, w]
    write(tmp_path, 6, turned_box, (STORED_H, STORED_W))
    results = load(tmp_path, apply_exif_orientation=True)
    assert results['ori_shape'][:2] == (STORED_W, STORED_H)
    assert_box_on_object(results)


@pytest.mark.parametrize('apply, size', [(False, (STORED_H, STORED_W)),
                                         (True, (STORED_W, STORED_H))])
def test_size_of_the_other_frame_names_the_file(tmp_path, apply, size):
    write(tmp_path, 6, STORED_BOX, size)
    with pytest.raises(ValueError, match=(
            rf'image {tmp_path}/imgs/turned\.jpg: its annotation gives width x height '
            rf'{size[0]} x {size[1]}, .*EXIF orientation 6.*'
            rf'Set LoadImageFromFile\(apply_exif_orientation={not apply}\)')):
        load(tmp_path, apply_exif_orientation=apply)


@pytest.mark.parametrize('orientation', [6, 8])
def test_inference_and_drawing_see_the_training_pixels(tmp_path, orientation):
    """inference_detector's loading and the drawing tools read the file as training does
    (stored pixels), so drawn boxes land on the objects they were annotated on."""
    from mmssd.apis.inference import load_image
    from mmssd.visualization.draw_boxes import draw_result

    write(tmp_path, orientation, STORED_BOX, (STORED_W, STORED_H))
    path = str(tmp_path / 'imgs/turned.jpg')
    trained_on = load(tmp_path)
    loaded = load_image(path)
    assert loaded['ori_shape'][:2] == (STORED_H, STORED_W) == trained_on['ori_shape'][:2]
    drawn = draw_result(path, [np.zeros((0, 5), np.float32)], ('obj',))
    assert drawn.shape[:2] == (STORED_H, STORED_W)
    np.testing.assert_array_equal(drawn, loaded['img'])
