"""Start the tools' Python processes from one interpreter that imported torch already.

Every ``python tools/...`` a test runs spends about 3.4 s of CPU importing torch,
torchvision, mmengine and mmssd before the tool does anything; the suite starts such a
process about a hundred times. A fork server imports them once per test process and forks
a child for each command instead: the child takes the command's standard streams, working
directory and environment, reseeds the random generators, and runs the script (or ``-c``
code, or ``-`` from stdin) as ``__main__``, as a new interpreter would, then reports its
exit status.

The entry point is a ``python`` executable (:func:`python_shim`): a small script, started
without ``site`` (fast), that hands its command and file descriptors to the server over a
Unix socket and exits with the child's status. It replaces a new interpreter only where
one is not needed: other interpreter options (``-m``, ``-u``, ...), a server that is not
running, or a child whose ``PYTHONPATH`` differs from the server's make it run the real
interpreter (``os.execv``), so a command always runs.

What a forked child does not repeat is the import itself: a warning printed while torch or
mmssd is imported is printed once by the server, not by each command. Tests that check a
tool's whole output for such warnings run it with ``fresh=True``
(:func:`tests.helpers.tools.run_tool`).
"""
from __future__ import annotations

import atexit
import json
import os
import random
import runpy
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

#: The modules the server imports once: what every tool imports anyway.
PRELOAD = ('torch', 'torchvision', 'numpy', 'cv2', 'mmengine.runner', 'mmcv', 'mmssd.apis')
#: How often (s) the server checks that the test process that started it still runs.
PARENT_CHECK = 5.0
#: Longest wait (s) for the server's imports on a busy machine.
SERVER_START = 120.0

#: Files whose frames a command's traceback leaves out (the server's, not the command's).
_OWN_FRAMES = (__file__, runpy.__file__, '<frozen runpy>')

SHIM = '''#!{python} -S
# `python` for the tests: runs the command in a child of the fork server, or execs the
# real interpreter (tests/helpers/fork_server.py)
import json, os, socket, sys
REAL, SOCKET = {python!r}, {socket!r}
args = sys.argv[1:]
if not args or (args[0].startswith('-') and args[0] not in ('-c', '-')):
    os.execv(REAL, [REAL, *args])
try:
    conn = socket.socket(socket.AF_UNIX)
    conn.connect(SOCKET)
except OSError:
    os.execv(REAL, [REAL, *args])
request = json.dumps(dict(args=args, cwd=os.getcwd(), env=dict(os.environ))).encode()
socket.send_fds(conn, [len(request).to_bytes(8, 'big') + request], [0, 1, 2])
reply = b''
while chunk := conn.recv(64):
    reply += chunk
sys.exit(int(reply) if reply else 255)
'''


def _receive(conn: socket.socket) -> tuple[dict, list[int]]:
    """A request: the length-prefixed JSON and the three standard-stream descriptors."""
    data, fds, _, _ = socket.recv_fds(conn, 1 << 16, 3)
    size = int.from_bytes(data[:8], 'big')
    data = data[8:]
    while len(data) < size:
        chunk = conn.recv(size - len(data))
        if not chunk:
            raise ConnectionError('the client left before sending its request')
        data += chunk
    return json.loads(data), fds


def _exit_code(error: SystemExit) -> int:
    """The status a new interpreter would exit with on ``SystemExit``."""
    if error.code is None:
        return 0
    if isinstance(error.code, int):
        return error.code
    print(error.code, file=sys.stderr)
    return 1


def _run_command(args: list[str]) -> int:
    """Run ``python ARGS`` in this (forked) process; its exit status."""
    try:
        if args[0] in ('-c', '-'):
            code = args[1] if args[0] == '-c' else sys.stdin.read()
            sys.argv = [args[0], *args[2 if args[0] == '-c' else 1:]]
            sys.path[0] = ''
            exec(compile(code, '<string>' if args[0] == '-c' else '<stdin>', 'exec'),
                 {'__name__': '__main__', '__builtins__': __builtins__})
        else:
            sys.argv = list(args)
            sys.path[0] = os.path.dirname(os.path.abspath(args[0]))
            runpy.run_path(args[0], run_name='__main__')
        return 0
    except SystemExit as error:
        return _exit_code(error)
    except BaseException as error:  # noqa: BLE001 (what the interpreter prints and exits with)
        frames = error.__traceback__
        while frames is not None and frames.tb_frame.f_code.co_filename in _OWN_FRAMES:
            frames = frames.tb_next  # the traceback starts in the command, as it would
        traceback.print_exception(type(error), error, frames)
        return 1


def _child(conn: socket.socket, request: dict, fds: list[int]) -> None:
    """The forked child: take the command's streams, directory and environment, run it,
    report the exit status, exit."""
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)  # the command may wait for its children
    for target, fd in enumerate(fds):
        os.dup2(fd, target)
        os.close(fd)
    os.chdir(request['cwd'])
    args, env = request['args'], request['env']
    if env.get('PYTHONPATH') != os.environ.get('PYTHONPATH'):
        os.execve(sys.executable, [sys.executable, *args], env)  # another sys.path
    os.environ.clear()
    os.environ.update(env)
    import numpy as np
    import torch
    random.seed()
    np.random.seed()
    torch.seed()
    if env.get('OMP_NUM_THREADS', '').isdigit():
        torch.set_num_threads(int(env['OMP_NUM_THREADS']))
    status = _run_command(args)
    try:
        atexit._run_exitfuncs()  # as at the end of an interpreter: logging's flush, ...
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        conn.sendall(str(status).encode())
        os._exit(status)


def serve(socket_path: str) -> None:
    """Import :data:`PRELOAD`, then fork a child for each request on ``socket_path`` until
    the process that started the server ends."""
    import importlib
    for name in PRELOAD:
        importlib.import_module(name)
    parent = os.getppid()
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children are reaped by the system
    server = socket.socket(socket.AF_UNIX)
    server.bind(socket_path)
    server.listen(16)
    server.settimeout(PARENT_CHECK)
    while os.getppid() == parent:
        try:
            conn, _ = server.accept()
        except TimeoutError:
            continue
        conn.settimeout(None)
        request, fds = _receive(conn)
        if os.fork() == 0:
            server.close()
            _child(conn, request, fds)
        conn.close()
        for fd in fds:
            os.close(fd)


_shim: Path | None = None


def python_shim() -> Path:
    """The ``python`` executable of this test process's fork server (started on the first
    call, stopped when the process exits), in a folder of its own (for ``PATH``)."""
    global _shim
    if _shim is not None:
        return _shim
    folder = Path(tempfile.mkdtemp(prefix='mmssd_fork_server_'))
    socket_path = folder / 'server.sock'
    from tests.helpers.tools import single_thread_env
    server = subprocess.Popen([sys.executable, __file__, str(socket_path)],
                              env=single_thread_env(), stdin=subprocess.DEVNULL)
    atexit.register(server.kill)
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    deadline = time.monotonic() + SERVER_START
    while not socket_path.exists():  # listening once its imports are done
        if server.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f'the fork server did not start (exit status {server.poll()})')
        time.sleep(0.05)
    shim = folder / 'bin' / 'python'
    shim.parent.mkdir()
    shim.write_text(SHIM.format(python=sys.executable, socket=str(socket_path)))
    shim.chmod(0o755)
    _shim = shim
    return shim


if __name__ == '__main__':
    serve(sys.argv[1])
