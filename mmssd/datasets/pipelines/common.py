"""Small helpers shared by the pipeline transforms."""
from __future__ import annotations

#: Label key that goes with each box key (boxes and labels are filtered together).
BBOX2LABEL = {'gt_bboxes': 'gt_labels', 'gt_bboxes_ignore': 'gt_labels_ignore'}


def check_single_img_field(results: dict, name: str) -> None:
    """Raise unless the results hold one image, under ``img``."""
    if results.get('img_fields', ['img']) != ['img']:
        raise ValueError(f"{name} supports only img_fields == ['img']; "
                         f"got {results['img_fields']}")
