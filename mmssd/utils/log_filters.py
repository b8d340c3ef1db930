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

Hidden printed lines (mmengine calls ``print_log(msg, logger=None)``, which prints):

* :data:`CHECKPOINT_LOADER_NOTE`: ``CheckpointLoader.load_checkpoint`` prints the path
  and backend of every checkpoint it loads. :class:`mmssd.engine.runner.DetRunner`
  (``load_checkpoint``) drops that line, and only that line, while it loads: the runner
  logs ``Load checkpoint from ...`` itself. ``init_detector`` passes a logger instead.

Hidden Python warnings: none; a demo run raises none. Should one be needed, it goes here
as a ``warnings.filterwarnings('ignore', message=EXACT_REGEX, category=CATEGORY)`` with
its reason, never as a bare ``ignore``.
"""
from __future__ import annotations

import io
import logging
import re
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, redirect_stdout
from typing import TextIO

#: mmengine's two notes when ``FileClient.infer_client`` builds a local-disk client.
FILE_CLIENT_NOTES: tuple[re.Pattern[str], ...] = (
    re.compile(re.escape('"FileClient" will be deprecated in future. Please use io '
                         'functions in ') + r'\S+'),
    re.compile(re.escape('"HardDiskBackend" is the alias of "LocalBackend" and the former '
                         'will be deprecated in future.')),
)

#: mmengine's line for each checkpoint its ``CheckpointLoader`` loads.
CHECKPOINT_LOADER_NOTE = re.compile(r'Loads checkpoint by \w+ backend from path: .*')


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



class _LineFilter(io.TextIOBase):
    """A text stream that passes every complete line to ``target`` except those matching
    one of ``patterns`` whole."""

    def __init__(self, target: TextIO, patterns: tuple[re.Pattern[str], ...]) -> None:
        super().__init__()
        self.target, self.patterns, self.pending = target, patterns, ''

    def write(self, text: str) -> int:
        *lines, self.pending = (self.pending + text).split('\n')
        for line in lines:
            if not any(p.fullmatch(line) for p in self.patterns):
                self.target.write(line + '\n')
        return len(text)

    def flush(self) -> None:
        self.target.flush()


@contextmanager
def hidden_printed_lines(patterns: Iterable[re.Pattern[str]]) -> Iterator[None]:
    """Within the block, lines printed to stdout that match one of ``patterns`` whole
    are dropped; every other line (and an unfinished last one) still reaches stdout."""
    stream = _LineFilter(sys.stdout, tuple(patterns))
    try:
        with redirect_stdout(stream):
            yield
    finally:
        if stream.pending:
            stream.target.write(stream.pending)
        stream.flush()
