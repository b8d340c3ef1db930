"""The shared test harness itself (tests/helpers): work done once per session, benchmark
scripts imported by path, and the units of work the ``-n`` scheduler hands out."""
from __future__ import annotations

import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from tests.helpers.benchmarks import BENCHMARKS, load_benchmark
from tests.helpers.scheduling import GROUPS_FILE, SharedSetupScheduling, write_groups
from tests.helpers.shared import once_per_session


class FakeFactory:
    """What :func:`once_per_session` uses of ``tmp_path_factory``."""

    def __init__(self, base: Path) -> None:
        self.base = base

    def getbasetemp(self) -> Path:
        return self.base


def test_once_per_session_builds_once_and_shares(tmp_path: Path, monkeypatch):
    monkeypatch.delenv('PYTEST_XDIST_WORKER', raising=False)
    calls = []

    def build(folder: Path) -> None:
        calls.append(folder)
        (folder / 'out.txt').write_text('built')

    first = once_per_session(FakeFactory(tmp_path), 'thing', build)
    again = once_per_session(FakeFactory(tmp_path), 'thing', build)
    assert first == again == tmp_path / 'shared/thing' and len(calls) == 1
    assert (first / 'out.txt').read_text() == 'built'
    # an xdist worker's base folder is one level down: the workers share its parent
    monkeypatch.setenv('PYTEST_XDIST_WORKER', 'gw1')
    worker = once_per_session(FakeFactory(tmp_path / 'popen-gw1'), 'thing', build)
    assert worker == first and len(calls) == 1


def test_once_per_session_failure_is_reported_to_later_asks(tmp_path: Path, monkeypatch):
    monkeypatch.delenv('PYTEST_XDIST_WORKER', raising=False)

    def broken(folder: Path) -> None:
        raise RuntimeError('no data')

    with pytest.raises(RuntimeError, match='no data'):
        once_per_session(FakeFactory(tmp_path), 'broken', broken)
    with pytest.raises(pytest.fail.Exception, match=r"(?s)'broken' failed to build.*no data"):
        once_per_session(FakeFactory(tmp_path), 'broken', lambda folder: None)


def test_load_benchmark_by_path_shares_modules():
    path_before = list(sys.path)
    two_stage = load_benchmark('two_stage_models')  # imports bench_models by plain name
    assert sys.path == path_before  # the folder was on it for the import only
    assert Path(two_stage.__file__) == BENCHMARKS / 'two_stage_models.py'
    assert load_benchmark('bench_models') is sys.modules['bench_models']
    assert load_benchmark('two_stage_models') is two_stage
    with pytest.raises(ImportError, match='no benchmark script'):
        load_benchmark('no_such_benchmark')


def test_scheduler_units_follow_the_written_groups(tmp_path: Path):
    write_groups(tmp_path, {'a.py::t1': 'run', 'b.py::t2': 'run'})
    assert [p.name for p in tmp_path.iterdir()] == [GROUPS_FILE]
    config = SimpleNamespace(option=SimpleNamespace(tx=['popen'] * 2, dist='load',
                                                    loadscopereorder=True))
    scheduler = SharedSetupScheduling.__new__(SharedSetupScheduling)
    scheduler.folder, scheduler._groups, scheduler.config = tmp_path, None, config
    assert scheduler._split_scope('a.py::t1') == scheduler._split_scope('b.py::t2')
    assert scheduler._split_scope('a.py::t3') == 'a.py::t3'
