"""Boxes are drawn where they are, in their class colour, and survive a PNG round trip."""
import mmcv
import numpy as np
import pytest

from mmssd.visualization import class_palette, draw_boxes, draw_result


def test_palette_colours_are_distinct():
    colours = class_palette(80)
    assert len(set(colours)) == 80
    assert all(0 <= c <= 255 for colour in colours for c in colour)


def test_box_edges_carry_the_class_colour_after_png_round_trip(tmp_path):
    img = np.full((120, 160, 3), 128, np.uint8)
    boxes = np.array([[20, 40, 70, 100, 0.9], [90, 30, 150, 110, 0.8]], np.float32)
    out = draw_boxes(img, boxes, np.array([0, 1]), ('a', 'b'), thickness=1)
    path = tmp_path / 'boxes.png'
    mmcv.imwrite(out, str(path))
    drawn = mmcv.imread(str(path))
    assert drawn.shape == img.shape
    colours = class_palette(2)
    for (x1, y1, x2, y2, _), colour in zip(boxes.astype(int), colours, strict=True):
        # the bottom and right edges are never covered by the label
        assert (drawn[y2, x1 + 2:x2 - 2] == colour).all()
        assert (drawn[y1 + 20:y2, x2] == colour).all()
    # pixels away from every box are untouched
    assert (drawn[5:15, 5:15] == 128).all() and (drawn[112:, 75:85] == 128).all()
    assert (img == 128).all(), 'the input image must not be modified'


def test_score_threshold_and_empty_result():
    img = np.zeros((50, 50, 3), np.uint8)
    result = [np.array([[5, 5, 20, 20, 0.1]], np.float32), np.zeros((0, 5), np.float32)]
    assert (draw_result(img, result, ('a', 'b'), score_thr=0.5) == 0).all()
    assert (draw_result(img, result, ('a', 'b'), score_thr=0.05) != 0).any()
    assert (draw_boxes(img, np.zeros((0, 4)), np.zeros(0), ('a',)) == 0).all()


def test_mismatched_boxes_and_labels_are_rejected():
    with pytest.raises(ValueError, match='2 boxes but 1 labels'):
        draw_boxes(np.zeros((9, 9, 3), np.uint8), np.zeros((2, 4)), np.zeros(1), ('a',))


def test_proposals_are_drawn_as_one_class():
    img = np.full((60, 60, 3), 128, np.uint8)
    proposals = np.array([[5, 5, 30, 50, 0.9], [20, 10, 55, 40, 0.8]], np.float32)
    out = draw_result(img, proposals, ('a', 'b', 'c'), score_thr=0.5, thickness=1)
    colour = class_palette(1)[0]
    for x1, _, x2, y2, _ in proposals.astype(int):
        assert (out[y2, x1 + 2:x2 - 2] == colour).all()  # both in the first class colour
