"""Refuse, before a run starts, an MLflow tracking URI that mlflow itself would refuse.

mlflow 3 (from 3.13 on) raises when it opens a file store (``file:./mlruns``, a plain
path) unless ``MLFLOW_ALLOW_FILE_STORE=true`` is set, and it does so only when the
runner's visualizer starts, after the header and the config were logged, with a long
traceback. ``MLFLOW_TRACKING_URI=file:./mlruns`` is a common leftover of older mlflow
versions, so :func:`check_tracking_store` stops the translation instead, with one line
that says what to set.
"""
from __future__ import annotations

import os
from urllib.parse import urlparse

from mmssd.utils.config_error import ConfigError

#: URI schemes mlflow opens as a file store (a bare path has none).
FILE_STORE_SCHEMES = ('', 'file')
#: Bare words mlflow reads as a store name, not as a path.
NAMED_STORES = ('databricks', 'databricks-uc', 'uc')
#: What mlflow logs to when no tracking URI is set (mlflow 3).
DEFAULT_STORE = 'sqlite:///mlflow.db'


def is_file_store(uri: str) -> bool:
    """Whether mlflow opens ``uri`` as a file store (as mlflow 3 reads a URI: a named
    store, a scheme, or a path, where a one-letter scheme is a Windows drive)."""
    if uri in NAMED_STORES:
        return False
    scheme = urlparse(uri).scheme
    if len(scheme) == 1 and scheme.isalpha():
        scheme = ''
    return scheme in FILE_STORE_SCHEMES


def file_store_allowed() -> bool:
    """Whether the installed mlflow opens file stores: mlflow without the
    ``MLFLOW_ALLOW_FILE_STORE`` switch always does, a newer one only when it is true.

    Raises:
        ConfigError: the switch is set to a value mlflow does not read as a boolean.
    """
    from mlflow import environment_variables
    switch = getattr(environment_variables, 'MLFLOW_ALLOW_FILE_STORE', None)
    if switch is None:
        return True
    try:
        return bool(switch.get())
    except ValueError:
        raise ConfigError(f"MLFLOW_ALLOW_FILE_STORE={os.environ.get(switch.name)!r}: mlflow "
                          "reads only true, false, 1 or 0") from None


def check_tracking_store(uri: str, from_config: bool) -> None:
    """Raise if mlflow would refuse to open ``uri``.

    Args:
        uri: the tracking URI the ``MLflowVisBackend`` will open.
        from_config: ``uri`` is the ``MlflowLoggerHook``'s ``tracking_uri`` (else it is
            mlflow's, from ``$MLFLOW_TRACKING_URI`` or mlflow's default).

    Raises:
        ConfigError: ``uri`` is a file store and mlflow refuses file stores; the one-line
            message names where the URI comes from and what to set.
    """
    if not is_file_store(uri) or file_store_allowed():
        return
    if from_config:
        where = "log_config's MlflowLoggerHook tracking_uri"
        instead = f"set tracking_uri='{DEFAULT_STORE}'"
    else:
        where = '$MLFLOW_TRACKING_URI' if os.environ.get('MLFLOW_TRACKING_URI') else 'mlflow'
        instead = f'unset MLFLOW_TRACKING_URI (mlflow then logs to {DEFAULT_STORE})'
    raise ConfigError(f'MLflow tracking URI {uri!r} (from {where}) is a file store, which '
                      'this mlflow refuses: set MLFLOW_ALLOW_FILE_STORE=true to use it, or '
                      f'{instead}')
