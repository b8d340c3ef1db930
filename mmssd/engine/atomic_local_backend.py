"""Local file writes that never leave a half-written file behind.

mmengine writes checkpoints, ``last_checkpoint`` and dumped configs through its
``LocalBackend.put``/``put_text``, which open the destination itself: a process killed
mid-write leaves a truncated ``epoch_N.pth`` that ``--auto-resume`` would then pick. Here
the bytes go to a temporary file in the same folder, are flushed to disk, and replace the
destination in one ``os.replace`` (atomic on POSIX and Windows).
"""
from __future__ import annotations

import os
import os.path as osp
import tempfile
from pathlib import Path

import mmengine
from mmengine.fileio import LocalBackend, io, register_backend


def write_atomically(data: bytes, filepath: str | Path) -> None:
    """Write ``data`` to ``filepath`` so that readers see the old file or the whole new one."""
    filepath = str(filepath)
    directory = osp.dirname(osp.abspath(filepath))
    mmengine.mkdir_or_exist(directory)
    fd, tmp_path = tempfile.mkstemp(prefix=f'.{osp.basename(filepath)}.', suffix='.part',
                                    dir=directory)
    try:
        with os.fdopen(fd, 'wb') as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp_path, filepath)
    except BaseException:
        if osp.exists(tmp_path):
            os.remove(tmp_path)
        raise


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
