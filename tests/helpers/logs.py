"""What mmengine's ``print_log(..., logger='current')`` logs, read from the logger itself.

Its handlers write to the stream that was ``sys.stdout`` when the logger was made; in a
pytest worker that may be an earlier test's capture, so ``capsys`` cannot be relied on.
"""
from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from mmengine.logging import MMLogger


@contextmanager
def current_log_messages(level: int = logging.WARNING) -> Iterator[list[str]]:
    """The messages of at least ``level`` that the current ``MMLogger`` receives inside the
    ``with`` block (make the runner, if any, before entering it: it sets the current one)."""
    logger = MMLogger.get_current_instance()
    seen: list[str] = []
    handler = logging.Handler(level)
    handler.emit = lambda record: seen.append(record.getMessage())
    logger.addHandler(handler)
    try:
        yield seen
    finally:
        logger.removeHandler(handler)
