"""Refuse misspelt keys in model configs (a ``.get(key, default)`` would ignore them)."""
from __future__ import annotations

import difflib
from collections.abc import Sequence


def check_cfg_keys(cfg: dict | None, allowed: Sequence[str], where: str) -> None:
    """Raise ``KeyError`` naming the first key of ``cfg`` outside ``allowed``, with the
    closest allowed name and the full list.

    Args:
        cfg: the config dict (None: nothing to check).
        allowed: the keys its reader understands.
        where: where ``cfg`` sits in the config, e.g. ``'model.train_cfg'``.
    """
    for key in cfg or {}:
        if key not in allowed:
            close = difflib.get_close_matches(key, list(allowed), n=1)
            hint = f"; did you mean '{close[0]}'?" if close else ''
            raise KeyError(f"unknown key '{key}' in {where}{hint} (expected some of "
                           f'{list(allowed)})')
