"""``--cfg-options KEY=VALUE ...``: mmengine's ``DictAction`` that names a malformed option.

mmengine's action splits every item at its first ``=`` and fails with a bare
``ValueError: not enough values to unpack`` on an item without one (such as
``runner.max_epochs 12`` typed with a space). :class:`CfgOptionsAction` checks the items
first and reports the malformed one through the parser (usage line, exit status 2).
"""
from __future__ import annotations

import argparse
from collections.abc import Sequence

from mmengine.config import DictAction


def malformed_cfg_options(values: Sequence[str]) -> list[str]:
    """The items of ``values`` that are not ``KEY=VALUE`` with a non-empty ``KEY``."""
    return [kv for kv in values if '=' not in kv or not kv.split('=', 1)[0].strip()]


class CfgOptionsAction(DictAction):
    """``DictAction`` (values parsed as mmengine does: ints, floats, booleans, ``None``,
    lists and tuples) that refuses items without ``KEY=``, naming them."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: str | Sequence[str], option_string: str | None = None) -> None:
        items = [values] if isinstance(values, str) else list(values)
        bad = malformed_cfg_options(items)
        if bad:
            option = option_string or self.dest
            shown = ', '.join(repr(b) for b in bad)
            parser.error(f'{option}: malformed option {shown}; expected KEY=VALUE, e.g. '
                         f'{option} runner.max_epochs=12 optimizer.lr=0.01 (no spaces '
                         'around "=")')
        super().__call__(parser, namespace, items, option_string)
