"""Import a script of ``benchmarks/`` (a folder of scripts, not a package) by its path."""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from unittest import mock

BENCHMARKS = Path(__file__).resolve().parents[2] / 'benchmarks'


def load_benchmark(name: str) -> ModuleType:
    """The module ``benchmarks/<name>.py``, executed once per process.

    The scripts import each other by plain name (``import bench_models``), as Python
    allows a script run from its folder; they are executed here the same way, with the
    folder first on ``sys.path`` for the time of the import only, and registered in
    ``sys.modules`` under ``name``, so that a module loaded here and one another script
    imports are the same object.
    """
    path = BENCHMARKS / f'{name}.py'
    loaded = sys.modules.get(name)
    if loaded is not None:
        if Path(getattr(loaded, '__file__', None) or '').resolve() != path:
            raise ImportError(f'a module {name!r} not from {path} is already imported: '
                              f'{loaded!r}')
        return loaded
    if not path.is_file():
        raise ImportError(f'no benchmark script {path}')
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        with mock.patch.object(sys, 'path', [str(BENCHMARKS), *sys.path]):
            spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module
