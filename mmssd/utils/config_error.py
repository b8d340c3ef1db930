"""The error every config check of mmssd raises, and its did-you-mean helper.

It lives here, below ``models`` and ``engine``, so that both can raise it without
importing each other; ``mmssd.engine.config_translation`` re-exports it.
"""
from __future__ import annotations

import difflib
from collections.abc import Iterable


class ConfigError(ValueError):
    """A config value that mmssd cannot use; the message names the key and the value."""


def closest_key(key: str, known: Iterable[str], cutoff: float = 0.6) -> str | None:
    """The name in ``known`` closest to ``key`` (difflib's ratio >= ``cutoff``), or None."""
    close = difflib.get_close_matches(key, list(known), n=1, cutoff=cutoff)
    return close[0] if close else None


def did_you_mean(key: str, known: Iterable[str], cutoff: float = 0.6) -> str:
    """``"; did you mean 'x'?"`` with the name in ``known`` closest to ``key``, or ``''``."""
    close = closest_key(key, known, cutoff)
    return f"; did you mean '{close}'?" if close else ''
