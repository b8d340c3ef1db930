"""``skip_bad_images``: count the unreadable training images a dataset skipped, across
DataLoader worker processes, and warn once.

The counter lives in shared memory (``multiprocessing.Value``), created with the
dataset before the workers start: every worker adds to the same number, and only the
first skip of the whole run warns, naming that file.
"""
from __future__ import annotations

import multiprocessing
import warnings


class BadImageWarning(UserWarning):
    """A training image could not be read or decoded and was replaced by another."""


class BadImageLog:
    """Shared count of skipped images; one :class:`BadImageWarning` at the first.

    Args:
        owner: the dataset's name, for the warning.
    """

    def __init__(self, owner: str) -> None:
        self.owner = owner
        self._count = multiprocessing.Value('q', 0)

    @property
    def count(self) -> int:
        """Images skipped so far, by all processes that share this log."""
        return int(self._count.value)

    def record(self, filename: str, error: BaseException) -> None:
        """Count one skipped image; warn if it is the first one."""
        with self._count.get_lock():
            self._count.value += 1
            first = self._count.value == 1
        if first:
            warnings.warn(
                f'{self.owner}: skipped unreadable image {filename} '
                f'({type(error).__name__}: {error}); with skip_bad_images=True every such '
                'training image is replaced by another of its aspect-ratio group, with this '
                'one warning (the dataset\'s num_skipped_images counts them)',
                BadImageWarning, stacklevel=3)

    def __deepcopy__(self, memo: dict) -> BadImageLog:
        """Copies share the counter (a ``Value`` cannot be deep-copied)."""
        return self
