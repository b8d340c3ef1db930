"""Detections as the per-class numpy arrays the metrics read."""
from __future__ import annotations

import numpy as np
from torch import Tensor


def bbox2result(bboxes: Tensor, labels: Tensor, num_classes: int) -> list[np.ndarray]:
    """Split ``bboxes (n, 5)`` by ``labels (n,)`` into ``num_classes`` float32 ``(k, 5)`` arrays."""
    if bboxes.shape[0] == 0:
        return [np.zeros((0, 5), dtype=np.float32) for _ in range(num_classes)]
    bboxes_np = bboxes.detach().cpu().numpy().astype(np.float32, copy=False)
    labels_np = labels.detach().cpu().numpy()
    return [bboxes_np[labels_np == i, :] for i in range(num_classes)]
