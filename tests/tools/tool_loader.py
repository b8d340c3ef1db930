"""Import a script under ``tools/`` or ``demo/`` as a module (they are not a package)."""
from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

REPO = Path(__file__).resolve().parents[2]


def load_tool(relative_path: str) -> ModuleType:
    """The module of ``REPO/relative_path``, e.g. ``'tools/analysis_tools/get_flops.py'``."""
    path = REPO / relative_path
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
