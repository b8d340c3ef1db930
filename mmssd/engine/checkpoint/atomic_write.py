"""Local file writes that never leave a half-written file behind.

mmengine writes checkpoints and dumped configs through its ``LocalBackend.put`` /
``put_text``, which open the destination itself: a process killed mid-write leaves a
truncated ``epoch_N.pth`` that ``--auto-resume`` would then pick. Here the bytes go to a
temporary file in the same folder, are flushed to disk, and replace the destination in one
``os.replace`` (atomic on POSIX and Windows). A failed write (disk full, interrupt) removes
the temporary file and leaves the destination as it was; a full disk is reported as
:class:`DiskFullError`, naming the file and its size.
"""
from __future__ import annotations

import errno
import os
import os.path as osp
import tempfile
from pathlib import Path

import mmengine
from mmengine.fileio import LocalBackend, io, register_backend

#: errno values that mean "no room left": the disk, or the user's quota, is full.
DISK_FULL_ERRNOS = (errno.ENOSPC, errno.EDQUOT)


class DiskFullError(OSError):
    """The disk (or quota) filled up while a file was written; nothing was written.

    Keeps the ``errno`` (``ENOSPC`` or ``EDQUOT``) and the ``filename`` of the failure, so
    code that checks ``OSError.errno`` still sees the disk-full error; ``str()`` is the
    message alone.
    """

    def __str__(self) -> str:
        return str(self.strerror)


def write_atomically(data: bytes, filepath: str | Path) -> None:
    """Write ``data`` to ``filepath`` so that readers see the old file or the whole new one.

    Raises:
        DiskFullError: the disk or quota filled up; ``filepath`` is unchanged and no
            temporary file is left. The message names the file and ``len(data)``.
        OSError: any other write failure (same guarantees).
    """
    filepath = str(filepath)
    directory = osp.dirname(osp.abspath(filepath))
    mmengine.mkdir_or_exist(directory)
    tmp_path = None
    try:
        fd, tmp_path = tempfile.mkstemp(prefix=f'.{osp.basename(filepath)}.', suffix='.part',
                                        dir=directory)
        with os.fdopen(fd, 'wb') as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp_path, filepath)
    except BaseException as error:
        if tmp_path is not None and osp.exists(tmp_path):
            os.remove(tmp_path)
        if isinstance(error, OSError) and error.errno in DISK_FULL_ERRNOS:
            raise DiskFullError(error.errno, disk_full_message(filepath, len(data), error),
                                filepath) from error
        raise


def disk_full_message(filepath: str, num_bytes: int, error: OSError) -> str:
    """What :class:`DiskFullError` says: the disk is full, the file and its size."""
    reason = error.strerror or os.strerror(error.errno)
    kept = 'its previous version is unchanged' if osp.isfile(filepath) else 'it was not created'
    return (f'the disk is full: writing {filepath} ({num_bytes} bytes) failed with '
            f'"{reason}"; {kept} and no partial file was left')


class AtomicLocalBackend(LocalBackend):
    """mmengine's ``LocalBackend`` with atomic ``put`` and ``put_text``."""

    def put(self, obj: bytes, filepath: str | Path) -> None:
        write_atomically(obj, filepath)

    def put_text(self, obj: str, filepath: str | Path, encoding: str = 'utf-8') -> None:
        write_atomically(obj.encode(encoding), filepath)


def install_atomic_local_backend() -> None:
    """Make ``AtomicLocalBackend`` mmengine's backend for local paths (idempotent)."""
    register_backend('local', AtomicLocalBackend, force=True, prefixes='')
    for key in [k for k, v in io.backend_instances.items() if type(v) is LocalBackend]:
        del io.backend_instances[key]
