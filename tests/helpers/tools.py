"""Running the repository's tools from tests: as a subprocess with one OpenMP thread, or
in-process as a module (no second interpreter start-up)."""
from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import ModuleType

REPO = Path(__file__).resolve().parents[2]


def python_shim() -> Path:
    """:func:`tests.helpers.fork_server.python_shim` (imported when first needed)."""
    from tests.helpers.fork_server import python_shim as shim
    return shim()


def single_thread_env(**extra: str) -> dict[str, str]:
    """The environment with one OpenMP (and MKL) thread per process, plus ``extra``.

    On a small machine shared with other processes, torch's default of one thread per
    core makes its threads wait on each other: an iteration of the demo model took
    0.5-4 s with two threads and 0.09 s with one.
    """
    return dict(os.environ, OMP_NUM_THREADS='1', MKL_NUM_THREADS='1', **extra)


def run_tool(args: Sequence[str | os.PathLike], *, cwd: Path = REPO,
             env: Mapping[str, str] | None = None, check: bool = True,
             fresh: bool = False) -> subprocess.CompletedProcess:
    """``python ARGS`` (a script and its arguments, or ``-c CODE``) in ``cwd``.

    Args:
        args: what follows ``python`` on the command line.
        cwd: the working directory (the repository root by default).
        env: extra environment variables, over :func:`single_thread_env`.
        check: fail the test, with the output's tail, unless the exit status is 0.
        fresh: start a new interpreter, which prints what importing torch and mmssd
            prints; by default the command runs in a child of the test process's fork
            server (:mod:`tests.helpers.fork_server`), which imported them already.

    Returns:
        The finished process, its output captured as text.
    """
    python = sys.executable if fresh else str(python_shim())
    result = subprocess.run([python, *map(str, args)], cwd=cwd,
                            env=single_thread_env(**(env or {})), capture_output=True,
                            text=True)
    if check:
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-5000:]
    return result


def load_tool(relative_path: str) -> ModuleType:
    """The module of a script under ``tools/`` or ``demo/`` (not a package), e.g.
    ``load_tool('tools/analysis_tools/get_flops.py')``; each call executes it afresh."""
    path = REPO / relative_path
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
