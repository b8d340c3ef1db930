"""``custom_imports``: import the user's own modules (new backbones, necks, heads, ...) before
anything is built, so that their ``@MODELS.register_module()`` decorators have run.

A config says::

    custom_imports = dict(imports=['my_project.bifpn'], allow_failed_imports=False)

Modules are found on ``sys.path``, to which the current working directory is added (as
``python -m`` would), so ``projects.example_neck.example_neck`` imports when a tool runs
from the repository root; elsewhere, put the folder that holds the package on
``PYTHONPATH``. A module that fails to import stops the run with
:class:`CustomImportError`, naming the module and the error (and where it was raised),
unless ``allow_failed_imports=True``, which turns that into a warning.
"""
from __future__ import annotations

import importlib
import os
import sys
import traceback
import warnings
from collections.abc import Mapping
from types import ModuleType
from typing import Any

CUSTOM_IMPORTS_KEYS = ('imports', 'allow_failed_imports')


class CustomImportError(ImportError):
    """A module named in ``custom_imports`` could not be imported; names it and the error."""


def _describe(name: str, error: BaseException) -> str:
    """``failed to import 'name': ErrorType: message (at file:line)`` plus a hint."""
    message = f"custom_imports: failed to import '{name}': {type(error).__name__}: {error}"
    frames = traceback.extract_tb(error.__traceback__)
    user_frames = [f for f in frames if '<frozen importlib' not in f.filename
                   and not f.filename.endswith(('importlib/__init__.py', __file__))]
    if user_frames and not isinstance(error, SyntaxError):
        frame = user_frames[-1]
        message += f' (at {frame.filename}:{frame.lineno})'
    if isinstance(error, ModuleNotFoundError) and error.name and \
            name.split('.')[0] == error.name.split('.')[0]:
        message += ('. Check the module path, and that the folder holding '
                    f"'{error.name.split('.')[0]}' is the working directory or on PYTHONPATH")
    return message


def import_custom_modules(cfg: Mapping[str, Any]) -> list[ModuleType | None]:
    """Import the modules of ``cfg['custom_imports']`` (nothing when the key is absent).

    Args:
        cfg: a config (``mmengine.Config`` or dict) that may hold ``custom_imports`` =
            ``dict(imports=str | list[str], allow_failed_imports=bool)``.

    Returns:
        The imported modules, ``None`` for each failed one ignored with
        ``allow_failed_imports=True``.

    Raises:
        CustomImportError: a module failed to import (any exception while importing it).
        TypeError: ``custom_imports`` is malformed.
    """
    custom = cfg.get('custom_imports')
    if not custom:
        return []
    if not isinstance(custom, Mapping):
        raise TypeError("`custom_imports` must be a dict like dict(imports=['my_pkg.module'], "
                        f'allow_failed_imports=False), got {type(custom).__name__}')
    unknown = set(custom) - set(CUSTOM_IMPORTS_KEYS)
    if unknown:
        raise TypeError(f'unknown keys in `custom_imports`: {sorted(unknown)}; known keys: '
                        f'{", ".join(CUSTOM_IMPORTS_KEYS)}')
    imports = custom.get('imports') or []
    if isinstance(imports, str):
        imports = [imports]
    if not all(isinstance(name, str) for name in imports):
        raise TypeError(f'`custom_imports.imports` must be module names, got {imports!r}')
    allow_failed = bool(custom.get('allow_failed_imports', False))
    if os.getcwd() not in sys.path:
        sys.path.append(os.getcwd())
    modules: list[ModuleType | None] = []
    for name in imports:
        try:
            modules.append(importlib.import_module(name))
        except Exception as error:  # noqa: BLE001 - any failure of the user's module
            message = _describe(name, error)
            if not allow_failed:
                raise CustomImportError(message) from error
            warnings.warn(f'{message}; ignored (allow_failed_imports=True)', stacklevel=2)
            modules.append(None)
    return modules
