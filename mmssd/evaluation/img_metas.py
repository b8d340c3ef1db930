"""Reading the per-image metas of a test batch."""
from __future__ import annotations

from collections.abc import Sequence


def first_aug_metas(img_metas: Sequence) -> list[dict]:
    """Per-image metas of a batch: ``img_metas`` is a list of B dicts, or (test-time aug)
    a list over augmentations of such lists, of which the first is used -> B dicts."""
    if len(img_metas) > 0 and isinstance(img_metas[0], (list, tuple)):
        return list(img_metas[0])
    return list(img_metas)
