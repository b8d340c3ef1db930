"""The hidden dependency messages: exact text and level only, and only inside the block."""
from __future__ import annotations

import logging

import pytest
import torch
from mmengine.fileio import FileClient

from mmssd.utils.log_filters import (
    CHECKPOINT_LOADER_NOTE,
    FILE_CLIENT_NOTES,
    MessageFilter,
    hidden_log_messages,
    hidden_printed_lines,
)

FILE_CLIENT = ('"FileClient" will be deprecated in future. Please use io functions in '
               'https://mmengine.readthedocs.io/en/latest/api/fileio.html#file-io')
HARD_DISK = ('"HardDiskBackend" is the alias of "LocalBackend" and the former will be '
             'deprecated in future.')


def record(message: str, level: int = logging.WARNING) -> logging.LogRecord:
    return logging.LogRecord('mmengine', level, __file__, 1, message, None, None)


@pytest.mark.parametrize('message', [FILE_CLIENT, HARD_DISK])
def test_the_notes_are_dropped_at_warning_level(message):
    assert not MessageFilter(FILE_CLIENT_NOTES).filter(record(message))


@pytest.mark.parametrize('message, level', [
    (FILE_CLIENT, logging.ERROR),                 # another level
    (HARD_DISK + ' And more.', logging.WARNING),  # the whole message must match
    ('x ' + FILE_CLIENT, logging.WARNING),
    ('"FileClient" will be deprecated', logging.WARNING),
    ('The prefix is not set in metric class CocoMetric.', logging.WARNING),
])
def test_everything_else_passes(message, level):
    assert MessageFilter(FILE_CLIENT_NOTES).filter(record(message, level))


def test_only_inside_the_block(caplog):
    logger = logging.getLogger('mmssd.test_log_filters')
    with caplog.at_level(logging.INFO, logger=logger.name):
        with hidden_log_messages(logger, FILE_CLIENT_NOTES):
            logger.warning(FILE_CLIENT)
            logger.warning('something else')
        assert logger.filters == []
        logger.warning(HARD_DISK)
    assert [r.getMessage() for r in caplog.records] == ['something else', HARD_DISK]


def test_patterns_match_what_this_mmengine_logs(caplog):
    """mmengine's own notes (built fresh: ``FileClient`` caches its clients) are hidden."""
    from mmengine.logging import MMLogger
    logger = MMLogger.get_current_instance()  # where mmengine's print_log sends them
    FileClient._instances.clear()
    seen = []
    handler = logging.Handler()
    handler.emit = lambda r: seen.append(r.getMessage())
    logger.addHandler(handler)
    try:
        FileClient.infer_client(None, '/tmp')
        assert seen == [FILE_CLIENT, HARD_DISK]  # the texts the patterns are written for
        seen.clear()
        FileClient._instances.clear()
        with hidden_log_messages(logger, FILE_CLIENT_NOTES):
            FileClient.infer_client(None, '/tmp')
        assert seen == []
    finally:
        logger.removeHandler(handler)


def test_printed_lines_dropped_only_when_they_match_whole(capsys):
    with hidden_printed_lines((CHECKPOINT_LOADER_NOTE,)):
        print('before')
        print('Loads checkpoint by local backend from path: /w/latest.pth')
        print('a note: Loads checkpoint by local backend from path: /x')  # not whole
        print('unfinished', end='')
    print(' after')
    assert capsys.readouterr().out == (
        'before\na note: Loads checkpoint by local backend from path: /x\nunfinished after\n')


def test_checkpoint_loader_note_is_what_this_mmengine_prints(tmp_path, capsys):
    """mmengine's loader, given no logger (as ``Runner.load_checkpoint`` calls it), prints
    the pattern's text; inside the block nothing reaches stdout."""
    from mmengine.runner.checkpoint import CheckpointLoader
    path = tmp_path / 'w.pth'
    torch.save({'state_dict': {}}, path)
    CheckpointLoader.load_checkpoint(str(path), 'cpu', None)
    printed = capsys.readouterr().out.splitlines()
    assert printed and all(CHECKPOINT_LOADER_NOTE.fullmatch(line) for line in printed)
    with hidden_printed_lines((CHECKPOINT_LOADER_NOTE,)):
        CheckpointLoader.load_checkpoint(str(path), 'cpu', None)
    assert capsys.readouterr().out == ''
