"""SIGTERM and Ctrl-C stop a training run at once, with a message and no partial file.

Python's default SIGTERM action ends the process where it stands, so a checkpoint being
written would leave its temporary ``.part`` file behind. Inside :func:`stop_on_signals`
both signals raise :class:`TrainingInterrupted` instead, which unwinds the run: writes in
progress remove their temporary file (:mod:`mmssd.engine.checkpoint.atomic_write`) and
``last_checkpoint`` / ``latest.pth`` keep naming the newest complete checkpoint, where
``--auto-resume`` continues.
"""
from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

#: Signals that stop a run (``kill PID``, ``scancel``, ``docker stop``; Ctrl-C).
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


class TrainingInterrupted(KeyboardInterrupt):
    """A run stopped by a signal. A ``KeyboardInterrupt``, so DataLoader workers (which
    inherit the handler) exit quietly as they do on Ctrl-C.

    Attributes:
        signum: the signal received; a tool exits with ``128 + signum`` as shells do.
    """

    def __init__(self, signum: int, message: str | None = None) -> None:
        self.signum = signum
        super().__init__(message or f'stopped by {signal.Signals(signum).name}')


def _raise_interrupted(signum: int, frame: object) -> None:
    raise TrainingInterrupted(signum)


@contextmanager
def stop_on_signals(signals: tuple[int, ...] = STOP_SIGNALS) -> Iterator[None]:
    """Within the block, ``signals`` raise :class:`TrainingInterrupted` in the main thread;
    the previous handlers come back afterwards. Outside the main thread (where Python
    cannot set handlers) it does nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {s: signal.signal(s, _raise_interrupted) for s in signals}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


def interruption_message(signum: int, work_dir: str, epoch: int, iteration: int) -> str:
    """What a stopped run says: where it stopped, what is on disk, how to continue.

    Args:
        signum: the signal that stopped it.
        work_dir: the run's folder (``last_checkpoint`` there names the newest checkpoint).
        epoch: epochs completed when it stopped.
        iteration: iterations completed when it stopped.
    """
    last = Path(work_dir) / 'last_checkpoint'
    newest = last.read_text().strip() if last.is_file() else None
    where = (f'the newest complete checkpoint is {newest}; continue from it with '
             '--auto-resume (same config and --work-dir)' if newest else
             'no checkpoint had been saved yet')
    return (f'training stopped by {signal.Signals(signum).name} after {epoch} epochs '
            f'({iteration} iterations); no partial file was left, {where}')
