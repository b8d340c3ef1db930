"""The tutorials' commands run as written, so the docs stay true.

Each document's fenced ``bash`` blocks preceded by ``<!-- runs-in-test -->`` run in order,
with ``bash -e -o pipefail``, in a scratch copy of the repository layout (``configs/``
copied, ``tools/``, ``projects/`` and ``demo/`` linked) holding a small demo dataset at
``data/demo``: what the tutorials write (experiment configs, packages, work dirs) stays
out of the repository. Their ``python`` is the test process's fork server
(:mod:`tests.helpers.fork_server`), which runs each command as a new interpreter would
without importing torch again.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from mmssd.datasets.demo_shapes import make_demo_dataset
from tests.helpers.tools import REPO, python_shim, single_thread_env

MARKER = '<!-- runs-in-test -->'
BLOCK = re.compile(re.escape(MARKER) + r'\s*\n```bash\n(.*?)\n```', re.DOTALL)
DOCUMENTS = sorted((REPO / 'docs/tutorials').glob('*.md')) + [
    REPO / 'projects/example_neck/README.md']

pytestmark = pytest.mark.slow


def marked_blocks(path: Path) -> list[str]:
    """The marked bash blocks of a markdown file, in order."""
    return BLOCK.findall(path.read_text())


def test_every_tutorial_has_tested_commands():
    names = {p.name for p in DOCUMENTS}
    assert {'config_system.md', 'experiment_overrides.md', 'customize_models.md',
            'customize_datasets.md', 'customize_runtime.md', 'competition_recipe.md',
            'README.md'} <= names
    for path in DOCUMENTS:
        text = path.read_text()
        assert marked_blocks(path), f'{path} has no {MARKER} block'
        # a marker must sit right above a bash block, or that block would be skipped
        assert text.count(MARKER) == len(marked_blocks(path)), path


@pytest.fixture(scope='module')
def demo_data(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp('demo') / 'demo'
    make_demo_dataset(root, num_train=16, num_val=8, seed=0)
    return root


@pytest.mark.parametrize('document', DOCUMENTS, ids=lambda p: p.name)
def test_tutorial_commands_run(document: Path, demo_data: Path, tmp_path: Path):
    workspace = tmp_path / 'repo'
    workspace.mkdir()
    shutil.copytree(REPO / 'configs', workspace / 'configs')
    for linked in ('tools', 'projects', 'demo'):
        (workspace / linked).symlink_to(REPO / linked)
    (workspace / 'data').mkdir()
    (workspace / 'data/demo').symlink_to(demo_data)
    # `python` is the fork server's: each command starts without importing torch again
    env = single_thread_env(PATH=f'{python_shim().parent}{os.pathsep}{os.environ["PATH"]}')
    for i, block in enumerate(marked_blocks(document)):
        result = subprocess.run(['bash', '-e', '-o', 'pipefail', '-c', block], cwd=workspace,
                                env=env, capture_output=True, text=True)
        assert result.returncode == 0, (
            f'{document.name}, tested block {i + 1} failed:\n{block}\n--- stdout\n'
            f'{result.stdout[-3000:]}\n--- stderr\n{result.stderr[-5000:]}')
