"""Work done once per test session and shared by every pytest-xdist worker.

With ``pytest -n auto`` each worker is its own process, so a ``scope='session'`` fixture
runs once per worker. :func:`once_per_session` builds a folder once for the whole session
instead: in a directory common to the workers (the parent of a worker's base temporary
directory), under a file lock, with a marker written when the build succeeded. A worker
that finds the marker reuses the folder; one that finds a failed build fails with that
build's error instead of building again.
"""
from __future__ import annotations

import os
import shutil
import traceback
from collections.abc import Callable
from pathlib import Path

import pytest
from filelock import FileLock

DONE = '.built'
FAILED = '.failed'


def session_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The folder all processes of this test session share: the session's base temporary
    directory, which holds each xdist worker's own (``popen-gw0``, ...)."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get('PYTEST_XDIST_WORKER') else base


def once_per_session(tmp_path_factory: pytest.TempPathFactory, name: str,
                     build: Callable[[Path], None]) -> Path:
    """The folder ``<session root>/shared/<name>``, made by ``build(folder)`` once per
    test session, whichever worker asks first; the others wait for it on a file lock.

    Args:
        tmp_path_factory: pytest's fixture of the asking test.
        name: the folder's name, one per kind of shared work.
        build: fills the (empty, existing) folder; an exception fails the asking test and
            every later one that asks for ``name``.

    Returns:
        The built folder.
    """
    folder = session_root(tmp_path_factory) / 'shared' / name
    folder.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(folder) + '.lock'):
        failed = folder.parent / f'{name}{FAILED}'
        if failed.exists():
            pytest.fail(f'the shared {name!r} failed to build in another test:\n'
                        f'{failed.read_text()}', pytrace=False)
        if not (folder / DONE).exists():
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir()
            try:
                build(folder)
            except (Exception, pytest.fail.Exception) as error:
                failed.write_text(''.join(traceback.format_exception(error))[-8000:])
                raise
            (folder / DONE).touch()
    return folder
