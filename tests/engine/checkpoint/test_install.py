"""Importing mmssd leaves mmengine's checkpoint loaders and file backends alone; the entry
points' ``install_checkpointing()`` replaces them (weights-only loading, atomic writes)."""
from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

CHECK = textwrap.dedent('''
    import mmengine.runner.checkpoint as ckpt
    from mmengine.fileio import get_file_backend

    def state():
        loaders = ckpt.CheckpointLoader._schemes
        return (type(get_file_backend('/tmp/x.pth')).__name__,
                loaders[''].__module__, loaders['torchvision://'].__module__)

    before = state()
    import mmssd.apis, mmssd.datasets, mmssd.engine, mmssd.evaluation, mmssd.models
    from mmssd.utils import register_all_modules
    register_all_modules()
    imported = state()
    from mmssd.engine import install_checkpointing
    install_checkpointing()
    install_checkpointing()  # idempotent
    print(before, imported, state(), sep='\\n')
''')


@pytest.mark.slow  # a fresh interpreter importing all of mmssd: 5-17 s here
def test_import_changes_nothing_and_the_install_call_does():
    result = subprocess.run([sys.executable, '-c', CHECK], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    before, imported, installed = result.stdout.strip().splitlines()[-3:]
    mmengine = "('LocalBackend', 'mmengine.runner.checkpoint', 'mmengine.runner.checkpoint')"
    assert before == imported == mmengine
    assert installed == ("('AtomicLocalBackend', 'mmssd.engine.checkpoint.install', "
                         "'mmssd.engine.checkpoint.pretrained_weights')")
