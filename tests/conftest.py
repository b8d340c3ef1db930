"""Fixtures every test folder may use, and the session's test order.

The trained demo models (``demo_run``, ``ssdlite_run``, ``faster_rcnn_run``,
``cascade_rcnn_run``, ``retinanet_run``, ``atss_run``, ``gfl_run``, ``yolox_run``,
``faster_rcnn_mosaic_run``;
:mod:`tests.helpers.trained` says what each is)
are trained once per test session, whatever the number of xdist workers, and shared by
the tests that need a model of that kind. A test parametrized over several of them asks
for ``trained_run`` with ``indirect=True`` and the fixture's name as the parameter.

With ``pytest -n auto`` (the README's command) the tests that share a trained model (or a
module-scoped fixture) run on one worker, so that no worker idles waiting for another's
training or repeats it, and the slow tests are sent first, so that no long test starts
last and runs alone (:mod:`tests.helpers.scheduling`).
"""
from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
import torch

from tests.helpers import trained
from tests.helpers.scheduling import SharedSetupScheduling, uses_module_fixture, write_groups
from tests.helpers.shared import once_per_session

if os.environ.get('PYTEST_XDIST_WORKER'):
    # `pytest -n auto` (the README's command): the workers share the machine's cores, so
    # one OpenMP thread each, also for the tools the tests start as subprocesses
    os.environ['OMP_NUM_THREADS'] = '1'
    torch.set_num_threads(1)

#: The shared trained runs: fixture name -> the function that trains it into a folder;
#: longest (training and the tests that use it) first, the order ``-n`` hands them out in.
TRAINED_RUNS: dict[str, Callable[[Path], None]] = {
    'cascade_rcnn_run': trained.train_cascade_rcnn_short,
    'ssdlite_run': trained.train_ssdlite_short,
    'faster_rcnn_run': trained.train_faster_rcnn_short,
    'retinanet_run': trained.train_retinanet_short,
    'yolox_run': trained.train_yolox_overfit,
    'demo_run': trained.train_demo_overfit,
    'fcos_run': trained.train_fcos_short,
    'atss_run': trained.train_atss_overfit,
    'gfl_run': trained.train_gfl_overfit,
    'faster_rcnn_mosaic_run': trained.train_faster_rcnn_mosaic_short,
}


@pytest.fixture
def torch_single_thread():
    """Run the test with one torch thread (see :func:`tests.helpers.tools.single_thread_env`)."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def _trained_folder(tmp_path_factory: pytest.TempPathFactory, name: str) -> Path:
    return once_per_session(tmp_path_factory, name, TRAINED_RUNS[name])


@pytest.fixture(scope='session')
def demo_run(tmp_path_factory) -> trained.DemoRun:
    """The demo SSDLite overfit on ``demo/demo.jpg`` (:func:`tests.helpers.trained.
    train_demo_overfit`); tests that use it are ``slow``."""
    return trained.demo_run_in(_trained_folder(tmp_path_factory, 'demo_run'))


@pytest.fixture(scope='session')
def ssdlite_run(tmp_path_factory) -> trained.TrainedRun:
    """The demo SSDLite, 10 epochs on 480 demo images in the Pascal VOC layout, the same
    images in the COCO layout beside it (:func:`tests.helpers.trained.train_ssdlite_short`)."""
    return trained.load_run(_trained_folder(tmp_path_factory, 'ssdlite_run'))


@pytest.fixture(scope='session')
def faster_rcnn_run(tmp_path_factory) -> trained.TrainedRun:
    """Faster R-CNN's short demo run (:func:`tests.helpers.trained.train_faster_rcnn_short`)."""
    return trained.load_run(_trained_folder(tmp_path_factory, 'faster_rcnn_run'))


@pytest.fixture(scope='session')
def cascade_rcnn_run(tmp_path_factory) -> trained.TrainedRun:
    """Cascade R-CNN's short demo run
    (:func:`tests.helpers.trained.train_cascade_rcnn_short`)."""
    return trained.load_run(_trained_folder(tmp_path_factory, 'cascade_rcnn_run'))


@pytest.fixture(scope='session')
def retinanet_run(tmp_path_factory) -> trained.TrainedRun:
    """RetinaNet's short demo run (:func:`tests.helpers.trained.train_retinanet_short`)."""
    return trained.load_run(_trained_folder(tmp_path_factory, 'retinanet_run'))


@pytest.fixture(scope='session')
def fcos_run(tmp_path_factory) -> trained.TrainedRun:
    """FCOS's short demo run (:func:`tests.helpers.trained.train_fcos_short`)."""
    return trained.load_run(_trained_folder(tmp_path_factory, 'fcos_run'))


@pytest.fixture(scope='session')
def atss_run(tmp_path_factory) -> trained.TrainedRun:
    """ATSS's demo config fit to 8 images (:func:`tests.helpers.trained.train_atss_overfit`)."""
    return trained.load_run(_trained_folder(tmp_path_factory, 'atss_run'))


@pytest.fixture(scope='session')
def gfl_run(tmp_path_factory) -> trained.TrainedRun:
    """GFL's demo config fit to 8 images (:func:`tests.helpers.trained.train_gfl_overfit`)."""
    return trained.load_run(_trained_folder(tmp_path_factory, 'gfl_run'))


@pytest.fixture(scope='session')
def yolox_run(tmp_path_factory) -> trained.TrainedRun:
    """YOLOX's demo config fit to 8 images (:func:`tests.helpers.trained.train_yolox_overfit`)."""
    return trained.load_run(_trained_folder(tmp_path_factory, 'yolox_run'))


@pytest.fixture(scope='session')
def faster_rcnn_mosaic_run(tmp_path_factory) -> trained.TrainedRun:
    """The Mosaic Faster R-CNN demo, shortened
    (:func:`tests.helpers.trained.train_faster_rcnn_mosaic_short`)."""
    return trained.load_run(_trained_folder(tmp_path_factory, 'faster_rcnn_mosaic_run'))


@pytest.fixture
def trained_run(request) -> trained.TrainedRun:
    """The shared run named by the test's (indirect) parameter, e.g. ``'ssdlite_run'``."""
    if request.param not in TRAINED_RUNS:
        raise ValueError(f'trained_run: {request.param!r} is none of {sorted(TRAINED_RUNS)}')
    return request.getfixturevalue(request.param)


def trained_runs_used(item: pytest.Item) -> set[str]:
    """The shared trained runs a collected test asks for."""
    used = set(TRAINED_RUNS) & set(getattr(item, 'fixturenames', ()))
    callspec = getattr(item, 'callspec', None)
    if callspec is not None and callspec.params.get('trained_run') in TRAINED_RUNS:
        used.add(callspec.params['trained_run'])
    return used


def schedule_group(item: pytest.Item) -> str | None:
    """The unit of work of a test under ``-n``: the shared trained run it uses, or its
    module when it uses a module-scoped fixture, or none (the test alone)."""
    runs = trained_runs_used(item)
    if runs:
        return '+'.join(sorted(runs))
    return item.nodeid.split('::')[0] if uses_module_fixture(item) else None


def schedule_rank(item: pytest.Item) -> tuple[int, int]:
    """Where a test goes in the order of ``-n`` runs: the shared trained runs' tests first
    (the longest units of work, in the order of :data:`TRAINED_RUNS`), then the other slow
    tests, then the rest."""
    runs = trained_runs_used(item)
    if runs:
        return 0, min(list(TRAINED_RUNS).index(name) for name in runs)
    return (1 if item.get_closest_marker('slow') else 2), 0


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """In an xdist worker: sort the tests by :func:`schedule_rank` (a stable sort) and write
    their :func:`schedule_group` for the controller's scheduler."""
    if not os.environ.get('PYTEST_XDIST_WORKER'):
        return
    items.sort(key=schedule_rank)
    groups = {item.nodeid: group for item in items if (group := schedule_group(item))}
    write_groups(config._tmp_path_factory.getbasetemp().parent, groups)


@pytest.hookimpl(tryfirst=True, optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log) -> SharedSetupScheduling:
    """The controller's scheduler: units of work as the workers grouped them."""
    return SharedSetupScheduling(config, log, folder=config._tmp_path_factory.getbasetemp())
