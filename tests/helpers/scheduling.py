"""How ``pytest -n`` hands the tests to its workers: units of work that share expensive
set-up, sent in the order the workers collected them.

xdist's own ``--dist loadgroup`` cannot do this under pytest 9 (it renames the collected
items' ``_nodeid``, an attribute pytest 9 no longer reads), and the controller process does
not see the tests' fixtures. So each worker, after collection, writes which tests belong
together (:func:`write_groups`) to the session's shared folder, and the controller's
scheduler (:class:`SharedSetupScheduling`) reads it when it splits the collection into
units: one unit per group, one per test otherwise, handed out in collection order, each to
the next worker that runs out of work.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from xdist.scheduler import LoadScopeScheduling

GROUPS_FILE = 'xdist_groups.json'


def uses_module_fixture(item: pytest.Item) -> bool:
    """Whether a collected test asks for a module-scoped fixture (one worker should set it
    up once for all the module's tests that use it)."""
    fixtureinfo = getattr(item, '_fixtureinfo', None)  # pytest's record of the test's fixtures
    if fixtureinfo is None:
        return False
    return any(defs and defs[-1].scope == 'module'
               for defs in fixtureinfo.name2fixturedefs.values())


def write_groups(folder: Path, groups: dict[str, str]) -> None:
    """Write ``{nodeid: group}`` to ``folder`` atomically (every worker writes the same)."""
    folder.mkdir(parents=True, exist_ok=True)
    part = folder / f'{GROUPS_FILE}.{os.getpid()}'
    part.write_text(json.dumps(groups))
    os.replace(part, folder / GROUPS_FILE)


class SharedSetupScheduling(LoadScopeScheduling):
    """xdist's scope scheduling with the scopes the workers wrote (:func:`write_groups`):
    the tests of one group run on one worker, one after another; groups and single tests
    are handed out in collection order."""

    def __init__(self, config: pytest.Config, log=None, folder: Path | None = None) -> None:
        super().__init__(config, log)
        config.option.loadscopereorder = False  # keep the collection's order
        self.folder = folder
        self._groups: dict[str, str] | None = None

    def _reschedule(self, node) -> None:
        """xdist's, except that a worker is sent its next unit only once it holds one test
        (the one it can start only when it knows the next): a unit sent earlier could wait
        behind a long test while another worker runs out of work."""
        if node.shutting_down:
            return
        if not self.workqueue:
            node.shutdown()
            return
        if self._pending_of(self.assigned_work[node]) > 1:
            return
        self._assign_work_unit(node)

    def _split_scope(self, nodeid: str) -> str:
        """The unit of work of ``nodeid``: its group, or the test alone."""
        if self._groups is None:
            path = self.folder / GROUPS_FILE if self.folder else None
            self._groups = json.loads(path.read_text()) if path and path.exists() else {}
        group = self._groups.get(nodeid)
        return f'group:{group}' if group else nodeid
