"""Import every mmssd module so that all registries are filled."""
from __future__ import annotations

import importlib

PACKAGES = ('mmssd.models', 'mmssd.datasets', 'mmssd.evaluation', 'mmssd.engine')


def register_all_modules() -> None:
    """Import the packages whose classes configs refer to by name."""
    for package in PACKAGES:
        importlib.import_module(package)
