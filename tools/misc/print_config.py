"""Print the fully merged config: ``python tools/misc/print_config.py CONFIG [options]``.

The config is read exactly as ``tools/train.py`` reads it (``_base_`` files merged,
``_delete_`` applied, ``{{_base_.var}}`` substituted, ``--cfg-options`` applied,
``custom_imports`` imported, ``work_dir`` settled), then printed as Python.
"""
from __future__ import annotations

import argparse

from mmssd.apis import load_config
from mmssd.utils.cfg_options import CfgOptionsAction


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Print the fully merged config')
    parser.add_argument('config', help='config file path')
    parser.add_argument('--cfg-options', nargs='+', action=CfgOptionsAction,
                        help='override config settings, e.g. model.bbox_head.num_classes=3')
    parser.add_argument('--save-path', help='also write the merged config to this .py file')
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> str:
    """Print (and optionally save) the merged config; returns its text."""
    args = parse_args(argv)
    cfg = load_config(args.config, args.cfg_options)
    text = cfg.pretty_text
    print(f'Config:\n{text}')
    if args.save_path:
        if not args.save_path.endswith('.py'):
            raise SystemExit(f'--save-path must end with .py, got {args.save_path}')
        cfg.dump(args.save_path)
    return text


if __name__ == '__main__':
    main()
