"""bbox2roi / roi2bbox: the batch index column, order, score columns and empty images."""
import pytest
import torch

from mmssd.models.utils import bbox2roi, roi2bbox


def test_bbox2roi_prepends_the_image_index_in_order():
    first = torch.arange(12, dtype=torch.float32).view(3, 4)
    second = torch.arange(10, dtype=torch.float32).view(2, 5)  # a score column: dropped
    rois = bbox2roi([first, second[:0], second])
    assert rois.shape == (5, 5)
    assert rois[:, 0].tolist() == [0, 0, 0, 2, 2]
    assert torch.equal(rois[:3, 1:], first)
    assert torch.equal(rois[3:, 1:], second[:, :4])
    assert bbox2roi([torch.zeros(0, 5)]).shape == (0, 5)
    with pytest.raises(ValueError, match='at least one image'):
        bbox2roi([])


def test_roi2bbox_inverts_bbox2roi():
    boxes = [torch.rand(3, 4), torch.zeros(0, 4), torch.rand(2, 4)]
    rois = bbox2roi(boxes)
    present = roi2bbox(rois)  # mmdetection: only the images that have RoIs
    assert len(present) == 2
    assert torch.equal(present[0], boxes[0]) and torch.equal(present[1], boxes[2])
    every = roi2bbox(rois, num_images=3)
    assert [len(b) for b in every] == [3, 0, 2]
    assert all(torch.equal(a, b) for a, b in zip(every, boxes))
