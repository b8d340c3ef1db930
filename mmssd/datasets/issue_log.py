"""``IssueLog``: counts annotation problems found while loading, for one warning per dataset.

A dataset parses all its annotations at init. Every problem that it fixes or skips
(a box dropped, an object of an unknown class, ...) is counted here under a key, with
the place it was first seen, so that the dataset emits one aggregated
:class:`AnnotationWarning` instead of one per object, and never stays silent.
"""
from __future__ import annotations

import warnings
from collections import Counter


class AnnotationWarning(UserWarning):
    """Something in the annotations was skipped or fixed at load time."""


class IssueLog:
    """Counts of issues by key, and where each key (and any key) was first seen.

    ``where`` strings name the offending file or image, e.g. ``'.../Annotations/5.xml'``
    or ``"image id 7 ('a.jpg') in ann.json"``.
    """

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.first: dict[str, str] = {}
        self.first_any: str | None = None

    def add(self, key: str, where: str, n: int = 1) -> None:
        """Count ``n`` occurrences of ``key`` at ``where`` (nothing when ``n <= 0``)."""
        if n <= 0:
            return
        self.counts[key] += n
        self.first.setdefault(key, where)
        if self.first_any is None:
            self.first_any = where

    def total(self) -> int:
        return sum(self.counts.values())

    def __bool__(self) -> bool:
        return self.total() > 0

    def as_dict(self) -> dict[str, int]:
        """``{key: count}``, most frequent first (ties in first-seen order)."""
        return dict(self.counts.most_common())

    def itemized(self) -> str:
        """``'3 <key> (first in <where>); 1 <key> (first in <where>)'``."""
        return '; '.join(f'{n} {key} (first in {self.first[key]})'
                         for key, n in self.counts.most_common())


def warn_annotations(message: str) -> None:
    """Emit ``message`` as an :class:`AnnotationWarning` attributed to the dataset's caller."""
    warnings.warn(message, AnnotationWarning, stacklevel=3)
