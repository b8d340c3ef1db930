"""The one place where mmssd hides messages of its dependencies that a user cannot act on.

Every message mmssd can avoid is avoided at its cause (metrics set their ``prefix``, the
runner logs a truthful environment header, checkpoints are loaded through a logger). What
remains comes from inside a dependency and is hidden here, precisely: by the exact text of
the message and its level (log records) or category (Python warnings), and only around the
call that causes it. Nothing is ignored globally and stderr is never redirected.

Hidden log records (mmengine logs these through ``print_log``, not ``warnings.warn``):

* :data:`FILE_CLIENT_NOTES`: mmengine 0.10's ``CheckpointHook.before_train`` and
  ``save_checkpoint`` always build a deprecated ``FileClient`` (kept "to avoid breaking
  backward compatibility"), even when ``file_client_args`` is ``None`` and the client is
  never used; its constructor logs that ``FileClient`` and ``HardDiskBackend`` will be
  deprecated. :class:`mmssd.engine.LatestCheckpointHook` (``before_train``) and
  :class:`mmssd.engine.runner.DetRunner` (``save_checkpoint``) hide these two records
  during those calls only, and only when ``file_client_args`` is ``None``, on the logger
  mmengine's ``print_log(logger='current')`` writes to (``MMLogger.get_current_instance()``).

Hidden Python warnings: none; a demo run raises none. Should one be needed, it goes here
as a ``warnings.filterwarnings('ignore', message=EXACT_REGEX, category=CATEGORY)`` with
its reason, never as a bare ``ignore``.
"""
from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

#: mmengine's two notes when ``FileClient.infer_client`` builds a local-disk client.
FILE_CLIENT_NOTES: tuple[re.Pattern[str], ...] = (
    re.compile(re.escape('"FileClient" will be deprecated in future. Please use io '
                         'functions in ') + r'\S+'),
    re.compile(re.escape('"HardDiskBackend" is the alias of "LocalBackend" and the former '
                         'will be deprecated in future.')),
)


class MessageFilter(logging.Filter):
    """Drops the records of level ``level`` whose whole message matches one of
    ``patterns``; every other record passes."""

    def __init__(self, patterns: Iterable[re.Pattern[str]], level: int = logging.WARNING):
        super().__init__()
        self.patterns = tuple(patterns)
        self.level = level

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno != self.level:
            return True
        message = record.getMessage()
        return not any(p.fullmatch(message) for p in self.patterns)


@contextmanager
def hidden_log_messages(logger: logging.Logger, patterns: Iterable[re.Pattern[str]],
                        level: int = logging.WARNING) -> Iterator[MessageFilter]:
    """Within the block, ``logger`` drops the records of ``level`` whose whole message
    matches one of ``patterns`` (see :class:`MessageFilter`)."""
    message_filter = MessageFilter(patterns, level)
    logger.addFilter(message_filter)
    try:
        yield message_filter
    finally:
        logger.removeFilter(message_filter)

